"""RFC 9110 section 13.1.2, If-None-Match."""

from __future__ import annotations


def _opaque(tag: str) -> str:
    """The opaque part of an entity tag, for weak comparison (``W/"x"`` ~ ``"x"``)."""
    tag = tag.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    return tag


def none_match(if_none_match: str, etag: str) -> bool:
    """Whether ``If-None-Match`` matches the representation's ``ETag`` (weak comparison),
    so a GET or HEAD answers 304 Not Modified."""
    current = _opaque(etag)
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or (candidate and _opaque(candidate) == current):
            return True
    return False
