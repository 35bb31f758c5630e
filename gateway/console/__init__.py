"""The operations console at /console: pages for the people who own quote-to-cash
exceptions, behind an OpenID Connect sign-in.

``console_router`` mounts the sign-in routes (signin.py) and the pages
(``gateway.console.pages.PAGE_HANDLERS``, or ``page_handlers(settings, runtime)``
there) on one router whose guard every console request passes and whose
``user`` dependency is the signed-in ``ConsoleUser`` (auth.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from litestar import Router
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers import BaseRouteHandler
from litestar.middleware import DefineMiddleware

from gateway.console.auth import signed_in_user
from gateway.console.config import ConsoleConfig, callback_urls
from gateway.console.oidc import (
    HttpProvider,
    LocalProvider,
    Provider,
    ProviderMetadata,
    ProviderUnavailable,
)
from gateway.console.signin import Answered, ConsoleSignIn, SessionCookies, answered

if TYPE_CHECKING:
    # The settings import this package's config: the composition root is imported
    # lazily, and so are the pages (which may import anything).
    from gateway.settings import Settings
    from gateway.wiring import Runtime

__all__ = ["ConsoleConfig", "console_router"]


class _NoProvider:
    """No console.issuer and no built-in issuer: sign-in explains itself (503)."""

    issuer = ""

    async def metadata(self) -> ProviderMetadata:
        raise ProviderUnavailable("no identity provider: set console.issuer or enable "
                                  "auth.builtin_issuer")

    async def redeem(self, code: str, redirect_uri: str, verifier: str) -> str:
        raise ProviderUnavailable("no identity provider")

    async def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        raise ProviderUnavailable("no identity provider")


def _provider(settings: Settings, runtime: Runtime) -> Provider:
    from gateway.settings import secret

    config = settings.console
    if config.issuer is not None:
        client_secret = None
        if config.client_secret_env is not None:
            client_secret = secret(config.client_secret_env, "console.client_secret_env")
        return HttpProvider(config, runtime.http, client_secret=client_secret,
                            clock=lambda: runtime.clock())
    if runtime.openid_provider is not None:
        return LocalProvider(runtime.openid_provider, config, clock=lambda: runtime.clock())
    return _NoProvider()


def sign_in(settings: Settings, runtime: Runtime) -> ConsoleSignIn:
    """The console's sign-in flow and session guard over the runtime's stores."""
    assert runtime.console_sessions is not None
    assert runtime.console_signer is not None
    return ConsoleSignIn(
        settings.console,
        provider=_provider(settings, runtime),
        sessions=runtime.console_sessions,
        signer=runtime.console_signer,
        audit=runtime.audit_store if settings.audit.enabled else None,
        callback_urls=callback_urls(settings.server.origin()),
        clock=lambda: runtime.clock(),
    )


def _absolute(handler: Any) -> bool:
    paths = getattr(handler, "paths", None) or {getattr(handler, "path", "")}
    return all(str(path).startswith("/console") for path in paths)


def console_router(settings: Settings, runtime: Runtime) -> Router:
    """Every console route on one router: sign-in, then the pages. Page handlers may
    name their paths in full (``/console/exceptions``) or below /console
    (``/exceptions``)."""
    from gateway.console import pages

    flow = sign_in(settings, runtime)
    factory = getattr(pages, "page_handlers", None)
    page_routes = list(factory(settings, runtime) if callable(factory) else pages.PAGE_HANDLERS)
    handlers: list[Any] = [*flow.routes(), *page_routes]
    below = [handler for handler in handlers if not _absolute(handler)]
    mounted = [handler for handler in handlers if _absolute(handler)]
    if below:
        mounted.append(Router(path="/console", route_handlers=below))

    # A function, not the bound method: Litestar deep-copies routers as it mounts them,
    # and the sign-in flow holds clients and locks that must stay shared.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any],
                    handler: BaseRouteHandler) -> None:
        await flow.guard(connection, handler)

    return Router(
        path="/",
        route_handlers=mounted,
        guards=[guard],
        dependencies={"user": Provide(signed_in_user, sync_to_thread=False)},
        exception_handlers={Answered: answered},
        middleware=[DefineMiddleware(cast("Any", SessionCookies))],
        include_in_schema=False,
    )

