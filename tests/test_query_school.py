"""The school data set of the relation tests (contract section 4.1), and a
Python model of it. No tests here: test_query_relations imports from this
module.

Tables: classes (a teacher user column, a photo file column, partners, a
relation_many to other classes), students (class_id and mentor_id, two
relations to classes, so that `students` alone is ambiguous from classes),
attendance (student_id; ~600 rows over 2025 and 2026). Records are created
by different users (created_by), some updated by another (updated_by). The
company's time zone is Pacific/Kiritimati (UTC+14): a datetime read in it
often falls on another day than in UTC.

The model holds the same rows as Python values and evaluates, independently
of docpal, every construct of section 4.1 the tests use: paths through
relations, users and files, reverse relations, embeds, _some/_none/_every,
child aggregates, functions on paths, and aggregate group_by. Filters are
evaluated in three-valued logic, as docpal compiles them: a comparison with
a null is unknown, but nin is false on a null (`x is not null and x <> all
(...)`), `_not` of unknown is unknown, and a row matches only when its
filter is true. `_every` holds when every child matches (a child the filter
is unknown for fails it).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg.types.json import Jsonb

from conftest import SERVICE_LOGIN
from helpers import fn, one, set_context, table
from test_query_data import company_database

TIME_ZONE = "Pacific/Kiritimati"
TZ = ZoneInfo(TIME_ZONE)
TAGS = ["art", "chess", "choir", "sport"]

CLASSES_SPEC = table(
    "classes",
    {"name": "name", "type": "text", "required": True},
    {"name": "year", "type": "integer"},
    {"name": "teacher", "type": "user"},
    {"name": "photo", "type": "file"},
    {"name": "partners", "type": "relation_many", "target": "classes"},
)
STUDENTS_SPEC = table(
    "students",
    {"name": "name", "type": "text", "required": True},
    {"name": "age", "type": "integer"},
    {"name": "born", "type": "date"},
    {"name": "class_id", "type": "relation", "target": "classes", "on_delete": "set_null"},
    {"name": "mentor_id", "type": "relation", "target": "classes", "on_delete": "set_null"},
    {"name": "enrolled_at", "type": "datetime"},
    {"name": "tags", "type": "multi_select", "options": TAGS},
)
ATTENDANCE_SPEC = table(
    "attendance",
    {"name": "student_id", "type": "relation", "target": "students", "on_delete": "cascade"},
    {"name": "day", "type": "date"},
    {"name": "minutes_late", "type": "integer"},
    {"name": "present", "type": "boolean"},
)

#: column name -> docpal type, per table (system columns included)
SYSTEM_TYPES = {"id": "uuid", "version": "integer", "created_at": "datetime", "updated_at": "datetime",
                "created_by": "user", "updated_by": "user"}
TYPES = {spec["slug"]: {**SYSTEM_TYPES, **{c["name"]: c["type"] for c in spec["columns"]}}
         for spec in (CLASSES_SPEC, STUDENTS_SPEC, ATTENDANCE_SPEC)}
TARGETS = {spec["slug"]: {c["name"]: c["target"] for c in spec["columns"] if "target" in c}
           for spec in (CLASSES_SPEC, STUDENTS_SPEC, ATTENDANCE_SPEC)}
USER_FIELDS = {"id": "uuid", "email": "text", "display_name": "text"}
FILE_FIELDS = {"id": "uuid", "name": "text", "size": "bigint", "mime": "text", "sha256": "text",
               "storage_key": "text"}
#: reverse relations: (parent table, name as written) -> (child table, link column)
REVERSE = {
    ("classes", "students!class_id"): ("students", "class_id"),
    ("classes", "students!mentor_id"): ("students", "mentor_id"),
    ("students", "attendance"): ("attendance", "student_id"),
    ("students", "attendance!student_id"): ("attendance", "student_id"),
}
#: relation_many columns as to-many paths: (table, column) -> target table
MANY = {("classes", "partners"): "classes"}

# --- the data ------------------------------------------------------------------------------------

_NS = uuid.UUID("0b5d3c1e-8a7f-4e21-9c33-6d1f2a4b5e70")


def rid(kind, i):
    return str(uuid.uuid5(_NS, f"{kind} {i}"))


#: name, year, teacher key (None: no teacher), photo key, partner indexes; the last two have no students
CLASSES = [
    ("Algebra", 2025, "t1", "f1", [1, 2]),
    ("Biology", 2025, "t2", "f2", []),
    ("Chemistry", 2026, "t1", None, [0]),
    ("Drama", 2026, "t3", "f1", [7, 8, 9]),
    ("English", None, None, "f3", []),
    ("French", 2025, "t4", None, []),
    ("Geography", 2026, "t2", None, [5]),
    ("History", 2025, None, "f2", []),
    ("Italian", 2026, "t3", None, [0, 1]),
    ("Japanese", None, "t4", "f3", []),
]
STUDENT_NAMES = [
    "Ada", "Alan", "Alma", "Amos", "Anna", "Ben", "Bea", "Bruno", "Carl", "Cleo", "Dana", "Dora", "Eli", "Emma",
    "Eva", "Finn", "Flora", "Gil", "Gina", "Hal", "Hana", "Ida", "Ivan", "Jack", "Jade", "Kai", "Kira", "Leo",
    "Lena", "Liam", "Lina", "Max", "Mia", "Nina", "Noah", "Ola", "Omar", "Otto", "Paul", "Pia", "Quinn", "Rosa",
    "Ruth", "Sam", "Sara", "Tess", "Tom", "Uma", "Una", "Vera", "Vic", "Wes", "Wren", "Xena", "Yara", "Yves",
    "Zack", "Zara", "Zeno", "Zoe",
]
#: datetimes around midnight UTC and the Kiritimati day change (UTC+14: 10:00 UTC is midnight there)
ENROLL_TIMES = ["2025-08-31T09:59:00+00:00", "2025-08-31T10:00:00+00:00", "2025-09-01T00:30:00+00:00",
                "2025-09-01T23:45:00+00:00", "2025-12-31T10:30:00+00:00", "2025-12-31T09:00:00+00:00",
                "2026-01-04T12:00:00+00:00", "2026-03-31T10:15:00+00:00", "2026-06-30T14:00:00+00:00",
                "2024-12-31T20:00:00+00:00", "2026-09-27T09:00:00+00:00", "2026-12-31T10:00:00+00:00"]
FILES = {
    "f1": {"name": "class.jpg", "size": 2048, "mime": "image/jpeg", "sha256": "a" * 64, "storage_key": "s3/a"},
    "f2": {"name": "lab.png", "size": 512, "mime": "image/png", "sha256": "b" * 64, "storage_key": "s3/b"},
    "f3": {"name": "stage.pdf", "size": 99999, "mime": "application/pdf", "sha256": "c" * 64, "storage_key": "s3/c"},
}
TEACHERS = {"t1": "Teacher One", "t2": "Teacher Two", "t3": "Teacher Three", "t4": "Teacher Four"}
#: the student with more attendance rows than an embed's default limit (50)
BUSY = 0
#: days with ISO-week and year edges (2025-12-29 is in ISO week 1 of 2026; 2026-12-31 in week 53)
EDGE_DAYS = ["2025-01-01", "2025-12-29", "2025-12-31", "2026-01-01", "2026-01-04", "2026-12-31", "2026-03-31"]


def student_rows(rng):
    """The students: (name, age, born, class index, mentor index, enrolled_at, tags), with nulls."""
    out = []
    for i, name in enumerate(STUDENT_NAMES):
        age = None if i % 13 == 5 else rng.randint(9, 15)
        born = None if i % 11 == 7 else dt.date(2010, 1, 1) + dt.timedelta(days=rng.randint(0, 6 * 365))
        # classes 8 and 9 (Italian, Japanese) have no students; a few students have no class
        klass = None if i % 17 == 3 else rng.choice([0, 0, 1, 2, 3, 3, 4, 5, 6, 7])
        mentor = None if i % 3 else rng.choice([0, 2, 5, 8])
        enrolled = None if i % 9 == 4 else dt.datetime.fromisoformat(ENROLL_TIMES[i % len(ENROLL_TIMES)]) \
            + dt.timedelta(days=7 * (i // len(ENROLL_TIMES)))
        tags = None if i % 10 == 6 else [] if i % 10 == 1 else sorted(rng.sample(TAGS, rng.randint(1, 3)))
        out.append((name, age, born, klass, mentor, enrolled, tags))
    return out


def attendance_rows(rng):
    """(student index, day, minutes_late, present): ~600 rows over 2025-2026; students 50-59 have none,
    student BUSY has 55."""
    out = []
    start = dt.date(2025, 1, 1)
    for i in range(1, 50):
        for _ in range(rng.randint(8, 14)):
            out.append(i)
    out += [BUSY] * 55
    rows = []
    for n, s in enumerate(out):
        day = None if n % 97 == 13 else (dt.date.fromisoformat(EDGE_DAYS[n % len(EDGE_DAYS)]) if n % 23 == 0
                                          else start + dt.timedelta(days=rng.randint(0, 729)))
        late = None if n % 19 == 2 else rng.choice([0, 0, 0, 0, 2, 5, 10, 15, 30])
        present = None if n % 31 == 9 else (late is None or late < 30) and rng.random() > 0.1
        rows.append((s, day, late, present))
    return rows


@dataclass(repr=False)
class School:
    """The module's database (superuser connection `conn` with the owner in context) and the model."""
    conn: psycopg.Connection
    url: str
    company: dict
    schema: str
    users: dict = field(default_factory=dict)    # id -> {id, email, display_name}
    people: dict = field(default_factory=dict)   # key (owner, t1..t4) -> user id
    files: dict = field(default_factory=dict)    # id -> file record (as register_file returned it)
    rows: dict = field(default_factory=dict)     # table -> list of model rows (Python values)

    def __repr__(self) -> str:
        return f"School({self.schema!r}, " + ", ".join(f"{len(v)} {k}" for k, v in self.rows.items()) + ")"

    def by_id(self, table_, id_):
        return self._index[table_][id_]

    def index(self):
        self._index = {t: {r["id"]: r for r in rows} for t, rows in self.rows.items()}

    def named(self, table_, name):
        return next(r for r in self.rows[table_] if r["name"] == name)


