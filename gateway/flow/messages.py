"""The workflow's inputs and the messages sent to a waiting workflow, as plain data
(what DBOS checkpoints), so every process version reads them the same way."""

from __future__ import annotations

import msgspec

WORKFLOW_NAME = "q2c.quote_to_cash"
# The queued workflow only hands the transaction to the worker that dequeued it: DBOS
# counts a PENDING workflow against the queue's worker_concurrency even while it waits
# (for a payment, a delivery, an operator), so the transaction itself runs off the
# queue and its active steps are bounded per process instead (runner.py).
DISPATCH_NAME = "q2c.dispatch"
QUEUE_NAME = "q2c-transactions"


def dispatch_id(transaction_id: str) -> str:
    return f"{transaction_id}.start"


DECISION_TOPIC = "decision"
PAYMENT_TOPIC = "payment"


class StartRequest(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: str
    tenant: str
    quote_id: str
    source: str = "api"
    traceparent: str | None = None
    accepted_at: str = ""
