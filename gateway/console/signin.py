"""Signing in to the console and staying signed in: the OpenID Connect authorization
code flow with PKCE, the session cookie, the guard every console route passes, and
signing out.

``GET /console/login`` sends the browser to the provider with a fresh state, nonce
and PKCE verifier (kept in a short-lived signed cookie); ``GET /console/callback``
checks the state, redeems the code, verifies the ID token and starts a session;
``POST /console/logout`` ends it. The guard (a before-request hook on the console
router) finds the session behind the cookie, slides its idle timeout, sends
anyone without one to sign in, and refuses unsafe requests whose CSRF token is
not the session's.
"""

from __future__ import annotations

import base64
import logging
import secrets
import time
from collections.abc import Callable
from html import escape
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit

import msgspec
from litestar import Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.enums import MediaType
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.response import Redirect

from gateway.console.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_SCRIPT_PATH,
    ConsoleUser,
    console_request,
)
from gateway.console.config import ConsoleConfig
from gateway.console.oidc import Provider, ProviderUnavailable, SignInFailed, user_from_claims
from gateway.console.sessions import (
    ConsoleSessionStore,
    CookieSigner,
    SessionRecord,
    new_session_id,
    session_hash,
)
from policies.asgi import ASGIApp, Message, Receive, Scope, Send
from policies.audit import AuditStore
from policies.audit.entry import make_entry, record
from policies.auth.config import is_loopback
from policies.auth.idp import s256
from policies.auth.signin_page import STYLE_HASH, page
from policies.context import request_context
from policies.problems import problem_json

log = logging.getLogger("q2c.console")

