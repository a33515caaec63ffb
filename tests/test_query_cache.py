"""Issue 19: query_table's compiled-statement cache (migration 0016, docpal_private.q_cache_lookup,
q_cache_store, docpal.query_cache_stats).

A spec compiled once is served from docpal_private.query_cache on the next call. These tests
check that it is never served stale (a schema change of the table or of a table a path reads, a
grant, row filter or role change, another user, a session setting that decides whether a value
converts, the company's time zone) and that nothing a client writes steers it (its own temp
table or prepared statement of the same name, a setting, the cache itself is out of reach).
"""

from __future__ import annotations

import json

import psycopg
import pytest
from psycopg import errors
from psycopg.types.json import Jsonb

from conftest import APP_LOGIN, SERVICE_LOGIN
from docpal import __version__, deploy
from helpers import fn, one, raises, set_context, table

ITEMS = table("items",
              {"name": "name", "type": "text", "required": True},
              {"name": "price", "type": "decimal", "precision": 12, "scale": 2, "indexed": True},
              {"name": "region", "type": "select", "options": ["EU", "US"]},
              {"name": "due", "type": "date"},
              {"name": "shop_id", "type": "relation", "target": "shops", "on_delete": "set_null"})
SHOPS = table("shops", {"name": "name", "type": "text"})

PAGE = {"filters": {"price": {"between": [1, 50]}}, "sort": ["price"], "limit": 10}


def query(conn, spec, slug="items"):
    return one(conn, "select docpal.query_table(%s, %s)", slug, Jsonb(spec))


def names(result):
    return [r.get("name") for r in result["rows"]]


def stats(db):
    return one(db, "select docpal.query_cache_stats()")


def entries(db, company):
    return one(db, "select count(*) from docpal_private.query_cache where company_id = %s", company["id"])


@pytest.fixture
def shop(db, connect, company):
    """items and shops with three items; the owner in context on a connection of its own."""
    owner = set_context(connect(), company, company["owner"])
    fn(owner, "create_table", SHOPS)
    fn(owner, "create_table", ITEMS)
    north = fn(owner, "create_record", "shops", {"name": "North"})["id"]
    south = fn(owner, "create_record", "shops", {"name": "South"})["id"]
    for name, price, region, shop_id in (("apple", 10, "EU", north), ("pear", 20, "US", south),
                                         ("plum", 30, "EU", south)):
        fn(owner, "create_record", "items", {"name": name, "price": price, "region": region,
                                             "due": "2026-01-15", "shop_id": shop_id})
    return owner


def test_a_repeated_query_is_served_from_the_cache(db, company, shop):
    before = stats(db)
    first = query(shop, PAGE)
    assert entries(db, company) == 1
    second = query(shop, PAGE)
    after = stats(db)
    assert first == second and names(first) == ["apple", "pear", "plum"] and first["total"] == 3
    assert after["lookups"] == before["lookups"] + 2 and after["hits"] == before["hits"] + 1
    assert 0 <= after["hit_rate"] <= 1 and after["entries"] >= 1
    # new data, same statement: results are never cached, only the statement
    fn(shop, "create_record", "items", {"name": "fig", "price": 5})
    assert names(query(shop, PAGE)) == ["fig", "apple", "pear", "plum"]
    assert stats(db)["hits"] == before["hits"] + 2


def test_a_schema_change_is_never_served_stale(db, company, shop):
    spec = {"sort": ["price"], "limit": 5}
    assert "stock" not in query(shop, spec)["rows"][0]
    query(shop, spec)
    fn(shop, "add_column", "items", {"name": "stock", "type": "integer"})
    assert "stock" in query(shop, spec)["rows"][0]
    # a path through a relation: a change of the other table's spec misses too
    through = {"filters": {"shop_id.name": "South"}, "sort": ["price"]}
    assert names(query(shop, through)) == ["pear", "plum"]
    assert names(query(shop, through)) == ["pear", "plum"]
    fn(shop, "rename_column", "shops", "name", "title")
    with raises("42703"):
        query(shop, through)
    fn(shop, "drop_table", "items")
    with raises("42P01"):
        query(shop, spec)


