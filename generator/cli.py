"""The ``docpal`` command line."""

from __future__ import annotations

import json
import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path

import click
import psycopg
from psycopg import sql as pgsql

from . import __version__, audit, deploy, render, resources
from . import listen as listen_mod

database_url_option = click.option(
    "--database-url", envvar="DATABASE_URL", metavar="URL",
    help="PostgreSQL URL (default: $DATABASE_URL).")


def _need_url(url: str | None) -> str:
    if not url:
        raise click.UsageError("give --database-url or set DATABASE_URL")
    return url


def _echo_json(data) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@contextmanager
def _tenant_progress(label: str):
    """A progress bar over company upgrades; it appears once there are many."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), transient=True, console=None)
    state: dict = {"task": None}

    def update(item: dict) -> None:
        if item["pending"] < 20:
            return
        if state["task"] is None:
            progress.start()
            state["task"] = progress.add_task(label, total=item["pending"])
        progress.update(state["task"], completed=item["done"])

    try:
        yield update
    finally:
        if state["task"] is not None:
            progress.stop()


def _report_upgrade(result: deploy.UpgradeResult) -> None:
    click.echo(f"tenant template version {result.target_version}: "
               f"{result.upgraded} of {result.pending} company schemas upgraded, {len(result.failed)} failed")
    for item in result.failed:
        click.echo(f"  FAILED company {item['company']}: {item['error']}", err=True)


class _Group(click.Group):
    """Missing templates end any command with a clear message and exit 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except resources.TemplatesNotFound as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="docpal")
def main() -> None:
    """docpal: tenants, dynamic tables, audit, permissions and events inside PostgreSQL."""


@main.command()
@database_url_option
def migrate(database_url: str | None) -> None:
    """Install or upgrade docpal, then upgrade every company schema."""
    url = _need_url(database_url)
    with _tenant_progress("upgrading company schemas") as progress:
        result = deploy.migrate(url, progress=progress)
    click.echo(f"migrations applied: {', '.join(result.applied_migrations) or 'none pending'}")
    _report_upgrade(result.upgrade)
    if result.upgrade.failed:
        sys.exit(1)


@main.command()
@database_url_option
def status(database_url: str | None) -> None:
    """Installed version, pending migrations and tenant upgrade state (JSON)."""
    _echo_json(deploy.status(_need_url(database_url)))


@main.command("render")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write the script to this file (default: sql/docpal.sql of a checkout, "
                   "./docpal.sql when docpal is installed).")
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the script instead of writing a file.")
def render_cmd(output: Path | None, to_stdout: bool) -> None:
    """Render every template into the install script for `psql -f`."""
    if output and to_stdout:
        raise click.UsageError("give -o FILE or --stdout, not both")
    if to_stdout:
        try:
            click.echo(render.install_script(), nl=False)
            sys.stdout.flush()
        except BrokenPipeError:  # `docpal render --stdout | head`: the reader has seen enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    else:
        click.echo(f"wrote {render.write_install_script(output)}")


@main.command()
@database_url_option
def lint(database_url: str | None) -> None:
    """Check every template (pglast rules; plpgsql_check too when a database is given)."""
    from . import lint as linter

    violations = linter.lint()
    if database_url:
        with psycopg.connect(deploy.libpq_url(database_url), autocommit=True) as conn:
            violations += linter.plpgsql_check(conn)
    for violation in violations:
        click.echo(str(violation), err=True)
    if violations:
        sys.exit(1)
    click.echo("lint: no violations")


@main.group()
def tenants() -> None:
    """Companies and their schemas."""


@tenants.command("list")
@database_url_option
def tenants_list(database_url: str | None) -> None:
    """Every company (JSON)."""
    with psycopg.connect(deploy.libpq_url(_need_url(database_url))) as conn:
        _echo_json(conn.execute("select docpal.list_companies()").fetchone()[0])


@tenants.command("create")
@database_url_option
@click.argument("slug")
@click.argument("name")
def tenants_create(database_url: str | None, slug: str, name: str) -> None:
    """Create a company; prints its id."""
    with psycopg.connect(deploy.libpq_url(_need_url(database_url))) as conn:
        click.echo(conn.execute("select docpal.create_company(%s, %s)", (slug, name)).fetchone()[0])


@tenants.command("migrate")
@database_url_option
def tenants_migrate(database_url: str | None) -> None:
    """Upgrade every company schema behind the tenant template."""
    with _tenant_progress("upgrading company schemas") as progress:
        result = deploy.upgrade_only(_need_url(database_url), progress=progress)
    _report_upgrade(result)
    if result.failed:
        sys.exit(1)


