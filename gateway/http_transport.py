"""The upstream HTTP transport: httpx's API over aiohttp's connection handling."""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


class UpstreamTransport(AiohttpTransport):
    """httpx-aiohttp maps a refused connection to ``ConnectTimeout``; a system that
    refuses connections is down, not slow, so restore ``ConnectError`` (503, not 504)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            cause = exc.__cause__
            if isinstance(cause, aiohttp.ClientConnectorError) and not isinstance(
                cause, aiohttp.ServerTimeoutError
            ):
                raise httpx.ConnectError(str(exc), request=request) from cause
            raise

    async def aclose(self) -> None:
        """Close the connections; the next request opens a new session.

        A gateway may go through several ASGI lifespans (test runners start and
        stop one per test), and each shutdown must release its sockets.
        """
        await super().aclose()
        self.client = None
