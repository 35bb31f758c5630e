"""An operator's decision on a stopped transaction, one way for every edge: the /v1/ops
API and the operations console both take retry, resolve, dismiss and compensate here.

The retry's edits arrive as the v1 contract (``TransactionEdits``, already decoded
against its constraints) and are checked against the flow's rules before anything
reaches the waiting transaction, so a refused edit changes nothing.
"""

from __future__ import annotations

from contracts.v1.transactions import TransactionEdits
from domains.errors import FieldIssue, ValidationFailed
from domains.quote_to_cash.config import FlowPolicy
from domains.quote_to_cash.exceptions import Action
from domains.quote_to_cash.records import ExceptionItem
from domains.quote_to_cash.validation import Edits
from gateway.flow.runtime import Flow


def checked_edits(policy: FlowPolicy, edits: TransactionEdits) -> Edits:
    """The domain's edits, or ValidationFailed naming the field the flow's rules refuse
    (payment terms must be agreed ones)."""
    terms = policy.payment_terms
    if edits.payment_terms is not None and edits.payment_terms not in terms:
        raise ValidationFailed(
            f"Payment terms {edits.payment_terms} are not agreed terms.",
            errors=(
                FieldIssue(
                    "edits.payment_terms",
                    f"Use one of {', '.join(sorted(terms))}.",
                    "unknown_payment_terms",
                ),
            ),
        )
    return Edits(
        accept_price_variance=edits.accept_price_variance,
        legal_entity=edits.legal_entity,
        payment_terms=edits.payment_terms,
        requested_delivery_date=edits.requested_delivery_date,
    )


async def decide(
    flow: Flow,
    tenant: str,
    actor: str,
    exception_id: str,
    action: Action,
    *,
    note: str = "",
    edits: TransactionEdits | None = None,
) -> ExceptionItem:
    """Record the decision on the item (with its actor) and send it to the transaction."""
    domain_edits = checked_edits(flow.settings.policy, edits) if edits is not None else None
    return await flow.exceptions.act(
        tenant, exception_id, actor, action, edits=domain_edits, note=note
    )
