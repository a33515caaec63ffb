"""The docpal command line, against the test cluster."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
from click.testing import CliRunner

from docpal import render, resources
from docpal.cli import main


def invoke(*args: str, env: dict | None = None):
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result


def test_render_stdout_is_the_install_script():
    result = invoke("render", "--stdout")
    assert result.exit_code == 0
    assert result.output == render.install_script()


def test_render_to_a_file(tmp_path):
    target = tmp_path / "install.sql"
    result = invoke("render", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {target}\n"
    assert target.read_text() == render.install_script()
    assert invoke("render", "-o", str(target), "--stdout").exit_code == 2


def test_render_default_is_the_checkouts_ignored_script():
    assert render.default_install_script_path() == resources.template_root() / "sql/docpal.sql"


def test_missing_templates_end_every_command_with_an_error(tmp_path, monkeypatch, dburl):
    """An installed docpal without its templates says so and exits 1 (never
    "nothing pending" or "no violations")."""
    package = tmp_path / "docpal"
    (package / "migrations").mkdir(parents=True)
    monkeypatch.setattr(resources, "package_dir", lambda: package)
    for args in (("render", "--stdout"), ("lint",), ("status", "--database-url", dburl),
                 ("migrate", "--database-url", dburl)):
        result = CliRunner().invoke(main, list(args))
        assert result.exit_code == 1, (args, result.output)
        assert "docpal's SQL templates are missing: no functions/" in result.output


def test_migrate_and_status_by_url_or_environment(dburl):
    result = invoke("migrate", "--database-url", dburl)
    assert result.exit_code == 0, result.output
    assert "migrations applied: none pending" in result.output
    status = invoke("status", env={"DATABASE_URL": dburl})
    assert status.exit_code == 0
    data = json.loads(status.output)
    assert data["installed_version"] == data["package_version"]
    assert data["pending_migrations"] == []


def test_commands_need_a_database_url():
    result = CliRunner().invoke(main, ["migrate"], env={"DATABASE_URL": ""})
    assert result.exit_code == 2
    assert "DATABASE_URL" in result.output


def test_tenants_create_list_migrate(dburl):
    created = invoke("tenants", "create", "cli-co", "CLI Company", "--database-url", dburl)
    assert created.exit_code == 0, created.output
    listed = json.loads(invoke("tenants", "list", "--database-url", dburl).output)
    assert [c["slug"] for c in listed] == ["cli-co"]
    assert listed[0]["id"] == created.output.strip()
    upgraded = invoke("tenants", "migrate", "--database-url", dburl)
    assert upgraded.exit_code == 0
    assert "0 of 0 company schemas upgraded, 0 failed" in upgraded.output


def test_demo_against_database_url(dburl):
    result = invoke("demo", env={"DATABASE_URL": dburl})
    assert result.exit_code == 0, result.output
    assert "refused (42501" in result.output
    assert "workflow review_price" in result.output  # the event rule matched the price change
    again = invoke("demo", env={"DATABASE_URL": dburl})  # re-running reuses the demo data
    assert again.exit_code == 0, again.output
    assert "handed out 1 events" in again.output  # only the new change: the first run acknowledged its events
    with psycopg.connect(dburl) as conn:
        slugs = [c["slug"] for c in conn.execute("select docpal.list_companies()").fetchone()[0]]
    assert slugs == ["acme", "globex"]


def test_demo_starts_its_own_postgresql():
    """The README's first command: no DATABASE_URL, an embedded cluster in a folder."""
    base = Path(tempfile.mkdtemp(prefix="docpal-demo-"))
    os.chmod(base, 0o755)  # as root, the server runs as the postgres OS user
    data_dir = base / "pgdata"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    try:
        proc = subprocess.run([sys.executable, "-m", "docpal.cli", "demo", "--data-dir", str(data_dir)],
                              capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "starting the embedded PostgreSQL" in proc.stdout
        assert "connect with: psql" in proc.stdout
        url = proc.stdout.split("connect with: psql '")[1].split("'")[0]
        with psycopg.connect(url) as conn:
            assert conn.execute("select docpal.resolve_company('acme.example.com')").fetchone()[0]
    finally:
        from docpal.embedded import Cluster
        if (data_dir / "docpal.port").exists():
            cluster = Cluster(data_dir)
            cluster.port = int((data_dir / "docpal.port").read_text())
            cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_console_script_is_installed():
    exe = Path(sys.executable).parent / "docpal"
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and "docpal" in proc.stdout


def test_audit_maintain_and_verify(dburl, db, company):
    db.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["owner"]))
    db.execute("""select docpal.create_table('{"slug": "notes", "columns": [{"name": "title", "type": "text"}]}')""")
    db.execute("""select docpal.create_record('notes', '{"title": "a"}')""")
    db.execute("select docpal.clear_context()")
    maintained = invoke("audit", "maintain", "--company", company["slug"], "--keep-months", "12", "--database-url", dburl)
    assert maintained.exit_code == 0, maintained.output
    item = json.loads(maintained.output)
    assert (item["company"], item["sealed"], item["dropped"]) == (company["slug"], 1, [])
    verified = invoke("audit", "verify", "--database-url", dburl)
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.output) | {"id": None} == {
        "company": company["slug"], "id": None, "sealed": 0, "ok": True, "checked": 1, "first_broken": None}
    # a tampered entry: verify reports it and exits 1
    with db.transaction():
        db.execute("set local session_replication_role = replica")
        db.execute(f"""update {company['schema']}._audit_log set summary = 'forged'""")
    broken = invoke("audit", "verify", "--company", str(company["id"]), "--database-url", dburl)
    assert broken.exit_code == 1
    assert json.loads(broken.output)["ok"] is False
    unknown = invoke("audit", "verify", "--company", "nope", "--database-url", dburl)
    assert unknown.exit_code == 2 and "no company 'nope'" in unknown.output
