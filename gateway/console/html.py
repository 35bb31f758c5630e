"""The console's page frame and small HTML building blocks.

Every dynamic value goes through ``esc``; helpers take already-built HTML fragments
(``str``) and escape only the text arguments they are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

from litestar import Response
from litestar.enums import MediaType

from gateway.console.auth import SESSION_SCRIPT

STATIC = "/console/static"
NAV = (
    ("exceptions", "/console/exceptions", "Exception queue"),
    ("dead-letters", "/console/dead-letters", "Dead letters"),
    ("transactions", "/console/transactions", "Transactions"),
    ("dashboards", "/console/dashboards", "Dashboards"),
)
# Nothing is loaded from elsewhere; no inline script or style (charts use SVG
# presentation attributes, which CSP does not treat as styles).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    # Pages show one user's view of live data: never kept by a shared cache.
    "cache-control": "no-store",
}


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who the page is rendered for: the frame shows them, forms carry their token."""

    name: str
    role: str
    teams: tuple[str, ...]
    csrf: str  # the hidden input every form carries
    can_act: bool = False
    tenant: str = ""


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def page(
    title: str,
    main: str,
    *,
    current: str,
    viewer: Viewer,
    scripts: tuple[str, ...] = (),
) -> str:
    """A complete page: skip link, banner with navigation and the signed-in user, main
    landmark, footer."""
    links = []
    for key, href, label in NAV:
        attrs = ' aria-current="page"' if key == current else ""
        links.append(f'<li><a href="{href}"{attrs}>{esc(label)}</a></li>')
    script_tags = "".join(f'<script src="{esc(src)}" defer></script>' for src in scripts)
    teams = ", ".join(viewer.teams) if viewer.role != "admin" else "all teams"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · Q2C operations console</title>"
        f'<link rel="icon" href="{STATIC}/favicon.svg" type="image/svg+xml">'
        f'<link rel="stylesheet" href="{STATIC}/console.css">{SESSION_SCRIPT}{script_tags}'
        "</head>"
        '<body><a class="skip-link" href="#main">Skip to main content</a>'
        '<header class="site-header"><div class="bar">'
        '<a class="brand" href="/console/exceptions">Q2C <span>operations console</span></a>'
        '<nav aria-label="Console"><ul>' + "".join(links) + "</ul></nav>"
        f'<div class="who"><span class="who-name">Signed in as {esc(viewer.name)} '
        f"({esc(viewer.role)}, tenant {esc(viewer.tenant)})</span> "
        f'<span class="who-role">{esc(teams)}</span>'
        f'<form method="post" action="/console/logout" class="inline">{viewer.csrf}'
        '<button type="submit" class="link-button">Sign out</button></form></div>'
        "</div></header>"
        f'<main id="main" tabindex="-1">{main}</main>'
        '<footer class="site-footer"><p>Q2C Gateway operations console · served by the '
        "gateway, no external assets</p></footer></body></html>"
    )


def html(content: str, status: int = 200) -> Response[str]:
    return Response(
        content=content, status_code=status, media_type=MediaType.HTML, headers=PAGE_HEADERS
    )


def badge(label: str, tone: str) -> str:
    return f'<span class="badge badge-{esc(tone)}">{esc(label)}</span>'


STATE_TONES = {
    "open": "bad",
    "assigned": "warn",
    "resolved": "ok",
    "dismissed": "muted",
    # transactions
    "accepted": "info",
    "running": "info",
    "awaiting_fulfilment": "info",
    "awaiting_payment": "info",
    "exception": "bad",
    "dead_lettered": "bad",
    "needs_attention": "bad",
    "completed": "ok",
    "cancelled": "muted",
    "closed": "muted",
    # steps and SLA
    "succeeded": "ok",
    "failed": "bad",
    "waiting": "info",
    "skipped": "muted",
    "met": "ok",
    "breached": "bad",
    "not_started": "muted",
}


def state_badge(state: str) -> str:
    return badge(state.replace("_", " "), STATE_TONES.get(state, "info"))


def table(
    caption: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    css: str = "",
    empty: str = "Nothing to show.",
    row_headers: bool = True,
) -> str:
    """A data table in a keyboard-scrollable region; ``rows`` hold HTML fragments."""
    if not rows:
        return f'<p class="empty">{esc(empty)}</p>'
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    body = []
    for row in rows:
        first = f'<th scope="row">{row[0]}</th>' if row_headers else f"<td>{row[0]}</td>"
        body.append("<tr>" + first + "".join(f"<td>{cell}</td>" for cell in row[1:]) + "</tr>")
    return (
        f'<div class="table-wrap" role="region" aria-label="{esc(caption)}" tabindex="0">'
        f'<table class="{esc(css)}"><caption>{esc(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def notice(text_html: str, tone: str = "info") -> str:
    role = "alert" if tone == "error" else "status"
    return f'<div class="notice notice-{esc(tone)}" role="{role}">{text_html}</div>'


def facts(pairs: Sequence[tuple[str, str]]) -> str:
    """A definition list; values are HTML fragments."""
    items = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in pairs)
    return f'<dl class="facts">{items}</dl>'


def moment(stamp: str | None) -> str:
    """An RFC 3339 timestamp as a readable UTC time in a <time> element."""
    if not stamp:
        return '<span class="muted">—</span>'
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return esc(stamp)
    return f'<time datetime="{esc(stamp)}">{when:%Y-%m-%d %H:%M:%S} UTC</time>'


def duration(seconds: float | None) -> str:
    """Seconds as the largest sensible unit: 850 ms, 42 s, 12 min, 5.5 h, 3.2 d."""
    if seconds is None:
        return "—"
    value = abs(seconds)
    if value < 1:
        text = f"{value * 1000:.0f} ms"
    elif value < 90:
        text = f"{value:.1f} s" if value < 10 else f"{value:.0f} s"
    elif value < 90 * 60:
        text = f"{value / 60:.0f} min"
    elif value < 48 * 3600:
        text = f"{value / 3600:.1f} h"
    else:
        text = f"{value / 86400:.1f} d"
    return ("-" if seconds < 0 else "") + text


def age(stamp: str, now: datetime) -> str:
    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "—"
    return duration(max(0.0, (now - then).total_seconds()))


def money(amount: str | None, currency: str | None) -> str:
    if amount is None:
        return '<span class="muted">—</span>'
    return f'<span class="num">{esc(amount)}</span> {esc(currency or "")}'.rstrip()


def percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"


@dataclass(frozen=True, slots=True)
class PageLinks:
    """Where a paged list's first and next pages are (None: there is none)."""

    first: str | None = None
    next: str | None = None

    @classmethod
    def of(cls, base: str, cursor: str | None, following: str | None) -> PageLinks:
        """``base`` is the list's URL with its filters; ``following`` the next cursor."""
        join = "&" if "?" in base else "?"
        return cls(
            first=base if cursor else None,
            next=f"{base}{join}cursor={following}" if following else None,
        )

    def nav(self, label: str) -> str:
        links = [
            f'<a href="{esc(href)}"{rel}>{text}</a>'
            for href, text, rel in ((self.first, "First page", ""),
                                    (self.next, "Next page", ' rel="next"'))
            if href
        ]  # fmt: skip
        if not links:
            return ""
        return f'<nav class="paging" aria-label="{esc(label)}">{" ".join(links)}</nav>'


def hidden(name: str, value: Any) -> str:
    return f'<input type="hidden" name="{esc(name)}" value="{esc(value)}">'
