"""``docpal demo``: docpal end to end on a real database.

Without a DATABASE_URL it starts an embedded PostgreSQL in the project folder
(.docpal/pgdata) and uses its database ``docpal_demo``. Running it again
reuses the cluster and the demo data.
"""

from __future__ import annotations

from pathlib import Path

import click
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from . import deploy, embedded, resources

DEMO_DB = "docpal_demo"

CATEGORIES = {"slug": "categories", "name": "Categories",
              "columns": [{"name": "name", "type": "text", "required": True, "unique": True}]}
PRODUCTS = {"slug": "products", "name": "Products", "columns": [
    {"name": "name", "type": "text", "required": True, "max_length": 200, "searchable": True},
    {"name": "price", "type": "decimal", "precision": 12, "scale": 2, "min": 0},
    {"name": "category_id", "type": "relation", "target": "categories", "on_delete": "set_null"},
    {"name": "tags", "type": "multi_select", "options": ["new", "sale"]},
    {"name": "status", "type": "select", "options": ["draft", "active"], "default": "draft"},
    {"name": "price_with_vat", "type": "formula", "expression": "round(price * 1.2, 2)"}]}


def table_name(conn: psycopg.Connection, company: str, slug: str) -> str:
    """The qualified name of a company's table, for plain SQL."""
    schema = conn.execute("select docpal.get_company(%s)->>'schema'", (company,)).fetchone()[0]
    return sql.Identifier(schema, slug).as_string(conn)


def _step(text: str) -> None:
    click.secho(f"==> {text}", fg="cyan", bold=True)


def _ensure_company(conn: psycopg.Connection, slug: str, name: str) -> str:
    row = conn.execute("select docpal.get_company(%s)->>'id'", (slug,)).fetchone()
    if row[0]:
        return row[0]
    return str(conn.execute("select docpal.create_company(%s, %s, %s::jsonb)",
                            (slug, name, '{"plan": "demo"}')).fetchone()[0])


def _ensure_user(conn: psycopg.Connection, email: str, name: str) -> str:
    row = conn.execute("select id from docpal_private.users where lower(email) = lower(%s)", (email,)).fetchone()
    if row:
        return str(row[0])
    return str(conn.execute("select docpal.create_user(%s, %s)", (email, name)).fetchone()[0])


