"""docpal.lint on bad templates (one fake project root per rule under
lint_fixtures/), on a good one, and on the real tree. No database needed.

Each fixture marks the lines that must be reported with a trailing
``-- expect: <rule>`` comment; a rule's fixture must produce exactly those.
"""

import re
from pathlib import Path

import pytest

from docpal import lint, resources
from docpal.render import Rendered

FIXTURES = Path(__file__).parent / "lint_fixtures"
_EXPECT = re.compile(r"--\s*expect:\s*([a-z-]+)")

STATIC_RULES = [
    "security-definer-search-path",
    "unqualified-name",
    "execute-concatenation",
    "execute-one-statement",
    "undocumented-public-function",
    "parse-error",
]


def expected(root: Path) -> set[tuple[str, int, str]]:
    out = set()
    for path in sorted(root.rglob("*.sql")):
        for number, text in enumerate(path.read_text().splitlines(), 1):
            for match in _EXPECT.finditer(text):
                out.add((path.relative_to(root).as_posix(), number, match.group(1)))
    return out


def found(root: Path, **kwargs) -> set[tuple[str, int, str]]:
    return {(v.file, v.line, v.rule) for v in lint.lint(root, **kwargs)}


def inline(sql: str, source: str = "functions/private/inline.sql") -> list[lint.Violation]:
    """Lint one template given as text."""
    return lint.lint(FIXTURES / "good", [Rendered(Path(source), "function", sql)], public_api=set())


@pytest.mark.parametrize("rule", STATIC_RULES)
def test_each_rule_is_reported_on_its_lines(rule):
    root = FIXTURES / rule
    want = expected(root)
    assert rule in lint.RULES
    assert {r for _, _, r in want} == {rule}, "fixture marks no line, or another rule"
    assert found(root) == want


def test_lines_point_into_the_template():
    """Body lines = line of the opening $$ + statement line - 1, refined to
    the line of the name inside a statement that spans several lines."""
    violations = lint.lint(FIXTURES / "unqualified-name")
    by_line = {(v.file, v.line): v.message for v in violations}
    plpgsql = "functions/private/plpgsql_names.sql"
    lines = (FIXTURES / "unqualified-name" / plpgsql).read_text().splitlines()
    assert "from companies c" in lines[12 - 1]  # second line of a SELECT ... INTO
    assert by_line[(plpgsql, 12)] == "table companies is not schema-qualified"
    assert "format_message(" in lines[24 - 1]  # second line of a RAISE
    assert by_line[(plpgsql, 24)] == "function format_message() is not schema-qualified"
    assert by_line[("triggers/guard.sql", 9)] == "table audit_log is not schema-qualified"

    concat = lint.lint(FIXTURES / "execute-concatenation")
    dynamic = "functions/private/dynamic_sql.sql"
    assert (dynamic, 22) in {(v.file, v.line) for v in concat}  # the || on the 2nd line
    text = (FIXTURES / "execute-concatenation" / dynamic).read_text().splitlines()
    assert text[22 - 1].lstrip().startswith("||")


def test_good_templates_have_no_violations():
    assert lint.lint(FIXTURES / "good") == []


def test_real_tree_is_clean():
    """Every rule holds for the project itself, docs/reference.md included."""
    violations = lint.lint()
    assert violations == [], "\n".join(map(str, violations))
    root = resources.template_root()
    public = {p.stem for p in (root / "functions").glob("*/public/*.sql")}
    assert public <= lint.public_api_names(root)


def test_public_api_names():
    assert lint.public_api_names(FIXTURES / "undocumented-public-function") == {"documented"}
    assert lint.public_api_names(FIXTURES / "unqualified-name") == set()  # no docs/reference.md


def test_public_api_defaults_to_docs_reference():
    # Without public_api, docs/reference.md of the root decides.
    assert ("functions/public/company_name.sql", 2, "undocumented-public-function") not in found(FIXTURES / "good")
    assert found(FIXTURES / "good", public_api=set()) == {
        ("functions/public/company_name.sql", 2, "undocumented-public-function")}


def test_violation_str():
    v = lint.Violation("functions/public/get_company.sql", 7, "unqualified-name", "table t is not schema-qualified")
    assert str(v) == "functions/public/get_company.sql:7: unqualified-name: table t is not schema-qualified"


