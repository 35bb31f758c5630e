"""The idempotency record store port: one atomic decision per call."""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

BeginOutcome = Literal["new", "in_flight", "mismatch", "completed"]


class StoredResponse(msgspec.Struct, frozen=True, array_like=True):
    """The first response to a key, as it is replayed."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class BeginResult(msgspec.Struct, frozen=True):
    """What ``begin`` decided: run the request, or answer from the existing record.

    ``response`` is set only when ``outcome`` is "completed"; ``lease_remaining`` (in
    seconds) only when it is "in_flight": how long the running request may still hold
    the key, which is what a retry should wait.
    """

    outcome: BeginOutcome
    response: StoredResponse | None = None
    lease_remaining: float | None = None


BEGUN = BeginResult("new")
MISMATCH = BeginResult("mismatch")


def in_flight(lease_remaining: float) -> BeginResult:
    return BeginResult("in_flight", lease_remaining=max(0.0, lease_remaining))


class IdempotencyStoreError(Exception):
    """The store could not decide (e.g. Redis unreachable); backends raise only this."""


class IdempotencyStore(Protocol):
    async def begin(
        self, key: str, fingerprint: str, owner: str, lease_seconds: float
    ) -> BeginResult:
        """Atomically claim ``key`` for ``owner`` unless a live record exists.

        A new claim is an in-flight record that lapses after ``lease_seconds``, so a
        retry may take over a key whose first request died with its process. An
        existing record with another fingerprint is a mismatch, whatever its state.
        """
        ...

    async def complete(
        self, key: str, owner: str, response: StoredResponse, retention_seconds: float
    ) -> bool:
        """Store the response for replay, only while ``owner`` still holds the key."""
        ...

    async def release(self, key: str, owner: str) -> None:
        """Forget an in-flight record, only while ``owner`` still holds the key."""
        ...
