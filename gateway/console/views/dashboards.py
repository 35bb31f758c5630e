"""Dashboards: SLA per stage, breaches, fallout, close-to-cash time, exceptions opened vs
resolved, systems of record and deprecated API use, as charts with data tables."""

from __future__ import annotations

from collections import defaultdict

from gateway.console.charts import (
    Series,
    bar_list,
    column_chart,
    duration_scale,
    line_chart,
    percent,
    plain,
)
from gateway.console.figures import WINDOWS, Dashboard, histogram
from gateway.console.html import Viewer, duration, esc, notice, page, table
from gateway.console.html import percent as percent_text
from gateway.console.views.transaction import STAGE_NAMES


def _tile(label: str, value: str, note: str = "") -> str:
    extra = f'<p class="tile-note">{esc(note)}</p>' if note else ""
    return f'<li class="tile"><p class="tile-label">{esc(label)}</p><p class="tile-value">' \
           f"{esc(value)}</p>{extra}</li>"


def _short_day(day: str) -> str:
    return day[5:]  # MM-DD


def sla_charts(data: Dashboard) -> str:
    charts = []
    for stage in data.sla.stages:
        highest = max(stage.p95_seconds or 0, stage.p50_seconds or 0, stage.target_seconds)
        divisor, unit = duration_scale(highest)

        def fmt(value: float, unit: str = unit) -> str:
            return f"{value:,.1f} {unit}" if value % 1 else f"{value:,.0f} {unit}"

        values = [
            None if stage.p50_seconds is None else stage.p50_seconds / divisor,
            None if stage.p95_seconds is None else stage.p95_seconds / divisor,
        ]
        name = STAGE_NAMES.get(stage.stage, stage.stage)
        charts.append(column_chart(
            ident=f"sla-{stage.stage}",
            title=f"{name}: p50 and p95 against the target",
            categories=["p50", "p95"],
            series=[Series("Duration", values)],
            fmt=fmt,
            reference=(stage.target_seconds / divisor,
                       f"target {fmt(stage.target_seconds / divisor)}"),
            category_label="Percentile",
            width=360,
            caption=f"{stage.completed} completed, {stage.running} running, "
                    f"{stage.breached} breached.",
        ))  # fmt: skip
    return '<div class="chart-grid three">' + "".join(charts) + "</div>"


def dashboards_page(data: Dashboard, viewer: Viewer) -> str:
    sla = data.sla
    series = data.series
    days = [_short_day(d) for d in series.days]
    tiles = (
        '<ul class="tiles">'
        + _tile("Transactions accepted", f"{sla.transactions:,}", f"since {data.since[:10]}")
        + _tile("Completed to cash", f"{sla.completed:,}")
        + _tile("Open exceptions", f"{sla.open_exceptions:,}")
        + _tile("Order fallout rate", percent_text(sla.order_fallout_rate),
                "stopped before the order existed")
        + _tile("Manual touch rate", percent_text(sla.manual_touch_rate))
        + _tile("Close-to-cash p50 / p95",
                f"{duration(sla.close_to_cash_p50_seconds)} / "
                f"{duration(sla.close_to_cash_p95_seconds)}")
        + "</ul>"
    )  # fmt: skip
    breaches = line_chart(
        ident="sla-breaches",
        title="SLA breaches per day, by stage",
        categories=days,
        series=[Series(STAGE_NAMES[s], v) for s, v in series.breaches.items()],
        category_label="Day",
        caption="Counted on the day the stage's target was passed.",
    )
    fallout = column_chart(
        ident="order-fallout",
        title="Order fallout rate per day of acceptance",
        categories=days,
        series=[Series("Fallout rate", series.fallout)],
        fmt=percent,
        category_label="Day",
        caption="Share of the day's accepted quotes that stopped in front of a person "
        "before their order existed.",
    )
    divisor, unit = duration_scale(max(data.cycle, default=0))
    bins = histogram([value / divisor for value in data.cycle])  # round bins in the unit
    if bins:
        labels = [f"{lo:g}\u2013{hi:g} {unit}" for lo, hi, _ in bins]
        cycle = column_chart(
            ident="close-to-cash",
            title="Close-to-cash cycle time (accepted to paid)",
            categories=labels,
            series=[Series("Transactions", [float(c) for _, _, c in bins])],
            category_label="Cycle time",
            caption=f"{len(data.cycle):,} paid transactions; p50 "
            f"{duration(sla.close_to_cash_p50_seconds)}, p95 "
            f"{duration(sla.close_to_cash_p95_seconds)}.",
        )
    else:
        cycle = _empty("Close-to-cash cycle time", "No transaction was paid in this window.")
    by_day = {day: (o, c) for day, o, c in data.activity}
    activity = line_chart(
        ident="exceptions-activity",
        title="Exceptions opened vs resolved per day",
        categories=days,
        series=[
            Series("Opened", [float(by_day.get(d, (0, 0))[0]) for d in series.days]),
            Series("Resolved or dismissed", [float(by_day.get(d, (0, 0))[1])
                                             for d in series.days]),
        ],
        category_label="Day",
        caption="Items of the teams you see.",
    )
    current = ' aria-current="page"'
    window = "".join(
        f'<li><a href="/console/dashboards?days={d}"{current if d == data.window_days else ""}>'
        f"{d} days</a></li>"
        for d in WINDOWS
    )
    main = (
        "<h1>Dashboards</h1>"
        f'<nav class="window" aria-label="Time window"><ul>{window}</ul></nav>'
        + tiles
        + '<section aria-labelledby="sla-heading"><h2 id="sla-heading">SLA per stage</h2>'
        + sla_charts(data)
        + '<div class="chart-grid">' + breaches + fallout + "</div></section>"
        + '<section aria-labelledby="flow-heading"><h2 id="flow-heading">Cycle time and '
        'exceptions</h2><div class="chart-grid">' + cycle + activity + "</div></section>"
        + governance_section(data)
    )
    return page("Dashboards", main, current="dashboards", viewer=viewer)


