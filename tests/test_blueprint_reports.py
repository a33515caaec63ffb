"""The KPI reports of the shipped blueprints (contract sections 8 and 11; issue 17;
docs/blueprints.md): every KPI of school, workforce and mes, run with run_report
on the blueprint's sample records plus records inserted here for the edge cases,
against a hand computation in Python from the same rows (exact decimal
arithmetic, independent of the SQL); and how apply_blueprint saves reports:
a first apply, an upgrade from a version 1 applied before docpal saved reports
(tests/blueprints_v1/, the documents docpal shipped then; tenant step 0012),
a report the company dropped or already has, a report on a table the company
dropped, and the shape errors.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import unique_slug
from docpal import blueprints, deploy
from helpers import fn, one, raises, set_context

V1 = Path(__file__).resolve().parent / "blueprints_v1"


def new_company(db, settings=None):
    """A company with an owner and a member; the connection acts as the owner."""
    slug = unique_slug("kpi")
    cid = one(db, "select docpal.create_company(%s, 'KPI Co', %s::jsonb)", slug, json.dumps(settings or {}))
    company = {"id": cid, "slug": slug, "schema": one(db, "select docpal.get_company(%s)->>'schema'", str(cid))}
    for role in ("owner", "member"):
        company[role] = one(db, "select docpal.create_user(%s, %s)", f"{role}-{slug}@example.com", role.title())
        db.execute("select docpal.add_member(%s, %s, %s)", (cid, company[role], role))
    set_context(db, company, company["owner"])
    return company


def v1(name):
    return json.loads((V1 / f"{name}.json").read_text())


def run(db, slug, params=None):
    """The report's groups (run_report's result), checking the envelope on the way."""
    out = fn(db, "run_report", slug, params or {})
    assert out["report"] == slug
    return out["result"]["groups"]


def D(value):
    """An exact decimal of a JSON number or a sample value (None stays None)."""
    return None if value is None else Decimal(str(value))


def ratio(num, den, places=4):
    """num / den rounded half away from zero as PostgreSQL's round(numeric, n); None when den is 0 or null."""
    if num is None or not den:
        return None
    return (D(num) / D(den)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def keyed(groups, *keys):
    """The groups by the tuple of their group values."""
    out = {tuple(g[k] for k in keys): g for g in groups}
    assert len(out) == len(groups)
    return out


def assert_metrics(got, want, context):
    """Every expected metric equal (as numbers; avg within 1e-12)."""
    for name, value in want.items():
        have = got[name]
        if value is None or have is None:
            assert have is None and value is None, (context, name, have, value)
        elif name.startswith("avg") or name == "average":
            assert abs(D(have) - D(value)) < Decimal("1e-12"), (context, name, have, value)
        else:
            assert D(have) == D(value), (context, name, have, value)


def apply(db, document):
    return fn(db, "apply_blueprint", document)


# ---------------------------------------------------------------- school


def test_school_attendance_rate_and_grade_average(db):
    company = new_company(db)
    document = blueprints.load("school")
    assert apply(db, document)["created"]["reports"] == ["attendance_rate", "grade_average"]
    records = document["records"]
    classes = {c["id"]: c["name"] for c in records["classes"]}
    student_class = {s["id"]: s.get("class_id") for s in records["students"]}
    students = [s["id"] for s in records["students"]]
    # the edge cases: a month in another year, a class with only excused days, a day with no class
    extra = [
        {"student_id": students[0], "class_id": records["classes"][0]["id"], "day": "2027-01-11", "status": "present"},
        {"student_id": students[1], "class_id": records["classes"][0]["id"], "day": "2027-01-11", "status": "absent"},
        {"student_id": students[1], "class_id": records["classes"][0]["id"], "day": "2027-01-12", "status": "late",
         "minutes_late": 3},
        {"student_id": students[4], "class_id": records["classes"][2]["id"], "day": "2026-11-02", "status": "excused"},
        {"student_id": students[4], "class_id": records["classes"][2]["id"], "day": "2026-11-03", "status": "excused"},
        {"student_id": students[5], "day": "2026-09-09", "status": "present"},
    ]
    fn(db, "create_records", "attendance", extra)

    want = defaultdict(lambda: defaultdict(int))
    for row in records["attendance"] + extra:
        day = date.fromisoformat(row["day"])
        key = (classes.get(row.get("class_id")), day.year, day.month)
        want[key]["days"] += 1
        want[key][row.get("status", "present")] += 1
    got = keyed(run(db, "attendance_rate"), "class_id.name", "year(day)", "month(day)")
    assert set(got) == set(want)
    for key, counts in want.items():
        assert_metrics(got[key], {"days": counts["days"], "present": counts["present"], "late": counts["late"],
                                  "absent": counts["absent"], "excused": counts["excused"],
                                  "attendance_rate": ratio(counts["present"] + counts["late"], counts["days"])}, key)
    assert D(got[("3C", 2026, 11)]["attendance_rate"]) == 0  # only excused days
    assert D(got[("1A", 2026, 9)]["attendance_rate"]) == 1
    assert got[("2B", 2026, 9)]["attendance_rate"] == pytest.approx(0.5)  # present, late, absent, absent

    # grades: one weighted at 50 %, one not scored (left out of the weighted average, counted in n)
    subjects = [s["id"] for s in records["subjects"]]
    grades = [{"student_id": students[0], "subject_id": subjects[0], "score": 90, "weight": 50},
              {"student_id": students[1], "subject_id": subjects[0], "weight": 100},
              {"student_id": students[2], "subject_id": subjects[1], "score": 41.5, "weight": 25}]
    fn(db, "create_records", "grades", grades)
    want = defaultdict(list)
    for g in records["grades"] + grades:
        want[(classes[student_class[g["student_id"]]],
              next(s["name"] for s in records["subjects"] if s["id"] == g["subject_id"]))].append(g)
    got = keyed(run(db, "grade_average"), "student_id.class_id.name", "subject_id.name")
    assert set(got) == set(want)
    for key, rows in want.items():
        scored = [g for g in rows if g.get("score") is not None]
        points = sum((D(g["score"]) * D(g.get("weight", 100)) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
                     for g in scored)
        weights = sum(D(g.get("weight", 100)) for g in scored)
        assert_metrics(got[key], {"n": len(rows), "average": sum(D(g["score"]) for g in scored) / len(scored),
                                  "lowest": min(D(g["score"]) for g in scored), "weighted_points": points,
                                  "weights": weights, "weighted_average": ratio(points * 100, weights, 2)}, key)
    # 1A, first subject: 65 (100 %), 72 (100 %), 90 (50 %), one unscored: (65 + 72 + 45) * 100 / 250
    first = next(s["name"] for s in records["subjects"] if s["id"] == subjects[0])
    assert D(got[("1A", first)]["weighted_average"]) == Decimal("72.80")
    assert got[("1A", first)]["n"] == 4


# ---------------------------------------------------------------- workforce


def test_workforce_overdue_tasks_per_team(db):
    """Overdue = open (not done) and due before today in the company's time zone: a zone far
    ahead of UTC (UTC+14) makes its today differ from UTC's for ten hours a day."""
    zone = "Pacific/Kiritimati"
    company = new_company(db, {"time_zone": zone})
    document = blueprints.load("workforce")
    result = apply(db, document)
    assert result["created"]["reports"] == ["overdue_tasks", "attendance_by_shift", "leave_days"]
    with db.transaction():
        # the report's $now is the transaction's start: the same instant as now() here
        now = one(db, "select now()")
        today = now.astimezone(ZoneInfo(zone)).date()
        records = document["records"]
        teams = {t["id"]: t["name"] for t in records["teams"]}
        team = [t["id"] for t in records["teams"]]
        extra = [
            {"title": "due yesterday", "team_id": team[2], "due_on": str(today - timedelta(days=1)), "status": "todo"},
            {"title": "due today", "team_id": team[2], "due_on": str(today), "status": "in_progress"},
            {"title": "due tomorrow", "team_id": team[2], "due_on": str(today + timedelta(days=1)), "status": "todo"},
            {"title": "done late", "team_id": team[2], "due_on": str(today - timedelta(days=30)), "status": "done"},
            {"title": "no due date", "team_id": team[0], "status": "blocked"},
            {"title": "no team", "due_on": str(today - timedelta(days=400)), "status": "blocked"},
        ]
        fn(db, "create_records", "tasks", extra)
        got = keyed(run(db, "overdue_tasks"), "team_id.name")
    want = {}
    for task in records["tasks"] + extra:
        if task.get("status", "todo") == "done":
            continue
        w = want.setdefault(teams.get(task.get("team_id")), {"open": 0, "overdue": 0, "due": []})
        w["open"] += 1
        if task.get("due_on"):
            w["due"].append(date.fromisoformat(task["due_on"]))
            w["overdue"] += date.fromisoformat(task["due_on"]) < today
    assert set(got) == {(k,) for k in want}
    for team_name, w in want.items():
        g = got[(team_name,)]
        assert_metrics(g, {"open": w["open"], "overdue": w["overdue"], "overdue_share": ratio(w["overdue"], w["open"])},
                       team_name)
        assert g["earliest_due"] == (str(min(w["due"])) if w["due"] else None)
    assert got[("HR services",)]["overdue"] == 1  # yesterday's; today's and tomorrow's are not, done is not open
    assert got[(None,)]["overdue"] == 1 and got[(None,)]["open"] == 1


def test_workforce_attendance_and_leave_reports(db):
    new_company(db)
    document = blueprints.load("workforce")
    apply(db, document)
    records = document["records"]
    shifts = {s["id"]: s["name"] for s in records["shifts"]}
    want = defaultdict(lambda: {"days": 0, "hours": Decimal(0), "late_minutes": None})
    for row in records["attendance"]:
        w = want[(shifts.get(row.get("shift_id")), row.get("status", "present"))]
        w["days"] += 1
        w["hours"] += D(row.get("worked_hours") or 0)
        if row.get("minutes_late") is not None:
            w["late_minutes"] = (w["late_minutes"] or 0) + row["minutes_late"]
    got = keyed(run(db, "attendance_by_shift"), "shift_id.name", "status")
    assert set(got) == set(want)
    for key, w in want.items():
        assert_metrics(got[key], w, key)

    departments = {d["id"]: d["name"] for d in records["departments"]}
    employee_department = {e["id"]: departments.get(e.get("department_id")) for e in records["employees"]}
    want = defaultdict(lambda: {"requests": 0, "days": Decimal(0)})
    for row in records["leave_requests"]:
        if row.get("status") == "approved":
            w = want[(employee_department[row["employee_id"]], row.get("kind", "vacation"))]
            w["requests"] += 1
            w["days"] += D(row["days"])
    got = keyed(run(db, "leave_days"), "employee_id.department_id.name", "kind")
    assert set(got) == set(want) and want
    for key, w in want.items():
        assert_metrics(got[key], w, key)


# ---------------------------------------------------------------- mes


def oee_by_group(logs, centers):
    """OEE and its parts per (work center name, shift), from the log rows: ratios of sums."""
    sums = defaultdict(lambda: defaultdict(Decimal))
    for log in logs:
        s = sums[(centers[log["work_center_id"]], log["shift"])]
        good, scrap = D(log.get("good_quantity") or 0), D(log.get("scrap_quantity") or 0)
        s["logs"] += 1
        s["planned_minutes"] += log["planned_minutes"]
        s["run_minutes"] += log["run_minutes"]
        s["units"] += good + scrap
        s["good"] += good
        if log.get("ideal_cycle_seconds") is not None:  # unknown: no ideal time for these units
            s["ideal_seconds"] += D(log["ideal_cycle_seconds"]) * (good + scrap)
            s["good_seconds"] += D(log["ideal_cycle_seconds"]) * good
    out = {}
    for key, s in sums.items():
        out[key] = dict(s) | {
            "availability": ratio(s["run_minutes"], s["planned_minutes"]),
            "performance": ratio(s["ideal_seconds"], s["run_minutes"] * 60),
            "quality": ratio(s["good"], s["units"]),
            "oee": ratio(s["good_seconds"], s["planned_minutes"] * 60)}
    return out


def test_mes_oee_per_work_center_and_shift(db):
    new_company(db)
    document = blueprints.load("mes")
    assert apply(db, document)["created"]["reports"] == ["oee", "first_pass_yield", "on_time_delivery", "open_ncrs"]
    records = document["records"]
    centers = {c["id"]: c["name"] for c in records["work_centers"]}
    center = [c["id"] for c in records["work_centers"]]
    order = records["production_orders"][0]["id"]
    extra = [
        # a night shift: two logs of different ideal cycle times and planned minutes
        {"order_id": order, "work_center_id": center[0], "shift": "night", "day": "2026-11-03", "planned_minutes": 480,
         "run_minutes": 300, "ideal_cycle_seconds": 60, "good_quantity": 250, "scrap_quantity": 30},
        {"order_id": order, "work_center_id": center[0], "shift": "night", "day": "2026-11-04", "planned_minutes": 240,
         "run_minutes": 230, "ideal_cycle_seconds": 90, "good_quantity": 140, "scrap_quantity": 0},
        # no ideal cycle time recorded: its units count for quality, not for performance and OEE
        {"order_id": order, "work_center_id": center[1], "shift": "late", "day": "2026-11-04", "planned_minutes": 480,
         "run_minutes": 450, "good_quantity": 500, "scrap_quantity": 10},
        # nothing planned, nothing made: every ratio of the group is null
        {"order_id": order, "work_center_id": center[2], "shift": "early", "day": "2026-11-05", "planned_minutes": 0,
         "run_minutes": 0},
    ]
    fn(db, "create_records", "production_logs", extra)
    logs = records["production_logs"] + extra
    want = oee_by_group(logs, centers)
    got = keyed(run(db, "oee"), "work_center_id.name", "shift")
    assert set(got) == set(want)
    for key, w in want.items():
        assert_metrics(got[key], w, key)
    # sample CNC early: 2 logs, 960 planned minutes, 90 s x (270 + 240) good units = 45,900 s of 57,600 s
    assert D(got[("CNC mill 1", "early")]["oee"]) == Decimal("0.7969")
    assert all(got[("Packing station", "early")][k] is None for k in ("availability", "performance", "quality", "oee"))
    # a ratio of sums, not the average of the rows' own OEE: the night shift's logs have
    # 15,000 s of 28,800 s and 12,600 s of 14,400 s: (15,000 + 12,600) / 43,200 = 0.6389, where the
    # average of 0.5208 and 0.875 would be 0.6979
    assert D(got[("CNC mill 1", "night")]["oee"]) == Decimal("0.6389")
    # OEE = availability x performance x quality where the group has one ideal cycle time
    for key in (("CNC mill 1", "early"), ("Assembly line 1", "early")):
        w = oee_by_group([log for log in logs if (centers[log["work_center_id"]], log["shift"]) == key], centers)[key]
        product = (Decimal(w["run_minutes"]) / w["planned_minutes"]) * (w["ideal_seconds"] / (w["run_minutes"] * 60)) \
            * (w["good"] / w["units"])
        assert abs(product - w["good_seconds"] / (w["planned_minutes"] * 60)) < Decimal("1e-20")

    # the days from..to (params of type date)
    window = [log for log in logs if "2026-11-03" <= log["day"] <= "2026-11-03"]
    got = keyed(run(db, "oee", {"from": "2026-11-03", "to": "2026-11-03"}), "work_center_id.name", "shift")
    want = oee_by_group(window, centers)
    assert set(got) == set(want) and len(want) == 4
    for key, w in want.items():
        assert_metrics(got[key], w, key)
    assert run(db, "oee", {"from": "2027-01-01"}) == []


def test_mes_first_pass_yield_per_product(db):
    new_company(db)
    document = blueprints.load("mes")
    apply(db, document)
    records = document["records"]
    materials = {m["id"]: (m["code"], m["name"]) for m in records["materials"]}
    material = [m["id"] for m in records["materials"]]
    extra = [
        # passed_first not recorded: counted as an inspection, left out of the yield
        {"material_id": material[3], "inspected_at": "2026-11-06T10:00:00Z", "sample_size": 500, "result": "pass"},
        {"material_id": material[2], "inspected_at": "2026-11-06T11:00:00Z", "sample_size": 7, "passed_first": 0,
         "result": "fail"},
        # a product whose only inspection has no passed_first: no yield
        {"material_id": material[4], "inspected_at": "2026-11-06T12:00:00Z", "sample_size": 5, "result": "pass"},
    ]
    fn(db, "create_records", "quality_inspections", extra)
    want = {}
    for row in records["quality_inspections"] + extra:
        w = want.setdefault(materials[row["material_id"]],
                            {"inspections": 0, "failed": 0, "inspected": None, "passed_first": None})
        w["inspections"] += 1
        w["failed"] += row["result"] == "fail"
        if row.get("passed_first") is not None:
            w["inspected"] = (w["inspected"] or 0) + row["sample_size"]
            w["passed_first"] = (w["passed_first"] or 0) + row["passed_first"]
    got = keyed(run(db, "first_pass_yield"), "material_id.code", "material_id.name")
    assert set(got) == set(want)
    for key, w in want.items():
        assert_metrics(got[key], w | {"first_pass_yield": ratio(w["passed_first"], w["inspected"])}, key)
    assert D(got[("BRK-20", "Bracket BRK-20")]["first_pass_yield"]) == Decimal("0.8900")  # (41 + 48) / (50 + 50)
    assert D(got[("HSG-100", "Housing HSG-100")]["first_pass_yield"]) == Decimal("0.7037")  # 19 / 27
    assert got[("BOX-M", "Carton box M")]["first_pass_yield"] is None


def test_mes_on_time_delivery_per_customer(db):
    new_company(db)
    document = blueprints.load("mes")
    apply(db, document)
    records = document["records"]
    customers = {c["id"]: c["name"] for c in records["customers"]}
    customer = [c["id"] for c in records["customers"]]
    extra = [
        {"customer_id": customer[2], "promised_on": "2026-11-20", "delivered_on": "2026-11-27", "status": "returned"},
        {"customer_id": customer[2], "promised_on": "2026-11-21", "delivered_on": "2026-11-21", "status": "delivered"},
        {"customer_id": customer[0], "promised_on": "2026-11-22", "status": "delivered"},  # no delivery date: not counted
        {"customer_id": customer[0], "promised_on": "2026-11-23", "delivered_on": "2026-12-03", "status": "delivered"},
    ]
    fn(db, "create_records", "shipments", extra)
    want = {}
    for row in records["shipments"] + extra:
        if not row.get("delivered_on"):
            continue
        late = (date.fromisoformat(row["delivered_on"]) - date.fromisoformat(row["promised_on"])).days
        want.setdefault(customers[row["customer_id"]], []).append(late)
    got = keyed(run(db, "on_time_delivery"), "customer_id.name")
    assert set(got) == {(k,) for k in want}
    for name, lates in want.items():
        on_time = sum(1 for d in lates if d <= 0)
        assert_metrics(got[(name,)], {"delivered": len(lates), "on_time": on_time, "late": len(lates) - on_time,
                                      "on_time_rate": ratio(on_time, len(lates)),
                                      "avg_days_late": Decimal(sum(lates)) / len(lates),
                                      "worst_days_late": max(lates)}, name)
    # the shipped sample: Nordic Pumps delivered one 2 days late and one a day early
    assert D(got[("Nordic Pumps AB",)]["on_time_rate"]) == Decimal("0.5")
    assert D(got[("Acme Robotics GmbH",)]["on_time_rate"]) == Decimal("0.5")  # on time, 10 days late


def test_mes_open_ncrs_kanban(db):
    new_company(db)
    document = blueprints.load("mes")
    apply(db, document)
    out = fn(db, "run_report", "open_ncrs", {})["result"]
    want = defaultdict(int)
    for row in document["records"]["non_conformance_reports"]:
        want[row.get("status", "open")] += 1
    assert {g["value"]: g["count"] for g in out["groups"] if g["count"]} == dict(want)


# ---------------------------------------------------------------- apply_blueprint saves reports


def blueprint_row(db, company, name):
    return db.execute(f"select version, reports_saved from {company['schema']}._blueprints where name = %s",
                      (name,)).fetchone()


def as_applied_before_reports(db, company, document):
    """The company as an apply of `document` left it before docpal saved reports: everything
    but the reports made, the document stored whole, reports_saved false (tenant step 0012's
    default for the rows it found)."""
    result = apply(db, {k: v for k, v in document.items() if k != "reports"})
    assert result["created"]["reports"] == []
    db.execute(f"update {company['schema']}._blueprints set spec = %s, reports_saved = false where name = %s",
               (json.dumps(document), document["name"]))


def test_tenant_step_0012_marks_earlier_applies_as_not_having_saved_reports(db):
    company = new_company(db)
    apply(db, {"name": "kit", "version": 1, "tables": [{"slug": "things", "columns": [{"name": "n", "type": "integer"}]}]})
    assert blueprint_row(db, company, "kit") == (1, True)
    # back to before step 0012, then docpal migrate's tenant upgrade
    db.execute(f"alter table {company['schema']}._blueprints drop column reports_saved")
    db.execute("update docpal_private.companies set schema_version = 11 where id = %s", (company["id"],))
    db.execute("select docpal.clear_context()")
    result = deploy.upgrade_tenants(db)
    assert result.failed == []
    set_context(db, company, company["owner"])
    assert one(db, "select schema_version from docpal_private.companies where id = %s", company["id"]) >= 12
    assert blueprint_row(db, company, "kit") == (1, False)
    comment = one(db, "select col_description(%s::regclass, attnum) from pg_attribute "
                      "where attrelid = %s::regclass and attname = 'reports_saved'",
                  f"{company['schema']}._blueprints", f"{company['schema']}._blueprints")
    assert comment and "save_report" in comment


@pytest.mark.parametrize("name", blueprints.SHIPPED)
def test_upgrade_from_version_1_saves_the_reports(db, name):
    """A company made from version 1 before docpal saved reports gets every version 2 report
    (and, for mes, the columns its OEE needs) from `apply-blueprint NAME --all`."""
    company = new_company(db)
    old, new = v1(name), blueprints.load(name)
    assert old["version"] == 1 and new["version"] == 2
    assert {r["slug"] for r in old["reports"]} <= {r["slug"] for r in new["reports"]}  # same slugs: saved anyway
    as_applied_before_reports(db, company, old)
    assert fn(db, "list_reports") == []
    db.execute("select docpal.clear_context()")
    [item] = [i for i in blueprints.apply_all(db, new) if i["company"] == company["slug"]]
    set_context(db, company, company["owner"])
    result = item["result"]
    assert (result["version"], result["previous_version"]) == (2, 1)
    assert result["created"]["reports"] == [r["slug"] for r in new["reports"]]
    assert result["created"]["records"] == {}  # an upgrade writes no records
    if name == "mes":
        assert result["added"]["columns"] == [{"table": "production_logs", "column": "ideal_seconds"},
                                              {"table": "production_logs", "column": "good_seconds"}]
    assert blueprint_row(db, company, name) == (2, True)
    saved = {r["slug"]: r for r in fn(db, "list_reports")}
    for report in new["reports"]:
        assert saved[report["slug"]]["schedule"] == report["schedule"]
        assert saved[report["slug"]]["spec"] == report["spec"]  # version 2's spec, not version 1's
        assert fn(db, "run_report", report["slug"], {})["result"] is not None
    if name == "mes":  # the formula columns added by the upgrade hold for the rows made at version 1
        records = new["records"]
        want = oee_by_group(records["production_logs"], {c["id"]: c["name"] for c in records["work_centers"]})
        got = keyed(run(db, "oee"), "work_center_id.name", "shift")
        assert set(got) == set(want)
        for key, w in want.items():
            assert_metrics(got[key], w, key)
    # the same version again saves nothing
    again = apply(db, new)
    assert again["created"]["reports"] == [] and again["version"] == 2


def test_upgrade_keeps_a_dropped_report_dropped_and_the_companys_own(db):
    company = new_company(db)
    v2 = blueprints.load("mes")
    apply(db, v2)
    fn(db, "drop_report", "oee")
    own = {"slug": "scrap_by_reason", "name": "Our scrap view", "table": "production_logs", "kind": "aggregate",
           "spec": {"group_by": ["shift"], "metrics": {"n": "count"}}}
    fn(db, "save_report", own)
    v3 = copy.deepcopy(v2)
    v3["version"] = 3
    v3["reports"] += [
        {"slug": "scrap_by_reason", "name": "Scrap per downtime reason", "table": "production_logs", "kind": "aggregate",
         "spec": {"group_by": ["downtime_reason"], "metrics": {"scrap": {"sum": "scrap_quantity"}}},
         "params": {}, "schedule": "0 6 * * *"},
        {"slug": "energy_per_center", "name": "Energy per work center", "table": "production_logs", "kind": "aggregate",
         "spec": {"group_by": ["work_center_id.name"], "metrics": {"kwh": {"sum": "energy_kwh"}}},
         "params": {}, "schedule": None}]
    result = apply(db, v3)
    assert result["created"]["reports"] == ["energy_per_center"]
    saved = {r["slug"]: r for r in fn(db, "list_reports")}
    assert "oee" not in saved  # dropped by the company: stays dropped
    assert saved["scrap_by_reason"]["name"] == "Our scrap view"  # the company's own is left as it is
    assert saved["scrap_by_reason"]["spec"] == own["spec"]
    assert saved["energy_per_center"]["schedule"] is None
    assert blueprint_row(db, company, "mes") == (3, True)


def test_reports_on_a_table_the_company_dropped_are_not_made(db):
    company = new_company(db)
    kit = {"name": "kit", "version": 1,
           "tables": [{"slug": "things", "columns": [{"name": "n", "type": "integer"}]},
                      {"slug": "scraps", "columns": [{"name": "n", "type": "integer"}]}],
           "records": {"things": [{"n": 1}, {"n": 2}, {"n": 4}]},
           "reports": [{"slug": "scrap_total", "name": "Scrap", "table": "scraps", "kind": "aggregate",
                        "spec": {"metrics": {"n": {"sum": "n"}}}}]}
    assert apply(db, kit)["created"]["reports"] == ["scrap_total"]
    fn(db, "drop_report", "scrap_total")
    db.execute("select docpal.drop_table('scraps')")
    kit2 = copy.deepcopy(kit) | {"version": 2}
    kit2["reports"] += [
        {"slug": "scrap_count", "name": "Scraps", "table": "scraps", "kind": "aggregate",
         "spec": {"metrics": {"n": "count"}}, "schedule": "@daily"},
        {"slug": "thing_total", "name": "Things", "table": "things", "kind": "aggregate",
         "spec": {"filters": {"n": {"gte": "$param.least"}}, "metrics": {"n": "count", "total": {"sum": "n"}}},
         "params": {"least": {"type": "integer", "default": 2}}, "schedule": "*/15 * * * *"}]
    result = apply(db, kit2)
    assert result["created"]["reports"] == ["thing_total"] and result["created"]["tables"] == []
    assert [r["slug"] for r in fn(db, "list_reports")] == ["thing_total"]
    assert run(db, "thing_total") == [{"n": 2, "total": 6}]
    assert run(db, "thing_total", {"least": 4}) == [{"n": 1, "total": 4}]
    with raises("22023"):
        run(db, "thing_total", {"least": "many"})


def test_a_report_save_report_refuses_fails_the_whole_apply(db):
    company = new_company(db)
    bad = {"name": "kit", "version": 1, "tables": [{"slug": "things", "columns": [{"name": "n", "type": "integer"}]}],
           "records": {"things": [{"n": 1}]},
           "reports": [{"slug": "ok", "name": "OK", "table": "things", "kind": "aggregate",
                        "spec": {"metrics": {"n": "count"}}},
                       {"slug": "broken", "name": "Broken", "table": "things", "kind": "aggregate",
                        "spec": {"group_by": ["no_such_column"], "metrics": {"n": "count"}}}]}
    with raises("42703"):
        apply(db, bad)
    unknown_param = copy.deepcopy(bad)
    unknown_param["reports"][1]["spec"] = {"filters": {"n": "$param.nope"}, "metrics": {"n": "count"}}
    with raises("22023"):
        apply(db, unknown_param)
    other_table = copy.deepcopy(bad)
    other_table["reports"][1]["table"] = "nowhere"
    with raises("42P01"):
        apply(db, other_table)
    assert fn(db, "list_tables") == [] and fn(db, "company_blueprints") == [] and fn(db, "list_reports") == []
    assert one(db, f"select count(*) from {company['schema']}._blueprints") == 0


@pytest.mark.parametrize("report, says", [
    ({"slug": "r", "name": "R", "table": "things", "kind": "chart", "spec": {}}, "a report is"),
    ({"slug": "r", "name": "R", "table": "things", "spec": {}}, "a report is"),
    ({"slug": "r", "name": "R", "kind": "aggregate", "spec": {}}, "a report is"),
    ({"slug": "r", "name": "R", "table": 5, "kind": "aggregate", "spec": {}}, "a report is"),
    ({"slug": "r", "name": "R", "table": "things", "kind": "aggregate", "spec": []}, "a report is"),
    ({"slug": "r", "name": "R", "table": "things", "kind": "aggregate", "spec": None}, "a report is"),
    ({"slug": "r", "name": "R", "table": "things", "kind": "aggregate", "spec": {}, "params": []}, "a report is"),
    ({"slug": "r", "name": "R", "table": "things", "kind": "aggregate", "spec": {}, "schedule": 5}, "a report is"),
    ({"slug": "r", "name": "R", "table": "things", "kind": "aggregate", "spec": {}, "colour": "red"}, "a report is"),
    ({"slug": "r", "name": "R", "table": "things", "kind": "aggregate", "spec": {}, "schedule": "61 * * * *"},
     "report r:"),
    ({"slug": "r", "name": "R", "table": "things", "kind": "aggregate", "spec": {}, "schedule": "every day"},
     "report r:"),
])
def test_report_shape_errors(db, report, says):
    company = new_company(db)
    doc = {"name": "kit", "version": 1, "tables": [{"slug": "things", "columns": [{"name": "n", "type": "integer"}]}],
           "reports": [report]}
    with raises("22023") as exc:
        apply(db, doc)
    assert says in str(exc.value) and "blueprint kit" in str(exc.value)
    assert fn(db, "list_tables") == [] and one(db, f"select count(*) from {company['schema']}._blueprints") == 0


def test_the_same_report_slug_twice_is_refused(db):
    new_company(db)
    twice = {"slug": "r", "name": "R", "table": "things", "kind": "aggregate", "spec": {"metrics": {"n": "count"}}}
    with raises("22023") as exc:
        apply(db, {"name": "kit", "version": 1, "reports": [twice, twice]})
    assert "every element of reports needs its own slug" in str(exc.value)


def test_the_blueprints_reports_run_on_schedule_as_the_applying_owner(db, service):
    """The reports are saved by the owner who applied the blueprint, with the blueprint's
    schedules: run_due_reports (a frozen clock a week ahead, when every schedule has come) runs
    each once as that owner, and the snapshots hold the KPIs run_report computes."""
    company = new_company(db)
    document = blueprints.load("mes")
    apply(db, document)
    saved = {r["slug"]: r for r in fn(db, "list_reports")}
    assert {r["saved_by"] for r in saved.values()} == {str(company["owner"])}
    assert {s: r["schedule"] for s, r in saved.items()} == {r["slug"]: r["schedule"] for r in document["reports"]}
    assert all(r["next_run_at"] for r in saved.values())
    week = one(db, "select now() + interval '8 days'")
    assert fn(service, "run_due_reports", week) == {"ran": 4, "failed": 0}
    for report in document["reports"]:
        [snapshot] = fn(db, "report_snapshots", report["slug"], 10)
        assert snapshot["result"] == fn(db, "run_report", report["slug"], {})["result"], report["slug"]
    assert fn(service, "run_due_reports", week) == {"ran": 0, "failed": 0}  # each ran once


def test_a_kpi_shows_each_caller_what_they_may_read(db):
    """run_report runs with the caller's grants: a teacher (reads the school) gets the owner's
    groups; a guardian, who may not read classes, is refused as aggregate refuses them."""
    company = new_company(db)
    document = blueprints.load("school")
    apply(db, document)
    owners = run(db, "attendance_rate")
    users = {}
    for name, role in (("tina", "teacher"), ("maria", "guardian")):
        users[role] = one(db, "select docpal.create_user(%s, %s)", f"{name}-{company['slug']}@example.com", name)
        db.execute("select docpal.add_member(%s, %s, 'member')", (company["id"], users[role]))
        db.execute("select docpal.assign_role(%s, %s)", (users[role], role))
    fn(db, "update_record", "guardians", document["records"]["guardians"][0]["id"], {"portal_user": str(users["guardian"])})
    set_context(db, company, users["teacher"])
    assert run(db, "attendance_rate") == owners
    set_context(db, company, users["guardian"])
    spec = document["reports"][0]["spec"]
    with raises("42501"):
        fn(db, "aggregate", "attendance", spec)
    with raises("42501"):
        run(db, "attendance_rate")
