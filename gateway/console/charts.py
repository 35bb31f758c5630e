"""Server-rendered SVG charts, readable at a glance and by a screen reader.

Each chart is a ``<figure>``: an ``<svg role="img">`` named by its ``<title>`` and
described by a ``<desc>`` that states the figures, a caption, and the same data as a
table (in a ``<details>``) for anyone who cannot see the drawing. Colours keep a 3:1
contrast against the white background (WCAG 1.4.11) and series are also named in a
legend. No script, no external asset: the markup is the chart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.console.html import esc

PALETTE = ("#1f5fbf", "#b35900", "#2e7d32", "#8e24aa", "#c62828", "#00695c")
TEXT = "#1b1f24"
GRID = "#c9d0d8"
TARGET = "#8a1414"

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 44

Format = Callable[[float], str]


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per category; None: no data


def plain(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def nice_step(span: float, ticks: int = 5) -> float:
    """A round tick step (1, 2, 2.5 or 5 x 10^n) so that ``ticks`` steps cover ``span``."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return float(factor * magnitude)
    return 10.0 * magnitude  # pragma: no cover - 10 always qualifies


def axis(maximum: float, ticks: int = 5) -> list[float]:
    """Tick values from 0 up to at least ``maximum``."""
    step = nice_step(maximum, ticks)
    count = max(1, math.ceil(maximum / step - 1e-9)) if maximum > 0 else ticks
    return [round(step * i, 10) for i in range(count + 1)]


def _svg(
    ident: str, title: str, desc: str, body: str, height: int = HEIGHT, width: int = WIDTH
) -> str:
    return (
        f'<svg class="chart-svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{esc(ident)}-title {esc(ident)}-desc" '
        f'font-family="system-ui, sans-serif" font-size="12">'
        f'<title id="{esc(ident)}-title">{esc(title)}</title>'
        f'<desc id="{esc(ident)}-desc">{esc(desc)}</desc>{body}</svg>'
    )


def _legend(series: Sequence[Series]) -> str:
    if len(series) < 2:
        return ""
    items = "".join(
        f'<li><span class="swatch swatch-{i % len(PALETTE)}" aria-hidden="true"></span>'
        f"{esc(s.name)}</li>"
        for i, s in enumerate(series)
    )
    return f'<ul class="legend">{items}</ul>'


def _figure(
    ident: str, title: str, svg: str, legend: str, table: str, caption: str = ""
) -> str:
    note = f'<p class="chart-note">{esc(caption)}</p>' if caption else ""
    return (
        f'<figure class="chart" id="{esc(ident)}"><figcaption>{esc(title)}</figcaption>'
        f"{svg}{legend}{note}"
        f"<details><summary>Data table: {esc(title)}</summary>{table}</details></figure>"
    )


def _data_table(
    title: str, first: str, categories: Sequence[str], series: Sequence[Series], fmt: Format
) -> str:
    head = f'<th scope="col">{esc(first)}</th>' + "".join(
        f'<th scope="col">{esc(s.name)}</th>' for s in series
    )
    rows = []
    for index, category in enumerate(categories):
        cells = "".join(f"<td>{_cell(s.values[index], fmt)}</td>" for s in series)
        rows.append(f'<tr><th scope="row">{esc(category)}</th>{cells}</tr>')
    return (
        f'<table class="chart-data"><caption>{esc(title)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _cell(value: float | None, fmt: Format) -> str:
    return esc(fmt(value)) if value is not None else "—"


def describe(categories: Sequence[str], series: Sequence[Series], fmt: Format) -> str:
    """The figures in words, for the chart's ``<desc>`` (long series are summarised)."""
    parts = []
    for s in series:
        known = [(c, v) for c, v in zip(categories, s.values, strict=True) if v is not None]
        if not known:
            parts.append(f"{s.name}: no data")
        elif len(known) <= 8:
            parts.append(f"{s.name}: " + ", ".join(f"{c} {fmt(v)}" for c, v in known))
        else:
            top = max(known, key=lambda cv: cv[1])
            total = sum(v for _, v in known)
            parts.append(
                f"{s.name}: {len(known)} points from {known[0][0]} to {known[-1][0]}, "
                f"highest {fmt(top[1])} on {top[0]}, total {fmt(total)}"
            )
    return "; ".join(parts) + "."


def _y_axis(
    ticks: list[float], top: float, fmt: Format, plot_h: float, width: int = WIDTH
) -> str:
    out = []
    for tick in ticks:
        y = TOP + plot_h - (tick / top) * plot_h if top else TOP + plot_h
        out.append(
            f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT}">'
            f"{esc(fmt(tick))}</text>"
        )
    return "".join(out)


def _x_labels(categories: Sequence[str], centres: Sequence[float]) -> str:
    every = max(1, math.ceil(len(categories) / 10))
    out = []
    for index, (label, x) in enumerate(zip(categories, centres, strict=True)):
        if index % every and index != len(categories) - 1:
            continue
        out.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
            f'fill="{TEXT}">{esc(label)}</text>'
        )
    return "".join(out)


