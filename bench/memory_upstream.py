#!/usr/bin/env python3
"""A baseline upstream for bench/run.py: every request gets the same answer from memory.

    python bench/memory_upstream.py --port N --body-file FILE [--content-type T]

A raw asyncio HTTP/1.1 server (uvloop when installed), keep-alive, no parsing
beyond finding the end of each request: it answers every request with status 200
and the bytes of ``--body-file`` (the SAP sandbox's answer to the governed GET's
upstream request, captured by run.py), so nginx and the gateway can be measured
in front of an upstream that costs next to nothing, instead of the Python SAP
simulator (~5k req/s on this box). Requests with a body (Content-Length) are read
whole and answered the same way. Standard library only (plus uvloop if present).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path
from typing import cast

_END_OF_HEAD = b"\r\n\r\n"


def response_bytes(body: bytes, content_type: str) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


class Answer(asyncio.Protocol):
    """Answers each request on a kept-alive connection with the fixed response."""

    response = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but write alike.
        self.transport = cast("asyncio.Transport", transport)
        self.buffer = b""
        self.body_left = 0

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        answers = 0
        while True:
            if self.body_left:
                taken = min(self.body_left, len(buffer))
                self.body_left -= taken
                buffer = buffer[taken:]
                if self.body_left:
                    break
                answers += 1
                continue
            end = buffer.find(_END_OF_HEAD)
            if end < 0:
                break
            head, buffer = buffer[:end], buffer[end + 4 :]
            length = _content_length(head)
            if length:
                self.body_left = length
                continue
            answers += 1
        self.buffer = buffer
        if answers:
            self.transport.write(self.response * answers)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            with contextlib.suppress(ValueError):
                return int(value.strip())
    return 0


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: stop.done() or stop.set_result(None))
    server = await loop.create_server(Answer, host, port, backlog=1024)
    async with server:
        await stop


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-file", type=Path, required=True)
    parser.add_argument("--content-type", default="application/json")
    args = parser.parse_args()
    Answer.response = response_bytes(args.body_file.read_bytes(), args.content_type)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.host, args.port))
    else:
        uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
