"""The console's pages: a placeholder home until the real pages replace this module.

Handlers here are mounted by ``gateway.console.console_router`` behind the sign-in
guard: declare ``user: Injected[ConsoleUser]`` to get the signed-in user (Litestar
2.23+ warns about a dependency named by a plain annotation, and warnings fail the
tests), and put ``csrf_input(request)`` in every form that posts (the guard checks
it). Pages include ``SESSION_SCRIPT`` in their head (see auth.py). Paths may be given
in full (``/console/...``) or below /console.
"""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request, Response, get

from gateway.console.auth import SESSION_SCRIPT, ConsoleUser, csrf_input
from gateway.console.signin import html
from gateway.routes.dependencies import Injected
from policies.auth.signin_page import page


@get("/console", include_in_schema=False)
async def home(request: Request[Any, Any, Any], user: Injected[ConsoleUser]) -> Response[str]:
    body = (
        "<h1>Operations console</h1>"
        f"<p>Signed in as {escape(user.name)} ({escape(user.role)}, tenant "
        f"{escape(user.tenant)})</p>"
        f'<form method="post" action="/console/logout">{csrf_input(request)}'
        '<button type="submit">Sign out</button></form>'
    )
    return html(page("Operations console", body, head=SESSION_SCRIPT))


PAGE_HANDLERS: list[Any] = [home]
