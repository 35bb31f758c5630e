"""Systems of record through httpx's public client API.

Used where httpx's transports are the point: sandboxes mounted in-process
(``httpx.ASGITransport``), tests (``httpx.MockTransport``, event hooks), and
``[http_client] transport = "httpx"``. httpx's exceptions become the transport
port's three kinds in ``send``, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from multidict import CIMultiDict, CIMultiDictProxy

from systems.transport.port import (
    ConnectError,
    TimeBudget,
    TransportError,
    TransportTimeout,
    UpstreamResponse,
)


class HttpxTransport:
    """Sends through ``client.build_request`` + ``client.send``, so the client's
    mounts, event hooks and cookie policy apply as to any other httpx call.

    The client belongs to whoever built it (a test's ``async with``, or the
    composition root, which closes the pool under it): ``aclose`` leaves it open.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._timeouts: dict[TimeBudget, httpx.Timeout] = {}

    def _httpx_timeout(self, budget: TimeBudget) -> httpx.Timeout:
        httpx_timeout = self._timeouts.get(budget)
        if httpx_timeout is None:
            # httpx bounds each phase (connect, write, read, pool) rather than the
            # whole exchange; ``total`` is the bound of each.
            httpx_timeout = self._timeouts[budget] = httpx.Timeout(
                budget.total, connect=budget.connect
            )
        return httpx_timeout

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        budget: TimeBudget,
    ) -> UpstreamResponse:
        request = self._client.build_request(
            method, url, headers=headers, content=content, timeout=self._httpx_timeout(budget)
        )
        try:
            response = await self._client.send(request, follow_redirects=False)
        except httpx.ConnectError as exc:  # refused, unreachable, name not resolved
            raise ConnectError(str(exc)) from exc
        except httpx.TimeoutException as exc:  # connect, write, read or pool timeout
            raise TransportTimeout(str(exc) or type(exc).__name__) from exc
        except httpx.TransportError as exc:
            raise TransportError(str(exc) or type(exc).__name__) from exc
        headers_ = CIMultiDictProxy(CIMultiDict(response.headers.multi_items()))
        return UpstreamResponse(response.status_code, headers_, response.content)

    async def aclose(self) -> None:
        return None
