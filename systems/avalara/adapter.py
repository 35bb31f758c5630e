"""Avalara AvaTax as the tax engine: estimates (SalesOrder) and committed invoices."""

from __future__ import annotations

from collections.abc import Mapping

from domains.correlation import current_transaction_id
from domains.errors import Conflict, DependencyRejected, FieldIssue, ValidationFailed
from domains.tax.ports import TaxCategory, TaxRequest, TaxResult
from systems.avalara.client import AvalaraClient
from systems.avalara.errors import SYSTEM
from systems.avalara.mapping import (
    SALES_INVOICE,
    VOID_REASON,
    AvalaraAddress,
    create_transaction_model,
    recorded_mismatch,
    to_tax_result,
)


class AvalaraAdapter:
    system = SYSTEM

    def __init__(
        self,
        client: AvalaraClient,
        *,
        company_codes: Mapping[str, str],
        default_company: str,
        tax_codes: Mapping[TaxCategory, str] | None = None,
        ship_from: Mapping[str, AvalaraAddress] | None = None,
    ) -> None:
        """``company_codes``: legal entity -> AvaTax company code (anything else, and no
        legal entity, uses ``default_company``). ``tax_codes`` overrides the default tax
        code of a category; ``ship_from`` (company code -> origin) sends an explicit
        origin instead of the company's default location."""
        if not default_company.strip():
            raise ValueError("default_company must name an AvaTax company code")
        self._ava = client
        self._companies = dict(company_codes)
        self._default_company = default_company
        self._tax_codes = dict(tax_codes or {})
        self._ship_from = dict(ship_from or {})

    def company_for(self, legal_entity: str | None) -> str:
        return self._companies.get(legal_entity or "", self._default_company)

    async def void_transaction(self, company_code: str, document_code: str, reason: str) -> None:
        """Void the committed invoice document (AvaTax reason ``DocVoided``), for
        compensation. Idempotent: voided already, or never recorded, is done."""
        del reason  # AvaTax keeps only its reason code
        known = {*self._companies.values(), self._default_company}
        company = company_code if company_code in known else self.company_for(company_code)
        voided = await self._ava.void_transaction(
            company, document_code, SALES_INVOICE, VOID_REASON
        )
        if voided is not None:
            return
        # Refused or missing: fine when nothing is left to void, a failure otherwise.
        recorded = await self._ava.get_transaction(company, document_code, SALES_INVOICE)
        if recorded is not None and recorded.status != "Cancelled":
            raise DependencyRejected(
                f"AvaTax refused to void tax document {document_code!r} of company "
                f"{company!r} (status {recorded.status}).",
                system=SYSTEM,
                vendor_code="VoidRefused",
            )

    async def calculate(self, request: TaxRequest) -> TaxResult:
        company = self.company_for(request.legal_entity)
        model = create_transaction_model(
            request,
            company_code=company,
            tax_codes=self._tax_codes,
            ship_from=self._ship_from.get(company),
            transaction_id=current_transaction_id(),
        )
        # An estimate records nothing, and an invoice is keyed by its stable code: AvaTax
        # refuses to re-create a committed code, so a repeated POST cannot post tax twice.
        # Without a code AvaTax would mint a new one per attempt, so that is not retried.
        retry_safe = request.kind == "estimate" or bool(request.document_code.strip())
        try:
            transaction = await self._ava.create_transaction(model, retry_safe=retry_safe)
        except ValidationFailed as refused:  # the destination address: the client's field
            raise _renamed(refused, "ship_to", request.ship_to_field) from refused
        if transaction is not None:
            return to_tax_result(transaction, request)
        # DocumentCodeConflict: an earlier attempt (or call) committed this document.
        recorded = await self._ava.get_transaction(company, request.document_code, SALES_INVOICE)
        if recorded is None:
            raise DependencyRejected(
                f"AvaTax reports document {request.document_code!r} of company {company!r} "
                "as already recorded, but cannot return it.",
                system=SYSTEM,
                vendor_code="DocumentCodeConflict",
            )
        if recorded.status != "Committed":
            raise Conflict(
                f"Tax document {request.document_code!r} is {recorded.status or 'unknown'} "
                "in AvaTax; a voided document's code cannot be posted again.",
                system=SYSTEM,
                existing_id=request.document_code,
            )
        mismatch = recorded_mismatch(recorded, request)
        if mismatch is not None:
            raise Conflict(
                f"Tax document {request.document_code!r} is already committed in AvaTax "
                f"with {mismatch}; it is not the document being calculated.",
                system=SYSTEM,
                existing_id=request.document_code,
            )
        return to_tax_result(recorded, request)


def _renamed(error: ValidationFailed, prefix: str, field: str) -> ValidationFailed:
    """``error`` with its ``prefix`` fields (``ship_to.country``) named as the client
    knows them (``customer.address.country``)."""
    if field == prefix:
        return error
    issues = tuple(
        FieldIssue(field + issue.field[len(prefix) :], issue.message, issue.code)
        if issue.field == prefix or issue.field.startswith(prefix + ".")
        else issue
        for issue in error.errors
    )
    return ValidationFailed(error.detail, errors=issues, system=error.system)
