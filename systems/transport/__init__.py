"""The port every system-of-record call goes through (see ``port.py``), and its two
implementations: aiohttp for the network hot path, httpx for in-process sandboxes,
tests and ``[http_client] transport = "httpx"``."""

from systems.transport.aiohttp_transport import AiohttpTransport
from systems.transport.httpx_transport import HttpxTransport
from systems.transport.port import (
    ConnectError,
    TimeBudget,
    TransportError,
    TransportTimeout,
    UpstreamResponse,
    UpstreamTransport,
)

__all__ = [
    "AiohttpTransport",
    "ConnectError",
    "HttpxTransport",
    "TimeBudget",
    "TransportError",
    "TransportTimeout",
    "UpstreamResponse",
    "UpstreamTransport",
]
