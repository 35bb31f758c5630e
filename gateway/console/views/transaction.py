"""One transaction: its timeline across CRM, ERP, billing and payment, SLA per stage,
the canonical events it emitted and the exceptions it raised."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from urllib.parse import quote

import msgspec

from contracts.events import CloudEvent
from domains.quote_to_cash.records import ExceptionItem, StepEntry, Transaction
from domains.quote_to_cash.sla import StageStatus
from gateway.console.html import (
    PageLinks,
    Viewer,
    duration,
    esc,
    facts,
    moment,
    notice,
    page,
    state_badge,
    table,
)
from gateway.console.views.queue import class_badge

# Which part of quote to cash a step belongs to.
LANES = {
    "accepted": "CRM",
    "validate": "CRM",
    "write_back": "CRM",
    "erp_customer": "ERP",
    "submit_order": "ERP",
    "fulfilment": "ERP",
    "compensate": "ERP",
    "invoice": "Billing",
    "payment": "Payment",
    "decision": "Operator",
    "completed": "Gateway",
}
STAGE_NAMES = {
    "accepted_to_order": "Accepted → order",
    "order_to_invoice": "Order → invoice",
    "invoice_to_paid": "Invoice → paid",
}


def record_link(system: str, kind: str, record_id: str, patterns: Mapping[str, str]) -> str:
    """The record's id, linked to its system's own page when ``console.record_urls``
    has a URL pattern for the system (``{id}`` is replaced by the id)."""
    pattern = patterns.get(system)
    label = f'<code>{esc(record_id)}</code>'
    if not pattern or not pattern.startswith(("https://", "http://", "/")):
        return label
    href = pattern.replace("{id}", quote(record_id, safe=""))
    return (
        f'<a href="{esc(href)}" rel="noopener" target="_blank">{label}'
        f'<span class="visually-hidden"> ({esc(kind)} in {esc(system)}, opens in a new '
        "tab)</span></a>"
    )


def _entry(entry: StepEntry, patterns: Mapping[str, str]) -> str:
    ids = "".join(
        f"<li>{esc(kind)}: {record_link(entry.system, kind, value, patterns)}</li>"
        for kind, value in sorted(entry.system_ids.items())
    )
    retries = entry.attempts - 1
    tries = (
        f'<span class="badge badge-warn">{retries} retr{"y" if retries == 1 else "ies"}</span>'
        if retries
        else ""
    )
    error = ""
    if entry.error:
        error = (
            f'<p class="step-error">{class_badge(str(entry.error.get("class", "")))} '
            f'<code>{esc(entry.error.get("code", ""))}</code> '
            f"{esc(entry.error.get('detail', ''))}</p>"
        )
    took = ""
    try:
        seconds = (
            datetime.fromisoformat(entry.ended_at.replace("Z", "+00:00"))
            - datetime.fromisoformat(entry.started_at.replace("Z", "+00:00"))
        ).total_seconds()
        took = f" · took {duration(seconds)}" if seconds > 0 else ""
    except ValueError:
        pass
    lane = LANES.get(entry.step, "Gateway")
    return (
        f'<li class="step step-{esc(entry.status)}" data-step="{esc(entry.step)}">'
        f'<div class="lane">{esc(lane)}</div><div class="step-body">'
        f'<h3>{esc(entry.step.replace("_", " "))} {state_badge(entry.status)} {tries}</h3>'
        f'<p class="meta">{esc(entry.system or "gateway")} · {moment(entry.started_at)}'
        f"{took} · attempts {entry.attempts}</p>"
        + (f'<ul class="ids">{ids}</ul>' if ids else "")
        + (f"<p>{esc(entry.detail)}</p>" if entry.detail else "")
        + error
        + "</div></li>"
    )


def transaction_page(
    record: Transaction,
    statuses: Sequence[StageStatus],
    events: Sequence[CloudEvent],
    exceptions: Sequence[ExceptionItem],
    hidden_exceptions: int,
    viewer: Viewer,
    patterns: Mapping[str, str],
) -> str:
    summary = facts([
        ("State", state_badge(record.state) + f" · stage {esc(record.stage)}"),
        ("Owning system now", esc(record.owner_system or "—")),
        ("Quote", _code(record.quote_id)),
        ("Customer", _code(record.customer_id)),
        ("Legal entity", esc(record.legal_entity or "—")),
        ("Order", _order(record, patterns)),
        ("Invoice", _code(record.invoice_id)
         + (f" ({esc(record.invoice_system_id)})" if record.invoice_system_id else "")),
        ("Payment", _code(record.payment_id)),
        ("Trace id", _code(record.trace_id)),
        ("Started by", esc(record.source.replace("_", " "))),
        ("Manual touches", str(record.manual_touches)),
    ])  # fmt: skip
    milestones = facts([
        ("Accepted", moment(record.accepted_at)),
        ("Ordered", moment(record.ordered_at)),
        ("Invoiced", moment(record.invoiced_at)),
        ("Paid", moment(record.paid_at)),
        ("Ended", moment(record.ended_at)),
    ])
    sla = table(
        "SLA per stage",
        ("Stage", "Target", "Elapsed", "Status"),
        [(esc(STAGE_NAMES.get(s.stage, s.stage)), duration(s.target_seconds),
          duration(s.elapsed_seconds), state_badge(s.status)) for s in statuses],
    )  # fmt: skip
    timeline = "".join(_entry(e, patterns) for e in record.timeline)
    event_rows = [
        (
            _event_type(e.type),
            moment(e.time),
            f"<code>{esc(e.subject or '')}</code>",
            f'<details><summary>CloudEvent <code>{esc(e.id)}</code></summary>'
            f'<pre tabindex="0" aria-label="CloudEvent {esc(e.id)}">'
            f"{esc(json.dumps(msgspec.to_builtins(e), indent=2, ensure_ascii=False))}"
            "</pre></details>",
        )
        for e in events
    ]
    events_table = table(
        "Canonical events (CloudEvents 1.0), in order",
        ("Type", "Time", "Subject", "Event"),
        event_rows,
        empty="No events yet.",
    )
    exception_rows = [
        (
            f'<a href="/console/exceptions/{esc(x.id)}">{esc(x.code)}</a>',
            class_badge(x.error_class),
            esc(x.owner),
            state_badge(x.state),
            moment(x.created_at),
        )
        for x in exceptions
    ]
    raised = table(
        "Exceptions and dead letters of this transaction",
        ("Exception", "Class", "Team", "State", "Opened"),
        exception_rows,
        empty="None that your teams own." if hidden_exceptions else "None.",
    )
    if hidden_exceptions:
        raised += (
            f'<p class="muted">{hidden_exceptions} more owned by other teams.</p>'
        )
    attention = ""
    if record.state in ("exception", "dead_lettered", "needs_attention"):
        attention = notice(
            "This transaction is stopped in front of a team: see its exceptions below.",
            "warn",
        )
    main = (
        '<nav class="crumbs" aria-label="Breadcrumb"><a href="/console/transactions">'
        "Transactions</a> &rsaquo; Transaction</nav>"
        f'<h1>Transaction <code class="mono">{esc(record.id)}</code></h1>'
        + attention
        + '<div class="two-col"><section aria-labelledby="summary-heading">'
        '<h2 id="summary-heading">Summary</h2>' + summary + "</section>"
        '<section aria-labelledby="milestones-heading"><h2 id="milestones-heading">'
        "Milestones and SLA</h2>" + milestones + sla + "</section></div>"
        '<section aria-labelledby="timeline-heading"><h2 id="timeline-heading">Timeline '
        "across CRM, ERP, billing and payment</h2>"
        f'<ol class="timeline">{timeline or "<li>No steps yet.</li>"}</ol></section>'
        '<section aria-labelledby="raised-heading"><h2 id="raised-heading">Exceptions</h2>'
        + raised
        + "</section>"
        '<section aria-labelledby="events-heading"><h2 id="events-heading">Events emitted'
        "</h2>" + events_table + "</section>"
    )
    return page(f"Transaction {record.id}", main, current="transactions", viewer=viewer)


def _code(value: str | None) -> str:
    return f"<code>{esc(value)}</code>" if value else '<span class="muted">—</span>'


def _event_type(kind: str) -> str:
    """``com.q2c.order.accepted`` with break opportunities after its dots."""
    return "<code>" + ".<wbr>".join(esc(part) for part in kind.split(".")) + "</code>"


def _order(record: Transaction, patterns: Mapping[str, str]) -> str:
    if not record.order_id:
        return "—"
    shown = f"<code>{esc(record.order_id)}</code>"
    if record.order_system and record.order_system_id:
        shown += (
            f" = {esc(record.order_system)} "
            + record_link(record.order_system, "order", record.order_system_id, patterns)
        )
    return shown


def transactions_page(
    records: Sequence[Transaction],
    viewer: Viewer,
    now: datetime,
    *,
    state: str,
    states: Sequence[str],
    links: PageLinks,
) -> str:
    rows = [
        (
            f'<a href="/console/transactions/{esc(t.id)}" class="mono">{esc(t.id)}</a>',
            state_badge(t.state),
            esc(t.stage),
            esc(t.legal_entity or "—"),
            moment(t.accepted_at),
            moment(t.updated_at),
        )
        for t in records
    ]
    options = "".join(
        f'<option value="{esc(s)}"{" selected" if s == state else ""}>'
        f'{esc(s.replace("_", " ") if s else "Any state")}</option>'
        for s in ("", *states)
    )
    form = (
        '<form class="filters inline-filters" method="get" action="/console/transactions">'
        '<div class="field"><label for="tx-state">State</label>'
        f'<select id="tx-state" name="state">{options}</select></div>'
        '<div class="field"><label for="tx-id">Transaction id</label>'
        '<input id="tx-id" name="id" placeholder="txn_…" autocomplete="off"></div>'
        '<div class="form-actions"><button type="submit">Show</button></div></form>'
    )
    nav = links.nav("Pages of transactions")
    main = (
        "<h1>Transactions</h1>"
        '<p class="lead">Accepted quotes on their way to cash, newest first.</p>'
        + form
        + table(
            "Transactions, newest first",
            ("Transaction", "State", "Stage", "Legal entity", "Accepted", "Last change"),
            rows,
            empty="No transactions match.",
        )
        + nav
    )
    return page("Transactions", main, current="transactions", viewer=viewer)
