#!/usr/bin/env python3
"""docpal against django-tenants, measured side by side in one run on one cluster (issue 19).

Both sides run on the same PostgreSQL server, each in its own database: docpal in the fresh
database of ``benchdb.fresh_database`` (a throw-away durable cluster unless --database-url /
$DATABASE_URL), django-tenants in a second database ``<that name>_django`` made next to it. The
Django side is installed from PyPI (django, django-tenants, psycopg[binary]: the same driver as
the docpal side) into a throw-away virtualenv the script makes in a temporary folder, and runs as
a worker process in that venv (a Django project and ``worker.py`` written to the same folder):
it reads one command per line on stdin and prints its timings as JSON lines on stdout. The
folder, the venv and the Django database are removed at the end.

What each side builds per tenant (the same columns, constraints and indexes on both sides):

- five tables ``t1`` … ``t5``, each with the columns of ``benchdb.SPEC``: title (text, required,
  at most 200 characters, searchable: a GIN index on ``to_tsvector('simple', coalesce(title,
  ''))``), amount (decimal(12,2), min 0), status (select open/doing/done, indexed), due (date),
  done (boolean), note (text);
- docpal: ``create_company`` + 5 ``create_table`` calls, each its own autocommit statement
  (``add_member`` of the one owner and ``set_context`` in between are not timed). docpal adds
  its system columns (id uuid, version, created_at, updated_at, created_by, updated_by), the
  stamp and audit triggers and the tenant template (catalog, audit log, ...);
- django-tenants: ``Client(schema_name=..., name=...).save()`` (a ``TenantMixin`` with
  ``auto_create_schema``: CREATE SCHEMA, then ``migrate_schemas`` of that schema runs the
  app's 0001 migration creating the 5 models) + its ``Domain`` row. The models have the same
  columns as docpal's tables (the system columns included, as Django fields: UUID primary key,
  version, auto_now_add / auto_now timestamps, created_by / updated_by), the same CHECK
  constraints (char_length(title) <= 200, amount >= 0, status in the options) and the same
  two indexes (btree on status, the GIN on title). TENANT_APPS is just that app, as in
  django-tenants' documented example (contenttypes and auth shared); with --tenant-auth,
  contenttypes and auth are tenant apps too (users and permissions per tenant, migrated and
  filled by post_migrate in every schema), the other common set-up.

Measured:

1. **create**: --tenants tenants per side, created in interleaved batches of 10 (which side goes
   first alternates); the first tenant of each side is a warm-up, not counted. ms per tenant:
   the median (and mean) of the first W and of the last W counted tenants (W = 50, less when
   there are fewer), and the ratio django-tenants / docpal. Then the catalog rows of one
   tenant schema on each side: pg_class + pg_attribute + pg_constraint + pg_index +
   pg_trigger + pg_proc rows belonging to the schema.
2. **rollout**: a new nullable text column ``extra_<r>`` on table t1 of every tenant, --repeat
   rounds (the order of the sides rotates each round), medians of the rounds:
   docpal as ``docpal tenants apply-blueprint FILE --all`` does it (``docpal.blueprints.
   apply_all`` on a new connection: every company holding blueprint ``peer`` gets version
   r+1, one transaction per company, as the company's owner) -- every company got version 1
   of that blueprint (the five tables, which it already has) untimed after part 1; also a bare
   loop of ``set_context`` + ``add_column`` per company in its own transaction (column
   ``loop_<r>``), the cheapest route; against django-tenants ``migrate_schemas`` (the default
   standard executor: public schema, then every tenant) after a new migration ``AddField``
   is written to the app's migrations folder. Total seconds, ms per tenant, ratios. Checked in
   both databases: every tenant has every new column.

The load average is printed at start and end: both sides share the machine and its disk.

Usage: bench/bench_tenants_peer.py [--tenants N] [--repeat N] [--tiny] [--tenant-auth] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from statistics import mean, median

import psycopg
from psycopg import conninfo, sql
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchdb  # noqa: E402
from docpal import blueprints, deploy  # noqa: E402

PACKAGES = ("django", "django-tenants", "psycopg[binary]")
TABLES = [{**benchdb.SPEC, "slug": f"t{k}", "name": f"T{k}"} for k in range(1, 6)]
BLUEPRINT = "peer"
AUTH_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
BATCH = 10
WINDOW = 50
CATALOGS = ("pg_class", "pg_attribute", "pg_constraint", "pg_index", "pg_trigger", "pg_proc")
CATALOG_ROWS = """
    with cl as (select oid from pg_catalog.pg_class where relnamespace = %(s)s::regnamespace)
    select (select count(*) from cl),
           (select count(*) from pg_catalog.pg_attribute where attrelid in (select oid from cl)),
           (select count(*) from pg_catalog.pg_constraint where connamespace = %(s)s::regnamespace),
           (select count(*) from pg_catalog.pg_index where indrelid in (select oid from cl)),
           (select count(*) from pg_catalog.pg_trigger where tgrelid in (select oid from cl)),
           (select count(*) from pg_catalog.pg_proc where pronamespace = %(s)s::regnamespace)"""
COLUMNS_OF_T1 = """
    select count(*) from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any(%s) and c.relname = %s
       and (select count(*) from pg_catalog.pg_attribute a
             where a.attrelid = c.oid and a.attname = any(%s) and not a.attisdropped) = cardinality(%s::text[])"""

# ---------------------------------------------------------------------------------------------
# The Django project (written to the temporary folder, run by the venv's python)

SETTINGS = '''\
import json, os
DB = json.loads(os.environ["PEER_DATABASE"])
SECRET_KEY = "bench-only"
DEBUG = False
USE_TZ = True
SHARED_APPS = ["django_tenants", "customers", "django.contrib.contenttypes", "django.contrib.auth"]
TENANT_APPS = json.loads(os.environ["PEER_TENANT_APPS"])
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]
TENANT_MODEL = "customers.Client"
TENANT_DOMAIN_MODEL = "customers.Domain"
DATABASES = {"default": {"ENGINE": "django_tenants.postgresql_backend", **DB}}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
'''

CUSTOMERS = '''\
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class Client(TenantMixin):
    name = models.CharField(max_length=100)
    created_on = models.DateField(auto_now_add=True)
    auto_create_schema = True


class Domain(DomainMixin):
    pass
'''

# The columns, CHECK constraints and indexes of docpal's table for benchdb.SPEC.
PEER = '''\
import uuid

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual

STATUSES = [("open", "open"), ("doing", "doing"), ("done", "done")]


class Record(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    version = models.IntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.UUIDField(null=True)
    updated_by = models.UUIDField(null=True)
    title = models.TextField()
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    status = models.TextField(null=True, choices=STATUSES)
    due = models.DateField(null=True)
    done = models.BooleanField(null=True)
    note = models.TextField(null=True)

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(condition=LessThanOrEqual(Length("title"), 200),
                                   name="%(class)s_title_max_length"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="%(class)s_amount_min"),
            models.CheckConstraint(condition=Q(status__in=["open", "doing", "done"]),
                                   name="%(class)s_status_options"),
        ]
        indexes = [
            models.Index(fields=["status"], name="%(class)s_status_idx"),
            GinIndex(SearchVector("title", config="simple"), name="%(class)s_search"),
        ]


class T1(Record):
    pass


class T2(Record):
    pass


class T3(Record):
    pass


class T4(Record):
    pass


class T5(Record):
    pass
'''

ADD_FIELD = '''\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("peer", "{previous}")]
    operations = [migrations.AddField(model_name="t1", name="{column}", field=models.TextField(null=True))]
'''

WORKER = '''\
"""The django-tenants side: commands as JSON lines on stdin, timings as JSON lines on stdout."""
import importlib
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ["DJANGO_SETTINGS_MODULE"] = "peerproject.settings"
os.environ.pop("EXECUTOR", None)  # django-tenants reads its executor from there: the default
# stdout is the channel to the benchmark; whatever Django prints goes to stderr
channel = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr

import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from customers.models import Client, Domain  # noqa: E402

ADD_FIELD = {add_field!r}


def reply(**kw):
    channel.write(json.dumps(kw) + "\\n")
    channel.flush()


call_command("makemigrations", "customers", "peer", verbosity=0)
importlib.invalidate_caches()
call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
Client(schema_name="public", name="public").save(verbosity=0)
from importlib.metadata import version  # noqa: E402

reply(ready=True, django=version("django"), django_tenants=version("django-tenants"),
      driver=connection.Database.__name__ + " " + version(connection.Database.__name__))
previous = "0001_initial"
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["cmd"] == "create":
        times = []
        for i in range(cmd["start"], cmd["start"] + cmd["count"]):
            t0 = time.perf_counter()
            tenant = Client(schema_name=f"tenant_{{i:05d}}", name=f"Tenant {{i}}")
            tenant.save(verbosity=0)
            Domain(domain=f"tenant-{{i:05d}}.example.com", tenant=tenant, is_primary=True).save()
            times.append((time.perf_counter() - t0) * 1000)
        reply(times=times)
    elif cmd["cmd"] == "rollout":
        name = f"{{cmd['round'] + 1:04d}}_{{cmd['column']}}"
        with open(os.path.join(HERE, "peer", "migrations", name + ".py"), "w") as f:
            f.write(ADD_FIELD.format(previous=previous, column=cmd["column"]))
        importlib.invalidate_caches()
        previous = name
        t0 = time.perf_counter()
        call_command("migrate_schemas", interactive=False, verbosity=0)
        reply(seconds=time.perf_counter() - t0, migration=name)
    elif cmd["cmd"] == "quit":
        break
'''


def write_project(root: Path) -> None:
    files = {
        "peerproject/__init__.py": "", "peerproject/settings.py": SETTINGS,
        "customers/__init__.py": "", "customers/models.py": CUSTOMERS, "customers/migrations/__init__.py": "",
        "peer/__init__.py": "", "peer/models.py": PEER, "peer/migrations/__init__.py": "",
        "worker.py": WORKER.format(add_field=ADD_FIELD),
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def make_venv(root: Path) -> Path:
    """A virtualenv in root/venv with PACKAGES from PyPI; its python."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    python = root / "venv" / "bin" / "python"
    proc = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           *PACKAGES], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"pip install {' '.join(PACKAGES)} failed:\n{proc.stdout}{proc.stderr}")
    print(f"throw-away venv: pip install {' '.join(PACKAGES)} in {time.perf_counter() - t0:.1f} s", flush=True)
    return python


