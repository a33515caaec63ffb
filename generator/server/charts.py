"""Dashboards drawn on the server: the widgets of ``get_dashboard`` as plain,
accessible HTML and SVG (contract sections 11 and 12, docs/http.md "Pages").

The page ``/app/dashboards/{slug}`` fetches :func:`render_dashboard`'s
fragment with its API key and puts it in place: no charting library, no
script in the fragment, nothing fetched from elsewhere, so it works offline.

What a widget shows depends on its chart and on the kind of its report's
result (``list_reports`` tells the kind and the spec):

- aggregate ``{groups}``: a group's label is its ``group_by`` values, its
  metrics the spec's ``metrics``. Bar, line, pie and number charts draw one
  metric at a time (a select switches between them, each metric being drawn
  in its own figure); the first shown is the headline metric (see
  :func:`headline`).
- query ``{rows, total}``: the label is the first column that is not a
  number, the metrics the columns that are; a number chart shows ``total``.
- kanban ``{groups: [{value, label, count, rows}]}``: one lane per group;
  bar, line, pie and number charts draw the lanes' counts.
- calendar ``{events}``: events per start date; a table lists the events.

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>``
listing the values it draws, and every widget has its data as a table in a
``<details>`` element. Every text that comes from the database is escaped
(:func:`esc`); identifiers in the fragment are made here, never taken from
the data.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

#: Okabe-Ito colours: told apart by colour-blind readers (the first is the bar colour)
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8C6D00", "#000000")
MAX_POINTS = 50   # bars or points per chart (the rest is in the data table)
MAX_SLICES = 8    # slices of a pie, the smallest beyond them joined as "Other"
MAX_ROWS = 200    # rows of a table
MAX_CARDS = 20    # cards per kanban lane
LABEL_CHARS = 28  # characters of a label drawn in a chart (the whole one is in its <title>)

_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,4})?")


def esc(value: object) -> str:
    """Text for HTML and SVG, in element content and in quoted attributes."""
    return html.escape(value if isinstance(value, str) else str(value), quote=True)


def number(value: object) -> float | None:
    """A JSON number, or a numeric string (numeric columns and metrics come
    as strings to keep every digit), as a float; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        out = float(value)
    elif isinstance(value, str) and len(value) <= 64 and _NUMBER.fullmatch(value.strip()):
        out = float(value)
    else:
        return None
    return out if math.isfinite(out) else None


def fmt_number(value: object) -> str:
    """A number for people: thousands separated, at most 4 decimals (more
    significant digits for tiny values)."""
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        return str(value)
    if not d.is_finite():
        return str(value)
    if d == d.to_integral_value():
        return f"{int(d):,}"
    text = f"{d:,.4f}".rstrip("0").rstrip(".")
    if text in ("0", "-0"):
        return f"{float(d):.3g}"
    return text


