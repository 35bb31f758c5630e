"""Dead letters: transactions parked after a dependency stayed down past the retry
budget, with every attempt's error, and replay from the failed step."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domains.quote_to_cash.records import ACTIVE_EXCEPTION_STATES, ExceptionItem
from gateway.console.html import (
    PageLinks,
    Viewer,
    age,
    esc,
    hidden,
    moment,
    notice,
    page,
    state_badge,
    table,
)
from gateway.console.views.queue import class_badge


def _history(item: ExceptionItem) -> str:
    rows = "".join(
        f'<tr><th scope="row">{n}</th><td>{esc(e.get("class", ""))}</td>'
        f'<td><code>{esc(e.get("code", ""))}</code></td><td>{esc(e.get("system", "") or "—")}'
        f'</td><td>{esc(str(e.get("detail", "")))}</td></tr>'
        for n, e in enumerate(item.errors, 1)
    )
    return (
        f"<details><summary>{len(item.errors)} attempt(s): error history</summary>"
        f'<table class="history"><caption>Attempts of {esc(item.id)}</caption>'
        '<thead><tr><th scope="col">Attempt</th><th scope="col">Class</th>'
        '<th scope="col">Code</th><th scope="col">System</th><th scope="col">Detail</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></details>"
    )


def _replay(item: ExceptionItem, viewer: Viewer, back: str) -> str:
    if not viewer.can_act or item.state not in ACTIVE_EXCEPTION_STATES:
        return ""
    return (
        f'<form method="post" action="/console/dead-letters/{esc(item.id)}/replay" '
        f'class="inline">{viewer.csrf}{hidden("back", back)}'
        f'<button type="submit" aria-label="Replay {esc(item.transaction_id)} from step '
        f'{esc(item.step)}">Replay</button></form>'
    )


def dead_letters_page(
    items: Sequence[ExceptionItem],
    viewer: Viewer,
    now: datetime,
    *,
    show_all: bool,
    links: PageLinks,
    done: str = "",
    error: str = "",
) -> str:
    back = "/console/dead-letters" + ("?state=all" if show_all else "")
    rows = [
        (
            f'<a href="/console/exceptions/{esc(i.id)}">{esc(i.code)}</a>'
            f'<span class="sub">{esc(i.detail[:200])}</span>',
            f'<a href="/console/transactions/{esc(i.transaction_id)}" class="mono">'
            f"{esc(i.transaction_id)}</a><br>"
            f'<span class="muted">step {esc(i.step)} in {esc(i.system or "—")}</span>',
            class_badge(i.error_class),
            esc(i.owner),
            state_badge(i.state),
            f'{moment(i.created_at)}<br><span class="muted">{age(i.created_at, now)} ago</span>',
            _history(i),
            _replay(i, viewer, back),
        )
        for i in items
    ]
    toggle = (
        '<a href="/console/dead-letters">Only those waiting for a replay</a>'
        if show_all
        else '<a href="/console/dead-letters?state=all">Include replayed and closed ones</a>'
    )
    nav = links.nav("Pages of dead letters")
    banner = notice(esc(done), "ok") if done else ""
    banner += notice(esc(error), "error") if error else ""
    main = (
        "<h1>Dead letters</h1>"
        '<p class="lead">Transactions whose step kept failing on a system that was down or '
        "slow until the retry budget ran out. Replay continues from the failed step; "
        "completed steps and their writes are never repeated.</p>"
        + banner
        + f"<p>{toggle}</p>"
        + table(
            "Dead letters, oldest first",
            ("Dead letter", "Transaction", "Class", "Team", "State", "Parked", "Errors",
             "Action"),
            rows,
            css="dead-letters",
            empty="No dead letters: every transaction got through its retries.",
        )
        + nav
    )
    return page("Dead letters", main, current="dead-letters", viewer=viewer)
