"""How a call to a system of record is written down: its URL, its body, and what its
``Retry-After`` means. One encoding for every transport, so that a sandbox mounted
in-process and a vendor over the network receive the same bytes; the rules are
httpx's (which the vendor clients were written against).
"""

from __future__ import annotations

import json as jsonlib
import re
from collections.abc import Mapping, MutableMapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

Params = Mapping[str, Any] | Sequence[tuple[str, Any]]

# Characters a URL may not carry as they are: controls, space, non-ASCII and the
# few printable ones RFC 3986 leaves out. A URL without them goes out untouched.
_NEEDS_QUOTING = re.compile(r'[^\x21-\x7e]|["<>\\^`{|}]')
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


# Keys and most values repeat from call to call ($filter, $format=json, the same SKUs),
# and quoting them afresh was most of Upstream's own CPU per call (bench/upstream_client.py).
# Long values (whole SOQL queries) are quoted afresh, which bounds the cache's memory.
_quote_cached = lru_cache(maxsize=4096)(quote_plus)


def _quote(text: str) -> str:
    return _quote_cached(text) if len(text) <= 256 else quote_plus(text)


def _form(values: Params) -> str:
    """``application/x-www-form-urlencoded``, as ``urlencode`` writes it."""
    return "&".join(_quote(key) + "=" + _quote(value) for key, value in _pairs(values))


def _pairs(values: Params) -> list[tuple[str, str]]:
    items = values.items() if isinstance(values, Mapping) else values
    pairs: list[tuple[str, str]] = []
    for key, value in items:
        if isinstance(value, list | tuple):
            pairs.extend((key, _text(item)) for item in value)
        else:
            pairs.append((key, _text(value)))
    return pairs


def encode_url(url: str, params: Params | None = None) -> str:
    """``url`` percent-encoded where it must be, with ``params`` appended to its query."""
    if _NEEDS_QUOTING.search(url):
        url = quote(url, safe=_URL_SAFE)
    if params:
        url += ("&" if "?" in url else "?") + _form(params)
    return url


def encode_body(
    headers: MutableMapping[str, str],
    *,
    content: bytes | None = None,
    json: Any = None,
    data: Params | None = None,
) -> bytes | None:
    """The request body; for ``json`` and ``data`` also its Content-Type, unless the
    caller named one."""
    if content is not None:
        return content
    if data:
        body = _form(data).encode()
        content_type = "application/x-www-form-urlencoded"
    elif json is not None:
        text = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        body, content_type = text.encode(), "application/json"
    else:
        return None
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = content_type
    return body


def retry_after_seconds(value: str | None) -> float | None:
    """RFC 9110 ``Retry-After``: delay-seconds or an HTTP-date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
