"""What a transport promises ``Upstream``: one request out, one answer (or one kind of
failure) back.

``Upstream`` (systems/upstream.py) owns the call policy: timeouts, retries, the
circuit breaker, and which failure becomes which dependency error. A transport only
moves bytes, and sorts what went wrong into the three kinds that policy needs to tell
apart, because they decide whether a call that is not safe to repeat may be repeated:

* ``ConnectError``: the request provably never left (connection refused, host name
  not resolved), so even a blind POST may be sent again;
* ``TransportTimeout``: no complete answer in time; the system may have acted;
* ``TransportError``: anything else below HTTP (a reset mid-answer, a truncated body,
  a TLS failure); the system may have acted.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any, Protocol

from multidict import CIMultiDict, CIMultiDictProxy


class TransportError(Exception):
    """The exchange failed below HTTP; the request may have reached the system."""


class ConnectError(TransportError):
    """No connection was made, so the system never saw the request."""


class TransportTimeout(TransportError):
    """No complete answer within the call's time budget."""


@dataclass(frozen=True, slots=True)
class TimeBudget:
    """The time one attempt may take: ``total`` for the exchange, of which at most
    ``connect`` for opening a connection."""

    total: float
    connect: float


Headers = CIMultiDictProxy[str]


class UpstreamResponse:
    """A system of record's answer, read in full.

    The attribute names are httpx's (``status_code``, ``headers``, ``content``, ``text``,
    ``json()``, ``cookies``), which the vendor clients and error translators were
    written against.
    """

    __slots__ = ("content", "headers", "status_code")

    def __init__(
        self, status_code: int, headers: Headers | Mapping[str, str], content: bytes
    ) -> None:
        self.status_code = status_code
        if not isinstance(headers, CIMultiDictProxy):
            headers = CIMultiDictProxy(CIMultiDict(headers))
        self.headers: Headers = headers
        self.content = content

    @property
    def text(self) -> str:
        """The body decoded with the charset the server named (UTF-8 otherwise)."""
        return self.content.decode(_charset(self.headers.get("content-type", "")), "replace")

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def cookies(self) -> dict[str, str]:
        """Name -> value of every ``Set-Cookie`` in this answer (a session a client
        carries itself, like SAP's CSRF session; no jar is kept between calls)."""
        jar: SimpleCookie = SimpleCookie()
        for header in self.headers.getall("set-cookie", ()):
            try:
                jar.load(header)
            except CookieError:
                continue  # one malformed cookie does not hide the others
        return {name: morsel.value for name, morsel in jar.items()}

    def __repr__(self) -> str:
        return f"<UpstreamResponse {self.status_code}>"


def _charset(content_type: str) -> str:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"')
            try:
                return codecs.lookup(charset).name
            except LookupError:
                break
    return "utf-8"


class UpstreamTransport(Protocol):
    """Sends one request and reads the whole answer, or raises a ``TransportError``."""

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        budget: TimeBudget,
    ) -> UpstreamResponse:
        """``url`` is absolute and already percent-encoded; ``content`` is the body."""
        ...

    async def aclose(self) -> None:
        """Release the connections this transport opened; the next ``send`` opens new
        ones (an app may run several lifespans)."""
        ...