def fmt(value: object) -> str:
    """A cell of a table or a card: numbers as :func:`fmt_number`, lists
    joined, objects as JSON, null as a dash."""
    if value is None:
        return "\u2013"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return fmt_number(value)
    if isinstance(value, list):
        return ", ".join(fmt(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def label_text(value: object) -> str:
    """A group's or a row's label: the value as it is (a year stays 2026)."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


# ---------------------------------------------------------------- the data


@dataclass
class Frame:
    """A widget's data as rows of named columns: ``labels`` name each row,
    ``metrics`` are the numeric columns a chart can draw."""

    columns: list[str]
    rows: list[dict]
    labels: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    total: int | None = None       # rows in all (a query's total), when more than drawn
    default: str | None = None     # the metric drawn first

    def label(self, row: dict, index: int) -> str:
        if not self.labels:
            return "all" if len(self.rows) == 1 else f"#{index + 1}"
        return " \u00b7 ".join(label_text(row.get(c)) for c in self.labels)


def kind_of(data: object, report: dict | None) -> str:
    """The kind of a report's result: aggregate, query, kanban, calendar or
    unknown (what the data looks like when the report is gone)."""
    if report and report.get("kind") in ("aggregate", "query", "kanban", "calendar"):
        return report["kind"]
    if isinstance(data, dict):
        groups = data.get("groups")
        if isinstance(groups, list):
            if groups and all(isinstance(g, dict) and "rows" in g and "count" in g for g in groups):
                return "kanban"
            return "aggregate"
        if isinstance(data.get("rows"), list):
            return "query"
        if isinstance(data.get("events"), list):
            return "calendar"
    return "unknown"


def _dicts(items: object) -> list[dict]:
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _keys(rows: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def _numeric(rows: list[dict], column: str) -> bool:
    values = [r.get(column) for r in rows if r.get(column) is not None]
    return bool(values) and all(number(v) is not None for v in values)


def headline(metrics: list[str], report: dict | None) -> str | None:
    """The metric a chart draws first: the one named like the report (oee of
    report oee), else the last formula metric (a rate or a share: what a
    KPI report computes from the others), else the first."""
    if not metrics:
        return None
    slug = str((report or {}).get("slug") or "")
    if slug in metrics:
        return slug
    spec = ((report or {}).get("spec") or {}).get("metrics")
    if isinstance(spec, dict):
        formulas = [m for m in metrics if isinstance(spec.get(m), dict) and "expr" in spec[m]]
        if formulas:
            return formulas[-1]
    return metrics[0]


def frame(data: object, report: dict | None) -> Frame:
    """The rows a widget draws (module docstring)."""
    kind = kind_of(data, report)
    spec = (report or {}).get("spec") if isinstance((report or {}).get("spec"), dict) else {}
    if kind == "aggregate":
        rows = _dicts((data or {}).get("groups"))
        keys = _keys(rows)
        group_by = spec.get("group_by")
        group_by = [group_by] if isinstance(group_by, str) else \
            [g for g in group_by if isinstance(g, str)] if isinstance(group_by, list) else []
        declared = list(spec["metrics"]) if isinstance(spec.get("metrics"), dict) else []
        metrics = [m for m in declared if m in keys or not rows] or \
            [k for k in keys if k not in group_by and _numeric(rows, k)]
        labels = [g for g in group_by if g in keys or not rows] if group_by else \
            [k for k in keys if k not in metrics]
        columns = labels + metrics + [k for k in keys if k not in labels and k not in metrics]
        return Frame(columns, rows, labels, metrics, default=headline(metrics, report))
    if kind == "query":
        rows = _dicts((data or {}).get("rows"))
        keys = _keys(rows)
        asked = spec.get("columns")
        asked = [c for c in asked if isinstance(c, str)] if isinstance(asked, list) else []
        columns = [c for c in asked if c in keys] + [k for k in keys if k not in asked and k != "id"]
        metrics = [c for c in columns if _numeric(rows, c)]
        text = [c for c in columns if c not in metrics]
        total = (data or {}).get("total")
        return Frame(columns, rows, text[:1], metrics, total if isinstance(total, int) else None,
                     default=headline(metrics, report))
    if kind == "kanban":
        lanes = _dicts((data or {}).get("groups"))
        rows = [{"lane": label_text(g.get("label") if g.get("label") is not None else g.get("value")),
                 "count": g.get("count") if isinstance(g.get("count"), int) else len(_dicts(g.get("rows")))}
                for g in lanes]
        return Frame(["lane", "count"], rows, ["lane"], ["count"], default="count")
    if kind == "calendar":
        events = _dicts((data or {}).get("events"))
        per_day: dict[str, int] = {}
        for e in events:
            day = label_text(e.get("start"))[:10]
            per_day[day] = per_day.get(day, 0) + 1
        rows = [{"day": day, "events": n} for day, n in sorted(per_day.items())]
        return Frame(["day", "events"], rows, ["day"], ["events"], default="events")
    rows = _dicts(data if isinstance(data, list) else [data] if isinstance(data, dict) else [])
    return Frame(_keys(rows), rows)


def points(fr: Frame, metric: str) -> list[tuple[str, float | None, object]]:
    """(label, value, raw value) of each row, at most MAX_POINTS."""
    return [(fr.label(r, i), number(r.get(metric)), r.get(metric)) for i, r in enumerate(fr.rows[:MAX_POINTS])]


# ---------------------------------------------------------------- the charts


class Ids:
    """Element ids of one fragment: made here, unique, never from the data."""

    def __init__(self, prefix: str = "dp") -> None:
        self.prefix, self.n = prefix, 0

    def __call__(self, what: str) -> str:
        self.n += 1
        return f"{self.prefix}-{what}-{self.n}"


def _svg_open(ids: Ids, width: int, height: int, title: str, desc: str, css: str) -> str:
    t, d = ids("t"), ids("d")
    return (f'<svg class="dp-svg {css}" role="img" aria-labelledby="{t} {d}" viewBox="0 0 {width} {height}" '
            f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{t}">{esc(title)}</title><desc id="{d}">{esc(desc)}</desc>')


def shown(raw: object) -> str:
    """A value as a chart writes it."""
    return fmt_number(raw) if number(raw) is not None else fmt(raw)


def _described(pts: list[tuple[str, float | None, object]]) -> str:
    return "; ".join(f"{label}: {shown(raw)}" for label, _, raw in pts)


def _more(fr: Frame) -> str:
    if len(fr.rows) > MAX_POINTS:
        return f'<p class="dp-note">The first {MAX_POINTS} of {len(fr.rows)}; the data table has them all.</p>'
    return ""


def bar_svg(ids: Ids, title: str, metric: str, pts: list[tuple[str, float | None, object]]) -> str:
    """Horizontal bars, a label left of each, its value right of it."""
    row_h, top, label_w, plot_w, width = 24, 8, 190, 330, 600
    height = top * 2 + row_h * len(pts)
    values = [v for _, v, _ in pts if v is not None]
    lo, hi = min([0.0, *values]), max([0.0, *values])
    span = (hi - lo) or 1.0
    zero = label_w + (0 - lo) / span * plot_w
    out = [_svg_open(ids, width, height, f"{title}: {metric}", f"Bar chart of {metric}. {_described(pts)}", "dp-bars")]
    out.append(f'<line class="dp-axis" x1="{zero:.1f}" y1="{top}" x2="{zero:.1f}" y2="{height - top}" '
               f'stroke="#555" stroke-width="1"/>')
    for i, (label, value, raw) in enumerate(pts):
        y = top + i * row_h
        text = shown(raw)
        out.append(f'<text class="dp-label" x="{label_w - 8}" y="{y + row_h * 0.65:.1f}" text-anchor="end" '
                   f'font-size="12" fill="#222">{esc(short(label))}</text>')
        if value is not None:
            x1 = label_w + (min(value, 0) - lo) / span * plot_w
            w = max(abs(value) / span * plot_w, 0.5 if value else 0)
            out.append(f'<rect class="dp-bar" x="{x1:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                       f'fill="{PALETTE[0]}"><title>{esc(label)}: {esc(text)}</title></rect>')
            tx = x1 + w + 4 if value >= 0 else x1 - 4
        else:
            tx = zero + 4
        anchor = "end" if value is not None and value < 0 else "start"
        out.append(f'<text class="dp-value" x="{tx:.1f}" y="{y + row_h * 0.65:.1f}" text-anchor="{anchor}" '
                   f'font-size="12" fill="#222">{esc(text)}</text>')
    out.append("</svg>")
    return "".join(out)


def line_svg(ids: Ids, title: str, metric: str, pts: list[tuple[str, float | None, object]]) -> str:
    """A line through the values in row order; a null breaks it."""
    width, height, left, right, top, bottom = 600, 260, 64, 16, 16, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, v, _ in pts if v is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if lo == hi:
        lo, hi = (lo - 1, hi + 1) if lo else (0.0, 1.0)
    n = len(pts)

    def x(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else i * plot_w / (n - 1))

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    out = [_svg_open(ids, width, height, f"{title}: {metric}", f"Line chart of {metric}. {_described(pts)}",
                     "dp-lines")]
    for v in (lo, (lo + hi) / 2, hi):  # grid lines with their values
        out.append(f'<line class="dp-grid" x1="{left}" y1="{y(v):.1f}" x2="{width - right}" y2="{y(v):.1f}" '
                   f'stroke="#ddd" stroke-width="1"/>')
        out.append(f'<text class="dp-tick" x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11" '
                   f'fill="#444">{esc(fmt_number(round(v, 6)))}</text>')
    out.append(f'<line class="dp-axis" x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
               f'stroke="#555" stroke-width="1"/>')
    step = max(1, math.ceil(n / 8))
    for i, (label, _, _) in enumerate(pts):
        if i % step == 0 or i == n - 1:
            # the first and the last label inside the chart, the others centred on their point
            anchor = "middle" if n == 1 or 0 < i < n - 1 else "start" if i == 0 else "end"
            out.append(f'<text class="dp-label" x="{x(i):.1f}" y="{height - bottom + 18}" text-anchor="{anchor}" '
                       f'font-size="11" fill="#222">{esc(short(label, 14))}</text>')
    path, pen = [], "M"
    for i, (_, value, _) in enumerate(pts):
        if value is None:
            pen = "M"
            continue
        path.append(f"{pen}{x(i):.1f},{y(value):.1f}")
        pen = "L"
    if path:
        out.append(f'<path class="dp-line" d="{" ".join(path)}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>')
    for i, (label, value, raw) in enumerate(pts):
        if value is not None:
            text = shown(raw)
            out.append(f'<circle class="dp-point" cx="{x(i):.1f}" cy="{y(value):.1f}" r="3.5" fill="{PALETTE[0]}">'
                       f'<title>{esc(label)}: {esc(text)}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def pie_svg(ids: Ids, title: str, metric: str, pts: list[tuple[str, float | None, object]]) -> str:
    """Slices of the positive values (the largest MAX_SLICES - 1, the rest as
    Other), with a legend of value and share."""
    positive = sorted(((label, v) for label, v, _ in pts if v is not None and v > 0), key=lambda p: -p[1])
    if len(positive) > MAX_SLICES:
        positive = positive[: MAX_SLICES - 1] + [("Other", sum(v for _, v in positive[MAX_SLICES - 1:]))]
    total = sum(v for _, v in positive)
    skipped = len(pts) - sum(1 for _, v, _ in pts if v is not None and v > 0)
    cx, cy, r, width = 120, 120, 108, 600
    height = max(250, 30 + 22 * len(positive))
    shares = "; ".join(f"{label}: {fmt_number(v)} ({v / total:.1%})" for label, v in positive)
    note = f" {skipped} of the values are zero, negative or empty and are not drawn." if skipped else ""
    out = [_svg_open(ids, width, height, f"{title}: {metric}", f"Pie chart of {metric}. {shares}.{note}", "dp-pie")]
    angle = -math.pi / 2
    for i, (label, v) in enumerate(positive):
        colour = PALETTE[i % len(PALETTE)]
        tip = f"<title>{esc(label)}: {esc(fmt_number(v))} ({v / total:.1%})</title>"
        if len(positive) == 1:
            out.append(f'<circle class="dp-slice" cx="{cx}" cy="{cy}" r="{r}" fill="{colour}">{tip}</circle>')
        else:
            end = angle + 2 * math.pi * v / total
            x0, y0 = cx + r * math.cos(angle), cy + r * math.sin(angle)
            x1, y1 = cx + r * math.cos(end), cy + r * math.sin(end)
            large = 1 if end - angle > math.pi else 0
            out.append(f'<path class="dp-slice" '
                       f'd="M{cx},{cy} L{x0:.2f},{y0:.2f} A{r},{r} 0 {large} 1 {x1:.2f},{y1:.2f} Z" '
                       f'fill="{colour}" stroke="#fff" stroke-width="1">{tip}</path>')
            angle = end
        ly = 24 + i * 22
        out.append(f'<rect class="dp-swatch" x="260" y="{ly - 11}" width="12" height="12" fill="{colour}"/>'
                   f'<text class="dp-legend" x="280" y="{ly}" font-size="12" fill="#222">'
                   f'{esc(short(label, 30))}: {esc(fmt_number(v))} ({v / total:.1%})</text>')
    out.append("</svg>")
    return "".join(out)


def numbers_html(fr: Frame, metric: str, kind: str) -> str:
    """Big numbers: one per row (at most 12), or the total of a query or a calendar."""
    if kind == "query":
        total = fr.total if fr.total is not None else len(fr.rows)
        items = [("records", total)]
    elif kind == "calendar":
        items = [("events", sum(r["events"] for r in fr.rows))]
    else:
        items = [(metric if len(fr.rows) == 1 and not fr.labels else fr.label(r, i), r.get(metric))
                 for i, r in enumerate(fr.rows[:12])]
    tiles = "".join(f'<div class="dp-tile"><dt>{esc(label)}</dt><dd><data class="dp-number" '
                    f'value="{esc(raw if raw is not None else "")}">{esc(shown(raw))}'
                    f"</data></dd></div>" for label, raw in items)
    more = ""
    if kind not in ("query", "calendar") and len(items) < len(fr.rows):
        more = f'<p class="dp-note">The first 12 of {len(fr.rows)}.</p>'
    return f'<dl class="dp-numbers">{tiles}</dl>{more}'


def table_html(fr: Frame, caption: str, kind: str, data: object) -> str:
    """The data as a table: a query's rows, the groups of an aggregate, the
    lanes' cards of a kanban, a calendar's events."""
    if kind == "kanban":
        rows = []
        for g in _dicts((data or {}).get("groups")):
            lane = label_text(g.get("label") if g.get("label") is not None else g.get("value"))
            rows += [{"lane": lane, **r} for r in _dicts(g.get("rows"))]
        columns = ["lane"] + [k for k in _keys(rows) if k not in ("lane", "id")]
    elif kind == "calendar":
        rows = _dicts((data or {}).get("events"))
        columns = [c for c in ("label", "start", "end") if any(c in r for r in rows)] or _keys(rows)
    else:
        rows, columns = fr.rows, fr.columns
    if not rows:
        return '<p class="dp-empty">No data.</p>'
    numeric = set(fr.metrics) if kind not in ("kanban", "calendar") else set()
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in columns)
    body = []
    for r in rows[:MAX_ROWS]:
        cells = []
        for c in columns:
            v = r.get(c)
            if c in numeric and number(v) is not None:
                cells.append(f'<td class="dp-num">{esc(fmt_number(v))}</td>')
            else:
                cells.append(f"<td>{esc(fmt(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    total = fr.total if kind == "query" and fr.total is not None else len(rows)
    shown_rows = min(len(rows), MAX_ROWS)
    more = f'<p class="dp-note">{shown_rows} of {total} rows.</p>' if total > shown_rows else ""
    return (f'<div class="dp-table-wrap"><table class="dp-table"><caption>{esc(caption)}</caption>'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>{more}')


def kanban_html(data: object) -> str:
    """A lane per group with its cards: the first column of a card in bold,
    the others as name: value."""
    lanes = _dicts((data or {}).get("groups"))
    if not lanes:
        return '<p class="dp-empty">No data.</p>'
    out = ['<div class="dp-kanban">']
    for g in lanes:
        lane = label_text(g.get("label") if g.get("label") is not None else g.get("value"))
        cards = _dicts(g.get("rows"))
        count = g.get("count") if isinstance(g.get("count"), int) else len(cards)
        out.append(f'<section class="dp-lane"><h3>{esc(lane)} <span class="dp-count">({esc(count)})</span></h3><ul>')
        for card in cards[:MAX_CARDS]:
            keys = [k for k in card if k != "id"]
            first = f"<strong>{esc(fmt(card[keys[0]]))}</strong>" if keys else ""
            rest = "".join(f'<span class="dp-field">{esc(k)}: {esc(fmt(card[k]))}</span>' for k in keys[1:6])
            out.append(f'<li class="dp-card">{first}{rest}</li>')
        if count > min(len(cards), MAX_CARDS):
            out.append(f'<li class="dp-more">{esc(count - min(len(cards), MAX_CARDS))} more</li>')
        out.append("</ul></section>")
    out.append("</div>")
    return "".join(out)


CHARTS = {"bar": bar_svg, "line": line_svg, "pie": pie_svg}


def widget_body(ids: Ids, widget: dict, report: dict | None) -> str:
    """What a widget shows under its title (module docstring)."""
    error = widget.get("error")
    if isinstance(error, dict) or "data" not in widget:
        error = error if isinstance(error, dict) else {}
        return (f'<p class="dp-error">This widget cannot be shown: {esc(error.get("message") or "no data")}'
                f' <span class="dp-code">({esc(error.get("sqlstate") or "?")})</span></p>')
    data = widget.get("data")
    chart = widget.get("chart")
    kind = kind_of(data, report)
    title = str(widget.get("title") or widget.get("report") or "")
    fr = frame(data, report)
    if chart == "kanban" and kind == "kanban":
        return kanban_html(data) + _data_table(fr, title, kind, data)
    if chart == "table" or chart not in ("number", "bar", "line", "pie"):
        return table_html(fr, title, kind, data)
    if not fr.rows and not (chart == "number" and kind in ("query", "calendar")):
        return '<p class="dp-empty">No data.</p>'
    if chart == "number" and kind in ("query", "calendar"):
        return numbers_html(fr, "", kind) + _data_table(fr, title, kind, data)
    if not fr.metrics:
        return '<p class="dp-empty">Nothing to draw: the data has no numbers.</p>' + table_html(fr, title, kind, data)
    shown = fr.default if fr.default in fr.metrics else fr.metrics[0]
    out = []
    if len(fr.metrics) > 1:
        sid = ids("metric")
        options = "".join(f'<option value="{esc(m)}"{" selected" if m == shown else ""}>{esc(m)}</option>'
                          for m in fr.metrics)
        out.append(f'<p class="dp-pick"><label for="{sid}">Metric</label> '
                   f'<select id="{sid}" class="dp-metric">{options}</select></p>')
    for m in fr.metrics:
        hidden = "" if m == shown else " hidden"
        body = numbers_html(fr, m, kind) if chart == "number" else CHARTS[chart](ids, title, m, points(fr, m))
        out.append(f'<figure class="dp-figure" data-metric="{esc(m)}"{hidden}>{body}</figure>')
    if chart != "number":
        out.append(_more(fr))
    out.append(_data_table(fr, title, kind, data))
    return "".join(out)


def _data_table(fr: Frame, title: str, kind: str, data: object) -> str:
    return f'<details class="dp-data"><summary>Data table</summary>{table_html(fr, title, kind, data)}</details>'


def _grid(value: object, lo: int, hi: int, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi else default


def render_widget(ids: Ids, widget: dict, report: dict | None) -> str:
    """One widget: an <article> with its title, its chart and its place on
    the 24-column grid (data-x, data-y, data-w, data-h; the page's script
    sets them as CSS grid lines)."""
    hid = ids("h")
    title = str(widget.get("title") or widget.get("report") or "")
    chart = widget.get("chart")
    chart = chart if chart in ("number", "bar", "line", "pie", "table", "kanban") else "table"
    x, y = _grid(widget.get("x"), 0, 23, 0), _grid(widget.get("y"), 0, 999, 0)
    w, h = _grid(widget.get("w"), 1, 24, 12), _grid(widget.get("h"), 1, 100, 4)
    w = min(w, 24 - x)
    source = widget.get("source")
    ran = str(widget.get("ran_at") or "")[:19].replace("T", " ")
    meta = f'<p class="dp-meta">{esc("snapshot" if source == "snapshot" else "live")}' \
           f'{", " + esc(ran) + " UTC" if ran else ""}</p>' if "data" in widget else ""
    return (f'<article class="dp-widget dp-chart-{chart}" aria-labelledby="{hid}" data-chart="{chart}" '
            f'data-x="{x}" data-y="{y}" data-w="{w}" data-h="{h}">'
            f'<header><h2 id="{hid}">{esc(title)}</h2>{meta}</header>'
            f'{widget_body(ids, widget, report)}</article>')


def render_dashboard(board: dict, reports: list[dict] | dict | None = None) -> str:
    """get_dashboard's result (and list_reports', for each widget's report
    kind and spec) as one HTML fragment."""
    by_slug = reports if isinstance(reports, dict) else {r.get("slug"): r for r in _dicts(reports or [])}
    ids = Ids()
    widgets = sorted(_dicts(board.get("widgets")),
                     key=lambda wd: (_grid(wd.get("y"), 0, 999, 0), _grid(wd.get("x"), 0, 23, 0)))
    name = str(board.get("name") or board.get("slug") or "")
    body = "".join(render_widget(ids, wd, by_slug.get(wd.get("report"))) for wd in widgets)
    if not widgets:
        body = '<p class="dp-empty">This dashboard has no widgets.</p>'
    return (f'<section class="dp-board" aria-labelledby="dp-board-title" data-slug="{esc(board.get("slug") or "")}">'
            f'<h1 id="dp-board-title">{esc(name)}</h1><div class="dp-grid">{body}</div></section>')
