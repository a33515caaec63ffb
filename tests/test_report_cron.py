"""Report schedules (contract section 11): docpal_private.cron_check and
docpal_private.cron_next against a Python model.

The model parses the same cron syntax into sets of allowed values on its own
(Vixie cron's rules: day of week 0-7 with 7 = Sunday, "either day field"
when both day fields are restricted) and finds the next run by brute force:
local calendar days that match the day fields, and within each such day
every UTC minute, converted with zoneinfo, whose wall-clock time matches. A
wall-clock time that happens twice (clocks fall back) counts once, at its
first occurrence (zoneinfo's fold = 0); one that does not exist (clocks
spring forward) never comes out of a UTC conversion, so it is skipped.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import psycopg
import pytest
from hypothesis import HealthCheck, assume, example, given, note, settings, strategies as st

from helpers import one, raises

UTC = timezone.utc
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu")
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# --- the model ---------------------------------------------------------------------------------

FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day-of-month", 1, 31), ("month", 1, 12), ("day-of-week", 0, 7))
MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
DAYS = "sun mon tue wed thu fri sat".split()
MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
          "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class Invalid(Exception):
    pass


def _value(text: str, field: int) -> int:
    if text.isdigit():
        return int(text)
    names = MONTHS if field == 3 else DAYS if field == 4 else None
    if names is None or text not in names:
        raise Invalid(f"unknown name {text}")
    return names.index(text) + (1 if field == 3 else 0)


def model_parse(expr: str):
    """(sets of minutes, hours, days, months, weekdays 0-6, either_day) or Invalid."""
    if len(expr) > 100:
        raise Invalid("too long")
    text = expr.strip(" \t\r\n").lower()
    if text.startswith("@"):
        if text not in MACROS:
            raise Invalid("macro")
        text = MACROS[text]
    fields = re.split(r"[ \t\r\n]+", text)
    if text == "" or len(fields) != 5:
        raise Invalid("fields")
    sets = []
    for i, (_, low, high) in enumerate(FIELDS):
        allowed = set()
        for item in fields[i].split(","):
            m = re.fullmatch(r"(\*|([0-9]{1,2}|[a-z]{3})(?:-([0-9]{1,2}|[a-z]{3}))?)(?:/([0-9]{1,2}))?", item)
            if not m:
                raise Invalid("item")
            step = int(m.group(4)) if m.group(4) is not None else 1
            if m.group(1) == "*":
                first, last = low, high
            else:
                first = _value(m.group(2), i)
                last = _value(m.group(3), i) if m.group(3) else first
                if m.group(4) is not None and m.group(3) is None:
                    raise Invalid("step without range")
                if first < low or last > high or first > last:
                    raise Invalid("range")
            if not 1 <= step <= high - low + 1:
                raise Invalid("step")
            allowed |= set(range(first, last + 1, step))
        sets.append(allowed)
    sets[4] = {d % 7 for d in sets[4]}
    either = not fields[2].startswith("*") and not fields[4].startswith("*")
    if not either and not any(d <= MONTH_DAYS[m - 1] for m in sets[3] for d in sets[2]):
        raise Invalid("never")
    return (*sets, either)


def model_normalized(expr: str) -> str:
    text = expr.strip(" \t\r\n").lower()
    if text.startswith("@"):
        return {"@annually": "@yearly", "@midnight": "@daily"}.get(text, text)
    return " ".join(re.split(r"[ \t\r\n]+", text))


def day_matches(parsed, day: date) -> bool:
    minutes, hours, days, months, weekdays, either = parsed
    if day.month not in months:
        return False
    dom, dow = day.day in days, day.isoweekday() % 7 in weekdays
    return (dom or dow) if either else (dom and dow)


def model_next(expr: str, after: datetime, zone: str) -> datetime:
    """The first UTC minute after `after` whose wall-clock time in `zone` matches, the first
    occurrence of a repeated wall-clock time only."""
    parsed = model_parse(expr)
    minutes, hours = parsed[0], parsed[1]
    tz = ZoneInfo(zone)
    day = after.astimezone(tz).date() - timedelta(days=1)
    for _ in range(366 * 40):
        if day_matches(parsed, day):
            # every UTC minute that may fall on this local day (offsets are within -12h..+14h)
            t = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=15)
            end = t + timedelta(hours=15 + 24 + 13)
            while t < end:
                local = t.astimezone(tz)
                if (t > after and local.date() == day and local.fold == 0
                        and local.hour in hours and local.minute in minutes):
                    return t
                t += timedelta(minutes=1)
        day += timedelta(days=1)
    raise AssertionError(f"model found no run for {expr!r}")


def transitions(zone: str, years=range(2020, 2031)) -> list[datetime]:
    """The UTC instants at which the zone's offset changes (hour resolution, then minute)."""
    tz = ZoneInfo(zone)
    out = []
    t = datetime(years.start, 1, 1, tzinfo=UTC)
    end = datetime(years.stop, 1, 1, tzinfo=UTC)
    while t < end:
        nxt = t + timedelta(hours=1)
        if t.astimezone(tz).utcoffset() != nxt.astimezone(tz).utcoffset():
            m = t
            while m.astimezone(tz).utcoffset() == t.astimezone(tz).utcoffset():
                m += timedelta(minutes=1)
            out.append(m)
        t = nxt
    return out


