"""Render the SQL templates into the install script.

The pipeline is: Jinja2 template -> SQL text -> (lint) -> install script.
Everything here is deterministic: files are taken in a fixed order (folder,
then name) and nothing time- or machine-dependent is rendered, so the same
checkout always renders byte-identical SQL.

Layout read from the template root (``resources.template_root()``: the
checkout, or the installed package, which keeps the same layout):

- ``migrations/NNNN_*.sql``  yoyo migrations (tables, roles, data); each one
  idempotent, because the install script replays all of them.
- ``functions/<subsystem>/private/*.sql``, ``functions/<subsystem>/public/*.sql``
  (subsystems: tenancy, context, catalog, records, query, audit, events,
  permissions, rebac, workflows)  one function per
  file; a ``-- grant: role[, role]`` line says who may EXECUTE it.
- ``triggers/<subsystem>/*.sql``  trigger functions, and triggers on global tables.
- ``sql/tenant/NNNN_*.sql``  the tenant template (module ``base``), one
  upgrade step per file, rendered with ``{{ schema }}`` standing for the
  company schema; ``sql/tenant/<module>/NNNN_*.sql`` the steps of a tenant
  module, made in a company on first use (docs/internals.md).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import pglast

from . import __version__, resources

#: Stands for the company schema while a tenant step is rendered and parsed;
#: replaced by a ``format()`` placeholder when stored (see TenantStep).
SCHEMA_SENTINEL = "__docpal_schema__"

#: Serialises installs and migrations. A table lock rather than an advisory
#: lock: any login can take an advisory key first and hang every migrate,
#: while this table sits in docpal_private, which no client may use
#: (sql/install/prepare.sql creates it).
INSTALL_LOCK = "lock table docpal_private.install_lock in exclusive mode;"

#: The role that owns every docpal object (sql/install/prepare.sql).
OWNER_ROLE = "docpal_owner"

#: Files of sql/install/ that the pipeline places itself; every other
#: sql/install/*.sql is a "final piece" (see code_script).
_INSTALL_PARTS = ("prepare.sql", "drop_stale.sql", "hand_over.sql")

SCHEMAS = ("docpal", "docpal_private")
APP_ROLES = ("docpal_service", "docpal_app")

_GRANT_RE = re.compile(r"^--\s*grant:\s*(.*)$", re.MULTILINE)
_STEP_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Rendered:
    """One rendered template."""

    source: Path  # path relative to the template root
    kind: str  # migration | function | trigger | tenant
    sql: str
    grants: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class TenantStep:
    """One step of the tenant template, ready to be stored in the database.

    ``statements`` are SQL texts for ``format(statement, schema)``: the
    schema appears as ``%1$I`` and every literal ``%`` is doubled.
    """

    version: int
    name: str
    statements: tuple[str, ...]
    module: str = "base"

    @property
    def checksum(self) -> str:
        return hashlib.sha256("\n;\n".join(self.statements).encode()).hexdigest()


def _root(root: Path | None) -> Path:
    """``root``, or by default the templates docpal ships (an error when they
    are missing). An explicit root may hold only some folders (lint fixtures)."""
    return resources.template_root() if root is None else Path(root)


def _env(root: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def _files(root: Path, folder: str) -> list[Path]:
    base = root / folder
    if not base.is_dir():
        return []
    return sorted(p for p in base.glob("*.sql") if p.is_file())


def _tree(root: Path, folder: str, pattern: str) -> list[Path]:
    """The templates below root/folder matching pattern, by path: the subsystem
    folders (tenancy, context, catalog, ...) keep the install order stable."""
    base = root / folder
    if not base.is_dir():
        return []
    return sorted((p for p in base.glob(pattern) if p.is_file()), key=lambda p: p.relative_to(base).parts)


def _render(env: jinja2.Environment, path: Path, **context) -> str:
    return env.from_string(path.read_text()).render(version=__version__, **context)


def _grants(path: Path, text: str) -> tuple[str, ...]:
    match = _GRANT_RE.search(text)
    if not match:
        return ()
    roles = tuple(r.strip() for r in match.group(1).split(",") if r.strip())
    unknown = [r for r in roles if r not in APP_ROLES]
    if unknown:
        raise ValueError(f"{path}: unknown role in grant line: {', '.join(unknown)}")
    return roles


def templates(root: Path | None = None, extra_tenant_dirs: tuple[Path, ...] = ()) -> list[Rendered]:
    """Every template rendered, in install order."""
    root = _root(root)
    env = _env(root)
    out: list[Rendered] = []
    for path in _files(root, "migrations"):
        out.append(Rendered(path.relative_to(root), "migration", path.read_text()))
    for visibility in ("private", "public"):  # functions/<subsystem>/<visibility>/*.sql
        for path in _tree(root, "functions", f"**/{visibility}/*.sql"):
            text = _render(env, path)
            out.append(Rendered(path.relative_to(root), "function", text, _grants(path, text)))
    for path in _tree(root, "triggers", "**/*.sql"):  # triggers/<subsystem>/*.sql
        text = _render(env, path)
        out.append(Rendered(path.relative_to(root), "trigger", text, _grants(path, text)))
    for path in _tenant_files(root, extra_tenant_dirs):
        text = _render(env, path, schema=SCHEMA_SENTINEL)
        rel = path.relative_to(root) if path.is_relative_to(root) else path
        out.append(Rendered(rel, "tenant", text))
    return out


_MODULE_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _step_module(path: Path) -> str:
    """The module of a tenant step: its folder below sql/tenant/ (or an extra
    folder), ``base`` for the files directly in it."""
    return path.parent.name if path.parent.name != "tenant" and path.parent.parent.name == "tenant" else "base"


def _tenant_files(root: Path, extra_dirs: tuple[Path, ...]) -> list[Path]:
    """The tenant steps: sql/tenant/*.sql (module base) and
    sql/tenant/<module>/*.sql, by module and version."""
    files = _files(root, "sql/tenant")
    base = root / "sql/tenant"
    if base.is_dir():
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            if not _MODULE_RE.match(folder.name) or folder.name == "base":
                raise ValueError(f"{folder}: a tenant module folder is named in lower case (and not base)")
            files += _files(root, f"sql/tenant/{folder.name}")
    for extra in extra_dirs:
        files += sorted(Path(extra).glob("*.sql"))
    seen: dict[tuple[str, int], Path] = {}
    for path in files:
        match = _STEP_RE.match(path.name)
        if not match:
            raise ValueError(f"{path}: tenant steps are named NNNN_name.sql")
        key = (_step_module(path), int(match.group(1)))
        if key in seen:
            raise ValueError(f"{path}: tenant step {key[1]} of module {key[0]} also in {seen[key]}")
        seen[key] = path
    return [seen[k] for k in sorted(seen)]


def tenant_steps(rendered: list[Rendered]) -> list[TenantStep]:
    """The tenant template as stored steps (format() strings)."""
    steps = []
    for item in rendered:
        if item.kind != "tenant":
            continue
        match = _STEP_RE.match(Path(item.source).name)
        statements = tuple(
            stmt.strip().replace("%", "%%").replace(SCHEMA_SENTINEL, "%1$I")
            for stmt in pglast.split(item.sql, with_parser=True)
            if stmt.strip()
        )
        steps.append(TenantStep(int(match.group(1)), match.group(2), statements, _step_module(Path(item.source))))
    return steps


def _dollar_quote(text: str) -> str:
    tag = "$q$"
    n = 0
    while tag in text:
        n += 1
        tag = f"$q{n}$"
    return f"{tag}{text}{tag}"


def _tenant_step_sql(steps: list[TenantStep]) -> str:
    lines = ["-- tenant template: the steps every company schema is built and upgraded from"]
    if steps:
        shipped = ",\n        ".join(f"('{s.module}', {s.version}, '{s.checksum}')" for s in steps)
        lines.append(
            "-- a step that companies were already built with must never change: add a new one\n"
            "do $$\n"
            "declare\n"
            "    v_changed text;\n"
            "begin\n"
            "    select s.module || ' ' || s.version into v_changed\n"
            "      from docpal_private.tenant_steps s\n"
            f"      join (values {shipped}) as n(module, version, checksum)\n"
            "        on n.module = s.module and n.version = s.version\n"
            "     where s.checksum <> n.checksum\n"
            "       and (s.module = 'base' and exists (select from docpal_private.companies c\n"
            "                                           where c.schema_version >= s.version)\n"
            "            or exists (select from docpal_private.company_modules m\n"
            "                        where m.module = s.module and m.version >= s.version))\n"
            "     order by s.module, s.version limit 1;\n"
            "    if v_changed is not null then\n"
            "        raise exception 'tenant step % changed after company schemas were built with it', v_changed\n"
            "            using hint = 'Never edit a shipped step in sql/tenant/: add a step with the next number.';\n"
            "    end if;\n"
            "end\n"
            "$$;")
    # a step no template defines any more was never released (shipped steps
    # are never removed): it goes, or companies made from now on would get it
    kept = ", ".join(f"('{s.module}', {s.version})" for s in steps) or "(null, null)"
    lines.append("delete from docpal_private.tenant_steps s\n"
                 f" where (s.module, s.version) not in (values {kept});")
    for step in steps:
        array = "array[" + ",\n        ".join(_dollar_quote(s) for s in step.statements) + "]::text[]"
        lines.append(
            "insert into docpal_private.tenant_steps (module, version, name, statements, checksum)\n"
            f"values ('{step.module}', {step.version}, '{step.name}',\n        {array},\n        '{step.checksum}')\n"
            "on conflict (module, version) do update\n"
            "    set name = excluded.name, statements = excluded.statements, checksum = excluded.checksum\n"
            "    where docpal_private.tenant_steps.checksum is distinct from excluded.checksum;"
        )
    return "\n".join(lines) + "\n"


def _grant_sql(rendered: list[Rendered]) -> str:
    schemas = ", ".join(SCHEMAS)
    roles = ", ".join(APP_ROLES)
    lines = [
        "-- EXECUTE only for the docpal roles, function by function",
        f"revoke all on all routines in schema {schemas} from public, {roles};",
    ]
    for item in rendered:
        if item.grants:
            name = Path(item.source).stem
            schema = "docpal" if Path(item.source).parent.name == "public" else "docpal_private"
            lines.append(f"grant execute on function {schema}.{name} to {', '.join(item.grants)};")
    return "\n".join(lines) + "\n"


def _section(title: str, body: str) -> str:
    return f"\n-- {'=' * 70}\n-- {title}\n-- {'=' * 70}\n\n{body.rstrip()}\n"


def _function_names(rendered: list[Rendered]) -> set[str]:
    """Every function the templates define: the CREATE FUNCTION/PROCEDURE
    statements, and for a function template that makes its function some
    other way (a DO block), the file's name, which is the function's."""
    names = set()
    for item in rendered:
        if item.kind not in ("function", "trigger"):
            continue
        created = {n.stmt.funcname[-1].sval for n in pglast.parse_sql(item.sql)
                   if isinstance(n.stmt, pglast.ast.CreateFunctionStmt)}
        names |= created or {Path(item.source).stem}
    return names


def _replaceable(sql: str) -> str:
    """``sql`` with each CREATE OR REPLACE FUNCTION/PROCEDURE made safe to
    re-apply when its result type or parameters changed, which CREATE OR
    REPLACE refuses (42P13): the old function is then dropped (no CASCADE:
    something that still depends on it makes the install fail loudly) and
    created again. Function names are unique in docpal's schemas, so the name
    alone identifies the old one. The statement is written once, into a
    constant that both EXECUTEs use."""
    out = []
    for statement in pglast.split(sql, with_parser=True):
        node = pglast.parse_sql(statement)[0].stmt
        if isinstance(node, pglast.ast.CreateFunctionStmt) and node.replace:
            name = ".".join(n.sval for n in node.funcname)
            kind = "procedure" if node.is_procedure else "function"
            body = _dollar_quote(statement.strip() + "\n")
            out.append(
                "do $replace$\ndeclare\n"
                f"    v_create constant text := {body};\n"
                "begin\n"
                "    execute v_create;\n"
                "exception when invalid_function_definition then\n"
                f"    drop {kind} {name};\n"
                "    execute v_create;\n"
                "end\n$replace$;")
        else:
            out.append(statement.strip() + ";")
    return "\n\n".join(out) + "\n"


def final_pieces(root: Path | None = None) -> list[Path]:
    """``sql/install/*.sql`` other than the parts placed by name, in file-name
    order: they run at the end of the code script, after the grants (every
    function exists by then) and before the ownership hand-over."""
    root = _root(root)
    return [p for p in _files(root, "sql/install") if p.name not in _INSTALL_PARTS]


def prepare_script(root: Path | None = None) -> str:
    """What the rest of the install stands on, run by the migrating superuser
    before the install lock: the docpal_owner role, the schemas, the lock table."""
    return (_root(root) / "sql/install/prepare.sql").read_text()


def code_script(rendered: list[Rendered], root: Path | None = None, lock: bool = True) -> str:
    """Functions, triggers, tenant steps and grants, in one transaction.

    Re-applied on every migrate. Functions left over from an older version
    (in docpal or docpal_private, but not created or replaced by this
    transaction) are dropped at the end. Then the final pieces
    (``final_pieces``), then every object of docpal's schemas is handed to
    docpal_owner (sql/install/hand_over.sql). ``lock=False`` when the caller
    already holds the install lock on another connection (``docpal migrate``).
    """
    root = _root(root)
    parts = []
    if lock:
        parts.append(_section("lock: one install or migrate at a time", INSTALL_LOCK))
    for item in rendered:
        if item.kind in ("function", "trigger"):
            parts.append(_section(str(item.source), _replaceable(item.sql)))
    parts.append(_section("tenant template", _tenant_step_sql(tenant_steps(rendered))))
    parts.append(_section("version", (
        "insert into docpal_private.meta (key, value)\n"
        f"values ('version', '{__version__}')\n"
        "on conflict (key) do update set value = excluded.value;")))
    # before the grants: a REVOKE rewrites every pg_proc row it touches
    names = ", ".join(f"'{name}'" for name in sorted(_function_names(rendered)))
    parts.append(_section("drop functions that are no longer in the templates",
                          _env(root).from_string((root / "sql/install/drop_stale.sql").read_text()).render(names=names)))
    parts.append(_section("grants", _grant_sql(rendered)))
    env = _env(root)
    for piece in final_pieces(root):
        parts.append(_section(str(piece.relative_to(root)), env.from_string(piece.read_text()).render(names=names)))
    parts.append(_section("every object to docpal_owner", (root / "sql/install/hand_over.sql").read_text()))
    # last: the rows it deletes stay locked (a concurrent cache store waits) until the commit
    parts.append(_section("compiled statements of other code", _query_cache_sql(rendered)))
    return _BEGIN + "set local check_function_bodies = off;  -- functions may call ones defined later\n" \
        + "".join(parts) + "\ncommit;\n"


def _query_cache_sql(rendered: list[Rendered]) -> str:
    """Empties docpal_private.query_cache (migration 0016) when the functions
    and triggers differ from those that filled it (meta key 'code', their
    hash): a statement is cached as the compiler of its day wrote it, and a
    fixed compiler must not leave it served. The entries of another docpal
    version are never found anyway (q_cache_lookup's key names the version);
    this covers a change of code within one version. The cache is filled
    again by the next calls."""
    code = hashlib.sha256("\n;\n".join(item.sql for item in rendered
                                         if item.kind in ("function", "trigger")).encode()).hexdigest()
    return (
        "do $$\nbegin\n"
        f"    if (select m.value from docpal_private.meta m where m.key = 'code') is distinct from '{code}' then\n"
        "        -- an install from older templates (a release's, by deploy.migrate(root=...)) has no cache\n"
        "        if pg_catalog.to_regclass('docpal_private.query_cache') is not null then\n"
        "            delete from docpal_private.query_cache;\n"
        "        end if;\n"
        "        insert into docpal_private.meta (key, value)\n"
        f"        values ('code', '{code}')\n"
        "        on conflict (key) do update set value = excluded.value;\n"
        "    end if;\nend\n$$;")


_BEGIN = "begin;\nset local client_min_messages = warning;\n"
#: Tenant upgrades run as docpal_owner, so the objects they create are its.
UPGRADE_TENANTS = f"set role {OWNER_ROLE};\ncall docpal_private.upgrade_tenants();\nreset role;\n"


def install_script(root: Path | None = None, extra_tenant_dirs: tuple[Path, ...] = ()) -> str:
    """The whole install: ``psql -v ON_ERROR_STOP=1 -f docpal.sql``."""
    root = _root(root)
    rendered = templates(root, extra_tenant_dirs)
    header = (
        f"-- docpal {__version__}: complete install script.\n"
        "-- Generated by `docpal render` from migrations/, functions/, triggers/ and sql/;\n"
        "-- do not edit. Safe to run again: every part is idempotent.\n"
        "-- Usage: psql -v ON_ERROR_STOP=1 -f docpal.sql \"$DATABASE_URL\"\n\n"
    )
    prepare = _section("sql/install/prepare.sql: the owner role, the schemas, the install lock",
                       "set client_min_messages = warning;\n" + prepare_script(root)
                       + "reset client_min_messages;\n")
    migrations = _BEGIN + _section("lock: one install or migrate at a time", INSTALL_LOCK) + "".join(
        _section(str(item.source), item.sql) for item in rendered if item.kind == "migration"
    ) + "\ncommit;\n"
    return header + prepare + "\n" + migrations + "\n" + code_script(rendered, root) + "\n" + UPGRADE_TENANTS


def default_install_script_path() -> Path:
    """Where `docpal render` writes without -o: sql/docpal.sql of the checkout
    (ignored by git), or docpal.sql in the current folder when docpal is
    installed (the wheel ships its own copy; see resources.INSTALL_SCRIPT)."""
    checkout = resources.checkout_root()
    return checkout / resources.INSTALL_SCRIPT if checkout else Path.cwd() / "docpal.sql"


def write_install_script(target: Path | None = None, root: Path | None = None) -> Path:
    """Render the install script into ``target`` (default_install_script_path())."""
    text = install_script(root)
    target = Path(target) if target is not None else default_install_script_path()
    target.write_text(text)
    return target
