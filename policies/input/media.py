"""Media types: what counts as JSON."""

from __future__ import annotations


def media_type(content_type: str) -> str:
    """``type/subtype`` of a Content-Type value, lower-case, without parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` or a structured-syntax suffix (RFC 6839), e.g.
    ``application/merge-patch+json``; parameters such as charset are ignored."""
    kind = media_type(content_type)
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json") and len(kind) > 17
    )