def run(database_url: str | None, data_dir: Path | None = None) -> None:
    url = _database(database_url, data_dir)

    with psycopg.connect(url, autocommit=True) as conn:
        _step("companies and users (platform admin calls)")
        acme = _ensure_company(conn, "acme", "Acme Corporation")
        globex = _ensure_company(conn, "globex", "Globex Inc")
        alice = _ensure_user(conn, "alice@example.com", "Alice Owner")
        bob = _ensure_user(conn, "bob@example.com", "Bob Member")
        conn.execute("select docpal.add_member(%s, %s, 'owner')", (acme, alice))
        conn.execute("select docpal.add_member(%s, %s, 'member')", (globex, alice))
        conn.execute("select docpal.add_member(%s, %s, 'member')", (acme, bob))
        for company in conn.execute("select docpal.list_companies()").fetchone()[0]:
            click.echo(f"    company {company['slug']:8} {company['id']}  schema {company['schema']}")
        click.echo(f"    alice {alice} (owner of acme, member of globex)")
        click.echo(f"    bob   {bob} (member of acme)")

        _step("host name routing")
        for host in ("acme.example.com", "globex.localhost:3000", "unknown.example.com"):
            resolved = conn.execute("select docpal.resolve_company(%s)", (host,)).fetchone()[0]
            click.echo(f"    resolve_company({host!r}) = {resolved}")

        _step("tenant context (signed, per session)")
        conn.execute("select docpal.set_context(%s, %s, false)", (acme, alice))
        company, user = conn.execute("select docpal.current_company(), docpal.current_user_id()").fetchone()
        click.echo(f"    set_context(acme, alice): current_company() = {company}, current_user_id() = {user}")
        forged = conn.execute("select current_setting('docpal.context')").fetchone()[0].split("|")
        forged[0] = globex
        try:
            conn.execute("select set_config('docpal.context', %s, false)", ("|".join(forged),))
            conn.execute("select docpal.current_company()")
            click.echo("    forged context accepted (this is a bug)")
        except psycopg.errors.InsufficientPrivilege as exc:
            click.echo(f"    forging it to globex by set_config: refused ({exc.sqlstate}: {exc.diag.message_primary})")

        _step("a dynamic table in acme (as alice, in context)")
        conn.execute("select docpal.set_context(%s, %s, false)", (acme, alice))
        if not any(t["slug"] == "products" for t in conn.execute("select docpal.list_tables()").fetchone()[0]):
            conn.execute("select docpal.create_table(%s)", (Jsonb(CATEGORIES),))
            conn.execute("select docpal.create_table(%s)", (Jsonb(PRODUCTS),))
            phones = conn.execute("select docpal.create_record('categories', %s)",
                                  (Jsonb({"name": "Phones"}),)).fetchone()[0]
            conn.execute("select docpal.create_records('products', %s)", (Jsonb([
                {"name": "Pocket phone", "price": 199.0, "category_id": phones["id"], "tags": ["new"]},
                {"name": "Desk phone", "price": 49.5, "category_id": phones["id"], "status": "active"},
            ]),))
        table = conn.execute("select docpal.describe_table('products')").fetchone()[0]
        click.echo("    products: " + ", ".join(f"{c['name']} {c['type']} ({c['data_type']})" for c in table["columns"]))
        for record in conn.execute("select docpal.get_record('products', id) from "
                                   + table_name(conn, acme, "products") + " order by name").fetchall():
            r = record[0]
            click.echo(f"    {r['name']:14} price {r['price']:>8} status {r['status']:7} version {r['version']}")
        try:
            conn.execute("select docpal.create_record('products', %s)", (Jsonb({"name": "Bad", "price": -1}),))
        except psycopg.errors.CheckViolation as exc:
            click.echo(f"    create_record with price -1: refused (23514, DETAIL {exc.diag.message_detail})")

        _step("change events: a rule, a change, the outbox")
        if not conn.execute("select docpal.list_event_rules()").fetchone()[0]:
            conn.execute("select docpal.create_event_rule(%s)", (Jsonb(
                {"table": "products", "actions": ["UPDATE"], "when": {"price": {"gt": 100}},
                 "workflow": "review_price", "task_queue": "pricing"}),))
        desk = conn.execute("select docpal.query_table('products', %s)",
                            (Jsonb({"filters": {"name": "Desk phone"}}),)).fetchone()[0]["rows"][0]
        conn.execute("select docpal.update_record('products', %s, %s)",
                     (desk["id"], Jsonb({"price": 149.0 if float(desk["price"]) < 100 else 49.5})))
        events = conn.execute("select docpal.poll_events('demo', 1000)").fetchone()[0]
        for event in events[-4:]:
            workflow = f" -> workflow {event['workflow']['name']}" if "workflow" in event else ""
            click.echo(f"    event {event['event_id']}: {event['action']:6} {event['table']} "
                       f"v{event['version']} changed {event['changed']}{workflow}")
        if events:
            conn.execute("select docpal.ack_events('demo', %s)", (events[-1]["event_id"],))
        click.echo(f"    poll_events('demo') handed out {len(events)} events (acknowledged); "
                   "`docpal listen --consumer NAME` streams them")
        conn.execute("select docpal.clear_context()")

    _step("done")
    click.echo(f"    connect with: psql '{url}'")
    click.echo("    try: select docpal.list_companies();")


def _print_reports(conn: psycopg.Connection, company: str, owner: str, document: dict, saved: list[str]) -> None:
    """The blueprint's reports as the company has them (saved by this apply or an earlier one),
    then the first of them run once, as the owner."""
    wanted = [r.get("slug") for r in document.get("reports") or []]
    with conn.transaction():
        conn.execute("select docpal.set_context(%s, %s, true)", (company, owner))
        have = {r["slug"]: r for r in conn.execute("select docpal.list_reports()").fetchone()[0]}
        slugs = [s for s in wanted if s in have]
        for slug in slugs:
            report = have[slug]
            when = f"schedule {report['schedule']}" if report.get("schedule") else "no schedule"
            state = "saved now" if slug in saved else "saved before"
            click.echo(f"    report {slug}: {report.get('name')} ({report.get('kind')}, {when}; {state})")
        if not slugs:
            return
        run = conn.execute("select docpal.run_report(%s)", (slugs[0],)).fetchone()[0]
    result = run["result"]
    spec = next(r for r in document["reports"] if r.get("slug") == slugs[0]).get("spec") or {}
    items = result.get("groups") or result.get("rows") or result.get("events") or []
    click.echo(f"    run_report({slugs[0]!r}) in {run['ms']} ms: {len(items)} "
               f"{'groups' if 'groups' in result else 'rows'}")
    # jsonb keeps no key order: groups, then metrics, in the spec's order
    order = list(spec.get("group_by") or []) + list(spec.get("metrics") or {}) if "metrics" in spec else ["value", "count"]
    for item in items[:5]:
        keys = [k for k in order if k in item] or [k for k in item if k != "rows"]
        click.echo("      " + ", ".join(f"{k} {item[k]}" for k in keys))