def _bytes(n: int | None) -> str:
    """A size for people: 1.5 MB."""
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)  # not reached


def _quota_text(quota: dict | None) -> str:
    names = {"max_tables": "tables", "max_records": "records", "max_bytes": "bytes", "max_file_bytes": "files"}
    parts = [f"{label} ≤ {_bytes(quota[key]) if 'bytes' in key else format(quota[key], ',')}"
             for key, label in names.items() if quota and quota.get(key) is not None]
    return ", ".join(parts) or "-"


@tenants.command("metrics")
@database_url_option
@click.option("--company", metavar="SLUG|ID", default=None, help="Only this company (counted exactly).")
@click.option("--json", "as_json", is_flag=True, help="Print what docpal.company_metrics returns, as JSON.")
def tenants_metrics(database_url: str | None, company: str | None, as_json: bool) -> None:
    """Per company: tables, records, size, files, audit entries, pending events, activity
    and quota (docs/metrics.md). Needs a platform admin login (superuser or docpal_service)."""
    from rich.console import Console
    from rich.table import Table

    try:
        with psycopg.connect(deploy.libpq_url(_need_url(database_url)), autocommit=True) as conn:
            if company is None:
                data = conn.execute("select docpal.company_metrics()").fetchone()[0]
            else:
                found = conn.execute("select docpal.get_company(%s)->>'id'", (company,)).fetchone()[0]
                if found is None:
                    raise click.ClickException(f"no company {company!r}")
                data = conn.execute("select docpal.company_metrics(%s)", (found,)).fetchone()[0]
    except psycopg.Error as exc:
        raise click.ClickException(f"{exc.sqlstate}: {str(exc).strip()}") from None
    if as_json:
        _echo_json(data)
        return
    rows = data if isinstance(data, list) else [data]
    table = Table(title=f"docpal company metrics ({len(rows)} {'company' if len(rows) == 1 else 'companies'})")
    for name in ("company", "status", "tables", "records", "size", "files", "file size", "audit entries",
                 "events pending", "rows read", "rows written", "last activity", "quota"):
        table.add_column(name, justify="left" if name in ("company", "status", "last activity", "quota") else "right")
    for m in rows:
        act = m["activity"]
        table.add_row(m["slug"], m["status"], f"{m['tables']:,}", f"{m['records']:,}", _bytes(m["bytes"]),
                      # files and events_pending are null when that company's table was locked
                      "?" if m["files"] is None else f"{m['files']:,}", _bytes(m["file_bytes"]),
                      f"{m['audit_entries']:,}",
                      "?" if m["events_pending"] is None else f"{m['events_pending']:,}", f"{act['reads']:,}",
                      f"{act['inserts'] + act['updates'] + act['deletes']:,}",
                      (m["last_activity"] or "-")[:19].replace("T", " "), _quota_text(m["quota"]))
    console = Console()
    if not console.is_terminal:
        console = Console(width=220)  # a file or a pipe: one line per company
    console.print(table)