def test_a_schema_change_in_an_open_transaction_is_not_cached_for_others(db, connect, company, shop):
    spec = {"columns": ["name"], "sort": ["price"]}
    query(shop, spec)
    other = set_context(connect(autocommit=False), company, company["owner"])
    fn(other, "add_column", "items", {"name": "stock", "type": "integer"})
    query(other, {"columns": ["name", "stock"], "sort": ["price"]})
    other.rollback()
    with raises("42703"):
        query(shop, {"columns": ["name", "stock"], "sort": ["price"]})
    assert names(query(shop, spec)) == ["apple", "pear", "plum"]


def test_two_schema_changes_in_one_transaction_are_never_served_stale(db, connect, company, shop):
    # Both changes give the spec row the same xmin: an entry stored between them would still
    # match it, in this transaction and, once committed, in every other.
    spec = {"columns": ["name", "stock"], "sort": ["price"], "limit": 5}
    writer = set_context(connect(autocommit=False), company, company["owner"])
    fn(writer, "add_column", "items", {"name": "stock", "type": "integer", "label": "Stock"})
    assert "stock" in query(writer, spec)["rows"][0]
    fn(writer, "alter_column", "items", "stock", {"label": "On hand"})
    hits = stats(db)["hits"]
    assert "stock" in query(writer, spec)["rows"][0]
    assert stats(db)["hits"] == hits, "served an entry compiled before the second change"
    writer.commit()
    query(shop, spec)
    assert stats(db)["hits"] == hits, "served an entry compiled before the second change"
    query(shop, spec)
    assert stats(db)["hits"] == hits + 1


def test_grant_row_filter_and_role_changes_are_never_served_stale(db, connect, company, shop):
    member = set_context(connect(), company, company["member"])
    fn(shop, "create_role", "eu")
    one(shop, "select docpal.grant_permission('eu', 'items', '{read}', %s)", Jsonb({"row_filter": {"region": "EU"}}))
    one(shop, "select docpal.grant_permission('eu', 'shops', '{read}')")
    one(shop, "select docpal.assign_role(%s, 'eu')", company["member"])
    assert names(query(member, PAGE)) == ["apple", "plum"]
    hits = stats(db)["hits"]
    assert names(query(member, PAGE)) == ["apple", "plum"]
    assert stats(db)["hits"] == hits + 1
    one(shop, "select docpal.grant_permission('eu', 'items', '{read}', %s)", Jsonb({"row_filter": {"region": "US"}}))
    assert names(query(member, PAGE)) == ["pear"]
    one(shop, "select docpal.grant_permission('eu', 'items', '{read}', %s)", Jsonb({"columns": ["name", "price"]}))
    row = query(member, PAGE)["rows"][0]
    assert "name" in row and "region" not in row and "due" not in row
    with raises("42501"):
        query(member, {"columns": ["name", "region"]})
    # the read permission of a table a path reads
    through = {"columns": ["name", "shop_id.name"], "sort": ["price"]}
    one(shop, "select docpal.grant_permission('eu', 'items', '{read}', %s)",
        Jsonb({"columns": ["name", "price", "shop_id"]}))
    assert [r["shop_id.name"] for r in query(member, through)["rows"]] == ["North", "South", "South"]
    hits = stats(db)["hits"]
    query(member, through)
    assert stats(db)["hits"] == hits + 1
    one(shop, "select docpal.revoke_permission('eu', 'shops', '{read}')")
    with raises("42501"):
        query(member, through)
    # the role itself
    one(shop, "select docpal.unassign_role(%s, 'eu')", company["member"])
    with raises("42501"):
        query(member, PAGE)
    # the owner's entry for the same spec is another entry, with every row
    assert names(query(shop, PAGE)) == ["apple", "pear", "plum"]


def test_each_user_has_own_entries(db, connect, company, shop):
    """$user in a filter is bound at compile time: another user never gets the first one's id."""
    other = one(db, "select docpal.create_user('other-' || %s || '@example.com', 'Other')", company["slug"])
    db.execute("select docpal.add_member(%s, %s, 'owner')", (company["id"], other))
    second = set_context(connect(), company, other)
    spec = {"filters": {"created_by": "$user"}}
    assert query(shop, spec)["total"] == 3
    assert query(second, spec)["total"] == 0
    assert query(shop, spec)["total"] == 3