TRANSITIONS = {z: transitions(z) for z in ZONES if z not in ("UTC", "Asia/Kathmandu")}

# --- strategies ------------------------------------------------------------------------------


def _number(field: int):
    _, low, high = FIELDS[field]
    return st.integers(low, high)


def _atom(field: int):
    """A value as text: a number, or a name in the month and day-of-week fields (any case)."""
    nums = _number(field).map(str)
    if field == 3:
        names = st.integers(1, 12).map(lambda m: MONTHS[m - 1])
    elif field == 4:
        names = st.integers(0, 6).map(lambda d: DAYS[d])
    else:
        return nums
    return st.one_of(nums, names.flatmap(lambda n: st.sampled_from([n, n.upper(), n.title()])))


def _item(field: int):
    _, low, high = FIELDS[field]
    step = st.integers(1, high - low + 1)

    @st.composite
    def range_item(draw):
        a, b = sorted((draw(_number(field)), draw(_number(field))))
        text = f"{a}-{b}"
        if field in (3, 4) and draw(st.booleans()):
            name = (lambda v: MONTHS[v - 1]) if field == 3 else (lambda v: DAYS[v % 7])
            if b < 7 or field == 3:
                text = f"{name(a)}-{name(b)}"
        if draw(st.booleans()):
            text += f"/{draw(step)}"
        return text

    return st.one_of(st.just("*"), step.map(lambda n: f"*/{n}"), _atom(field), range_item())


def _field(field: int):
    return st.one_of(st.just("*"), st.lists(_item(field), min_size=1, max_size=3).map(",".join))


EXPRESSIONS = st.one_of(
    st.tuples(*(_field(i) for i in range(5))).map(" ".join),
    st.sampled_from(sorted(MACROS) + ["@DAILY", " @Hourly "]),
)

INSTANTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31),
                        timezones=st.just(UTC))


@st.composite
def near_transition(draw):
    """A zone with DST and an instant within a few hours of one of its changes."""
    zone = draw(st.sampled_from(sorted(TRANSITIONS)))
    at = draw(st.sampled_from(TRANSITIONS[zone]))
    return zone, at + timedelta(seconds=draw(st.integers(-4 * 3600, 4 * 3600)))


# --- helpers ---------------------------------------------------------------------------------


def cron_next(db, expr, after, zone):
    return one(db, "select docpal_private.cron_next(%s, %s, %s)", expr, after, zone)


def valid(expr):
    try:
        model_parse(expr)
        return True
    except Invalid:
        return False


# --- the model against the function ----------------------------------------------------------


@PROPERTY
@given(expr=EXPRESSIONS, after=INSTANTS, zone=st.sampled_from(ZONES))
@example(expr="30 2 * * *", after=datetime(2024, 3, 30, 12, tzinfo=UTC), zone="Europe/Berlin")
@example(expr="30 2 * * *", after=datetime(2024, 10, 26, 12, tzinfo=UTC), zone="Europe/Berlin")
@example(expr="0 0 29 2 */2", after=datetime(2024, 3, 1, tzinfo=UTC), zone="UTC")
@example(expr="0 12 1,15 * fri", after=datetime(2024, 1, 1, tzinfo=UTC), zone="America/New_York")
def test_cron_next_equals_the_model(db, expr, after, zone):
    assume(valid(expr))
    got = cron_next(db, expr, after, zone)
    want = model_next(expr, after, zone)
    note(f"{expr!r} after {after.isoformat()} in {zone}: got {got}, want {want}")
    assert got == want


