"""Who is signed in to the console, and the anti-forgery token of their forms.

What page handlers use: declare a parameter ``user: Injected[ConsoleUser]`` (the
console router provides it, after its guard has sent anyone without a session to
sign in; ``Injected`` is gateway.routes.dependencies'), and put
``csrf_input(request)`` in every form that posts. The guard checks that token on
every unsafe request under /console, so handlers need not (signin.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import NotAuthorizedException

from gateway.console.config import Role

__all__ = ["SESSION_SCRIPT", "ConsoleUser", "Role", "csrf_input", "csrf_value"]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SCOPE_KEY = "q2c.console"
SESSION_SCRIPT_PATH = "/console/auth/session.js"
# Put in the <head> of every console page: a page the browser restores from its
# back/forward cache (Chromium keeps even no-store pages there) asks the server again,
# so after signing out "back" shows the sign-in form, not the last page.
SESSION_SCRIPT = f'<script src="{SESSION_SCRIPT_PATH}" defer></script>'


class ConsoleUser(msgspec.Struct, frozen=True, kw_only=True):
    """A person signed in to the console, as their identity provider's claims say."""

    subject: str  # the provider's ``sub``: stable, what actions are recorded under
    name: str
    tenant: str  # they see this tenant's transactions and exceptions only
    teams: tuple[str, ...]
    role: Role

    @property
    def can_act(self) -> bool:
        """Operators and admins act on exceptions; viewers only look."""
        return self.role in ("operator", "admin")

    def sees_team(self, team: str) -> bool:
        """Admins see every team's exceptions; others those routed to their teams."""
        return self.role == "admin" or team in self.teams


@dataclass(slots=True)
class ConsoleRequest:
    """What the console's guard learned about one request (kept in its ASGI scope)."""

    user: ConsoleUser | None = None
    session_hash: str = ""
    csrf: str = ""
    # A Set-Cookie header value to add to the response (the session slid on).
    set_cookie: str | None = None


def console_request(scope: Any) -> ConsoleRequest:
    """The request's console state, created empty on first access."""
    state = scope.get(_SCOPE_KEY)
    if state is None:
        state = scope[_SCOPE_KEY] = ConsoleRequest()
    assert isinstance(state, ConsoleRequest)
    return state


def csrf_value(request: Request[Any, Any, Any]) -> str:
    """The signed-in session's anti-forgery token ("" without a session)."""
    return console_request(request.scope).csrf


def csrf_input(request: Request[Any, Any, Any]) -> str:
    """The hidden form field carrying ``csrf_value``."""
    return (f'<input type="hidden" name="{CSRF_FIELD}" '
            f'value="{escape(csrf_value(request), quote=True)}">')


def signed_in_user(request: Request[Any, Any, Any]) -> ConsoleUser:
    """The ``user`` dependency of console handlers."""
    user = console_request(request.scope).user
    if user is None:  # the guard sends these to sign in; a public route asked for a user
        raise NotAuthorizedException("sign in to the console")
    return user
