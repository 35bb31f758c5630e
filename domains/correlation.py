"""The quote-to-cash transaction the current work belongs to.

The flow runs each step inside ``working_on(transaction_id)``; a system adapter
records ``current_transaction_id()`` wherever its system has a field for it
(Stripe metadata, AvaTax ``referenceCode``, a NetSuite memo), so a person looking
at the record in the system finds the transaction, and the transaction's trace.
Outside a transaction (a plain API call) it is None and nothing is added.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_transaction: ContextVar[str | None] = ContextVar("q2c_transaction", default=None)


def current_transaction_id() -> str | None:
    return _transaction.get()


@contextmanager
def working_on(transaction_id: str) -> Iterator[None]:
    token = _transaction.set(transaction_id)
    try:
        yield
    finally:
        _transaction.reset(token)
