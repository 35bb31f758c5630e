"""A separate plain-HTTP listener that serves only GET /metrics.

For deployments that keep scrapes off the API port (and its auth): bind it to
an address only the Prometheus server reaches. It speaks just enough HTTP/1.1
for a scraper, one request per connection. With several workers in
multiprocess mode every worker binds the same port with SO_REUSEPORT and each
answers with the sum over all workers, so any of them may take the scrape.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from policies.metrics.registry import GatewayMetrics

_MAX_HEAD = 16 * 1024
_READ_TIMEOUT = 10.0


class MetricsListener:
    def __init__(
        self, metrics: GatewayMetrics, *, host: str | None = None, port: int | None = None
    ) -> None:
        config = metrics.config
        self.metrics = metrics
        self.host = host or config.listen_host
        chosen = port if port is not None else config.listen_port
        if chosen is None:
            raise ValueError("metrics.listen_port is not set")
        self._requested_port = chosen
        self._path = config.path.encode()
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when 0 asked for a free one)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the metrics listener is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        if self._server is not None:
            return
        reuse_port = self.metrics.multiprocess and hasattr(socket, "SO_REUSEPORT")
        self._server = await asyncio.start_server(
            self._handle,
            self.host,
            self._requested_port,
            reuse_port=reuse_port or None,
            limit=_MAX_HEAD,
        )

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, body, content_type, head_only = await self._answer(reader)
            allow = "Allow: GET, HEAD\r\n" if status.startswith("405") else ""
            head = (
                f"HTTP/1.1 {status}\r\n"
                f"Content-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n"
                f"{allow}"
                "Cache-Control: no-store\r\n"
                "Connection: close\r\n\r\n"
            ).encode("latin-1")
            # HEAD: the headers a GET would get, without the body.
            writer.write(head if head_only else head + body)
            await writer.drain()
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[str, bytes, str, bool]:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
        except (asyncio.LimitOverrunError, ValueError):
            return "431 Request Header Fields Too Large", b"header too large\n", "text/plain", False
        request_line, _, rest = head.partition(b"\r\n")
        parts = request_line.split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            return "400 Bad Request", b"bad request\n", "text/plain", False
        method, target = parts[0], parts[1].split(b"?", 1)[0]
        if target != self._path:
            return "404 Not Found", b"not found\n", "text/plain", False
        if method not in (b"GET", b"HEAD"):
            return "405 Method Not Allowed", b"method not allowed\n", "text/plain", False
        accept = ""
        for line in rest.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"accept":
                accept = value.strip().decode("latin-1")
        body, content_type = self.metrics.exposition(accept)
        return "200 OK", body, content_type, method == b"HEAD"
