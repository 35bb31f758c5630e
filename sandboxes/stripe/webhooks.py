"""Webhook delivery for the Stripe sandbox: signed POSTs of events to registered endpoints.

Stripe signs each delivery with the endpoint's secret (``whsec_...``): the header
``Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``. A delivery
answered with anything but 2xx is retried after each of ``retry_delays`` (Stripe retries
for up to three days; the sandbox keeps the same shape on a short, bounded schedule).

Deliveries leave from a background task on the event loop serving the sandbox, so a
request is answered before its events are delivered, as with Stripe. How a delivery
travels is the ``post`` callable: by default a real HTTP POST (stdlib, in a worker
thread); an embedding can hand in its own (for example, straight into an ASGI app).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["Delivery", "Post", "WebhookDispatcher", "http_post", "signature_header"]

_log = logging.getLogger(__name__)

#: ``post(url, headers, body) -> HTTP status`` (raise or return >= 300 on failure).
Post = Callable[[str, Mapping[str, str], bytes], Awaitable[int]]
_USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """``t=<timestamp>,v1=<signature>`` as Stripe computes it."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


async def http_post(url: str, headers: Mapping[str, str], body: bytes) -> int:
    """A real HTTP(S) POST from a worker thread; the status, or 0 when nothing answered."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"webhook URLs are http(s): {url!r}")

    def send() -> int:
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310 - scheme checked above
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                status: int = response.status
                return status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    return await asyncio.to_thread(send)


@dataclass
class Delivery:
    """One event on its way to one endpoint."""

    endpoint_id: str
    url: str
    secret: str
    event_id: str
    payload: bytes
    attempts: int = 0
    statuses: list[int] = field(default_factory=list)
    delivered: bool = False


class WebhookDispatcher:
    """The queue of deliveries and the task working through it."""

    def __init__(
        self,
        post: Post = http_post,
        *,
        retry_delays: tuple[float, ...] = (1.0, 5.0, 25.0),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.post = post
        self.retry_delays = retry_delays
        self.clock = clock
        self.on_delivered: Callable[[Delivery], None] = lambda delivery: None
        self.history: list[Delivery] = []  # every delivery, in the order queued
        self._queue: deque[Delivery] = deque()
        self._tasks: set[asyncio.Task[None]] = set()

    def enqueue(self, delivery: Delivery) -> None:
        self.history.append(delivery)
        self._queue.append(delivery)

    def start(self) -> None:
        """Work through the queue on the running loop (no-op when already working)."""
        if not self._queue or any(not t.done() for t in self._tasks):
            return
        task = asyncio.get_running_loop().create_task(self._run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def busy(self) -> bool:
        return bool(self._queue) or any(not task.done() for task in self._tasks)

    async def drain(self) -> None:
        """Wait until every queued delivery succeeded or ran out of attempts (deliveries
        started from another event loop are waited for by polling; bound it with
        ``asyncio.timeout``)."""
        self.start()
        while self.busy:  # noqa: ASYNC110 - an Event would bind to one loop; deliveries may run on another
            await asyncio.sleep(0.01)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self) -> None:
        pending: set[asyncio.Task[None]] = set()
        while self._queue or pending:
            while self._queue:
                task = asyncio.ensure_future(self._deliver(self._queue.popleft()))
                pending.add(task)
                task.add_done_callback(pending.discard)
            await asyncio.sleep(0)
            if pending:
                await asyncio.wait(set(pending), return_when=asyncio.FIRST_COMPLETED)

    async def _deliver(self, delivery: Delivery) -> None:
        delays = (0.0, *self.retry_delays)
        for delay in delays:
            if delay:
                await asyncio.sleep(delay)
            delivery.attempts += 1
            timestamp = int(self.clock())
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": _USER_AGENT,
                "Stripe-Signature": signature_header(delivery.payload, delivery.secret, timestamp),
            }
            try:
                status = await self.post(delivery.url, headers, delivery.payload)
            except Exception:  # a failing receiver is a failed attempt, never a sandbox crash
                _log.warning("webhook delivery to %s failed", delivery.url, exc_info=True)
                status = 0
            delivery.statuses.append(status)
            if 200 <= status < 300:
                delivery.delivered = True
                self.on_delivered(delivery)
                return
