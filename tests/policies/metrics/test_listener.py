"""The separate plain-HTTP metrics listener over a real socket."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from policies.metrics import GatewayMetrics, MetricsConfig, MetricsListener
from tests.policies.metrics.support import value


async def _raw(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return answer


async def test_serves_metrics_only_and_stops() -> None:
    metrics = GatewayMetrics(MetricsConfig(listen_port=0))
    metrics.auth_failure("token_expired")
    listener = MetricsListener(metrics)
    await listener.start()
    port = listener.port
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            scrape = await http.get("/metrics")
            other = await http.get("/v1/quotes")
            post = await http.post("/metrics")
            head = await http.head("/metrics")
        assert scrape.status_code == 200
        assert scrape.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert value(scrape.text, "q2c_auth_failures_total", reason="token_expired") == 1
        assert other.status_code == 404
        assert (post.status_code, post.headers["allow"]) == (405, "GET, HEAD")
        assert head.status_code == 200
        assert head.content == b""
        assert int(head.headers["content-length"]) == len(scrape.content)
        garbage = await _raw(port, b"NONSENSE\r\n\r\n")
        assert garbage.startswith(b"HTTP/1.1 400 ")
    finally:
        await listener.stop()
    with pytest.raises(ConnectionRefusedError):
        await _raw(port, b"GET /metrics HTTP/1.1\r\n\r\n")


async def test_needs_a_port() -> None:
    with pytest.raises(ValueError, match="listen_port"):
        MetricsListener(GatewayMetrics())
    listener = MetricsListener(GatewayMetrics(), port=0)
    with pytest.raises(RuntimeError, match="not started"):
        _ = listener.port
