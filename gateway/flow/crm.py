"""The CRM write-back as the transaction needs it, over the CRM adapter's port
(``QuoteSource.write_back``: order number, invoice, payment status on the quote and
its opportunity)."""

from __future__ import annotations

from domains.quote.ports import QuoteProgress, QuoteSource


class CrmWriteBack:
    def __init__(self, source: QuoteSource) -> None:
        self._source = source

    async def write_back(
        self,
        quote_system_id: str,
        *,
        transaction_id: str,
        order_number: str,
        invoice_number: str,
        payment_status: str,
        stage: str,
    ) -> bool:
        await self._source.write_back(
            quote_system_id,
            QuoteProgress(
                transaction_id=transaction_id,
                order_number=order_number,
                invoice_number=invoice_number,
                payment_status=payment_status,
                stage=stage,
            ),
        )
        return True
