"""The smallest fake of a system of record: a respx router answering scripted responses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import respx

from systems.transport import HttpxTransport
from systems.upstream import ErrorTranslator, Upstream, UpstreamConfig

# One attempt per call and no back-off: each scripted response is one round trip.
NO_RETRIES = UpstreamConfig(max_retries=0, backoff_seconds=0.0)


@asynccontextmanager
async def scripted(
    base_url: str, system: str, translate: ErrorTranslator
) -> AsyncIterator[tuple[respx.MockRouter, Upstream]]:
    """A router to script vendor responses on, and an ``Upstream`` that calls it.

    Unscripted requests fail the test (``assert_all_mocked``); so do scripted routes the
    code never called (``assert_all_called``)."""
    router = respx.MockRouter(base_url=base_url, using=None)
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler)) as http:
        with router:
            yield (
                router,
                Upstream(
                    system=system,
                    transport=HttpxTransport(http),
                    base_url=base_url,
                    config=NO_RETRIES,
                    translate=translate,
                ),
            )