def column_chart(
    *,
    ident: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    fmt: Format = plain,
    stacked: bool = False,
    reference: tuple[float, str] | None = None,
    category_label: str = "",
    caption: str = "",
    width: int = WIDTH,
) -> str:
    """Vertical bars per category, side by side or stacked; ``reference`` draws a
    labelled horizontal line (a target). A narrower ``width`` keeps the text readable
    where three charts share a row."""
    plot_w = width - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    totals = [
        sum(s.values[i] or 0 for s in series)
        if stacked
        else max((s.values[i] or 0 for s in series), default=0)
        for i in range(len(categories))
    ]
    highest = max([*totals, reference[0] if reference else 0, 0])
    ticks = axis(highest)
    top = ticks[-1] or 1
    slot = plot_w / max(1, len(categories))
    group = slot * 0.8
    bar_w = group if stacked else group / max(1, len(series))
    body = [_y_axis(ticks, top, fmt, plot_h, width)]
    centres = []
    for index in range(len(categories)):
        x0 = LEFT + slot * index + (slot - group) / 2
        centres.append(x0 + group / 2)
        base = 0.0
        for position, s in enumerate(series):
            value = s.values[index]
            if value is None or value <= 0:
                continue
            h = value / top * plot_h
            x = x0 if stacked else x0 + bar_w * position
            y = TOP + plot_h - (base + value) / top * plot_h
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[position % len(PALETTE)]}">'
                f"<title>{esc(categories[index])}, {esc(s.name)}: {esc(fmt(value))}</title>"
                "</rect>"
            )
            if stacked:
                base += value
    if reference is not None:
        y = TOP + plot_h - reference[0] / top * plot_h
        body.append(
            f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{TARGET}" stroke-width="2" stroke-dasharray="6 4"/>'
            f'<text x="{width - RIGHT}" y="{y - 5:.1f}" text-anchor="end" fill="{TARGET}">'
            f"{esc(reference[1])}</text>"
        )
    body.append(_x_labels(categories, centres))
    desc = describe(categories, series, fmt)
    if reference is not None:
        desc += f" {reference[1]}."
    svg = _svg(ident, title, desc, "".join(body), width=width)
    table = _data_table(title, category_label or "Category", categories, series, fmt)
    return _figure(ident, title, svg, _legend(series), table, caption)


def line_chart(
    *,
    ident: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    fmt: Format = plain,
    category_label: str = "",
    caption: str = "",
) -> str:
    """One line per series over ordered categories (days); points are marked."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    highest = max((v for s in series for v in s.values if v is not None), default=0)
    ticks = axis(highest)
    top = ticks[-1] or 1
    count = len(categories)
    step = plot_w / max(1, count - 1) if count > 1 else 0
    centres = [LEFT + step * i if count > 1 else LEFT + plot_w / 2 for i in range(count)]
    body = [_y_axis(ticks, top, fmt, plot_h)]
    dashes = ("", ' stroke-dasharray="7 4"', ' stroke-dasharray="2 3"')
    for position, s in enumerate(series):
        colour = PALETTE[position % len(PALETTE)]
        points = [
            (centres[i], TOP + plot_h - v / top * plot_h, categories[i], v)
            for i, v in enumerate(s.values)
            if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"'
                f"{dashes[position % len(dashes)]}/>"
            )
        for x, y, label, value in points:
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                f"<title>{esc(label)}, {esc(s.name)}: {esc(fmt(value))}</title></circle>"
            )
    body.append(_x_labels(categories, centres))
    svg = _svg(ident, title, describe(categories, series, fmt), "".join(body))
    table = _data_table(title, category_label or "Category", categories, series, fmt)
    return _figure(ident, title, svg, _legend(series), table, caption)


def bar_list(
    *,
    ident: str,
    title: str,
    items: Sequence[tuple[str, float]],
    fmt: Format = plain,
    value_label: str = "Value",
    category_label: str = "",
    caption: str = "",
) -> str:
    """Horizontal bars, one per labelled item, largest first as given."""
    row_h = 26
    height = TOP + BOTTOM // 2 + row_h * max(1, len(items))
    label_w = 170
    plot_w = WIDTH - label_w - RIGHT - 70
    highest = max((v for _, v in items), default=0) or 1
    body = []
    for index, (label, value) in enumerate(items):
        y = TOP + row_h * index
        w = max(value / highest * plot_w, 1 if value else 0)
        short = label if len(label) <= 24 else label[:23] + "…"
        body.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" fill="{TEXT}">'
            f"{esc(short)}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
            f'fill="{PALETTE[0]}"><title>{esc(label)}: {esc(fmt(value))}</title></rect>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" fill="{TEXT}">{esc(fmt(value))}'
            "</text>"
        )
    labels = [label for label, _ in items]
    series = [Series(value_label, [v for _, v in items])]
    svg = _svg(ident, title, describe(labels, series, fmt), "".join(body), height)
    table = _data_table(title, category_label or "Item", labels, series, fmt)
    return _figure(ident, title, svg, "", table, caption)


def duration_scale(highest_seconds: float) -> tuple[float, str]:
    """(divisor, unit) for an axis of durations up to ``highest_seconds``."""
    for divisor, unit in ((86400.0, "d"), (3600.0, "h"), (60.0, "min")):
        if highest_seconds >= 2 * divisor:
            return divisor, unit
    return 1.0, "s"