def build_school(conn, company) -> School:
    """Creates users, files, the three tables and their rows; returns the School with its model."""
    rng = random.Random(1604)
    schema = company["schema"]
    slug = company["slug"]
    s = School(conn, "", company, schema)
    conn.execute("select docpal.update_company(%s, %s)",
                 (company["id"], Jsonb({"settings": {"time_zone": TIME_ZONE}})))
    s.people["owner"] = company["owner"]
    for key, name in TEACHERS.items():
        uid = one(conn, "select docpal.create_user(%s, %s)", f"{key}-{slug}@example.com", name)
        conn.execute("select docpal.add_member(%s, %s, 'admin')", (company["id"], uid))
        s.people[key] = uid
    s.people["member"] = company["member"]
    for uid in s.people.values():
        row = conn.execute("select id, email, display_name from docpal_private.users where id = %s", (uid,)).fetchone()
        s.users[str(row[0])] = {"id": str(row[0]), "email": row[1], "display_name": row[2]}

    set_context(conn, company, company["owner"])
    fkeys = {}
    for key, spec in FILES.items():
        f = fn(conn, "register_file", spec)
        fkeys[key] = f["id"]
        s.files[f["id"]] = f
    for spec in (CLASSES_SPEC, STUDENTS_SPEC, ATTENDANCE_SPEC):
        fn(conn, "create_table", spec)

    # each teacher creates some of the records: created_by varies
    creators = {}

    def as_user(key):
        if key not in creators:
            if key == "owner":
                creators[key] = conn
            else:
                c = psycopg.connect(_url(conn, SERVICE_LOGIN), autocommit=True)
                creators[key] = set_context(c, company, s.people[key])
        return creators[key]

    who = ["owner", "t1", "t2", "t3", "t4"]
    classes = []
    for i, (name, year, teacher, photo, partners) in enumerate(CLASSES):
        classes.append({"id": rid("class", i), "name": name, "year": year,
                        "teacher": str(s.people[teacher]) if teacher else None,
                        "photo": fkeys[photo] if photo else None,
                        "partners": [rid("class", p) for p in partners]})
    by_creator = {}
    for i, c in enumerate(classes):
        by_creator.setdefault(who[i % 2], []).append(c)  # owner and t1
    records = {}
    for key, rows in by_creator.items():
        for r in fn(as_user(key), "create_records", "classes", [{**c, "partners": []} for c in rows]):
            records[r["id"]] = r
    for c in classes:  # links between classes once they all exist, by another user
        if c["partners"]:
            r = one(as_user("t2"), "select docpal.update_record('classes', %s, %s)", uuid.UUID(c["id"]),
                    Jsonb({"partners": c["partners"]}))
            records[r["id"]] = r

    students = []
    data = student_rows(rng)
    for i, (name, age, born, klass, mentor, enrolled, tags) in enumerate(data):
        students.append({"id": rid("student", i), "name": name, "age": age,
                         "born": born.isoformat() if born else None,
                         "class_id": rid("class", klass) if klass is not None else None,
                         "mentor_id": None,  # set below by another user: updated_by differs
                         "enrolled_at": enrolled.isoformat() if enrolled else None, "tags": tags})
    mentors = {rid("student", i): rid("class", d[4]) for i, d in enumerate(data) if d[4] is not None}
    by_creator = {}
    for i, st_ in enumerate(students):
        by_creator.setdefault(who[1 + i % 4], []).append(st_)
    for key, rows in by_creator.items():
        for r in fn(as_user(key), "create_records", "students", rows):
            records[r["id"]] = r
    for n, (sid, cid) in enumerate(sorted(mentors.items())):
        key = ["owner", "t2", "t3"][n % 3]
        r = one(as_user(key), "select docpal.update_record('students', %s, %s)", uuid.UUID(sid),
                Jsonb({"mentor_id": cid}))
        records[r["id"]] = r

    att = []
    for n, (si, day, late, present) in enumerate(attendance_rows(rng)):
        att.append({"id": rid("attendance", n), "student_id": rid("student", si),
                    "day": day.isoformat() if day else None, "minutes_late": late, "present": present})
    by_creator = {}
    for n, a in enumerate(att):
        by_creator.setdefault(who[n % 5], []).append(a)
    for key, rows in by_creator.items():
        for k in range(0, len(rows), 200):
            for r in fn(as_user(key), "create_records", "attendance", rows[k:k + 200]):
                records[r["id"]] = r
    for key, c in creators.items():
        if c is not conn:
            c.close()

    # the model: what was stored, as Python values
    def model_row(table_, rec):
        out = {}
        for col, kind in TYPES[table_].items():
            out[col] = to_python(kind, rec.get(col))
        return out

    for table_, kind in (("classes", "class"), ("students", "student"), ("attendance", "attendance")):
        ids = {r["id"] for r in {"class": classes, "student": students, "attendance": att}[kind]}
        s.rows[table_] = [model_row(table_, records[i]) for i in sorted(ids)]
    s.index()
    # the model never trusts what docpal returned for the data it was given
    for c, spec in zip(sorted(classes, key=lambda c: c["id"]), s.rows["classes"]):
        assert spec["name"] == c["name"] and spec["partners"] == c["partners"] and spec["teacher"] == c["teacher"]
    for st_ in students:
        m = s.by_id("students", st_["id"])
        assert (m["age"], m["class_id"], m["tags"]) == (st_["age"], st_["class_id"], st_["tags"])
        assert m["mentor_id"] == mentors.get(st_["id"])
        assert m["enrolled_at"] == (dt.datetime.fromisoformat(st_["enrolled_at"]) if st_["enrolled_at"] else None)
    assert len(s.rows["attendance"]) > 550 and len(s.rows["students"]) == 60 and len(s.rows["classes"]) == 10
    return s