@PROPERTY
@given(expr=EXPRESSIONS, zoned=near_transition())
def test_cron_next_across_daylight_saving_changes(db, expr, zoned):
    zone, after = zoned
    assume(valid(expr))
    assert cron_next(db, expr, after, zone) == model_next(expr, after, zone)


def model_runs(expr: str, start: datetime, end: datetime, zone: str) -> list[datetime]:
    """Every run from start (exclusive) to end (inclusive), minute by minute."""
    parsed = model_parse(expr)
    tz = ZoneInfo(zone)
    out = []
    t = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while t <= end:
        local = t.astimezone(tz)
        if local.fold == 0 and day_matches(parsed, local.date()) and local.hour in parsed[1] and local.minute in parsed[0]:
            out.append(t)
        t += timedelta(minutes=1)
    return out


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
@pytest.mark.parametrize("expr", ["* * * * *", "*/7 * * * *", "30 * * * *", "0 2 * * *", "45 1 * * *",
                                  "15,45 0-3 * * *", "0,30 1,2,3 * * *"])
def test_every_run_through_dst_nights(db, zone, expr):
    """Chaining cron_next through each DST change of 2024 and 2025 yields exactly the runs of a
    minute-by-minute walk: every run in order, none repeated, none missing."""
    for change in [t for t in TRANSITIONS[zone] if t.year in (2024, 2025)]:
        start, end = change - timedelta(hours=3, seconds=17), change + timedelta(hours=26)
        got = db.execute("""
            with recursive r(t) as (
                select docpal_private.cron_next(%(e)s, %(start)s, %(z)s)
                union all
                select docpal_private.cron_next(%(e)s, r.t, %(z)s) from r where r.t <= %(end)s)
            select coalesce(array_agg(t order by t) filter (where t <= %(end)s), '{}') from r""",
                         {"e": expr, "start": start, "end": end, "z": zone}).fetchone()[0]
        assert got == model_runs(expr, start, end, zone), f"{expr} in {zone} around {change}"


def test_dst_rules_by_example(db):
    """The documented rules: a wall-clock time that does not exist that day is skipped; one that
    happens twice runs once, at its first occurrence."""
    # Berlin springs forward on 2024-03-31 at 02:00 -> 03:00: 02:30 does not exist that day
    assert cron_next(db, "30 2 * * *", datetime(2024, 3, 30, 12, tzinfo=UTC), "Europe/Berlin") \
        == datetime(2024, 4, 1, 0, 30, tzinfo=UTC)  # 02:30 CEST on April 1st
    # and falls back on 2024-10-27 at 03:00 -> 02:00: 02:30 happens twice, runs at the first
    first = cron_next(db, "30 2 * * *", datetime(2024, 10, 26, 12, tzinfo=UTC), "Europe/Berlin")
    assert first == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert cron_next(db, "30 2 * * *", first, "Europe/Berlin") == datetime(2024, 10, 28, 1, 30, tzinfo=UTC)
    # from inside the second pass of the repeated hour, the next run is after it
    assert cron_next(db, "* * * * *", datetime(2024, 11, 3, 6, 10, tzinfo=UTC), "America/New_York") \
        == datetime(2024, 11, 3, 7, 0, tzinfo=UTC)  # 01:10 EST (second pass) -> 02:00 EST
    assert cron_next(db, "* * * * *", datetime(2024, 11, 3, 5, 10, tzinfo=UTC), "America/New_York") \
        == datetime(2024, 11, 3, 5, 11, tzinfo=UTC)  # first pass: the next minute


def test_cron_next_is_strictly_after(db):
    at = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)
    assert cron_next(db, "* * * * *", at, "UTC") == at + timedelta(minutes=1)
    assert cron_next(db, "* * * * *", at + timedelta(seconds=59.999), "UTC") == at + timedelta(minutes=1)
    assert cron_next(db, "0 10 * * *", at, "UTC") == at + timedelta(days=1)
    assert cron_next(db, "0 10 * * *", at - timedelta(microseconds=1), "UTC") == at