def test_the_company_time_zone_is_read_on_every_call(db, company, shop):
    """A spec that reads the company's time zone ($now on a date path, functions of datetime paths)
    is not kept: a change of settings.time_zone applies at once."""
    spec = {"filters": {"due": {"lte": "$now(-10000 day)"}}}
    before = entries(db, company)
    assert query(shop, spec)["total"] == 0
    assert entries(db, company) == before
    db.execute("select docpal.update_company(%s, %s)", (company["id"], Jsonb({"settings": {"time_zone": "Asia/Tokyo"}})))
    assert query(shop, spec)["total"] == 0


def test_session_settings_that_decide_a_value_are_part_of_the_key(db, company, shop):
    """Under DateStyle DMY, 13/01/2026 is a date; under MDY it is 22023, whatever was cached."""
    spec = {"filters": {"due": "13/01/2026"}}
    shop.execute("set datestyle = 'ISO, DMY'")
    assert query(shop, spec)["total"] == 0
    assert query(shop, spec)["total"] == 0
    shop.execute("set datestyle = 'ISO, MDY'")
    with raises("22023"):
        query(shop, spec)


def test_a_client_cannot_steer_the_cache(db, connect, company, shop):
    query(shop, PAGE)
    client = set_context(connect(), company, company["owner"])
    client.execute("set role docpal_app")
    for sql in ("select * from docpal_private.query_cache",
                "update docpal_private.query_cache set statement = 'select 1'",
                "select nextval('docpal_private.query_cache_hits')",
                "select docpal.query_cache_stats()"):
        with pytest.raises(errors.InsufficientPrivilege):
            client.execute(sql)
    # a temp table, prepared statement and settings named like docpal's own change nothing
    client.execute("create temp table query_cache (slot integer, key text, statement text, params jsonb)")
    client.execute("insert into pg_temp.query_cache values (0, 'x', 'select ''{\"rows\": [], \"total\": 99}''::jsonb', '[]')")
    client.execute("prepare q_cache_lookup as select 1")
    client.execute("set search_path = pg_temp, public")
    client.execute("select set_config('docpal.query_cache', 'off', false)")
    hits = stats(db)["hits"]
    result = query(client, PAGE)
    assert stats(db)["hits"] == hits + 1  # docpal's own entry, served to the client
    assert names(result) == ["apple", "pear", "plum"] and result["total"] == 3


def test_a_read_only_transaction_reads_and_keeps_nothing(db, connect, company):
    conn = connect(autocommit=False)
    set_context(conn, company, company["owner"])
    fn(conn, "create_table", ITEMS | {"columns": ITEMS["columns"][:3]})
    conn.commit()
    before = stats(db)
    conn.execute("set transaction read only")
    assert query(conn, PAGE)["total"] == 0
    assert entries(db, company) == 0
    conn.rollback()
    assert stats(db)["lookups"] == before["lookups"]


def test_query_cache_stats_is_service_only(connect):
    service = connect(SERVICE_LOGIN)
    assert set(one(service, "select docpal.query_cache_stats()")) == {"lookups", "hits", "hit_rate", "entries"}
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        connect(APP_LOGIN).execute("select docpal.query_cache_stats()")


def test_an_upgrade_serves_no_statement_compiled_by_other_code(db, dburl, company, shop):
    """A statement is cached as the compiler of its day wrote it: an upgrade must not leave it
    served. Its key names the docpal version (a session still running replaced code stores
    entries the new code never finds), and migrate empties the cache when the code changed."""
    query(shop, PAGE)
    key = one(db, "select key from docpal_private.query_cache where company_id = %s", company["id"])
    assert json.loads(key)[0] == __version__
    # the entry as other code might have written it (made visible: a different answer)
    db.execute("""update docpal_private.query_cache set statement = 'select ''{"rows": [], "total": 99}''::jsonb'
                   where company_id = %s""", (company["id"],))
    assert query(shop, PAGE)["total"] == 99
    deploy.migrate(dburl)  # the same code: the cache is kept
    assert query(shop, PAGE)["total"] == 99
    db.execute("update docpal_private.meta set value = 'the code before' where key = 'code'")
    deploy.migrate(dburl)
    assert entries(db, company) == 0
    result = query(shop, PAGE)
    assert names(result) == ["apple", "pear", "plum"] and result["total"] == 3
    assert entries(db, company) == 1