def _url(conn, user):
    i = conn.info
    return f"postgresql://{user}@{i.host}:{i.port}/{i.dbname}"


def to_python(kind, value):
    """A record's JSON value as the model's Python value."""
    if value is None:
        return None
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "datetime":
        return dt.datetime.fromisoformat(value)
    if kind in ("integer", "bigint", "version"):
        return int(value)
    if kind in ("uuid", "user", "file", "relation"):
        return str(value)
    if kind == "relation_many":
        return [str(v) for v in value]
    return value


@pytest.fixture(scope="module")
def school(docpal_template):
    """Built once per module: a clone of the migrated template, a company (owner, member, four
    teachers as admins), the school data set; the owner in context on School.conn."""
    with company_database(docpal_template, "docpal_school", "School") as (conn, company, url):
        s = build_school(conn, company)
        s.url = url
        set_context(conn, company, company["owner"])
        conn.execute("set statement_timeout = '60s'")
        yield s


# --- the model: paths ----------------------------------------------------------------------------

FUNCTIONS = ("year", "quarter", "month", "week", "day", "weekday", "hour", "date", "count")
CHILD_AGGREGATES = ("count", "sum", "avg", "min", "max")
_CALL = re.compile(r"^([a-z_]+)\((.*)\)$")


class Model:
    """Evaluates paths, filters, embeds and aggregates over the School's rows. `visible` (table ->
    predicate on a model row) and `readable` (table -> predicate (row, column)) stand for a member's
    row grants and cell grants; by default everything is visible."""

    def __init__(self, school: School, visible=None, readable=None):
        self.s = school
        self.visible = visible or {}
        self.readable = readable or {}

    def __repr__(self) -> str:
        return "Model()"

    # -- rows
    def rows(self, table_):
        pred = self.visible.get(table_)
        return [r for r in self.s.rows[table_] if pred is None or pred(r)]

    def visible_by_id(self, table_):
        cache = self.__dict__.setdefault("_by_id", {})
        if table_ not in cache:
            cache[table_] = {r["id"]: r for r in self.rows(table_)}
        return cache[table_]

    def children(self, table_, row, name):
        """The visible child rows of `row` through the to-many path segment `name` (id order)."""
        cache = self.__dict__.setdefault("_children", {})
        if (table_, name) not in cache:
            by_parent: dict = {}
            if (table_, name) in REVERSE:
                child, link = REVERSE[(table_, name)]
                for c in self.rows(child):
                    by_parent.setdefault(self.cell(child, c, link), []).append(c)
            else:
                column = name
                seen = {r["id"]: r for r in self.rows(MANY[(table_, name)])}
                for p in self.s.rows[table_]:
                    by_parent[p["id"]] = sorted((seen[i] for i in p[column] or [] if i in seen), key=lambda r: r["id"])
            cache[(table_, name)] = by_parent
        return cache[(table_, name)].get(row["id"], [])

    def child_table(self, table_, name):
        return REVERSE[(table_, name)][0] if (table_, name) in REVERSE else MANY[(table_, name)]

    def cell(self, table_, row, column):
        pred = self.readable.get(table_)
        if pred is not None and column not in SYSTEM_TYPES and not pred(row, column):
            return None
        return row[column]

    # -- paths
    def kind(self, table_, path):
        """The docpal type of a path's value (for rendering and comparing)."""
        m = _CALL.match(path)
        if m:
            f, inner = m.groups()
            if f == "date":
                return "date"
            if f in ("year", "quarter", "month", "week", "day", "weekday", "hour", "count"):
                return "integer"
            if not self.is_child_aggregate(table_, f, inner):
                raise AssertionError(path)
            head, _, rest = inner.partition(".")
            child = self.child_table(table_, head)
            return "decimal" if f in ("sum", "avg") else self.kind(child, rest)
        segs = path.split(".")
        t = table_
        for i, seg in enumerate(segs):
            kind = TYPES[t][seg]
            if i == len(segs) - 1:
                return kind
            if kind == "user":
                return USER_FIELDS[segs[i + 1]]
            if kind == "file":
                return FILE_FIELDS[segs[i + 1]]
            t = TARGETS[t][seg]
        raise AssertionError(path)

    def value(self, table_, row, path):
        """The value of `path` on `row` (None when a relation on the way is null or unreadable)."""
        m = _CALL.match(path)
        if m:
            f, inner = m.groups()
            if self.is_child_aggregate(table_, f, inner):
                return self.child_aggregate(table_, row, f, inner)
            v = self.value(table_, row, inner)
            return apply_function(f, v)
        segs = path.split(".")
        t, r = table_, row
        for i, seg in enumerate(segs):
            v = self.cell(t, r, seg)
            if i == len(segs) - 1 or v is None:
                return v
            kind = TYPES[t][seg]
            if kind == "user":
                return self.s.users[v][segs[i + 1]]
            if kind == "file":
                return self.s.files[v][segs[i + 1]]
            t = TARGETS[t][seg]
            r = self.visible_by_id(t).get(v)
            if r is None:
                return None
        raise AssertionError(path)

    @staticmethod
    def is_child_aggregate(table_, f, inner):
        """count(students!class_id), sum(students!class_id.age), min(partners.name): an aggregate over
        children; count(partners) and count(tags) count an array's elements instead."""
        head = inner.split(".")[0]
        return f in CHILD_AGGREGATES and ((table_, head) in REVERSE or ((table_, head) in MANY and "." in inner))

    def child_aggregate(self, table_, row, f, inner):
        head, _, rest = inner.partition(".")
        kids = self.children(table_, row, head)
        if f == "count":
            return len(kids)
        child = self.child_table(table_, head)
        values = [v for v in (self.value(child, k, rest) for k in kids) if v is not None]
        if not values:
            return None
        if f == "sum":
            return sum(values)
        if f == "avg":
            return Decimal(sum(values)) / Decimal(len(values))
        return min(values) if f == "min" else max(values)

    # -- filters (three-valued: True, False, None for unknown)
    def test(self, table_, row, filters):
        out = True
        for key, cond in filters.items():
            if key == "_and":
                r = and3(self.test(table_, row, f) for f in cond)
            elif key == "_or":
                r = or3(self.test(table_, row, f) for f in cond)
            elif key == "_not":
                r = not3(self.test(table_, row, cond))
            elif self.is_to_many(table_, key) and isinstance(cond, dict) and len(cond) == 1 \
                    and next(iter(cond)) in ("_some", "_none", "_every"):
                (q, sub), = cond.items()
                child = self.child_table(table_, key)
                hits = [self.test(child, k, sub) is True for k in self.children(table_, row, key)]
                r = any(hits) if q == "_some" else (not any(hits)) if q == "_none" else all(hits)
            else:
                v = self.value(table_, row, key)
                if cond is None:
                    r = v is None
                elif isinstance(cond, dict):
                    r = and3(holds(op, v, arg) for op, arg in cond.items())
                else:
                    r = holds("eq", v, cond)
            out = and3([out, r])
        return out

    def matches(self, table_, row, filters):
        return self.test(table_, row, filters or {}) is True

    def is_to_many(self, table_, key):
        return (table_, key) in REVERSE or (table_, key) in MANY

    # -- query_table
    def order(self, table_, rows, sort):
        """rows sorted as PostgreSQL sorts them: each key ascending with nulls last (descending: nulls
        first), then id."""
        out = sorted(rows, key=lambda r: r["id"])
        for entry in reversed(sort or []):
            desc = entry.startswith("-")
            path = entry.lstrip("-")
            present = [r for r in out if self.value(table_, r, path) is not None]
            nulls = [r for r in out if self.value(table_, r, path) is None]
            present.sort(key=lambda r: self.value(table_, r, path), reverse=desc)
            out = nulls + present if desc else present + nulls
        return out

    def query(self, table_, spec):
        """query_table's rows: filtered, sorted, paged and projected (columns only; see project)."""
        rows = [r for r in self.rows(table_) if self.matches(table_, r, spec.get("filters"))]
        rows = self.order(table_, rows, spec.get("sort"))
        offset = spec.get("offset", 0)
        rows = rows[offset:offset + spec.get("limit", 50)]
        return [self.project(table_, r, spec["columns"]) for r in rows]

    def project(self, table_, row, columns):
        out = {}
        for item in columns:
            if isinstance(item, dict):
                (name, embed), = item.items()
                child = self.child_table(table_, name)
                kids = [k for k in self.children(table_, row, name) if self.matches(child, k, embed.get("filters"))]
                kids = self.order(child, kids, embed.get("sort"))[:embed.get("limit", 50)]
                out[name] = [self.project(child, k, embed["columns"]) for k in kids]
            else:
                out[item] = render(self.kind(table_, item), self.value(table_, row, item))
        return out

    # -- aggregate
    def groups(self, table_, group_by, filters=None):
        """{tuple of group values: count} of aggregate(group_by, metrics {"n": "count"})."""
        out: dict = {}
        for r in self.rows(table_):
            if self.matches(table_, r, filters):
                key = tuple(render(self.kind(table_, p), self.value(table_, r, p)) for p in group_by)
                out[key] = out.get(key, 0) + 1
        return out


