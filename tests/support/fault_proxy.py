"""A reverse proxy in front of a sandbox that fails, delays or passes each request
by rule: how tests take a system of record down for a while, or hold a call open
long enough to kill the worker that sent it (the system still gets the call)."""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Rule:
    method: str
    path: re.Pattern[str]
    status: int = 0  # 0: forward (after ``delay``)
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int | None = None  # None: until cleared

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and bool(self.path.search(path))


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    answered: int  # the status the client got


class FaultProxy:
    """An ASGI app forwarding to ``upstream`` unless a rule says otherwise."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rules: list[Rule] = []
        self.seen: list[Seen] = []
        self.arrived: list[tuple[str, str]] = []  # before any rule ran: (method, path)
        self.headers: list[dict[str, str]] = []  # the request headers, in arrival order
        self._lock = threading.Lock()

    def fail(
        self,
        method: str,
        pattern: str,
        *,
        status: int = 503,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        times: int | None = None,
    ) -> Rule:
        rule = Rule(method, re.compile(pattern), status, body, headers or {}, times=times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def delay(self, method: str, pattern: str, seconds: float, times: int | None = None) -> Rule:
        rule = Rule(method, re.compile(pattern), delay=seconds, times=times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def calls(self, method: str, pattern: str) -> list[Seen]:
        regex = re.compile(pattern)
        return [s for s in list(self.seen) if s.method == method and regex.search(s.path)]

    def _rule(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self.rules.remove(rule)
                    return rule
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        method = scope["method"]
        path = scope.get("raw_path", scope["path"].encode()).decode()
        query = scope.get("query_string", b"").decode()
        self.arrived.append((method, path))
        self.headers.append({k.decode().lower(): v.decode() for k, v in scope["headers"]})
        rule = self._rule(method, path)
        if rule is not None and rule.delay:
            await asyncio.sleep(rule.delay)
        if rule is not None and rule.status:
            status, body = rule.status, rule.body
            headers = [("content-type", "application/json"), *rule.headers.items()]
        else:
            forwarded = [
                (k.decode(), v.decode())
                for k, v in scope["headers"]
                if k.decode().lower() not in ("host", "content-length", "connection")
            ]
            # A client per call: nothing outlives the request (the proxy's loop ends
            # with its server thread).
            async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
                response = await client.request(
                    method,
                    self.upstream + path + (f"?{query}" if query else ""),
                    headers=forwarded,
                    content=b"".join(chunks),
                )
            status, body = response.status_code, response.content
            dropped = ("content-length", "transfer-encoding", "connection", "content-encoding")
            headers = [
                (k, v) for k, v in response.headers.multi_items() if k.lower() not in dropped
            ]
        self.seen.append(Seen(method, path, status))
        raw = [(k.encode(), v.encode()) for k, v in headers]
        raw.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})
