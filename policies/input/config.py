"""Input limits, validated when the gateway starts."""

from __future__ import annotations

from typing import Annotated

import msgspec

MIB = 1024 * 1024


class InputConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[input]``: what a request may carry before the gateway does any work for it."""

    # Off switch for the whole policy.
    enabled: bool = True
    # Largest request body in bytes on any governed operation; larger is a 413, told
    # by Content-Length before a byte is read, or counted while reading otherwise.
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024, le=64 * MIB)] = MIB
    # Deepest nesting of arrays and objects in a JSON body. Our documents nest four
    # levels; the JSON decoder itself recurses, so a few thousand levels exhaust it.
    max_json_depth: Annotated[int, msgspec.Meta(ge=4, le=256)] = 32
    # Seconds a client has to deliver the whole body once the gateway starts reading
    # it; a body shorter than its Content-Length is a 408 after this, not a held socket.
    body_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 5.0
    # Refuse query parameters an operation does not declare (``?limt=1``) and repeated
    # ones (``?limit=1&limit=2``) with a 400 naming them, instead of ignoring them.
    strict_query: bool = True

    def __post_init__(self) -> None:
        # Meta constraints only run on decode; a config built in code is checked here.
        if not 1024 <= self.max_body_bytes <= 64 * MIB:
            raise ValueError(
                f"input.max_body_bytes must be in [1024, {64 * MIB}] (got {self.max_body_bytes})"
            )
        if not 4 <= self.max_json_depth <= 256:
            raise ValueError(
                f"input.max_json_depth must be in [4, 256] (got {self.max_json_depth})"
            )
        if not 0 < self.body_timeout_seconds <= 300:
            raise ValueError(
                "input.body_timeout_seconds must be > 0 and <= 300 "
                f"(got {self.body_timeout_seconds})"
            )