def apply_function(f, v):
    if f == "count":
        return 0 if v is None else len(v)
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        v = v.astimezone(TZ)
        if f == "date":
            return v.date()
        if f == "hour":
            return v.hour
    elif f == "hour":
        return 0
    if f == "year":
        return v.year
    if f == "quarter":
        return (v.month - 1) // 3 + 1
    if f == "month":
        return v.month
    if f == "week":
        return v.isocalendar()[1]
    if f == "day":
        return v.day
    if f == "weekday":
        return v.isoweekday()
    raise AssertionError(f)


def render(kind, v):
    """A model value as query rows carry it in JSON (datetimes stay datetimes: see normalize)."""
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return v
    return v


def normalize(value):
    """An actual JSON value made comparable with render's output: datetime text parsed."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d(:\d\d)?", value):
        return dt.datetime.fromisoformat(value)
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def close(a, b):
    """Model and actual rows equal, with averages compared to 1e-9."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, Decimal) and isinstance(b, (Decimal, int)) and not isinstance(b, bool):
        return abs(a - Decimal(b)) < Decimal("1e-9")
    return a == b and type(a) is type(b) or (isinstance(a, int) and isinstance(b, Decimal) and a == b)


def and3(values):
    values = list(values)
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def or3(values):
    values = list(values)
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def not3(v):
    return None if v is None else not v