def django_database(url: str) -> dict:
    """Django's DATABASES entry for a libpq URL."""
    info = conninfo.conninfo_to_dict(deploy.libpq_url(url))
    entry = {"NAME": info.pop("dbname"), "USER": info.pop("user", ""), "PASSWORD": info.pop("password", ""),
             "HOST": info.pop("host", ""), "PORT": str(info.pop("port", ""))}
    if info:
        entry["OPTIONS"] = info
    return entry


class Worker:
    """The django-tenants worker process: one JSON command in, one JSON line out."""

    def __init__(self, python: Path, root: Path, url: str, tenant_apps: list[str]) -> None:
        self.log = open(root / "worker.log", "w+")
        env = {**os.environ, "PEER_DATABASE": json.dumps(django_database(url)), "PYTHONUNBUFFERED": "1",
               "PEER_TENANT_APPS": json.dumps(tenant_apps)}
        env.pop("VIRTUAL_ENV", None)
        self.proc = subprocess.Popen([str(python), str(root / "worker.py")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, env=env, cwd=root)
        self.info = self.read()

    def read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            self.log.seek(0)
            raise RuntimeError("the django-tenants worker stopped:\n" + self.log.read()[-4000:])
        return json.loads(line)

    def ask(self, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Docpal:
    """The docpal side: one autocommit connection as the platform admin, one owner user."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = psycopg.connect(url, autocommit=True)
        self.user = self.conn.execute("select docpal.create_user('peer@example.com', 'Peer owner')").fetchone()[0]
        self.companies: list = []

    def create(self, i: int) -> float:
        """create_company + 5 create_table (add_member and set_context untimed); ms."""
        conn = self.conn
        t0 = time.perf_counter()
        company = conn.execute("select docpal.create_company(%s, %s)", (f"peer-{i:05d}", f"Peer {i}")).fetchone()[0]
        elapsed = time.perf_counter() - t0
        conn.execute("select docpal.add_member(%s, %s, 'owner')", (company, self.user))
        conn.execute("select docpal.set_context(%s, %s, false)", (company, self.user))
        t0 = time.perf_counter()
        for spec in TABLES:
            conn.execute("select docpal.create_table(%s)", (Jsonb(spec),))
        elapsed += time.perf_counter() - t0
        conn.execute("select docpal.clear_context()")
        self.companies.append(company)
        return elapsed * 1000

    def blueprint(self, version: int) -> dict:
        """Blueprint peer at version: the five tables, t1 with extra_1 .. extra_<version - 1>."""
        extra = [{"name": f"extra_{r}", "type": "text"} for r in range(1, version)]
        tables = [{**TABLES[0], "columns": TABLES[0]["columns"] + extra}, *TABLES[1:]]
        return {"name": BLUEPRINT, "version": version, "tables": tables}

    def rollout_blueprint(self, rnd: int) -> float:
        """apply_all of blueprint version rnd + 1 on a new connection (what the CLI does); seconds."""
        doc = self.blueprint(rnd + 1)
        t0 = time.perf_counter()
        with psycopg.connect(self.url, autocommit=True) as conn:
            items = list(blueprints.apply_all(conn, doc))
        seconds = time.perf_counter() - t0
        bad = [item for item in items if "error" in item
               or item["result"]["added"].get("columns") != [{"table": "t1", "column": f"extra_{rnd}"}]]
        if bad or len(items) != len(self.companies):
            raise RuntimeError(f"apply_all: {len(items)} companies, {len(bad)} wrong: {bad[:3]}")
        return seconds

    def rollout_loop(self, rnd: int) -> float:
        """set_context + add_column('t1', loop_<rnd>) per company, one transaction each, new connection."""
        spec = Jsonb({"name": f"loop_{rnd}", "type": "text"})
        t0 = time.perf_counter()
        with psycopg.connect(self.url) as conn:
            for company in self.companies:
                with conn.transaction():
                    conn.execute("select docpal.set_context(%s, %s, true)", (company, self.user))
                    conn.execute("select docpal.add_column('t1', %s)", (spec,))
        return time.perf_counter() - t0

    def schemas(self) -> list[str]:
        """The company schemas, in the order the companies were made."""
        return [r[0] for r in self.conn.execute(
            "select c.schema_name from unnest(%s::uuid[]) with ordinality u(id, k)"
            " join docpal_private.companies c using (id) order by u.k", (self.companies,))]


def catalog_rows(conn: psycopg.Connection, schema: str) -> tuple[int, ...]:
    return conn.execute(CATALOG_ROWS, {"s": schema}).fetchone()


def catalog_line(label: str, rows: tuple[int, ...]) -> str:
    parts = ", ".join(f"{name} {n}" for name, n in zip(CATALOGS, rows))
    return f"  {label:15} {sum(rows):5d} ({parts})"


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" ({os.cpu_count()} CPUs)"


def stats(times: list[float]) -> str:
    return f"median {median(times):8.2f} ms (mean {mean(times):8.2f})"


def create_part(docpal: Docpal, worker: Worker, n: int) -> dict:
    print(f"\n1. creating {n} tenants per side, 5 tables each, interleaved batches of {BATCH} "
          f"(the first tenant of each side is a warm-up, not counted)", flush=True)
    d_times: list[float] = []
    j_times: list[float] = []
    docpal.create(0)
    worker.ask(cmd="create", start=0, count=1)
    i, batch = 1, 0
    report_every = max(100, BATCH)
    while i < n:
        count = min(BATCH, n - i)
        sides = ["docpal", "django"] if batch % 2 == 0 else ["django", "docpal"]
        for side in sides:
            if side == "docpal":
                d_times += [docpal.create(k) for k in range(i, i + count)]
            else:
                j_times += worker.ask(cmd="create", start=i, count=count)["times"]
        i += count
        batch += 1
        if (i - 1) % report_every == 0 and i < n:
            print(f"  {i - 1:5d}/{n - 1}: docpal {median(d_times[-report_every:]):7.2f} ms, django-tenants "
                  f"{median(j_times[-report_every:]):7.2f} ms (medians of the last {report_every})", flush=True)
    w = max(1, min(WINDOW, len(d_times) // 2))
    out = {"window": w}
    for label, key, sl in ((f"first {w}", "first", slice(0, w)), (f"last {w}", "last", slice(-w, None))):
        d, j = d_times[sl], j_times[sl]
        out[key] = (median(d), median(j))
        print(f"  {label} tenants:")
        print(f"    docpal create_company + 5 create_table: {stats(d)}")
        print(f"    django-tenants Client.save + Domain:    {stats(j)}")
        print(f"    ratio django-tenants / docpal: {median(j) / median(d):.2f}", flush=True)
    return out


def rollout_part(docpal: Docpal, worker: Worker, dj: psycopg.Connection, n: int, repeat: int) -> dict:
    t0 = time.perf_counter()
    with psycopg.connect(docpal.url, autocommit=True) as conn:
        for row in blueprints.companies(conn):
            blueprints.apply(conn, row, docpal.blueprint(1))
    print(f"\n   (untimed: blueprint {BLUEPRINT} v1 -- the five tables they already have -- recorded in "
          f"{n} companies in {time.perf_counter() - t0:.1f} s)")
    print(f"2. rolling a new column (t1.extra_<round>, text) out to {n} tenants, {repeat} rounds, "
          f"order rotating", flush=True)
    times: dict[str, list[float]] = {"blueprint": [], "loop": [], "django": []}
    order = ["blueprint", "loop", "django"]
    for rnd in range(1, repeat + 1):
        for side in order[rnd - 1:] + order[:rnd - 1]:
            if side == "blueprint":
                times[side].append(docpal.rollout_blueprint(rnd))
            elif side == "loop":
                times[side].append(docpal.rollout_loop(rnd))
            else:
                times[side].append(worker.ask(cmd="rollout", round=rnd, column=f"extra_{rnd}")["seconds"])
        print(f"  round {rnd}: docpal apply-blueprint --all {times['blueprint'][-1]:7.2f} s, docpal add_column "
              f"loop {times['loop'][-1]:7.2f} s, django-tenants migrate_schemas {times['django'][-1]:7.2f} s",
              flush=True)
    med = {k: median(v) for k, v in times.items()}
    print(f"  docpal apply-blueprint --all (blueprints.apply_all): median {med['blueprint']:8.2f} s "
          f"({med['blueprint'] * 1000 / n:6.2f} ms per tenant)")
    print(f"  docpal add_column loop:                         median {med['loop']:8.2f} s "
          f"({med['loop'] * 1000 / n:6.2f} ms per tenant)")
    print(f"  django-tenants migrate_schemas:                 median {med['django']:8.2f} s "
          f"({med['django'] * 1000 / n:6.2f} ms per tenant)")
    print(f"  ratio django-tenants / docpal: {med['django'] / med['blueprint']:.2f} (apply-blueprint --all); "
          f"{med['django'] / med['loop']:.2f} (add_column loop)")
    # every tenant has every new column
    extra = [f"extra_{r}" for r in range(1, repeat + 1)]
    d_cols = extra + [f"loop_{r}" for r in range(1, repeat + 1)]
    d_ok = docpal.conn.execute(COLUMNS_OF_T1, (docpal.schemas(), "t1", d_cols, d_cols)).fetchone()[0]
    j_schemas = [f"tenant_{i:05d}" for i in range(n)]
    j_ok = dj.execute(COLUMNS_OF_T1, (j_schemas, "peer_t1", extra, extra)).fetchone()[0]
    print(f"  checked: docpal {d_ok}/{n} tenants, django-tenants {j_ok}/{n} tenants have every new column")
    med["ok"] = d_ok == n and j_ok == n
    return med


def bench(url: str, dj_url: str, python: Path, root: Path, n: int, repeat: int, tenant_apps: list[str]) -> int:
    deploy.migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        server = conn.execute("show server_version").fetchone()[0]
    worker = Worker(python, root, dj_url, tenant_apps)
    try:
        info = worker.info
        print(f"PostgreSQL {server}; django-tenants side: Django {info['django']}, django-tenants "
              f"{info['django_tenants']}, {info['driver']}; each side in its own database of the same server")
        print(f"TENANT_APPS = {tenant_apps}", flush=True)
        docpal = Docpal(url)
        created = create_part(docpal, worker, n)
        with psycopg.connect(dj_url, autocommit=True) as dj:
            d_rows = catalog_rows(docpal.conn, docpal.schemas()[-1])
            j_rows = catalog_rows(dj, f"tenant_{n - 1:05d}")
            print(f"  catalog rows per tenant (its schema's rows in {' + '.join(CATALOGS)}):")
            print(catalog_line("docpal", d_rows))
            print(catalog_line("django-tenants", j_rows))
            rolled = rollout_part(docpal, worker, dj, n, repeat)
    finally:
        worker.close()
    w = created["window"]
    (d1, j1), (d2, j2) = created["first"], created["last"]
    print("\n" + "=" * 78)
    print(f"tenant with 5 tables, first {w}: docpal {d1:.2f} ms, django-tenants {j1:.2f} ms, "
          f"ratio django-tenants / docpal: {j1 / d1:.2f}")
    print(f"tenant with 5 tables, last {w}:  docpal {d2:.2f} ms, django-tenants {j2:.2f} ms, "
          f"ratio django-tenants / docpal: {j2 / d2:.2f}")
    print(f"catalog rows per tenant: docpal {sum(d_rows)}, django-tenants {sum(j_rows)}")
    print(f"column rolled out to {n} tenants: docpal {rolled['blueprint']:.2f} s (apply-blueprint --all), "
          f"django-tenants {rolled['django']:.2f} s, ratio django-tenants / docpal: "
          f"{rolled['django'] / rolled['blueprint']:.2f}")
    print("=" * 78)
    return 0 if rolled["ok"] else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=None, help="tenants per side (default 500; --tiny: 5)")
    parser.add_argument("--repeat", type=int, default=None, help="rollout rounds (default 3; --tiny: 2)")
    parser.add_argument("--tiny", action="store_true", help="a quick run: 5 tenants, 2 rounds")
    parser.add_argument("--tenant-auth", action="store_true",
                        help="Django's contenttypes and auth in TENANT_APPS too (users and permissions per tenant,"
                             " as docpal has roles per company); default: only the app of the five models")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="server to use (default $DATABASE_URL, else a throw-away cluster)")
    args = parser.parse_args()
    n = args.tenants or (5 if args.tiny else 500)
    repeat = args.repeat or (2 if args.tiny else 3)
    if n < 3 or repeat < 1:
        parser.error("--tenants must be at least 3 and --repeat at least 1")
    print(f"load average at start: {loadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="docpal-peer-") as tmp:
        root = Path(tmp)
        python = make_venv(root)
        write_project(root)
        with benchdb.fresh_database(args.database_url) as url:
            dj_name = conninfo.conninfo_to_dict(deploy.libpq_url(url))["dbname"] + "_django"
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(dj_name)))
            try:
                status = bench(url, benchdb.with_dbname(url, dj_name), python, root, n, repeat,
                               AUTH_APPS + ["peer"] if args.tenant_auth else ["peer"])
            finally:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dj_name)))
    print(f"load average at end: {loadavg()}")
    return status


if __name__ == "__main__":
    sys.exit(main())
