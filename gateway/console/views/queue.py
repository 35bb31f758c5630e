"""The exception queue: counts per team (refreshed live), filters, and the items."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from domains.errors import FieldIssue
from domains.quote_to_cash.records import ACTIVE_EXCEPTION_STATES, ExceptionItem
from domains.quote_to_cash.taxonomy import ERROR_CLASSES
from gateway.console.html import (
    STATIC,
    PageLinks,
    Viewer,
    age,
    badge,
    esc,
    hidden,
    money,
    notice,
    page,
    state_badge,
    table,
)
from gateway.console.queue import AGES, STATES, QueueFilters, TeamScope

COUNTS_URL = "/console/exceptions/counts"
CLASS_TONES = {
    "credit_hold": "bad",
    "price_mismatch": "warn",
    "dependency_unavailable": "info",
    "dependency_timeout": "info",
}


@dataclass(frozen=True, slots=True)
class QueuePage:
    filters: QueueFilters
    issues: Sequence[FieldIssue]
    items: Sequence[ExceptionItem]
    counts: Mapping[str, int]  # open or assigned items per team the user sees
    scope: TeamScope
    links: PageLinks
    refresh_seconds: int
    done: str = ""


def class_badge(error_class: str) -> str:
    return badge(error_class.replace("_", " "), CLASS_TONES.get(error_class, "neutral"))


def counts_region(counts: Mapping[str, int], scope: TeamScope, refresh_seconds: int) -> str:
    """Open or assigned items per team: links that filter the queue; ``console.js``
    refreshes the numbers from the counts endpoint."""
    teams = sorted(set(scope.teams if scope.teams is not None else ()) | set(counts))
    items = []
    for team in teams:
        count = counts.get(team, 0)
        items.append(
            f'<li><a href="/console/exceptions?team={esc(team)}">'
            f'<span class="count" data-team="{esc(team)}">{count}</span> '
            f'<span class="team">{esc(team)}</span></a></li>'
        )
    total = sum(counts.values())
    return (
        '<section class="counts" aria-labelledby="counts-heading" '
        f'data-counts-url="{COUNTS_URL}" data-refresh-seconds="{refresh_seconds}">'
        '<h2 id="counts-heading">Open items per team</h2>'
        f'<p class="total">Total <span class="count" data-total>{total}</span> '
        '<span class="muted" data-updated aria-live="polite"></span></p>'
        f'<ul class="team-counts">{"".join(items)}</ul></section>'
    )


def _select(name: str, label: str, options: Sequence[tuple[str, str]], chosen: str,
            error: str) -> str:
    ident = f"filter-{name.replace('_', '-')}"
    opts = "".join(
        f'<option value="{esc(v)}"{" selected" if v == chosen else ""}>{esc(text)}</option>'
        for v, text in options
    )
    return _field(ident, label, f'<select id="{ident}" name="{esc(name)}"{_aria(ident, error)}>'
                  f"{opts}</select>", error)


def _input(name: str, label: str, value: str, error: str, *, mode: str = "text") -> str:
    ident = f"filter-{name.replace('_', '-')}"
    return _field(
        ident,
        label,
        f'<input id="{ident}" name="{esc(name)}" value="{esc(value)}" inputmode="{mode}"'
        f'{_aria(ident, error)}>',
        error,
    )


def _aria(ident: str, error: str) -> str:
    return f' aria-invalid="true" aria-describedby="{ident}-error"' if error else ""


def _field(ident: str, label: str, control: str, error: str) -> str:
    message = f'<p class="field-error" id="{ident}-error">{esc(error)}</p>' if error else ""
    return f'<div class="field"><label for="{ident}">{esc(label)}</label>{control}{message}</div>'


def filter_form(filters: QueueFilters, scope: TeamScope, issues: Sequence[FieldIssue]) -> str:
    errors = {i.field: i.message for i in issues}
    classes = [("", "Any class")] + [(c, c.replace("_", " ")) for c in ERROR_CLASSES]
    teams = [("", "All my teams" if scope.teams is not None else "Any team")] + [
        (t, t) for t in scope.known
    ]
    return (
        '<form class="filters" method="get" action="/console/exceptions" '
        'aria-labelledby="filters-heading"><h2 id="filters-heading">Filters</h2>'
        '<div class="filter-grid">'
        + _select("class", "Class", classes, filters.error_class, errors.get("class", ""))
        + _select("team", "Team", teams, filters.team, errors.get("team", ""))
        + _select("state", "State", [(v, t) for v, t, _ in STATES], filters.state,
                  errors.get("state", ""))
        + _select("age", "Age", [(v, t) for v, t, _ in AGES], filters.age,
                  errors.get("age", ""))
        + _input("legal_entity", "Legal entity", filters.legal_entity,
                 errors.get("legal_entity", ""))
        + _input("min_amount", "Amount from", filters.min_amount,
                 errors.get("min_amount", ""), mode="decimal")
        + _input("max_amount", "Amount to", filters.max_amount,
                 errors.get("max_amount", ""), mode="decimal")
        + "</div>"
        '<div class="form-actions"><button type="submit">Apply filters</button> '
        '<a href="/console/exceptions">Clear filters</a></div></form>'
    )


def assign_button(item: ExceptionItem, viewer: Viewer, subject: str, back: str) -> str:
    if (
        not viewer.can_act
        or item.state not in ACTIVE_EXCEPTION_STATES
        or item.assignee == subject
    ):
        return ""
    return (
        f'<form method="post" action="/console/exceptions/{esc(item.id)}/assign" '
        f'class="inline">{viewer.csrf}{hidden("back", back)}'
        f'<button type="submit" class="small" aria-label="Assign to me: {esc(item.code)} '
        f'{esc(item.id)}">Assign to me</button></form>'
    )


def queue_page(data: QueuePage, viewer: Viewer, subject: str, now: datetime) -> str:
    back = "/console/exceptions" + (f"?{data.filters.query()}" if data.filters.narrowed else "")
    rows = []
    for item in data.items:
        who = f'<br><span class="muted">{esc(item.assignee)}</span>' if item.assignee else ""
        rows.append((
            f'<a href="/console/exceptions/{esc(item.id)}">{esc(item.code)}</a>'
            f'<span class="sub">{esc(_short(item.detail))}</span>'
            f'<span class="sub">step {esc(item.step)} of <a class="mono" '
            f'href="/console/transactions/{esc(item.transaction_id)}">'
            f"{esc(item.transaction_id)}</a></span>",
            class_badge(item.error_class) + f'<span class="sub">{esc(item.owner)}</span>',
            state_badge(item.state) + who,
            money(item.amount, item.currency)
            + f'<span class="sub">{esc(item.legal_entity or "—")}</span>',
            f'<span title="{esc(item.created_at)}">{age(item.created_at, now)}</span>',
            assign_button(item, viewer, subject, back),
        ))  # fmt: skip
    shown = table(
        "Exceptions, oldest first",
        ("Exception", "Class and team", "State", "Amount and entity", "Age", "Action"),
        rows,
        css="queue",
        empty="No exceptions match these filters.",
    )
    nav = data.links.nav("Pages of the queue")
    banner = ""
    if data.done:
        banner = notice(esc(data.done))
    if data.issues:
        banner += notice(
            "Some filters were not applied: "
            + esc("; ".join(f"{i.field}: {i.message}" for i in data.issues)),
            "error",
        )
    main = (
        "<h1>Exception queue</h1>"
        '<p class="lead">Transactions stopped in front of your teams. Open an item to see '
        "its findings and act on it; every action is recorded with your name.</p>"
        + banner
        + '<div class="queue-layout">'
        + counts_region(data.counts, data.scope, data.refresh_seconds)
        + filter_form(data.filters, data.scope, data.issues)
        + "</div>"
        + f'<section aria-label="Exceptions">{shown}{nav}</section>'
    )
    return page("Exception queue", main, current="exceptions", viewer=viewer,
                scripts=(f"{STATIC}/console.js",))


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