def holds(op, value, arg):
    """One operator on one value, in SQL's three-valued logic."""
    if op == "is_null":
        return (value is None) == arg
    if op == "is_empty":
        return (value is None or value == "" or value == []) == arg
    if value is None:
        # nin is compiled `x is not null and x <> all (...)`: false on a null, so that _not of it
        # does match it; every other comparison (neq included: `x <> v`) is unknown
        return False if op == "nin" else None
    if isinstance(value, dt.datetime):
        conv = dt.datetime.fromisoformat
    elif isinstance(value, dt.date):
        conv = dt.date.fromisoformat
    elif isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        conv = lambda a: Decimal(str(a))  # noqa: E731
    else:
        conv = lambda a: a  # noqa: E731
    if op in ("in", "nin", "between", "has_any", "has_all"):
        args = [conv(a) for a in arg] if op not in ("has_any", "has_all") else arg
    else:
        args = arg if isinstance(value, list) else conv(arg)
    if op == "eq":
        return value == args
    if op == "neq":
        return value != args
    if op == "gt":
        return value > args
    if op == "gte":
        return value >= args
    if op == "lt":
        return value < args
    if op == "lte":
        return value <= args
    if op == "in":
        return value in args
    if op == "nin":
        return value not in args
    if op == "between":
        return args[0] <= value <= args[1]
    if op == "starts_with":
        return value.startswith(args)
    if op == "ends_with":
        return value.endswith(args)
    if op == "contains" and isinstance(value, list):
        return set(args if isinstance(args, list) else [args]) <= set(value)
    if op == "contains":
        return args in value
    if op == "has_any":
        return bool(set(args) & set(value))
    if op == "has_all":
        return set(args) <= set(value)
    raise AssertionError(op)
