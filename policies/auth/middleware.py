"""Pure-ASGI bearer authentication and per-operation scope enforcement.

Runs after routing, so the matched handler's ``opt`` tells it what the operation
needs: public operations (and handlers without a declaration, such as the docs)
pass untouched; every other call needs a valid token with all declared scopes.
The verifier is built once per process and shared, because Litestar builds one
middleware instance per route.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from policies.asgi import ASGIApp, Receive, Scope, Send, send_problem
from policies.auth.verifier import AuthFailure, TokenVerifier
from policies.consumer import ANONYMOUS, DEFAULT_TENANT, Consumer
from policies.context import request_context
from policies.route import route_policy

_UNSAFE = re.compile(r'[^\x20\x21\x23-\x5B\x5D-\x7E]')  # RFC 6750 error_description charset
_TITLES = {
    "TOKEN_MISSING": "Authentication required",
    "TOKEN_INVALID": "Invalid access token",
    "TOKEN_EXPIRED": "Access token expired",
    "DEPENDENCY_UNAVAILABLE": "Identity provider unavailable",
}


def _quoted(text: str) -> str:
    return _UNSAFE.sub("", text)[:200]


class AuthMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: TokenVerifier,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.verifier = verifier
        # Called with the failure code (TOKEN_MISSING, TOKEN_EXPIRED, INSUFFICIENT_SCOPE...)
        # so metrics can count auth failures by reason.
        self._on_failure = on_failure
        config = verifier.config
        self._enabled = config.enabled
        self._realm = f'Bearer realm="{_quoted(config.realm)}"'
        self._anonymous = Consumer(
            client_id=ANONYMOUS, tenant=config.default_tenant or DEFAULT_TENANT, plan=ANONYMOUS
        )
        self._missing = [(b"www-authenticate", self._realm.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = route_policy(scope)
        if policy is None or policy.get("public"):
            await self.app(scope, receive, send)
            return
        if not self._enabled:
            request_context(scope).consumer = self._anonymous
            await self.app(scope, receive, send)
            return
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                if value[:7].lower() == b"bearer ":
                    token = value[7:].strip()
                break
        if not token:
            self._failed("TOKEN_MISSING")
            await send_problem(
                scope, send, status=401, code="TOKEN_MISSING", kind="unauthorized",
                title=_TITLES["TOKEN_MISSING"],
                detail="Send an access token as 'Authorization: Bearer <token>'.",
                headers=self._missing,
            )
            return
        verifier = self.verifier
        consumer = verifier.cached(token)
        if consumer is None:
            try:
                consumer = await verifier.verify(token)
            except AuthFailure as failure:
                await self._reject(scope, send, failure)
                return
        request_context(scope).consumer = consumer
        required = policy.get("scopes")
        if required:
            granted = consumer.scopes
            for needed in required:
                if needed not in granted:
                    await self._forbid(scope, send, required, granted)
                    return
        await self.app(scope, receive, send)

    def _failed(self, reason: str) -> None:
        if self._on_failure is not None:
            self._on_failure(reason)

    async def _reject(self, scope: Scope, send: Send, failure: AuthFailure) -> None:
        self._failed(failure.code)
        if failure.status == 503:
            await send_problem(
                scope, send, status=503, code=failure.code, kind="dependency_unavailable",
                title=_TITLES[failure.code], detail=failure.description, retryable=True,
                headers=[(b"retry-after", b"5")],
            )
            return
        challenge = (f'{self._realm}, error="invalid_token", '
                     f'error_description="{_quoted(failure.description)}"')
        await send_problem(
            scope, send, status=401, code=failure.code, kind="unauthorized",
            title=_TITLES.get(failure.code, "Unauthorized"),
            detail=f"The access token was rejected: {failure.description}.",
            headers=[(b"www-authenticate", challenge.encode())],
        )

    async def _forbid(
        self, scope: Scope, send: Send, required: tuple[str, ...], granted: frozenset[str]
    ) -> None:
        missing = [name for name in required if name not in granted]
        self._failed("INSUFFICIENT_SCOPE")
        challenge = (f'{self._realm}, error="insufficient_scope", '
                     f'error_description="missing scope {_quoted(" ".join(missing))}", '
                     f'scope="{_quoted(" ".join(required))}"')
        await send_problem(
            scope, send, status=403, code="INSUFFICIENT_SCOPE", kind="forbidden",
            title="Insufficient scope",
            detail=f"This operation needs scope(s) {', '.join(missing)}, which the access "
                   "token does not grant.",
            headers=[(b"www-authenticate", challenge.encode())],
        )
