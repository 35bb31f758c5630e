"""One auto-pipelined Redis connection for the rate limiter's EVALSHA.

Every governed request makes one GCRA decision, so the client that carries it is
on the hot path. redis-py spends ~50-80 µs of CPU per command here (a pool
checkout, a timeout context per read and per write, packing and parsing in
Python, observability hooks); this connection spends a fraction of that
(bench/README.md): hiredis packs and parses, commands issued in the same event
loop turn leave in one write, replies are matched to callers in order (Redis
answers in order), and one timer watches the oldest outstanding command.

On a timeout or a lost connection every outstanding command fails and the
connection is dropped; the next command connects again. Errors are the ones
redis-py raises (``redis.exceptions.ConnectionError``, ``TimeoutError``,
``ResponseError`` subclasses), so the store maps them as before.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import hiredis
from redis import exceptions as redis_errors

# What a Redis error reply means, by its first word; the rest is a ResponseError.
_REPLY_ERRORS: dict[str, type[redis_errors.RedisError]] = {
    "NOSCRIPT": redis_errors.NoScriptError,
    "READONLY": redis_errors.ReadOnlyError,
    "LOADING": redis_errors.BusyLoadingError,
    "OOM": redis_errors.OutOfMemoryError,
    "CLUSTERDOWN": redis_errors.ClusterDownError,
    "TRYAGAIN": redis_errors.TryAgainError,
    "NOAUTH": redis_errors.AuthenticationError,
    "WRONGPASS": redis_errors.AuthenticationError,
}


def _reply_error(error: hiredis.ReplyError) -> redis_errors.RedisError:
    message = str(error)
    kind = _REPLY_ERRORS.get(message.split(" ", 1)[0], redis_errors.ResponseError)
    return kind(message)


class _Connection(asyncio.Protocol):
    """One TCP connection: writes batched per loop turn, replies matched in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self._loop = loop
        self._timeout = timeout
        self._reader = hiredis.Reader(encoding="utf-8", errors="replace")
        self._waiting: deque[tuple[asyncio.Future[Any], float]] = deque()
        self._outgoing: list[bytes] = []
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.closed = False

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        waiting = self._waiting
        while True:
            try:
                reply = self._reader.gets()
            except hiredis.ProtocolError as exc:
                self._fail(redis_errors.ConnectionError(f"Redis protocol error: {exc}"))
                return
            if reply is False:
                break
            if not waiting:  # a reply nobody asked for: the stream is out of step
                self._fail(redis_errors.ConnectionError("unexpected reply from Redis"))
                return
            future, _ = waiting.popleft()
            if not future.done():
                if isinstance(reply, hiredis.ReplyError):
                    future.set_exception(_reply_error(reply))
                else:
                    future.set_result(reply)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(redis_errors.ConnectionError(f"connection to Redis lost: {exc or 'closed'}"))

    # -- commands ---------------------------------------------------------------------

    def send(self, *args: Any) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = self._loop.create_future()
        if self.closed:
            future.set_exception(redis_errors.ConnectionError("connection to Redis is closed"))
            return future
        if not self._outgoing:
            self._loop.call_soon(self._flush)
        self._outgoing.append(hiredis.pack_command(args))
        self._waiting.append((future, self._loop.time() + self._timeout))
        if self._timer is None:
            self._arm()
        return future

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if self._transport is not None and not self.closed and outgoing:
            self._transport.write(b"".join(outgoing))

    def _arm(self) -> None:
        """One timer, for the oldest command still waiting (later ones expire later)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._waiting and not self.closed:
            self._timer = self._loop.call_at(self._waiting[0][1], self._expire)

    def _expire(self) -> None:
        self._timer = None
        if self._waiting and self._waiting[0][1] <= self._loop.time():
            self._fail(redis_errors.TimeoutError(f"no answer from Redis within {self._timeout:g}s"))
        else:
            self._arm()

    def close(self, error: redis_errors.RedisError) -> None:
        """Close the connection; commands still waiting fail with ``error``."""
        self._fail(error)

    def _fail(self, error: redis_errors.RedisError) -> None:
        """Every waiting command fails with ``error``; the connection is not used again."""
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiting, self._waiting = self._waiting, deque()
        for future, _ in waiting:
            if not future.done():
                future.set_exception(error)
        if self._transport is not None:
            self._transport.close()
            self._transport = None


class PipelinedRedis:
    """Commands to one Redis server over one auto-pipelined connection (plain TCP)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 1.0,
        connect_timeout: float | None = None,
    ) -> None:
        self._host, self._port = host, port
        self._hello: list[tuple[Any, ...]] = []
        if password is not None:
            self._hello.append(("AUTH", username, password) if username else ("AUTH", password))
        if db:
            self._hello.append(("SELECT", db))
        self._timeout = timeout
        self._connect_timeout = connect_timeout or timeout
        self._connection: _Connection | None = None
        self._connecting: asyncio.Future[_Connection] | None = None

    async def execute(self, *args: Any) -> Any:
        connection = self._connection
        if connection is None or connection.closed:
            connection = await self._connect()
        return await connection.send(*args)

    async def evalsha(self, sha: str, keys: list[str], args: list[Any]) -> Any:
        return await self.execute("EVALSHA", sha, len(keys), *keys, *args)

    async def _connect(self) -> _Connection:
        # Callers that find no connection at once share one attempt.
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._open())
        connecting = self._connecting
        try:
            return await asyncio.shield(connecting)
        finally:
            if connecting.done():
                self._connecting = None

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(loop, self._timeout), self._host, self._port
                ),
                self._connect_timeout,
            )
        except TimeoutError as exc:
            raise redis_errors.TimeoutError(f"connecting to Redis timed out: {exc}") from exc
        except OSError as exc:
            raise redis_errors.ConnectionError(f"cannot connect to Redis: {exc}") from exc
        try:
            for command in self._hello:
                await connection.send(*command)
        except redis_errors.RedisError as exc:  # a wrong password, a missing database
            connection.close(exc)
            raise
        self._connection = connection
        return connection

    async def aclose(self) -> None:
        """Close the connection; the next command (say, in the app's next lifespan, on
        another event loop) connects again."""
        self._connecting = None
        connection, self._connection = self._connection, None
        if connection is not None and not connection.closed:
            connection.close(redis_errors.ConnectionError("client closed"))