@contextmanager
def _transfer_progress(verb: str):
    """A live count per part of an export or import (its size is not known up front)."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    # on standard error: standard output carries the export (or the new company's id)
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,}"),
                        transient=True, console=Console(stderr=True))
    tasks: dict = {}

    def update(label: str, count: int) -> None:
        if label not in tasks:
            tasks[label] = progress.add_task(f"{verb} {label}", total=None)
        progress.advance(tasks[label], count)

    with progress:
        yield update


@tenants.command("export")
@database_url_option
@click.argument("slug")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write to this file (default: standard output).")
@click.option("--history", is_flag=True, help="Add the audit log (the imported company's chain verifies).")
@click.option("--batch", type=click.IntRange(1, 10000), default=1000, show_default=True,
              help="Entries per line of data.")
def tenants_export(database_url: str | None, slug: str, output: Path | None, history: bool, batch: int) -> None:
    """Export company SLUG as JSON Lines (docs/export-import.md), in memory that does not
    grow with the company."""
    from . import transfer

    url = deploy.libpq_url(_need_url(database_url))
    try:
        with _transfer_progress("exported") as progress:
            if output is None:
                transfer.export_company(url, slug, sys.stdout, history, batch, progress)
                return
            partial = output.with_name(output.name + ".part")  # FILE appears only when complete
            try:
                with open(partial, "w", encoding="utf-8") as out:
                    lines = transfer.export_company(url, slug, out, history, batch, progress)
                partial.replace(output)
            finally:
                partial.unlink(missing_ok=True)
    except transfer.TransferError as exc:
        raise click.ClickException(str(exc)) from None
    except psycopg.Error as exc:
        raise click.ClickException(f"{exc.sqlstate}: {str(exc).strip()}") from None
    click.echo(f"exported {slug} to {output}: {lines} lines", err=True)


@tenants.command("import")
@database_url_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--slug", required=True, help="The new company's slug.")
def tenants_import(database_url: str | None, file: Path, slug: str) -> None:
    """Create company SLUG from an export FILE (JSON Lines or one JSON document), all or
    nothing; prints its id. Runs as the DBA (it calls docpal's private import steps)."""
    from . import transfer

    url = deploy.libpq_url(_need_url(database_url))
    try:
        with open(file, encoding="utf-8") as stream, _transfer_progress("imported") as progress:
            company = transfer.import_file(url, stream, slug, progress)
    except transfer.TransferError as exc:
        raise click.ClickException(str(exc)) from None
    except psycopg.Error as exc:
        raise click.ClickException(f"{exc.sqlstate}: {str(exc).strip()}") from None
    click.echo(company)


@tenants.command("apply-blueprint")
@database_url_option
@click.argument("blueprint", metavar="FILE")
@click.option("--company", metavar="SLUG|ID", default=None, help="Apply to this company.")
@click.option("--all", "all_companies", is_flag=True,
              help="Upgrade every company that has this blueprint (each in its own transaction).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def tenants_apply_blueprint(database_url: str | None, blueprint: str, company: str | None, all_companies: bool,
                            as_json: bool) -> None:
    """Apply a blueprint (a JSON FILE or a shipped name: school, workforce, mes) to a company,
    or upgrade every company that has it; exits 1 when one failed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from . import blueprints

    if (company is None) == (not all_companies):
        raise click.UsageError("give --company SLUG or --all (one of them)")
    try:
        document = blueprints.load(blueprint)
    except (LookupError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    results: list[dict] = []
    with psycopg.connect(deploy.libpq_url(_need_url(database_url)), autocommit=True) as conn:
        if company is not None:
            try:
                [row] = blueprints.companies(conn, company)
                results.append({"company": row[1], "result": blueprints.apply(conn, row, document)})
            except LookupError as exc:
                raise click.UsageError(str(exc)) from None
            except psycopg.Error as exc:
                results.append({"company": company, "error": str(exc).strip().splitlines()[0], "sqlstate": exc.sqlstate})
        else:
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          transient=True, disable=as_json) as progress:
                task = progress.add_task(f"applying {document.get('name')}", total=None)
                for item in blueprints.apply_all(conn, document,
                                                 lambda done, total: progress.update(task, completed=done, total=total)):
                    results.append(item)
    failed = [r for r in results if "error" in r]
    if as_json:
        _echo_json(results)
    else:
        for item in results:
            if "error" in item:
                click.echo(f"FAILED {item['company']}: {item['sqlstate']} {item['error']}", err=True)
            else:
                click.echo(f"{item['company']}: {blueprints.summary(item['result'])}")
        if all_companies:
            click.echo(f"{len(results) - len(failed)} of {len(results)} companies with blueprint "
                       f"{document.get('name')} applied, {len(failed)} failed")
    if failed:
        sys.exit(1)


@main.group("reports")
def reports_group() -> None:
    """Saved reports: run one (JSON or CSV), run the scheduled ones that are due."""


@reports_group.command("run")
@database_url_option
@click.argument("slug")
@click.option("--company", required=True, metavar="SLUG|ID", help="The company whose report it is.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A report parameter (repeatable); NAME:=JSON passes a JSON value as it is.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True,
              help="json: what run_report returns; csv: a header row, then one line per row, group, card "
                   "or event.")
@click.option("--user", metavar="ID|EMAIL", default=None,
              help="Run as this member (default: the user who saved the report, as a scheduled run does).")
def reports_run(database_url: str | None, slug: str, company: str, params: tuple[str, ...], fmt: str,
                user: str | None) -> None:
    """Run report SLUG of a company as one of its members (--user, else the user who saved it),
    with that member's grants, and print it (docs/reports.md). Needs a platform admin login;
    looking up the saver or an email needs a superuser."""
    from . import reports

    url = deploy.libpq_url(_need_url(database_url))
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            done = reports.run(conn, company, slug, params, user, for_csv=fmt == "csv")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--param") from None
    except reports.ReportError as exc:
        raise click.ClickException(str(exc)) from None
    except psycopg.Error as exc:
        raise click.ClickException(f"{exc.sqlstate}: {str(exc).strip()}") from None
    if fmt == "json":
        click.echo(done.pretty)
        return
    header, rows = reports.table_rows(done.report, done.result, done.table_columns)
    reports.write_csv(sys.stdout, header, rows)


@reports_group.command("run-due")
@database_url_option
@click.option("--as-of", metavar="TIMESTAMP", default=None,
              help="Run what is due at this time instead of now (ISO 8601; without a zone: UTC).")
@click.option("--max-seconds", type=click.FloatRange(min=1.0), default=50.0, show_default=True, metavar="SECONDS",
              help="Start no report after this long (what is left runs at the next call): under a minute, "
                   "so that an every-minute cron line does not overlap itself.")
@click.option("--json", "as_json", is_flag=True,
              help='Print {ran, failed} as JSON (with "more": true when stopped at --max-seconds).')
def reports_run_due(database_url: str | None, as_of: str | None, max_seconds: float, as_json: bool) -> None:
    """Run the scheduled reports that are due, in every company, as the users who saved them: one at a
    time, each claim committed before its run (a run cancelled by statement_timeout fails alone).
    Exits 1 when one failed. Without pg_cron, run it every minute from cron (docs/reports.md)."""
    from . import reports

    try:
        with psycopg.connect(deploy.libpq_url(_need_url(database_url)), autocommit=True) as conn:
            counts = reports.run_due(conn, as_of, max_seconds)
    except psycopg.Error as exc:
        raise click.ClickException(f"{exc.sqlstate}: {str(exc).strip()}") from None
    if as_json:
        _echo_json(counts)
    else:
        click.echo(f"ran {counts['ran']}, failed {counts['failed']}"
                   + (f"; stopped after {max_seconds:g} s, the rest runs at the next call" if counts.get("more") else ""))
    if counts["failed"]:
        sys.exit(1)


@main.group("audit")
def audit_group() -> None:
    """Audit log upkeep: partitions, sealing, retention, verification."""


_company_option = click.option("--company", metavar="SLUG|ID", default=None,
                               help="Only this company (default: every company).")


@audit_group.command("maintain")
@database_url_option
@_company_option
@click.option("--keep-months", type=click.IntRange(min=0), default=None,
              help="Drop (or archive) monthly partitions that ended more than this many months ago.")
@click.option("--archive", is_flag=True, help="Detach old partitions as _audit_archive_YYYYMM instead of dropping them.")
def audit_maintain(database_url: str | None, company: str | None, keep_months: int | None, archive: bool) -> None:
    """Create coming partitions, seal the chains, apply retention (one JSON line per company)."""
    try:
        for item in audit.maintain(_need_url(database_url), keep_months, archive, company):
            click.echo(json.dumps(item, default=str))
    except LookupError as exc:
        raise click.UsageError(str(exc)) from None


@main.command("maintain")
@database_url_option
@_company_option
@click.option("--keep-months", type=click.IntRange(min=0), default=None,
              help="Audit retention: drop (or archive) monthly partitions that ended more than this many months ago.")
@click.option("--archive", is_flag=True, help="Detach old audit partitions as _audit_archive_YYYYMM instead of dropping them.")
def maintain_cmd(database_url: str | None, company: str | None, keep_months: int | None, archive: bool) -> None:
    """Periodic upkeep: audit partitions, sealing and retention, then event outbox retention (JSON lines)."""
    from . import maintain

    try:
        for item in maintain.run(_need_url(database_url), company, keep_months, archive):
            click.echo(json.dumps(item, default=str))
    except LookupError as exc:
        raise click.UsageError(str(exc)) from None


@audit_group.command("verify")
@database_url_option
@_company_option
def audit_verify(database_url: str | None, company: str | None) -> None:
    """Seal and verify each company's chain; exits 1 when one is broken."""
    broken = False
    try:
        for item in audit.verify(_need_url(database_url), company):
            click.echo(json.dumps(item, default=str))
            broken = broken or not item["ok"]
    except LookupError as exc:
        raise click.UsageError(str(exc)) from None
    if broken:
        sys.exit(1)


@main.command()
@database_url_option
@click.option("--consumer", required=True, metavar="NAME",
              help="Consumer name: its position in the outbox (letters, digits, _ . : -).")
@click.option("--sink", default="stdout", show_default=True, metavar="stdout|webhook:URL|temporal:HOST:PORT",
              help="Where each event goes: a JSON line on stdout, a POST, or a started Temporal workflow.")
@click.option("--once", is_flag=True, help="Deliver what is pending, then exit (exit 1 if the sink fails).")
@click.option("--batch", type=click.IntRange(1, 10000), default=100, show_default=True,
              help="Events per poll-deliver-acknowledge transaction.")
@click.option("--poll-interval", type=click.FloatRange(min=0.1), default=5.0, show_default=True, metavar="SECONDS",
              help="Poll this often when no notification arrives.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True, metavar="SECONDS",
              help="Time a webhook request or a workflow start may take before it counts as failed.")
@click.option("--run-due-reports", type=click.FloatRange(min=1.0), default=None, metavar="SECONDS",
              help="Also run the scheduled reports that are due (as `docpal reports run-due`) every SECONDS "
                   "(default: off; for a server without pg_cron or a cron line).")
def listen(database_url: str | None, consumer: str, sink: str, once: bool, batch: int, poll_interval: float,
           timeout: float, run_due_reports: float | None) -> None:
    """Consume the change events and hand each to a sink; acknowledges only what the sink accepted.

    Progress goes to stderr (stdout is the default sink). Runs until SIGTERM or
    SIGINT (exit 0) unless --once.
    """
    url = _need_url(database_url)
    try:
        target = listen_mod.make_sink(sink, timeout)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--sink") from None
    listener = listen_mod.Listener(url, consumer, target, batch=batch, once=once, poll_interval=poll_interval,
                                   run_due_reports=run_due_reports)
    sys.exit(listener.run())


@main.group()
def roles() -> None:
    """Login roles for applications."""


_TIMEOUT = re.compile(r"^[1-9][0-9]{0,8}(ms|s|min|h)?$")
_LOGIN_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _timeout(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A positive duration PostgreSQL reads (30s, 500ms, 5min, 1h; a bare
    number is milliseconds). 0, which disables the timeout, is refused."""
    if not _TIMEOUT.match(value):
        raise click.BadParameter("a positive duration such as 500ms, 30s, 5min or 1h")
    return value


@roles.command("create-login")
@database_url_option
@click.argument("name")
@click.option("--app", "group", flag_value="docpal_app", help="An untrusted client: member of docpal_app.")
@click.option("--service", "group", flag_value="docpal_service", help="A trusted backend: member of docpal_service.")
@click.option("--server", "group", flag_value="docpal_app, docpal_service",
              help="The login of `docpal serve`: member of both (it acts as docpal_app for API keys).")
@click.option("--connection-limit", type=click.IntRange(1, 10000), default=20, show_default=True,
              help="Most connections this login may hold at once.")
@click.option("--statement-timeout", default="30s", show_default=True, callback=_timeout,
              help="Longest a statement of this login may run.")
@click.option("--idle-timeout", default="60s", show_default=True, callback=_timeout,
              help="Longest this login may stay idle inside a transaction (idle_in_transaction_session_timeout).")
@click.option("--password-env", default="DOCPAL_LOGIN_PASSWORD", show_default=True, metavar="VAR",
              help="Environment variable holding the password; prompted for (not echoed) when unset.")
@click.option("--no-password", is_flag=True, help="No password (certificate or peer authentication).")
def roles_create_login(database_url: str | None, name: str, group: str | None, connection_limit: int,
                       statement_timeout: str, idle_timeout: str, password_env: str, no_password: bool) -> None:
    """Create login role NAME as a member of docpal_app or docpal_service, with safe settings.

    A client idle in a transaction holds its locks and pins the notification
    queue; a runaway statement holds a connection; a connection limit keeps
    one login from taking every slot of the server. The password is sent as a
    SCRAM verifier computed here, never in clear text.
    """
    url = _need_url(database_url)
    if group is None:
        raise click.UsageError("give --app (untrusted client), --service (trusted backend) or --server (docpal serve)")
    if not _LOGIN_NAME.match(name) or name.startswith(("pg_", "docpal_")):
        raise click.BadParameter("lower-case letters, digits and _, at most 63, not starting with pg_ or docpal_",
                                 param_hint="NAME")
    password = None
    if not no_password:
        password = os.environ.get(password_env) or click.prompt(
            f"password for {name}", hide_input=True, confirmation_prompt=True)
    with psycopg.connect(deploy.libpq_url(url), autocommit=True) as conn:
        if conn.execute("select from pg_catalog.pg_roles where rolname = %s", (name,)).fetchone() is not None:
            raise click.UsageError(f"role {name} already exists")
        ident = pgsql.Identifier(name)
        verifier = None
        if password is not None:
            verifier = conn.pgconn.encrypt_password(password.encode(), name.encode()).decode()
        with conn.transaction():
            conn.execute(pgsql.SQL(
                "create role {} login nosuperuser nocreatedb nocreaterole noreplication nobypassrls"
                " connection limit {} password {} in role {}").format(
                ident, pgsql.Literal(connection_limit), pgsql.Literal(verifier),
                pgsql.SQL(", ").join(pgsql.Identifier(g) for g in group.split(", "))))
            conn.execute(pgsql.SQL("alter role {} set statement_timeout = {}").format(
                ident, pgsql.Literal(statement_timeout)))
            conn.execute(pgsql.SQL("alter role {} set idle_in_transaction_session_timeout = {}").format(
                ident, pgsql.Literal(idle_timeout)))
    click.echo(f"created login {name} in {group}: connection limit {connection_limit}, "
               f"statement_timeout {statement_timeout}, idle_in_transaction_session_timeout {idle_timeout}")


@main.command()
@database_url_option
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Folder of the embedded cluster (default: .docpal/pgdata in the project).")
@click.option("--blueprint", metavar="NAME", default=None,
              help="Instead: create a company from a shipped blueprint (school, workforce, mes) or a JSON file.")
def demo(database_url: str | None, data_dir: Path | None, blueprint: str | None) -> None:
    """Run docpal end to end: a local PostgreSQL (unless DATABASE_URL), a demo company and users."""
    from . import demo as demo_mod

    if blueprint is not None:
        try:
            demo_mod.run_blueprint(database_url, data_dir, blueprint)
        except (LookupError, ValueError) as exc:
            raise click.UsageError(str(exc)) from None
        return
    demo_mod.run(database_url, data_dir)


@main.command()
@database_url_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes sharing the socket (each with its own pool).")
@click.option("--pool-size", type=click.IntRange(1, 500), default=10, show_default=True,
              help="Database connections per worker, at most.")
@click.option("--no-access-log", is_flag=True, help="Do not write the JSON access log to stderr.")
@click.option("--events-poll", type=click.FloatRange(0.1, 3600), default=5.0, show_default=True,
              envvar="DOCPAL_EVENTS_POLL", metavar="SECONDS",
              help="GET /api/events: seconds between outbox reads when no notification came.")
@click.option("--events-queue", type=click.IntRange(10, 100000), default=1000, show_default=True,
              envvar="DOCPAL_EVENTS_QUEUE", metavar="N",
              help="GET /api/events: events a client may have waiting before it is told to reconnect.")
@click.option("--company-requests", type=click.IntRange(1, 500), default=None, envvar="DOCPAL_COMPANY_REQUESTS",
              metavar="N", help="API requests of one company at once per worker; more wait, then 429 "
                                "[default: the pool size less a quarter].")
@click.option("--company-streams", type=click.IntRange(1, 100000), default=500, show_default=True,
              envvar="DOCPAL_COMPANY_STREAMS", metavar="N",
              help="GET /api/events: open streams of one company per worker; one more is 429.")
def serve(database_url: str | None, host: str, port: int, workers: int, pool_size: int, no_access_log: bool,
          events_poll: float, events_queue: int, company_requests: int | None, company_streams: int) -> None:
    """Serve docpal over HTTP (contract section 12): the REST API, OpenAPI,
    live events, /admin (with DOCPAL_ADMIN_TOKEN) and dashboards."""
    from .server.app import Settings
    from .server.run import serve as run_server

    url = deploy.libpq_url(_need_url(database_url))
    settings = Settings(database_url=url, admin_token=os.environ.get("DOCPAL_ADMIN_TOKEN") or None,
                        pool_min=min(2, pool_size), pool_max=pool_size, access_log=not no_access_log,
                        events_poll=events_poll, events_queue=events_queue,
                        company_requests=company_requests, company_streams=company_streams)
    run_server(settings, host=host, port=port, workers=workers)


if __name__ == "__main__":  # pragma: no cover
    main()