def _database(database_url: str | None, data_dir: Path | None) -> str:
    """The demo's database, migrated: DATABASE_URL, or the embedded cluster's docpal_demo."""
    if database_url:
        url = deploy.libpq_url(database_url)
        _step(f"using DATABASE_URL {url}")
    else:
        data_dir = data_dir or embedded.default_datadir(resources.checkout_root() or Path.cwd())
        _step(f"starting the embedded PostgreSQL in {data_dir}")
        cluster = embedded.Cluster(data_dir).start()
        url = cluster.create_database(DEMO_DB)
        stop = " ".join(embedded.as_server_user([str(embedded.pg_bindir() / "pg_ctl"), "-D", str(data_dir), "stop"]))
        click.echo(f"    PostgreSQL at {cluster.url()}; stop it with: {stop}")
    _step("docpal migrate")
    result = deploy.migrate(url)
    click.echo(f"    migrations applied: {', '.join(result.applied_migrations) or 'none pending'}; "
               f"tenant template v{result.upgrade.target_version}")
    return url


def run_blueprint(database_url: str | None, data_dir: Path | None, name: str) -> dict:
    """``docpal demo --blueprint NAME``: a company made from a blueprint (shipped name or JSON
    file), slug ``<name>-demo``, owned by owner@<name>.example.com; prints what it made. Running
    it again applies the blueprint again (a same version changes nothing). Returns the result."""
    from . import blueprints

    document = blueprints.load(name)  # LookupError / ValueError before anything starts
    url = _database(database_url, data_dir)
    bp_name = str(document.get("name", "blueprint"))
    slug = f"{bp_name.replace('_', '-')}-demo"
    with psycopg.connect(url, autocommit=True) as conn:
        _step(f"company {slug} from blueprint {bp_name} v{document.get('version')}")
        company = _ensure_company(conn, slug, f"{bp_name.replace('_', ' ').title()} demo")
        owner = _ensure_user(conn, f"owner@{slug}.example.com", f"{bp_name.title()} owner")
        conn.execute("select docpal.add_member(%s, %s, 'owner')", (company, owner))
        [row] = blueprints.companies(conn, company)
        result = blueprints.apply(conn, row, document)
        created, added = result["created"], result["added"]
        click.echo(f"    {blueprints.summary(result)}")
        with conn.transaction():
            conn.execute("select docpal.set_context(%s, %s, true)", (company, owner))
            tables = {t["slug"]: t for t in conn.execute("select docpal.list_tables()").fetchone()[0]}
            for slug_ in created["tables"]:
                columns = tables.get(slug_, {}).get("columns", [])
                count = created["records"].get(slug_, 0)
                click.echo(f"    table {slug_:26} {len(columns):2} columns, {count:3} sample records")
            for item in added["columns"]:
                click.echo(f"    column {item['table']}.{item['column']} added")
        for key, label in (("type_lists", "type lists"), ("roles", "roles"), ("workflows", "workflows")):
            if created[key]:
                click.echo(f"    {label}: {', '.join(created[key])}")
        for rule in created["event_rules"]:
            click.echo(f"    event rule on {rule['table']} -> workflow {rule['workflow']}")
        _print_reports(conn, company, owner, document, created.get("reports") or [])
        _step("done")
        click.echo(f"    company {slug} ({company}), owner owner@{slug}.example.com ({owner})")
        click.echo(f"    connect with: psql '{url}'")
    return result
