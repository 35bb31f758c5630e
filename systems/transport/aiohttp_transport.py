"""Systems of record over the network through one pooled aiohttp session.

This is the gateway's hot path: one governed GET is one call here, so it uses
aiohttp's own client directly rather than behind httpx's request and response
objects (bench/upstream_client.py measures the difference). aiohttp's exceptions
become the transport port's three kinds in ``send``, and nowhere else.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping

import aiohttp
from yarl import URL

from systems.transport.port import (
    ConnectError,
    TimeBudget,
    TransportError,
    TransportTimeout,
    UpstreamResponse,
)


class AiohttpTransport:
    """One ``aiohttp.ClientSession`` for every system of record reached over the network.

    The session is opened on first use, inside the running event loop, and closed by
    ``aclose``; a later ``send`` opens a new one (one per ASGI lifespan). It keeps no
    cookies (a client that needs a session cookie carries it itself), reads no proxy
    settings from the environment, follows no redirects, and hands back bodies
    decoded from the ``Content-Encoding`` aiohttp asked for, as httpx does.
    """

    def __init__(
        self,
        *,
        max_connections: int = 100,
        keepalive_seconds: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        # aiohttp keeps every released connection alive (up to max_connections) for
        # keepalive_seconds; it has no separate cap on idle ones.
        self._max_connections = max_connections
        self._keepalive_seconds = keepalive_seconds
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[TimeBudget, aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            limit_per_host=0,
            keepalive_timeout=self._keepalive_seconds,
            ssl=self._ssl,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            auto_decompress=True,
            raise_for_status=False,
            # A body without a Content-Type goes out without one (aiohttp would say
            # application/octet-stream), as through httpx.
            skip_auto_headers=("Content-Type",),
        )
        return self._session

    def _client_timeout(self, budget: TimeBudget) -> aiohttp.ClientTimeout:
        client_timeout = self._timeouts.get(budget)
        if client_timeout is None:
            client_timeout = self._timeouts[budget] = aiohttp.ClientTimeout(
                total=budget.total, sock_connect=budget.connect
            )
        return client_timeout

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        budget: TimeBudget,
    ) -> UpstreamResponse:
        session = self._session or self._open()
        try:
            async with session.request(
                method,
                URL(url, encoded=True),  # Upstream encoded it; aiohttp must not re-quote
                headers=headers,
                data=content,
                timeout=self._client_timeout(budget),
                allow_redirects=False,
            ) as response:
                body = await response.read()
        except TimeoutError as exc:  # the total budget, or aiohttp's connect/read timeouts
            raise TransportTimeout(f"no complete answer within {budget.total:g}s") from exc
        except aiohttp.ClientSSLError as exc:  # a TLS failure is not a refused connection
            raise TransportError(str(exc)) from exc
        except aiohttp.ClientConnectorError as exc:  # refused, unreachable, name not resolved
            raise ConnectError(str(exc)) from exc
        except aiohttp.ClientError as exc:  # reset, disconnected, malformed or cut-off answer
            raise TransportError(str(exc) or type(exc).__name__) from exc
        return UpstreamResponse(response.status, response.headers, body)

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