def test_security_definer_procedure_and_set_search_path_from_current():
    bad = inline("create procedure docpal_private.p()\n    language sql\n    security definer\n"
                 "as $$ select 1 $$;\n")
    assert [(v.line, v.rule) for v in bad] == [(1, "security-definer-search-path")]
    good = inline("create function docpal_private.f() returns int language sql security definer\n"
                  "    set search_path from current as $$ select 1 $$;\n")
    assert good == []


def test_sql_standard_body_is_checked():
    violations = inline("create function docpal_private.f() returns bigint\n"
                        "    language sql set search_path = pg_catalog\n"
                        "begin atomic\n    select count(*) from t;\nend;\n")
    assert [(v.line, v.rule) for v in violations] == [(4, "unqualified-name")]


def test_format_conversions_map_to_their_arguments():
    def check(call):
        sql = ("create function docpal_private.f(p text, q text) returns void language plpgsql\n"
               "    set search_path = pg_catalog as $$\nbegin\n"
               f"    execute {call};\nend $$;\n")
        return [v.line for v in inline(sql) if v.rule == "execute-concatenation"]

    assert check("pg_catalog.format('%I %s', p, 'x')") == []
    assert check("pg_catalog.format('%I %s', 'x', p)") == [4]
    assert check("pg_catalog.format('%2$s %1$I', p, 'x')") == []
    assert check("pg_catalog.format('%1$I %1$s', p)") == [4]
    assert check("pg_catalog.format('%%s %s %L', 'x', q)") == []
    assert check("pg_catalog.format('%-*s', 3, t.q)") == []  # t.q: a column of t, not the parameter
    assert check("pg_catalog.format('%-*s', 3, f.q)") == [4]  # f.q: parameter q of function f
    assert check("pg_catalog.format('%-*s', 3, t.q || 'x')") == [4]  # ||
    assert check("pg_catalog.format('%*2$s', p, 3, 'x')") == []  # width from $2, value is $3
    assert check("pg_catalog.format(p, 'x')") == []  # format string unknown: not judged


def test_do_blocks_are_not_checked():
    sql = "do $$ begin execute 'select ' || unqualified(); end $$;\n"
    assert inline(sql) == []


def test_builtin_list_is_pg15_pg_catalog():
    path = resources.data_file("pg_catalog_functions.txt")
    names = path.read_text().split("\n")
    assert names[-1] == "" and names[:-1] == sorted(set(names[:-1]))
    assert {"count", "format", "jsonb_build_object", "gen_random_uuid", "pg_backend_pid"} <= set(names)
    assert "citus_schema_distribute" not in names and "hmac" not in names  # extensions' functions


def test_execute_one_statement_counts_statements_not_semicolons():
    """Semicolons in literals, dollar-quoted bodies and a trailing one do not
    count; %I/%L/%s are replaced by dummies, and a text that then does not
    parse is split by the scanner."""
    count = lint._statement_count
    assert count("select 1") == 1
    assert count("select 1;") == 1
    assert count("select ';'; ") == 1
    assert count("create function %I.f() returns int language plpgsql as $f$ begin return 1; end $f$") == 1
    assert count("select %L, '%%s; %%s'") == 1
    assert count("alter table %I.%I add column %I %s%s") == 1
    assert count("create table %I.%I (%s); comment on table %I.%I is %L") == 2
    assert count("create or replace trigger a after insert on %1$I.%2$I for each statement execute function %3$s;"
                 " create or replace trigger b after update on %1$I.%2$I for each statement execute function %3$s") == 2


def test_execute_one_statement_in_every_dynamic_form():
    sql = ("create function docpal_private.f(p_schema text) returns setof record language plpgsql\n"
           "    set search_path = pg_catalog as $$\n"
           "declare v record; c refcursor;\n"
           "begin\n"
           "    execute pg_catalog.format('create index on %I.t (a); create index on %I.t (b)', p_schema, p_schema);\n"
           "    open c for execute 'select 1; select 2';\n"
           "    execute pg_catalog.format('select %L', 'a; b');\n"
           "end $$;\n")
    assert [(v.line, v.rule) for v in inline(sql)] == [(5, "execute-one-statement"), (6, "execute-one-statement")]