def _empty(title: str, text: str) -> str:
    return f'<figure class="chart"><figcaption>{esc(title)}</figcaption><p class="empty">' \
           f"{esc(text)}</p></figure>"


def governance_section(data: Dashboard) -> str:
    report = data.governance
    heading = (
        '<section aria-labelledby="sor-heading"><h2 id="sor-heading">Systems of record and '
        "API use</h2>"
    )
    if report is None:
        return heading + notice("Metrics are switched off in this gateway.", "info") + \
            "</section>"
    note = (
        "From the governance report of the live metrics since the gateway started."
        if data.all_systems
        else "From the governance report of your tenant's calls since the gateway started; "
        "the shared systems' own figures are shown to admins."
    )
    if data.all_systems:
        rates = [(s.system, s.error_rate) for s in report.systems]
        latency = [(s.system, (s.p95_latency_seconds or 0) * 1000) for s in report.systems]
        subject = "system"
    else:
        rates = [(f"{a.api} {a.version}", a.error_rate) for a in report.apis]
        latency = [(f"{a.api} {a.version}", (a.p95_sor_latency_seconds or 0) * 1000)
                   for a in report.apis]
        subject = "API"
    charts = []
    if rates:
        charts.append(bar_list(
            ident="sor-error-rate", title=f"Error rate per {subject}", items=rates,
            fmt=percent, value_label="Error rate", category_label=subject.capitalize(),
        ))
        charts.append(bar_list(
            ident="sor-latency",
            title=f"p95 system-of-record latency per {subject} (ms)", items=latency,
            fmt=lambda v: f"{v:,.1f} ms", value_label="p95 latency",
            category_label=subject.capitalize(),
        ))  # fmt: skip
    else:
        charts.append(_empty("Systems of record", "No calls to a system of record yet."))
    per_consumer: dict[str, float] = defaultdict(float)
    for usage in report.deprecated_usage:
        per_consumer[usage.consumer] += usage.calls
    if per_consumer:
        ranked = sorted(per_consumer.items(), key=lambda kv: (-kv[1], kv[0]))
        charts.append(bar_list(
            ident="deprecated-use", title="Deprecated API calls per consumer", items=ranked,
            fmt=plain, value_label="Calls", category_label="Consumer",
        ))  # fmt: skip
        detail = table(
            "Deprecated operations called, by consumer",
            ("Consumer", "Operation", "API", "Calls"),
            [(esc(u.consumer), f"<code>{esc(u.operation)}</code>",
              esc(f"{u.api} {u.version}".strip() or "—"), f"{u.calls:,}")
             for u in report.deprecated_usage],
        )  # fmt: skip
    else:
        charts.append(_empty("Deprecated API calls per consumer",
                             "No consumer called a deprecated operation."))
        detail = ""
    return (
        heading
        + f'<p class="muted">{esc(note)}</p>'
        + '<div class="chart-grid">' + "".join(charts) + "</div>" + detail + "</section>"
    )
