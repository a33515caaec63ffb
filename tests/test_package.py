"""docpal as a user gets it: `python -m build` (an sdist, then a wheel built
from that sdist), the wheel installed into a fresh virtualenv (not the dev
one), and that venv's `docpal` migrating a fresh database of the test cluster.
The CI runs it with the rest of the suite (.ci/run -> ./dev test)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import uuid
import zipfile
from pathlib import Path

import httpx
import pytest
from psycopg import sql

from docpal import __version__, render, resources

CHECKOUT = Path(__file__).resolve().parent.parent


def run(args: list, cwd: Path, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run outside the checkout and the dev venv: nothing but the wheel may be found."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, **kwargs)
    if check:
        assert proc.returncode == 0, f"{args}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", out, CHECKOUT], cwd=out)
    return out


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel (and its dependencies) installed."""
    home = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", home / "venv"], cwd=home)
    [wheel] = dist.glob("docpal-*.whl")
    run([home / "venv/bin/pip", "install", "-q", wheel], cwd=home)
    return home / "venv"


@pytest.fixture
def fresh_db(db, dburl):
    """A brand-new empty database on the test cluster; yields its URL."""
    name = f"wheel_{uuid.uuid4().hex[:12]}"
    db.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    yield dburl.rsplit("/", 1)[0] + "/" + name
    db.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shipped_files() -> set[str]:
    """Every template file of the checkout, relative to the template root."""
    root = resources.template_root()
    out = set()
    for entry in resources.SHIPPED:
        path = root / entry
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        out |= {str(p.relative_to(root)) for p in files if "__pycache__" not in p.parts}
    return out - {resources.INSTALL_SCRIPT}


def test_wheel_and_sdist_ship_every_template_and_the_rendered_script(dist):
    expected = shipped_files()
    assert {"migrations/0001_base.sql", "sql/install/prepare.sql", "docs/reference.md"} <= expected
    [wheel] = dist.glob("docpal-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert {f"docpal/{f}" for f in expected} <= names
        assert "docpal/data/pg_catalog_functions.txt" in names
        # the shipped blueprints (docpal tenants apply-blueprint NAME, docpal demo --blueprint NAME)
        assert {f"docpal/blueprints/{n}.json" for n in ("school", "workforce", "mes")} | {"docpal/blueprints/__init__.py"} <= names
        # docpal serve's pages (the machine that serves them may be offline: nothing from a CDN)
        static = Path(__file__).resolve().parent.parent / "generator" / "server" / "static"
        assert {f"docpal/server/static/{p.name}" for p in static.iterdir()} <= names
        script = z.read(f"docpal/{resources.INSTALL_SCRIPT}").decode()
    assert script == render.install_script()  # rendered at build time from the same templates
    [sdist] = dist.glob("docpal-*.tar.gz")
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    assert expected <= names
    assert resources.INSTALL_SCRIPT not in names  # built, never shipped from the tree


def test_installed_wheel_migrates_a_fresh_database(venv, fresh_db, tmp_path):
    docpal = venv / "bin/docpal"
    where = run([venv / "bin/python", "-c", "from docpal import resources as r;"
                 "print(r.template_root(), r.checkout_root())"], cwd=tmp_path).stdout.split()
    assert where[0].startswith(str(venv)) and where[1] == "None"

    migrated = run([docpal, "migrate", "--database-url", fresh_db], cwd=tmp_path)
    assert "migrations applied: 0001_base" in migrated.stdout
    status = json.loads(run([docpal, "status", "--database-url", fresh_db], cwd=tmp_path).stdout)
    assert status["installed_version"] == status["package_version"] == __version__
    assert status["pending_migrations"] == [] and status["applied_migrations"]
    assert status["companies_behind"] == 0 and status["tenant_template_version"] > 0
    shipped = run([venv / "bin/python", "-c", "from docpal import blueprints; print(blueprints.names(),"
                   " blueprints.load('mes')['name'])"], cwd=tmp_path).stdout
    assert shipped.strip() == "['mes', 'school', 'workforce'] mes"

    head = run(["bash", "-c", "set -o pipefail; \"$0\" render --stdout | head -3", docpal], cwd=tmp_path)
    assert head.stdout.startswith(f"-- docpal {__version__}: complete install script.") and not head.stderr
    full = run([docpal, "render", "--stdout"], cwd=tmp_path).stdout
    assert full == (Path(where[0]) / resources.INSTALL_SCRIPT).read_text()
    assert "no violations" in run([docpal, "lint"], cwd=tmp_path).stdout

    # docpal serve from the wheel: ready on the database it migrated, its pages from the package
    port = free_port()
    server = subprocess.Popen([docpal, "serve", "--database-url", fresh_db, "--port", str(port)], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ready = None
        for _ in range(200):
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert ready is not None and ready.status_code == 200, ready and ready.text
        page = httpx.get(f"http://127.0.0.1:{port}/admin", timeout=5)
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert httpx.get(f"http://127.0.0.1:{port}/static/admin.js", timeout=5).status_code == 200
    finally:
        server.terminate()
        assert server.wait(20) == 0, server.stderr.read().decode()


def test_installed_wheel_without_its_templates_is_an_error(venv, fresh_db, tmp_path):
    site = Path(run([venv / "bin/python", "-c", "from docpal import resources; print(resources.package_dir())"],
                    cwd=tmp_path).stdout.strip())
    shutil.move(site / "migrations", tmp_path / "migrations")
    try:
        for args in (("status", "--database-url", fresh_db), ("migrate", "--database-url", fresh_db),
                     ("render", "--stdout"), ("lint",)):
            proc = run([venv / "bin/docpal", *args], cwd=tmp_path, check=False)
            assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
            assert "docpal's SQL templates are missing: no migrations/" in proc.stderr
    finally:
        shutil.move(tmp_path / "migrations", site / "migrations")
