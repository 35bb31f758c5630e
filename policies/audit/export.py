"""``q2c audit export``: the trail as JSON lines, oldest first, one entry per line."""

from __future__ import annotations

import io
from datetime import datetime
from typing import BinaryIO, TextIO, cast

import msgspec

from policies.audit.store import AuditStore

_encoder = msgspec.json.Encoder()


def _is_binary(out: TextIO | BinaryIO) -> bool:
    if isinstance(out, io.TextIOBase):
        return False
    if isinstance(out, io.RawIOBase | io.BufferedIOBase):
        return True
    return "b" in str(getattr(out, "mode", ""))


async def export_jsonl(
    store: AuditStore,
    out: TextIO | BinaryIO,
    *,
    tenant: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Write every retained entry in the range to ``out``; returns how many were written.

    ``tenant`` None exports all tenants (an operator's tool, not an API).
    """
    binary = _is_binary(out)
    count = 0
    buffer = bytearray()
    async for entry in store.export(tenant, since, until):
        _encoder.encode_into(entry, buffer)
        buffer.extend(b"\n")
        if binary:
            cast("BinaryIO", out).write(buffer)
        else:
            cast("TextIO", out).write(buffer.decode())
        buffer.clear()
        count += 1
    return count