def test_day_fields_either_or_both(db):
    """Both day fields restricted: either matches (Vixie cron, pg_cron); one of them starting
    with *: both must."""
    after = datetime(2024, 6, 1, tzinfo=UTC)  # a Saturday
    assert cron_next(db, "0 0 13 * fri", after, "UTC") == datetime(2024, 6, 7, tzinfo=UTC)  # a Friday, not the 13th
    assert cron_next(db, "0 0 */2 * sat", after, "UTC") == datetime(2024, 6, 15, tzinfo=UTC)  # an odd day and a Saturday
    assert cron_next(db, "0 0 13 * */7", after, "UTC") == datetime(2024, 10, 13, tzinfo=UTC)  # */7: Sundays, but a star
    assert cron_next(db, "0 0 * * 7", after, "UTC") == datetime(2024, 6, 2, tzinfo=UTC)  # 7 is Sunday


def test_macros(db):
    after = datetime(2024, 6, 5, 13, 20, tzinfo=UTC)  # a Wednesday
    cases = {"@yearly": datetime(2025, 1, 1), "@annually": datetime(2025, 1, 1), "@monthly": datetime(2024, 7, 1),
             "@weekly": datetime(2024, 6, 9), "@daily": datetime(2024, 6, 6), "@midnight": datetime(2024, 6, 6),
             "@hourly": datetime(2024, 6, 5, 14)}
    for macro, want in cases.items():
        assert cron_next(db, macro, after, "UTC") == want.replace(tzinfo=UTC), macro


def test_fields_read_in_the_zone(db):
    after = datetime(2024, 1, 15, 12, tzinfo=UTC)
    assert cron_next(db, "0 9 * * *", after, "America/New_York") == datetime(2024, 1, 15, 14, tzinfo=UTC)
    assert cron_next(db, "0 9 * * *", after, "Asia/Kathmandu") == datetime(2024, 1, 16, 3, 15, tzinfo=UTC)
    assert cron_next(db, "0 9 * * *", after, "UTC") == datetime(2024, 1, 16, 9, tzinfo=UTC)


# --- cron_check ------------------------------------------------------------------------------


@PROPERTY
@given(expr=EXPRESSIONS)
def test_cron_check_normalizes_what_the_model_accepts(db, expr):
    if valid(expr):
        assert one(db, "select docpal_private.cron_check(%s)", expr) == model_normalized(expr)
    else:
        with raises("22023"):
            one(db, "select docpal_private.cron_check(%s)", expr)


@PROPERTY
@given(expr=st.text(alphabet=" \t*/,-0123456789@abcdefjlmnoprstuvwyADFJMS", max_size=40))
def test_cron_check_accepts_exactly_what_the_model_accepts(db, expr):
    """Arbitrary strings from the syntax's alphabet: valid for the model = accepted (normalized
    alike), invalid = 22023, never another error."""
    try:
        got = one(db, "select docpal_private.cron_check(%s)", expr)
    except psycopg.Error as exc:
        assert exc.sqlstate == "22023", exc
        assert not valid(expr), f"{expr!r} refused: {exc}"
    else:
        assert valid(expr), f"{expr!r} accepted as {got!r}"
        assert got == model_normalized(expr)


def test_cron_check_normal_form(db):
    cases = {" 0  6\t* * MON-Fri ": "0 6 * * mon-fri", "@Annually": "@yearly", "@MIDNIGHT": "@daily",
             "@weekly": "@weekly", "*/15 9-17 * JAN,jul *": "*/15 9-17 * jan,jul *", "0 0 29 2 *": "0 0 29 2 *"}
    for expr, want in cases.items():
        assert one(db, "select docpal_private.cron_check(%s)", expr) == want
    assert one(db, "select docpal_private.cron_check(null)") is None
    assert one(db, "select docpal_private.cron_next(null, now(), 'UTC')") is None