SESSION_COOKIE = "q2c_console_session"
LOGIN_COOKIE = "q2c_console_login"
LOGIN_SECONDS = 600  # from leaving for the provider to coming back
PUBLIC = "console_public"  # opt of routes that need no session
HOME = "/console"
_SAFE = frozenset({"GET", "HEAD"})
_NOT_NEXT = ("/console/login", "/console/callback", "/console/logout")
HEADERS = {
    "content-security-policy": (
        f"default-src 'self'; style-src 'self' 'sha256-{STYLE_HASH}'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


# A page restored from the back/forward cache is asked for again: the server decides
# whether its session still holds.
_RESTORED = (
    "addEventListener('pageshow', function (event) {\n"
    "  if (event.persisted) { location.reload(); }\n"
    "});\n"
)


class LoginState(msgspec.Struct, frozen=True, array_like=True):
    """What the browser carries to the provider and back, signed, in LOGIN_COOKIE."""

    state: str
    nonce: str
    verifier: str
    redirect_uri: str
    next: str
    started: float


_login_encoder = msgspec.json.Encoder()
_login_decoder = msgspec.json.Decoder(LoginState)


def safe_next(value: str | None) -> str:
    """A page of the console to land on: a path under /console, never elsewhere
    (``//host``, ``https://host``, backslashes and control characters are refused)."""
    if not value or len(value) > 1000 or "\\" in value or not value.isprintable():
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/"):
        return HOME
    if parts.path != HOME and not parts.path.startswith(HOME + "/"):
        return HOME
    if parts.path.startswith(_NOT_NEXT) or ".." in parts.path.split("/"):
        return HOME
    return value


def html(body: str, status: int = 200, cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(content=body, status_code=status, media_type=MediaType.HTML,
                    headers=dict(HEADERS), cookies=cookies)


def message(title: str, text: str, *, link: tuple[str, str] | None = None) -> str:
    more = f'<p><a href="{escape(link[0])}">{escape(link[1])}</a></p>' if link else ""
    return page(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{more}")


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept", "")
    return "json" in accept and "text/html" not in accept


class Answered(Exception):
    """The guard's answer instead of the handler's (a redirect to sign in, a refusal)."""

    def __init__(self, response: Response[Any]) -> None:
        super().__init__(response.status_code)
        self.response = response


def answered(_: Request[Any, Any, Any], exc: Answered) -> Response[Any]:
    return exc.response


class SessionCookies:
    """Adds the Set-Cookie the guard decided on (a session that slid on) to the
    response, unless the handler set the session cookie itself; every console
    response is ``no-store`` unless it says otherwise, so a page is not shown from
    the cache after signing out."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = console_request(scope)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                names = {name.lower() for name, _ in headers}
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                refresh = state.set_cookie
                cookie_prefix = SESSION_COOKIE.encode() + b"="
                sets_own = any(name.lower() == b"set-cookie" and value.startswith(cookie_prefix)
                               for name, value in headers)
                if refresh is not None and not sets_own:
                    headers.append((b"set-cookie", refresh.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)


class ConsoleSignIn:
    """The console's sign-in flow and session guard, over a provider and a store."""

    def __init__(
        self,
        config: ConsoleConfig,
        *,
        provider: Provider,
        sessions: ConsoleSessionStore,
        signer: CookieSigner,
        audit: AuditStore | None,
        callback_urls: tuple[str, ...],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.provider = provider
        self.sessions = sessions
        self.signer = signer
        self.audit = audit
        self.callback_urls = callback_urls
        self.clock = clock
        # Activity is written at most this often per session (a request a second
        # would otherwise be a write a second).
        self._touch_every = min(60.0, config.idle_timeout_seconds / 10)

    # -- the guard -------------------------------------------------------------------

    async def guard(self, connection: ASGIConnection[Any, Any, Any, Any],
                    handler: BaseRouteHandler) -> None:
        """A Litestar guard on the console router (guards of every layer run, so a
        page cannot opt out by accident): the session, then who may go on. Raises
        ``Answered`` with the response for those who may not."""
        assert isinstance(connection, Request)
        request: Request[Any, Any, Any] = connection
        if request.method == "OPTIONS":
            return  # the methods a path serves are no secret
        await self.signer.ready()
        state = console_request(request.scope)
        user = await self._session(request)
        public = bool(handler.opt.get(PUBLIC))
        if request.method in _SAFE:
            if user is None and not public:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise Answered(Redirect(f"/console/login?{urlencode({'next': target})}",
                                        status_code=303))
            return
        if user is None:
            if public:
                return
            raise Answered(self._refused(
                request, 401, "SESSION_REQUIRED", "Signed out",
                "Your console session has ended. Sign in again and repeat what you were doing."))
        sent = request.headers.get(CSRF_HEADER)
        if sent is None:
            form = await request.form()
            values = form.getall(CSRF_FIELD) if CSRF_FIELD in form else []
            sent = values[0] if len(values) == 1 and isinstance(values[0], str) else None
        if sent is None or not secrets.compare_digest(sent.encode(), state.csrf.encode()):
            log.info("console: CSRF token %s on %s %s", "missing" if sent is None else "wrong",
                     request.method, request.url.path)
            raise Answered(self._refused(
                request, 403, "CSRF_TOKEN_INVALID", "Request refused",
                "This form expired or did not come from the console. Go back, reload the page "
                "and try again."))

    def _refused(self, request: Request[Any, Any, Any], status: int, code: str, title: str,
                 text: str) -> Response[Any]:
        if _wants_json(request):
            body = problem_json(cast("Scope", request.scope), status=status, code=code,
                                title=title, detail=text,
                                kind="forbidden" if status == 403 else "unauthorized")
            return Response(content=body, status_code=status,
                            media_type="application/problem+json", headers=dict(HEADERS))
        return html(message(title, text, link=("/console/login", "Sign in")), status)

    async def _session(self, request: Request[Any, Any, Any]) -> ConsoleUser | None:
        state = console_request(request.scope)
        session_id = self.signer.unsign("session", request.cookies.get(SESSION_COOKIE))
        if session_id is None:
            return None
        key = session_hash(session_id)
        found = await self.sessions.get(key)
        now = self.clock()
        if (found is None or found.revoked_at is not None or now >= found.expires_at
                or now >= found.last_seen_at + self.config.idle_timeout_seconds
                or found.issuer != self.provider.issuer):
            # The browser may forget a cookie that no longer opens anything.
            state.set_cookie = self._cookie(request, SESSION_COOKIE, "", 0).to_header(header="")
            return None
        if now - found.last_seen_at >= self._touch_every:
            await self.sessions.touch(key, now)
            state.set_cookie = self._session_cookie(request, session_id, found).to_header(
                header="")
        state.user, state.session_hash = found.user, key
        state.csrf = self.signer.mac("csrf", session_id)
        return found.user

    def _session_cookie(self, request: Request[Any, Any, Any], session_id: str,
                        record: SessionRecord | None) -> Cookie:
        now = self.clock()
        max_age = self.config.idle_timeout_seconds
        if record is not None:
            max_age = int(min(max_age, record.expires_at - now))
        return self._cookie(request, SESSION_COOKIE, self.signer.sign("session", session_id),
                            max_age)

    def _cookie(self, request: Request[Any, Any, Any], name: str, value: str,
                max_age: int) -> Cookie:
        # Secure everywhere but on this machine, where the gateway speaks plain http.
        host = request.url.hostname or ""
        return Cookie(key=name, value=value, path=HOME, max_age=max(max_age, 0),
                      httponly=True, secure=not is_loopback(host), samesite="lax")

    # -- the routes ------------------------------------------------------------------

    def routes(self) -> list[HTTPRouteHandler]:
        opt = {PUBLIC: True}

        @get("/console/login", include_in_schema=False, opt=opt)
        async def login(request: Request[Any, Any, Any]) -> Response[Any]:
            target = safe_next(request.query_params.get("next"))
            if console_request(request.scope).user is not None:
                return Redirect(target, status_code=303)
            try:
                meta = await self.provider.metadata()
            except ProviderUnavailable as down:
                log.warning("console: identity provider unavailable: %s", down)
                return html(message("Sign-in unavailable", "The identity provider cannot be "
                                    "reached right now. Try again in a minute.",
                                    link=(f"/console/login?{urlencode({'next': target})}",
                                          "Try again")), 503)
            login_state = LoginState(
                state=secrets.token_urlsafe(24), nonce=secrets.token_urlsafe(24),
                verifier=secrets.token_urlsafe(64), redirect_uri=self._redirect_uri(request),
                next=target, started=self.clock(),
            )
            params = {
                "response_type": "code", "client_id": self.config.client_id,
                "redirect_uri": login_state.redirect_uri, "scope": " ".join(self.config.scopes),
                "state": login_state.state, "nonce": login_state.nonce,
                "code_challenge": s256(login_state.verifier), "code_challenge_method": "S256",
            }
            encoded = base64.urlsafe_b64encode(_login_encoder.encode(login_state)).decode()
            encoded = encoded.rstrip("=")  # cookie values stay unquoted
            cookie = self._cookie(request, LOGIN_COOKIE, self.signer.sign("login", encoded),
                                  LOGIN_SECONDS)
            separator = "&" if urlsplit(meta.authorization_endpoint).query else "?"
            return Redirect(meta.authorization_endpoint + separator + urlencode(params),
                            status_code=303, cookies=[cookie])

        @get("/console/callback", include_in_schema=False, opt=opt)
        async def callback(request: Request[Any, Any, Any]) -> Response[Any]:
            return await self._callback(request)

        @post("/console/logout", include_in_schema=False, opt=opt, status_code=303)
        async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
            state = console_request(request.scope)
            if state.user is not None:
                await self.sessions.revoke(state.session_hash, self.clock())
                await self._audit(request, "console.sign_out", 303, state.user.tenant,
                                  state.user.subject)
            state.set_cookie = None
            gone = self._cookie(request, SESSION_COOKIE, "", 0)
            return Redirect("/console/signed-out", status_code=303, cookies=[gone])

        @get("/console/signed-out", include_in_schema=False, opt=opt)
        async def signed_out() -> Response[str]:
            return html(message("Signed out", "You have signed out of the operations console.",
                                link=("/console/login", "Sign in again")))

        @get(SESSION_SCRIPT_PATH, include_in_schema=False, opt=opt)
        async def session_script() -> Response[str]:
            return Response(content=_RESTORED, media_type="text/javascript",
                            headers={"cache-control": "public, max-age=3600",
                                     "x-content-type-options": "nosniff"})

        return [login, callback, logout, signed_out, session_script]

    def _redirect_uri(self, request: Request[Any, Any, Any]) -> str:
        """The callback on the host the browser used, when that is one of ours (its
        cookies belong to that host), else the first."""
        origin = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
        return next((uri for uri in self.callback_urls if uri.lower().startswith(origin + "/")),
                    self.callback_urls[0])

    async def _callback(self, request: Request[Any, Any, Any]) -> Response[Any]:
        gone = self._cookie(request, LOGIN_COOKIE, "", 0)
        try:
            user, target = await self._complete(request)
        except SignInFailed as failed:
            await self._audit(request, "console.sign_in_failed", 400, "-", "-")
            log.info("console: sign-in failed: %s", failed)
            return html(message("Sign-in failed", f"You are not signed in: {failed}.",
                                link=("/console/login", "Start again")), 400, cookies=[gone])
        except ProviderUnavailable as down:
            log.warning("console: identity provider unavailable: %s", down)
            return html(message("Sign-in unavailable", "The identity provider cannot be "
                                "reached right now. Try again in a minute.",
                                link=("/console/login", "Start again")), 503, cookies=[gone])
        session_id = new_session_id()
        now = self.clock()
        created = SessionRecord(user=user, issuer=self.provider.issuer, created_at=now,
                                last_seen_at=now,
                                expires_at=now + self.config.absolute_timeout_seconds)
        await self.sessions.create(session_hash(session_id), created)
        await self._audit(request, "console.sign_in", 303, user.tenant, user.subject)
        session = self._session_cookie(request, session_id, created)
        return Redirect(target, status_code=303, cookies=[session, gone])

    async def _complete(self, request: Request[Any, Any, Any]) -> tuple[ConsoleUser, str]:
        raw = request.scope.get("query_string", b"").decode("latin-1")
        params: dict[str, str] = {}
        for name, value in parse_qsl(raw, keep_blank_values=True, max_num_fields=20):
            if name in params:
                raise SignInFailed(f"the provider's answer repeats {name[:20]}")
            params[name] = value
        login = self._login_state(request)
        if login is None:
            raise SignInFailed("the sign-in took too long or started in another browser")
        if not secrets.compare_digest(params.get("state", "").encode(), login.state.encode()):
            raise SignInFailed("the answer is not for the sign-in this browser started")
        meta = await self.provider.metadata()
        # RFC 9207: a provider that names itself must be the one we sent the user to.
        if "iss" in params and params["iss"].rstrip("/") != meta.issuer.rstrip("/"):
            raise SignInFailed("the answer came from another identity provider")
        if "error" in params:
            error = params["error"][:60]
            raise SignInFailed(f"the identity provider said {error}")
        code = params.get("code")
        if not code:
            raise SignInFailed("the identity provider sent no authorization code")
        id_token = await self.provider.redeem(code, login.redirect_uri, login.verifier)
        claims = await self.provider.verify(id_token, login.nonce)
        return user_from_claims(claims, self.config), login.next

    def _login_state(self, request: Request[Any, Any, Any]) -> LoginState | None:
        encoded = self.signer.unsign("login", request.cookies.get(LOGIN_COOKIE))
        if encoded is None:
            return None
        try:
            padded = encoded + "=" * (-len(encoded) % 4)
            login = _login_decoder.decode(base64.urlsafe_b64decode(padded))
        except (msgspec.DecodeError, ValueError):
            return None
        if not 0 <= self.clock() - login.started <= LOGIN_SECONDS:
            return None
        return login

    async def _audit(self, request: Request[Any, Any, Any], operation: str, status: int,
                     tenant: str, subject: str) -> None:
        if self.audit is None:
            return
        scope: Any = request.scope
        entry = make_entry(
            tenant=tenant, consumer=f"user:{subject}", operation=operation, status=status,
            method=request.method, route=request.url.path,
            trace_id=request_context(scope).trace_id,
        )
        await record(self.audit, entry)

