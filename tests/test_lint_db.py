"""docpal.lint.plpgsql_check on a live database (fixture ``db``: a psycopg 3
connection, autocommit, to a freshly migrated docpal database)."""

from pathlib import Path

from docpal import lint, render

PROBE_ROOT = Path(__file__).parent / "lint_fixtures" / "plpgsql-check"
PROBE = "functions/private/lint_probe_broken.sql"


def test_plpgsql_check_reports_errors_on_their_template_lines(db):
    lines = (PROBE_ROOT / PROBE).read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "-- expect: plpgsql-check" in text)
    [probe] = render.templates(PROBE_ROOT)
    db.execute(probe.sql)
    try:
        found = [v for v in lint.plpgsql_check(db, PROBE_ROOT) if "lint_probe_broken" in v.message]
    finally:
        db.execute("drop function docpal_private.lint_probe_broken()")
    assert [(v.file, v.line, v.rule) for v in found] == [(PROBE, line, "plpgsql-check")]
    assert "lint_probe_no_such_table" in found[0].message


def test_docpal_functions_pass_plpgsql_check(db):
    violations = lint.plpgsql_check(db)
    assert violations == [], "\n".join(map(str, violations))
