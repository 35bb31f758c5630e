"""One exception (or dead letter): what stopped, why, what was done, and the actions
its team can take."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from domains.quote_to_cash.records import ACTIVE_EXCEPTION_STATES, ExceptionItem
from gateway.console.forms import FormField, render_fields
from gateway.console.html import (
    Viewer,
    age,
    esc,
    facts,
    moment,
    money,
    notice,
    page,
    state_badge,
    table,
)
from gateway.console.views.queue import class_badge

ACTION_TITLES = {
    "assign": "Assigned to you.",
    "comment": "Comment added.",
    "retry": "Retry sent: the transaction re-runs the step that stopped.",
    "resolve": "Resolved: the transaction is closed as handled outside the flow.",
    "dismiss": "Dismissed: the transaction is cancelled.",
    "compensate": "Compensation sent: the transaction runs it and is cancelled.",
    "replay": "Replay sent: the transaction continues from the failed step.",
}


@dataclass(frozen=True, slots=True)
class FormState:
    """A posted form shown again: which one, what was typed, what was wrong."""

    form: str = ""  # assign, comment, retry, retry_edit, resolve, dismiss, compensate
    values: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)  # "" : about the whole form


def _form(
    action: str, item: ExceptionItem, viewer: Viewer, inner: str, button: str,
    *, css: str = "", heading: str = "", state: FormState, name: str,
) -> str:
    general = state.errors.get("") if state.form == name else None
    error = notice(esc(general), "error") if general else ""
    title = f"<h3>{esc(heading)}</h3>" if heading else ""
    button_class = ' class="danger"' if css == "danger" else ""
    return (
        f'<form method="post" action="/console/exceptions/{esc(item.id)}/{action}" '
        f'class="action {css}" data-form="{esc(name)}">{title}{error}{viewer.csrf}{inner}'
        f'<button type="submit"{button_class}>{esc(button)}</button></form>'
    )


def _text_area(name: str, form: str, label: str, state: FormState, hint: str = "") -> str:
    ident = f"{form}-{name}"
    value = state.values.get(name, "") if state.form == form else ""
    error = state.errors.get(name, "") if state.form == form else ""
    described = []
    hint_html = error_html = ""
    if hint:
        hint_html = f'<p class="hint" id="{ident}-hint">{esc(hint)}</p>'
        described.append(f"{ident}-hint")
    if error:
        error_html = f'<p class="field-error" id="{ident}-error">{esc(error)}</p>'
        described.append(f"{ident}-error")
    aria = f' aria-describedby="{" ".join(described)}"' if described else ""
    invalid = ' aria-invalid="true"' if error else ""
    return (
        f'<div class="field"><label for="{ident}">{esc(label)}</label>{hint_html}'
        f'<textarea id="{ident}" name="{esc(name)}" rows="2"{aria}{invalid}>{esc(value)}'
        f"</textarea>{error_html}</div>"
    )


def actions_section(
    item: ExceptionItem,
    viewer: Viewer,
    subject: str,
    edit_fields: Sequence[FormField],
    choices: Mapping[str, Sequence[str]],
    state: FormState,
) -> str:
    """The forms a user who may act on this item sees; none for a viewer."""
    if not viewer.can_act:
        return (
            '<section aria-labelledby="actions-heading"><h2 id="actions-heading">Actions</h2>'
            '<p class="muted">Your role (viewer) can read the queue but not act on it.</p>'
            "</section>"
        )
    forms = []
    active = item.state in ACTIVE_EXCEPTION_STATES
    if active and item.assignee != subject:
        forms.append(_form("assign", item, viewer, "", "Assign to me", state=state,
                           name="assign"))
    if active:
        retry_label = "Replay from the failed step" if item.kind == "dead_letter" else "Retry"
        forms.append(_form(
            "retry", item, viewer,
            _text_area("note", "retry", "Note (optional)", state),
            retry_label, heading="Retry as it is", state=state, name="retry",
        ))
        edit_values = state.values if state.form == "retry_edit" else {}
        edit_errors = state.errors if state.form == "retry_edit" else {}
        opened = " open" if state.form == "retry_edit" else ""
        forms.append(
            f'<details class="edit"{opened}><summary>Retry with edited input</summary>'
            + _form(
                "retry", item, viewer,
                '<input type="hidden" name="form" value="retry_edit">'
                '<p class="hint">Changes the transaction\'s input before the stopped step '
                "runs again. Empty fields keep their value.</p>"
                + render_fields(edit_fields, edit_values, edit_errors, choices=choices),
                "Retry with these edits", state=state, name="retry_edit",
            )
            + "</details>"
        )
        forms.append(_form(
            "resolve", item, viewer,
            _text_area("note", "resolve", "Reason", state,
                       "Why the transaction is closed as handled outside the flow."),
            "Resolve", heading="Resolve with a reason", state=state, name="resolve",
        ))
        forms.append(_form(
            "dismiss", item, viewer,
            _text_area("note", "dismiss", "Reason (optional)", state),
            "Dismiss and cancel the transaction", heading="Dismiss", css="danger",
            state=state, name="dismiss",
        ))
        if item.compensation and item.compensation.startswith("offered"):
            forms.append(_form(
                "compensate", item, viewer,
                _text_area("note", "compensate", "Note (optional)", state),
                "Run the compensation", heading=item.compensation, css="danger",
                state=state, name="compensate",
            ))
    forms.append(_form(
        "comment", item, viewer,
        _text_area("text", "comment", "Comment", state),
        "Add comment", heading="Comment", state=state, name="comment",
    ))
    return (
        '<section aria-labelledby="actions-heading"><h2 id="actions-heading">Actions</h2>'
        f'<div class="actions">{"".join(forms)}</div></section>'
    )


def exception_page(
    item: ExceptionItem,
    viewer: Viewer,
    subject: str,
    now: datetime,
    *,
    edit_fields: Sequence[FormField],
    choices: Mapping[str, Sequence[str]],
    state: FormState | None = None,
    done: str = "",
) -> str:
    state = state or FormState()
    kind = "Dead letter" if item.kind == "dead_letter" else "Exception"
    crumb = (
        ("/console/dead-letters", "Dead letters")
        if item.kind == "dead_letter"
        else ("/console/exceptions", "Exception queue")
    )
    banner = notice(esc(ACTION_TITLES.get(done, "")), "ok") if done in ACTION_TITLES else ""
    if state.form and state.errors:
        banner += notice("Nothing was changed: correct the highlighted fields.", "error")
    summary = facts([
        ("State", state_badge(item.state)
         + (f" · assigned to {esc(item.assignee)}" if item.assignee else "")),
        ("Class", class_badge(item.error_class) + f" <code>{esc(item.code)}</code>"),
        ("Team", esc(item.owner)),
        ("Step", esc(item.step) + (f" in {esc(item.system)}" if item.system else "")),
        ("Amount", money(item.amount, item.currency)),
        ("Legal entity", esc(item.legal_entity or "—")),
        ("Transaction", f'<a href="/console/transactions/{esc(item.transaction_id)}" '
                        f'class="mono">{esc(item.transaction_id)}</a>'),
        ("Opened", f"{moment(item.created_at)} ({age(item.created_at, now)} ago)"),
        ("Last change", moment(item.updated_at)),
    ] + ([("Compensation", esc(item.compensation))] if item.compensation else []))  # fmt: skip
    findings = "".join(
        f'<li>{class_badge(f.error_class)} <code>{esc(f.code)}</code>'
        + (f' at <code>{esc(f.field)}</code>' if f.field else "")
        + f' <span class="muted">({esc(f.check)} check)</span><p>{esc(f.message)}</p></li>'
        for f in item.findings
    )
    findings = (f'<ul class="findings">{findings}</ul>' if findings
                else '<p class="empty">No validation findings.</p>')  # fmt: skip
    history = table(
        "Each attempt's error",
        ("Attempt", "Class", "Code", "System", "Detail"),
        [(str(n), esc(str(e.get("class", ""))), f"<code>{esc(e.get('code', ''))}</code>",
          esc(e.get("system", "") or "—"), esc(str(e.get("detail", ""))))
         for n, e in enumerate(item.errors, 1)],
        empty="No errors recorded.",
    )  # fmt: skip
    comments = "".join(
        f'<li><p class="meta"><strong>{esc(c.author)}</strong> · {moment(c.at)}</p>'
        f"<p>{esc(c.text)}</p></li>"
        for c in item.comments
    )
    trail = table(
        "Actions taken",
        ("When", "Who", "Action", "Detail"),
        [(moment(a.at), esc(a.actor), esc(a.action), esc(a.detail) or "—")
         for a in item.actions],
        empty="Nobody has acted on this item yet.",
        row_headers=True,
    )  # fmt: skip
    context = json.dumps(item.context, indent=2, sort_keys=True, ensure_ascii=False)
    main = (
        '<nav class="crumbs" aria-label="Breadcrumb">'
        f'<a href="{crumb[0]}">{crumb[1]}</a> &rsaquo; {kind}</nav>'
        f"<h1>{kind} <code>{esc(item.code)}</code></h1>"
        f'<p class="lead">{esc(item.detail)}</p>'
        + banner
        + '<div class="two-col"><div><section aria-labelledby="summary-heading">'
        '<h2 id="summary-heading">Summary</h2>' + summary + "</section>"
        + f'<section aria-labelledby="findings-heading"><h2 id="findings-heading">Why it '
        f"stopped</h2>{findings}</section></div>"
        + actions_section(item, viewer, subject, edit_fields, choices, state)
        + "</div>"
        + '<section aria-labelledby="history-heading"><h2 id="history-heading">Error '
        f"history</h2>{history}</section>"
        + '<section aria-labelledby="comments-heading"><h2 id="comments-heading">Comments '
        f'and actions</h2><ul class="comments">{comments or "<li>No comments.</li>"}</ul>'
        f"{trail}</section>"
        + '<section aria-labelledby="context-heading"><h2 id="context-heading">Context when '
        'it stopped</h2><pre class="context" tabindex="0" aria-label="Context as JSON">'
        f"{esc(context)}</pre></section>"
    )
    return page(f"{kind} {item.code}", main, current="exceptions", viewer=viewer)
