"""Companies, users and memberships: contract section 1."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest
from psycopg import errors



def one(conn, sql, *params):
    return conn.execute(sql, params).fetchone()[0]


def count_companies(db) -> int:
    return one(db, "select count(*) from docpal_private.companies")


# --- create_company ---------------------------------------------------------

def test_create_company_makes_schema_with_catalog_and_audit_log(db):
    cid = one(db, "select docpal.create_company('acme', 'Acme Inc')")
    schema = f"company_{cid.hex}"
    tables = {r[0] for r in db.execute(
        "select c.relname from pg_class c where c.relnamespace = %s::regnamespace", (schema,))}
    assert {"_catalog", "_schema_history", "_audit_log"} <= tables
    company = one(db, "select docpal.get_company('acme')")
    assert company["id"] == str(cid)
    assert company["schema"] == schema
    assert company["status"] == "active"
    assert company["settings"] == {}
    assert company["schema_version"] == one(db, "select max(version) from docpal_private.tenant_steps where module = 'base'")
    assert set(company) >= {"id", "slug", "name", "status", "schema", "settings", "created_at"}


def test_create_company_named_arguments_as_in_contract(db):
    cid = one(db, """select docpal.create_company(slug => 'named', name => 'Named', settings => '{"a": 1}')""")
    assert one(db, "select docpal.get_company(%s)->'settings'", str(cid)) == {"a": 1}


def test_company_schema_is_not_readable_by_public(db):
    cid = one(db, "select docpal.create_company('private-co', 'P')")
    for role in ("public", "docpal_app", "docpal_service"):
        assert not one(db, "select has_schema_privilege(%s, %s, 'USAGE')", role, f"company_{cid.hex}")


@pytest.mark.parametrize("slug", ["A", "a", "1abc", "ab_c", "ab c", "-ab", "a" * 64, "", None, "acme;drop"])
def test_create_company_rejects_bad_slug(db, slug):
    before = count_companies(db)
    with pytest.raises(errors.InvalidParameterValue):
        db.execute("select docpal.create_company(%s, 'X')", (slug,))
    assert count_companies(db) == before


@pytest.mark.parametrize("name,settings", [("", "{}"), ("  ", "{}"), (None, "{}"), ("ok", "[]"), ("ok", "3")])
def test_create_company_rejects_bad_name_or_settings(db, name, settings):
    with pytest.raises(errors.InvalidParameterValue):
        db.execute("select docpal.create_company('good-slug', %s, %s::jsonb)", (name, settings))
    assert count_companies(db) == 0


def test_create_company_duplicate_slug_is_23505_and_leaves_no_schema(db):
    db.execute("select docpal.create_company('dup', 'One')")
    schemas = one(db, "select count(*) from pg_namespace where nspname like 'company\\_%%'")
    with pytest.raises(errors.UniqueViolation, match="dup"):
        db.execute("select docpal.create_company('dup', 'Two')")
    assert one(db, "select count(*) from pg_namespace where nspname like 'company\\_%%'") == schemas
    assert count_companies(db) == 1


def test_two_connections_racing_for_one_slug(connect):
    """The second creator waits for the first to commit, then gets 23505."""
    first, second = connect(autocommit=False), connect()
    first.execute("select docpal.create_company('race', 'First')")
    outcome: dict = {}

    def create_second():
        try:
            outcome["id"] = one(second, "select docpal.create_company('race', 'Second')")
        except psycopg.Error as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=create_second)
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive(), "the second create_company should wait on the first one's insert"
    first.commit()
    thread.join(10)
    assert isinstance(outcome.get("error"), errors.UniqueViolation)
    assert one(second, "select count(*) from docpal_private.companies where slug = 'race'") == 1
    assert one(second, "select docpal.get_company('race')->>'name'") == "First"


# --- get / list / update -----------------------------------------------------

def test_get_company_by_id_or_slug_and_null_when_unknown(db, company):
    by_id = one(db, "select docpal.get_company(%s)", str(company["id"]))
    by_slug = one(db, "select docpal.get_company(%s)", company["slug"])
    assert by_id == by_slug
    assert one(db, "select docpal.get_company('nope')") is None
    assert one(db, "select docpal.get_company(%s)", str(uuid.uuid4())) is None


def test_list_companies_returns_all_in_creation_order(db):
    assert one(db, "select docpal.list_companies()") == []
    for slug in ("one", "two", "three"):
        db.execute("select docpal.create_company(%s, %s)", (slug, slug.title()))
    assert [c["slug"] for c in one(db, "select docpal.list_companies()")] == ["one", "two", "three"]


def test_update_company_changes_name_and_settings(db, company):
    updated = one(db, """select docpal.update_company(%s, '{"name": "Renamed", "settings": {"tz": "UTC"}}')""",
                  company["id"])
    assert updated["name"] == "Renamed" and updated["settings"] == {"tz": "UTC"}
    assert updated["slug"] == company["slug"]
    assert one(db, "select docpal.get_company(%s)->>'name'", company["slug"]) == "Renamed"


@pytest.mark.parametrize("patch", ['{"slug": "other"}', '{"status": "suspended"}', '{"name": ""}',
                                   '{"name": 5}', '{"settings": []}', '[]', 'null'])
def test_update_company_rejects_bad_patch_and_changes_nothing(db, company, patch):
    before = one(db, "select docpal.get_company(%s)", company["slug"])
    with pytest.raises(errors.InvalidParameterValue):
        db.execute("select docpal.update_company(%s, %s::jsonb)", (company["id"], patch))
    assert one(db, "select docpal.get_company(%s)", company["slug"]) == before


@pytest.mark.parametrize("call", [
    "select docpal.update_company(%s, '{\"name\": \"x\"}')",
    "select docpal.suspend_company(%s, 'why')",
    "select docpal.activate_company(%s)",
    "select docpal.drop_company(%s)",
])
def test_unknown_company_is_p0002(db, call):
    with pytest.raises(errors.NoDataFound):
        db.execute(call, (uuid.uuid4(),))


# --- suspend / activate ------------------------------------------------------

def test_suspend_and_activate(db, company, service):
    suspended = one(db, "select docpal.suspend_company(%s, 'unpaid invoices')", company["id"])
    assert suspended["status"] == "suspended" and suspended["status_reason"] == "unpaid invoices"
    with pytest.raises(errors.InsufficientPrivilege):
        service.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["owner"]))
    assert one(db, "select docpal.resolve_company(%s)", company["slug"]) is None
    # platform admins still read it
    assert one(service, "select docpal.get_company(%s)->>'status'", company["slug"]) == "suspended"
    activated = one(db, "select docpal.activate_company(%s)", company["id"])
    assert activated["status"] == "active" and activated["status_reason"] is None
    service.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["owner"]))
    assert one(service, "select docpal.current_company()") == company["id"]


def test_require_company_checks_context_status_and_membership(db, company):
    """The one helper every tenant function starts with."""
    with pytest.raises(errors.InsufficientPrivilege, match="no company in context"):
        db.execute("select * from docpal_private.require_company()")
    db.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["member"]))
    row = db.execute("select * from docpal_private.require_company()").fetchone()
    assert row == (company["id"], company["member"], company["schema"], "member", None)  # scopes: not narrowed
    db.execute("select docpal.suspend_company(%s, 'fraud')", (company["id"],))
    with pytest.raises(errors.InsufficientPrivilege, match="suspended"):
        db.execute("select * from docpal_private.require_company()")
    db.execute("select docpal.activate_company(%s)", (company["id"],))
    db.execute("select docpal.remove_member(%s, %s)", (company["id"], company["member"]))
    with pytest.raises(errors.InsufficientPrivilege, match="not a member"):
        db.execute("select * from docpal_private.require_company()")


# --- drop ----------------------------------------------------------------------

def test_drop_company_removes_schema_and_rows(db, company):
    db.execute("select docpal.drop_company(%s)", (company["id"],))
    assert one(db, "select count(*) from pg_namespace where nspname = %s", company["schema"]) == 0
    assert one(db, "select count(*) from docpal_private.companies where id = %s", company["id"]) == 0
    assert one(db, "select count(*) from docpal_private.memberships where company_id = %s", company["id"]) == 0
    assert one(db, "select count(*) from docpal_private.users where id = %s", company["owner"]) == 1


# --- resolve_company ---------------------------------------------------------

@pytest.mark.parametrize("host", ["acme", "acme.example.com", "acme.localhost:3000", "ACME.Example.COM",
                                  "https://acme.example.com/login", " acme.example.com "])
def test_resolve_company_from_host(db, host):
    cid = one(db, "select docpal.create_company('acme', 'Acme')")
    assert one(db, "select docpal.resolve_company(%s)", host) == cid


@pytest.mark.parametrize("host", ["globex.example.com", "example.com", "", None, "localhost:3000"])
def test_resolve_company_unknown_is_null(db, host):
    db.execute("select docpal.create_company('acme', 'Acme')")
    assert one(db, "select docpal.resolve_company(%s)", host) is None


# --- users and members -------------------------------------------------------

def test_create_user_and_email_unique_case_insensitively(db):
    uid = one(db, "select docpal.create_user('Ann@Example.com', 'Ann')")
    assert isinstance(uid, uuid.UUID)
    with pytest.raises(errors.UniqueViolation, match="ann@example.com"):
        db.execute("select docpal.create_user('ann@example.com', 'Other Ann')")
    assert one(db, "select count(*) from docpal_private.users") == 1


@pytest.mark.parametrize("email,name", [("not-an-email", "X"), ("a@b", "X"), ("a b@c.de", "X"),
                                        (None, "X"), ("ok@example.com", ""), ("ok@example.com", None)])
def test_create_user_rejects_bad_input(db, email, name):
    with pytest.raises(errors.InvalidParameterValue):
        db.execute("select docpal.create_user(%s, %s)", (email, name))
    assert one(db, "select count(*) from docpal_private.users") == 0


def test_user_may_belong_to_several_companies(db, service):
    a = one(db, "select docpal.create_company('alpha', 'Alpha')")
    b = one(db, "select docpal.create_company('beta', 'Beta')")
    user = one(db, "select docpal.create_user('multi@example.com', 'Multi')")
    db.execute("select docpal.add_member(%s, %s, 'admin')", (a, user))
    db.execute("select docpal.add_member(%s, %s)", (b, user))
    roles = dict(db.execute("select company_id, role from docpal_private.memberships where user_id = %s",
                            (user,)).fetchall())
    assert roles == {a: "admin", b: "member"}
    for cid in (a, b):
        service.execute("select docpal.set_context(%s, %s, false)", (cid, user))
        assert one(service, "select docpal.current_company()") == cid


def test_add_member_again_changes_role(db, company):
    db.execute("select docpal.add_member(%s, %s, 'admin')", (company["id"], company["member"]))
    assert one(db, "select role from docpal_private.memberships where company_id = %s and user_id = %s",
               company["id"], company["member"]) == "admin"


def test_add_member_errors(db, company):
    with pytest.raises(errors.InvalidParameterValue, match="superuser"):
        db.execute("select docpal.add_member(%s, %s, 'superuser')", (company["id"], company["member"]))
    with pytest.raises(errors.ForeignKeyViolation):
        db.execute("select docpal.add_member(%s, %s)", (uuid.uuid4(), company["member"]))
    with pytest.raises(errors.ForeignKeyViolation):
        db.execute("select docpal.add_member(%s, %s)", (company["id"], uuid.uuid4()))
    assert one(db, "select count(*) from docpal_private.memberships where company_id = %s", company["id"]) == 2


def test_remove_member(db, company, service):
    service.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["member"]))
    db.execute("select docpal.remove_member(%s, %s)", (company["id"], company["member"]))
    with pytest.raises(errors.InsufficientPrivilege):
        service.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["member"]))
    with pytest.raises(errors.NoDataFound):
        db.execute("select docpal.remove_member(%s, %s)", (company["id"], company["member"]))


def test_company_id_and_schema_are_immutable(db, company):
    with pytest.raises(errors.InsufficientPrivilege):
        db.execute("update docpal_private.companies set schema_name = 'company_other' where id = %s",
                   (company["id"],))