MALFORMED = {
    "": "5 fields", "   ": "5 fields", "* * * *": "5 fields", "* * * * * *": "5 fields",
    "@reboot": "unknown macro", "@every 5m": "unknown macro", "@": "unknown macro",
    "60 * * * *": "minute", "-1 * * * *": "minute", "* 24 * * *": "hour", "* * 0 * *": "day-of-month",
    "* * 32 * *": "day-of-month", "* * * 0 *": "month", "* * * 13 *": "month", "* * * * 8": "day-of-week",
    "*/0 * * * *": "minute", "*/61 * * * *": "minute", "5/10 * * * *": "minute", "5-2 * * * *": "minute",
    "1,,2 * * * *": "minute", "1, * * * *": "minute", "** * * * *": "minute", "*-5 * * * *": "minute",
    "1-5/ * * * *": "minute", "100 * * * *": "minute", "a * * * *": "minute", "jan * * * *": "minute",
    "* mon * * *": "hour", "* * mon * *": "day-of-month", "* * * mon *": "month", "* * * * jan": "day-of-week",
    "* * * foo *": "month", "* * * * monday": "day-of-week", "* * * * mon/2": "day-of-week",
    "* * * jan-dec/13 *": "month", "* * * * sat-sun": "day-of-week", "0 0 $ * *": "day-of-month",
    "5 seconds": "5 fields", "* * * * ?": "day-of-week", "*/5 * * * * *": "5 fields",
    "0 0 30 2 *": "never runs", "0 0 31 4,6,9,11 *": "never runs", "0 0 30,31 feb *": "never runs",
    "0 0 31 2 */2": "never runs", "0 0 30 2 mon-fri/1": None,  # both restricted: Mondays etc. match
}


@pytest.mark.parametrize("expr", sorted(MALFORMED))
def test_malformed_schedules_are_22023(db, expr):
    """Each malformed schedule is 22023 from cron_check and from cron_next, and the message
    names the wrong field."""
    word = MALFORMED[expr]
    if word is None:
        assert one(db, "select docpal_private.cron_check(%s)", expr)
        return
    for sql in ("select docpal_private.cron_check(%s)", "select docpal_private.cron_next(%s, now(), 'UTC')"):
        with raises("22023") as exc:
            one(db, sql, expr)
        if word in [name for name, _, _ in FIELDS]:
            word = f"the {word} field"
        assert word in exc.value.diag.message_primary, exc.value


def test_long_schedules_are_22023_without_echo(db):
    expr = "0 " * 50 + "*"
    with raises("22023") as exc:
        one(db, "select docpal_private.cron_check(%s)", expr)
    assert "100 characters" in exc.value.diag.message_primary and "0 0 0" not in str(exc.value)
    padded = "0 0 * * *" + " " * 95  # the limit counts what was given, spaces too
    with raises("22023"):
        one(db, "select docpal_private.cron_check(%s)", padded)
    assert one(db, "select docpal_private.cron_check(%s)", "0 0 * * *" + " " * 91) == "0 0 * * *"


def test_messages_echo_only_the_expression(db):
    with raises("22023") as exc:
        one(db, "select docpal_private.cron_check(%s)", "61 * * * *")
    assert exc.value.diag.message_primary == "schedule '61 * * * *': the minute field allows 0 to 59, not '61'"


def test_cron_next_bad_zone_and_infinity(db):
    with raises("22023"):
        cron_next(db, "* * * * *", datetime(2024, 1, 1, tzinfo=UTC), "Mars/Olympus_Mons")
    with raises("22023"):
        one(db, "select docpal_private.cron_next('* * * * *', 'infinity', 'UTC')")
    with raises("22023"):
        one(db, "select docpal_private.cron_next('* * * * *', '-infinity', 'UTC')")


def test_rare_schedules_stay_bounded(db):
    """Valid schedules that match rarely: a leap day, a leap day on given weekdays, the 31st of
    a month on a Sunday-only star field."""
    assert cron_next(db, "0 0 29 2 *", datetime(2097, 3, 1, tzinfo=UTC), "UTC") == datetime(2104, 2, 29, tzinfo=UTC)
    assert cron_next(db, "0 0 29 2 */2", datetime(2024, 3, 1, tzinfo=UTC), "UTC") == datetime(2028, 2, 29, tzinfo=UTC)
    want = model_next("0 0 29 2 */7", datetime(2024, 3, 1, tzinfo=UTC), "UTC")
    assert cron_next(db, "0 0 29 2 */7", datetime(2024, 3, 1, tzinfo=UTC), "UTC") == want  # a Sunday, 2032


def test_volatility(db):
    """cron_next is STABLE (its answer depends on tzdata), cron_check IMMUTABLE (no zone). Its speed
    is measured by bench/bench_reports.py, not asserted here (tests check behaviour, not timings)."""
    assert one(db, "select provolatile from pg_proc where oid = 'docpal_private.cron_next'::regproc") == "s"
    assert one(db, "select provolatile from pg_proc where oid = 'docpal_private.cron_check'::regproc") == "i"
