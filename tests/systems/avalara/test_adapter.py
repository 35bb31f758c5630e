"""AvalaraAdapter against the AvaTax sandbox, in-process over httpx.ASGITransport."""

from __future__ import annotations

import json
from base64 import b64encode
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest

from contracts.v1.common import Address
from domains.correlation import working_on
from domains.errors import Conflict, DependencyRejected, DependencyUnavailable, ValidationFailed
from domains.tax.ports import TaxCategory, TaxEngine, TaxLine, TaxRequest
from sandboxes.avalara.app import AvalaraSandbox, create_app
from systems.avalara.adapter import AvalaraAdapter
from systems.avalara.client import AvalaraAuth, AvalaraClient
from systems.avalara.errors import SYSTEM, translate
from systems.avalara.mapping import AvalaraAddress
from systems.transport import HttpxTransport
from systems.upstream import Upstream, UpstreamConfig

BASE = "http://avatax.sandbox"
AUTH = AvalaraAuth("2000123456", "q2c-sandbox-license")
COMPANIES = {"acme-us": "ACME-US", "acme-uk": "ACME-UK", "acme-eu": "ACME-EU"}

BERLIN = Address(country="DE", city="Berlin", street="Unter den Linden 77", postal_code="10117")
LONDON = Address(country="GB", city="London", street="1 Canada Square", postal_code="E14 5AB")
TOKYO = Address(country="JP", city="Tokyo", street="1-1 Marunouchi", postal_code="100-0005")
NEW_YORK = Address(country="US", city="New York", street="350 5th Ave", postal_code="10118")
SAN_FRANCISCO = Address(
    country="US", city="San Francisco", street="1 Market St", postal_code="94105"
)
AUSTIN = Address(country="US", city="Austin", street="100 Congress Ave", postal_code="78701")
TORONTO = Address(country="CA", city="Toronto", street="100 King St W", postal_code="M5X 1A9")


@dataclass
class Wire(httpx.AsyncBaseTransport):
    """Forwards to the sandbox, records requests, and can lose a create's response
    after the sandbox has processed it (a timeout on the way back)."""

    inner: httpx.AsyncBaseTransport
    requests: list[httpx.Request] = field(default_factory=list)
    lose_create_responses: int = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = await self.inner.handle_async_request(request)
        if self.lose_create_responses and request.url.path.endswith("/transactions/create"):
            self.lose_create_responses -= 1
            await response.aread()
            raise httpx.ReadTimeout("response lost", request=request)
        return response

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.method == "POST"]


@dataclass
class Env:
    sandbox: AvalaraSandbox
    wire: Wire
    client: AvalaraClient
    adapter: AvalaraAdapter
    upstream: Upstream


@asynccontextmanager
async def environment(sandbox: AvalaraSandbox, auth: AvalaraAuth = AUTH) -> AsyncIterator[Env]:
    wire = Wire(httpx.ASGITransport(app=create_app(sandbox)))
    async with httpx.AsyncClient(mounts={BASE: wire}) as http:
        upstream = Upstream(
            system=SYSTEM,
            transport=HttpxTransport(http),
            base_url=BASE,
            config=UpstreamConfig(backoff_seconds=0.01),
            translate=translate,
        )
        client = AvalaraClient(upstream, auth, machine_name="ci-runner")
        adapter = AvalaraAdapter(client, company_codes=COMPANIES, default_company="ACME")
        yield Env(sandbox, wire, client, adapter, upstream)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with environment(AvalaraSandbox()) as value:
        yield value


def tax_line(
    number: str, amount: str, category: TaxCategory = "goods", *, sku: str = "Q2C-1001"
) -> TaxLine:
    return TaxLine(
        number=number, sku=sku, description=f"item {number}", quantity="1", amount=amount,
        category=category,
    )  # fmt: skip


def tax_request(
    ship_to: Address,
    lines: list[TaxLine],
    *,
    currency: str = "USD",
    kind: str = "estimate",
    code: str = "inv_01",
    legal_entity: str | None = None,
    exemption_number: str | None = None,
) -> TaxRequest:
    return TaxRequest(
        document_code=code,
        kind="invoice" if kind == "invoice" else "estimate",
        customer_code="cus_01",
        currency=currency,
        date="2026-01-05",
        ship_to=ship_to,
        lines=lines,
        legal_entity=legal_entity,
        exemption_number=exemption_number,
    )


def test_the_adapter_is_a_tax_engine(env: Env) -> None:
    engine: TaxEngine = env.adapter
    assert engine.system == "avalara"


# ============================================================== estimates


async def test_eur_estimate_at_the_german_rate_records_nothing(env: Env) -> None:
    request = tax_request(
        BERLIN, [tax_line("1", "100.00"), tax_line("2", "19.99")], currency="EUR",
        legal_entity="acme-eu",
    )  # fmt: skip
    result = await env.adapter.calculate(request)
    assert result.document_code == "inv_01"
    assert result.currency == "EUR"
    assert result.committed is False
    assert [(x.number, x.taxable, x.exempt, x.tax, x.rate) for x in result.lines] == [
        ("1", "100.00", "0.00", "19.00", "0.19"),
        ("2", "19.99", "0.00", "3.80", "0.19"),  # 3.7981 rounded half-up
    ]
    assert result.total_tax == "22.80"
    assert env.sandbox.transactions() == []
    (body,) = env.wire.bodies()
    assert body["type"] == "SalesOrder"
    assert body["commit"] is False
    assert body["companyCode"] == "ACME-EU"


async def test_gbp_estimate_at_the_uk_rate(env: Env) -> None:
    request = tax_request(
        LONDON, [tax_line("1", "49.99"), tax_line("2", "0.05")], currency="GBP",
        legal_entity="acme-uk",
    )  # fmt: skip
    result = await env.adapter.calculate(request)
    assert [(x.tax, x.rate) for x in result.lines] == [("10.00", "0.2"), ("0.01", "0.2")]
    assert result.total_tax == "10.01"
    assert env.wire.bodies()[0]["companyCode"] == "ACME-UK"


async def test_jpy_estimate_in_whole_yen(env: Env) -> None:
    request = tax_request(TOKYO, [tax_line("1", "12345"), tax_line("2", "1000")], currency="JPY")
    result = await env.adapter.calculate(request)
    assert [(x.taxable, x.tax, x.rate) for x in result.lines] == [
        ("12345", "1235", "0.1"),  # 1234.5 rounds half-up to whole yen
        ("1000", "100", "0.1"),
    ]
    assert result.total_tax == "1335"
    assert result.currency == "JPY"


async def test_us_estimate_takes_the_state_from_the_zip_code(env: Env) -> None:
    result = await env.adapter.calculate(tax_request(NEW_YORK, [tax_line("1", "100.00")]))
    # NYC: 4 % state + 4.5 % city + 0.375 % MCTD, each rounded per jurisdiction.
    (line,) = result.lines
    assert (line.taxable, line.tax, line.rate) == ("100.00", "8.88", "0.08875")
    assert result.total_tax == "8.88"
    ship_to = env.wire.bodies()[0]["addresses"]
    assert ship_to == {
        "shipTo": {"country": "US", "line1": "350 5th Ave", "city": "New York",
                   "region": "NY", "postalCode": "10118"},
    }  # fmt: skip
    assert env.wire.bodies()[0]["companyCode"] == "ACME"  # no legal entity: the default


async def test_canadian_estimate_adds_the_provincial_part(env: Env) -> None:
    result = await env.adapter.calculate(
        tax_request(TORONTO, [tax_line("1", "200.00")], currency="CAD")
    )
    assert (result.lines[0].tax, result.lines[0].rate) == ("26.00", "0.13")  # GST 5 + HST 8


async def test_amounts_travel_as_exact_json_numbers(env: Env) -> None:
    request = tax_request(
        BERLIN,
        [TaxLine(number="1", sku="S", quantity="3", amount="0.30", category="goods")],
        currency="EUR",
    )
    result = await env.adapter.calculate(request)
    (sent,) = [r for r in env.wire.requests if r.method == "POST"]
    assert b'"amount":0.30' in sent.content
    assert b'"quantity":3' in sent.content
    assert result.lines[0].tax == "0.06"  # 0.057 -> 0.06


# ================================================================ taxability


async def test_saas_is_not_taxed_in_california_but_is_in_texas(env: Env) -> None:
    lines = [tax_line("1", "100.00", "software_service"), tax_line("2", "100.00", "goods")]
    california = await env.adapter.calculate(tax_request(SAN_FRANCISCO, lines))
    assert [(x.taxable, x.exempt, x.tax, x.rate) for x in california.lines] == [
        ("0.00", "100.00", "0.00", "0"),
        ("100.00", "0.00", "7.25", "0.0725"),  # 6 + 0.25 county + 1 local
    ]
    assert california.total_tax == "7.25"
    texas = await env.adapter.calculate(tax_request(AUSTIN, lines))
    assert [(x.tax, x.rate) for x in texas.lines] == [("8.25", "0.0825"), ("8.25", "0.0825")]
    codes = [[line["taxCode"] for line in body["lines"]] for body in env.wire.bodies()]
    assert codes == [["SW054000", "P0000000"]] * 2


async def test_professional_services_escape_us_sales_tax_but_not_vat(env: Env) -> None:
    line = [tax_line("1", "1000.00", "professional_service")]
    us = await env.adapter.calculate(tax_request(NEW_YORK, line))
    uk = await env.adapter.calculate(tax_request(LONDON, line, currency="GBP"))
    assert (us.total_tax, us.lines[0].rate) == ("0.00", "0")
    assert (uk.total_tax, uk.lines[0].rate) == ("200.00", "0.2")


async def test_non_taxable_lines_carry_no_tax_anywhere(env: Env) -> None:
    line = [tax_line("1", "50.00", "non_taxable")]
    result = await env.adapter.calculate(tax_request(BERLIN, line, currency="EUR"))
    assert [(x.taxable, x.exempt, x.tax, x.rate) for x in result.lines] == [
        ("0.00", "50.00", "0.00", "0")
    ]


async def test_an_exemption_number_zeroes_the_tax(env: Env) -> None:
    request = tax_request(
        NEW_YORK, [tax_line("1", "100.00"), tax_line("2", "20.00")], exemption_number="EX-7788"
    )
    result = await env.adapter.calculate(request)
    assert result.total_tax == "0.00"
    assert [(x.taxable, x.exempt, x.tax, x.rate) for x in result.lines] == [
        ("0.00", "100.00", "0.00", "0"),
        ("0.00", "20.00", "0.00", "0"),
    ]
    assert env.wire.bodies()[0]["exemptionNo"] == "EX-7788"


# ================================================================== invoices


async def test_an_invoice_is_committed_under_its_document_code(env: Env) -> None:
    request = tax_request(
        BERLIN, [tax_line("1", "100.00")], currency="EUR", kind="invoice", code="inv_9",
        legal_entity="acme-eu",
    )  # fmt: skip
    result = await env.adapter.calculate(request)
    assert result.committed is True
    assert result.total_tax == "19.00"
    recorded = env.sandbox.transaction("ACME-EU", "inv_9")
    assert recorded is not None
    assert recorded["status"] == "Committed"
    assert recorded["type"] == "SalesInvoice"
    assert recorded["customerCode"] == "cus_01"
    assert str(recorded["totalTax"]) == "19.00"
    assert len(env.sandbox.transactions()) == 1


async def test_tax_posted_for_a_transaction_carries_its_id_as_reference_code(env: Env) -> None:
    def invoice(code: str) -> TaxRequest:
        return tax_request(
            BERLIN, [tax_line("1", "100.00")], currency="EUR", kind="invoice", code=code,
            legal_entity="acme-eu",
        )  # fmt: skip

    with working_on("txn_01JTESTTRANSACTION"):
        await env.adapter.calculate(invoice("inv_in"))
    await env.adapter.calculate(invoice("inv_out"))
    inside = env.sandbox.transaction("ACME-EU", "inv_in")
    outside = env.sandbox.transaction("ACME-EU", "inv_out")
    assert inside is not None
    assert outside is not None
    assert inside["referenceCode"] == "txn_01JTESTTRANSACTION"
    assert not outside["referenceCode"]


async def test_a_repeated_invoice_returns_the_committed_tax_once(env: Env) -> None:
    request = tax_request(
        NEW_YORK, [tax_line("1", "100.00"), tax_line("2", "12.34")], kind="invoice",
        code="inv_retry",
    )  # fmt: skip
    first = await env.adapter.calculate(request)
    second = await env.adapter.calculate(request)
    assert second == first
    assert second.committed is True
    assert env.sandbox.create_calls == 2  # the second create was refused, not recorded
    (recorded,) = env.sandbox.transactions()
    assert recorded["code"] == "inv_retry"
    assert recorded["version"] == 1
    gets = [r for r in env.wire.requests if r.method == "GET"]
    assert [r.url.path for r in gets] == ["/api/v2/companies/ACME/transactions/inv_retry"]
    assert gets[0].url.params["documentType"] == "SalesInvoice"


async def test_a_lost_create_response_is_retried_without_posting_twice(env: Env) -> None:
    env.wire.lose_create_responses = 1  # AvaTax committed it, the answer never arrived
    request = tax_request(
        LONDON, [tax_line("1", "80.00")], currency="GBP", kind="invoice", code="inv/lost#1",
        legal_entity="acme-uk",
    )  # fmt: skip
    result = await env.adapter.calculate(request)
    assert (result.total_tax, result.committed) == ("16.00", True)
    assert env.sandbox.create_calls == 2
    (recorded,) = env.sandbox.transactions()
    assert (recorded["companyCode"], recorded["code"]) == ("ACME-UK", "inv/lost#1")


async def test_a_reused_code_with_other_lines_is_a_conflict(env: Env) -> None:
    await env.adapter.calculate(
        tax_request(NEW_YORK, [tax_line("1", "100.00")], kind="invoice", code="inv_x")
    )
    with pytest.raises(Conflict) as caught:
        await env.adapter.calculate(
            tax_request(NEW_YORK, [tax_line("1", "999.00")], kind="invoice", code="inv_x")
        )
    assert caught.value.existing_id == "inv_x"
    assert caught.value.system == "avalara"
    assert len(env.sandbox.transactions()) == 1


async def test_a_voided_code_is_not_reported_as_committed(env: Env) -> None:
    request = tax_request(NEW_YORK, [tax_line("1", "10.00")], kind="invoice", code="inv_void")
    await env.adapter.calculate(request)
    credentials = f"{AUTH.account_id}:{AUTH.license_key}".encode()
    response = await env.upstream.request(
        "POST",
        "/api/v2/companies/ACME/transactions/inv_void/void",
        operation="test.void",
        retry_safe=False,
        json={"code": "DocVoided"},
        headers={"Authorization": "Basic " + b64encode(credentials).decode()},
    )
    assert response.json()["status"] == "Cancelled"
    with pytest.raises(Conflict, match="Cancelled"):
        await env.adapter.calculate(request)


async def test_an_explicit_ship_from_is_sent_for_its_company() -> None:
    sandbox = AvalaraSandbox()
    async with environment(sandbox) as env:
        origin = AvalaraAddress(country="US", line1="1 Dock Rd", city="Dallas", region="TX",
                                postal_code="75201")  # fmt: skip
        adapter = AvalaraAdapter(
            env.client, company_codes={}, default_company="ACME",
            ship_from={"ACME": origin},
        )  # fmt: skip
        await adapter.calculate(
            tax_request(NEW_YORK, [tax_line("1", "10.00")], kind="invoice", code="inv_sf")
        )
        recorded = sandbox.transaction("ACME", "inv_sf")
        assert recorded is not None
        assert {a["city"] for a in recorded["addresses"]} == {"Dallas", "New York"}
        assert env.wire.bodies()[0]["addresses"]["shipFrom"]["region"] == "TX"


# ==================================================================== failures


async def test_engine_down_is_unavailable_after_bounded_retries(env: Env) -> None:
    env.sandbox.faults.fail_next = 10
    with pytest.raises(DependencyUnavailable) as caught:
        await env.adapter.calculate(tax_request(BERLIN, [tax_line("1", "1.00")], currency="EUR"))
    assert caught.value.system == "avalara"
    assert "ServiceNotReady" in caught.value.detail
    assert env.sandbox.faults.fail_next == 7  # 1 attempt + 2 retries
    assert env.sandbox.create_calls == 0


async def test_a_passing_fault_is_retried(env: Env) -> None:
    env.sandbox.faults.fail_next = 1
    result = await env.adapter.calculate(
        tax_request(BERLIN, [tax_line("1", "10.00")], currency="EUR", kind="invoice")
    )
    assert result.total_tax == "1.90"
    assert len(env.sandbox.transactions()) == 1


async def test_a_us_address_without_a_known_state_is_a_client_error_naming_ship_to(
    env: Env,
) -> None:
    nowhere = Address(country="US", city="Springfield", street="742 Evergreen Terrace")
    with pytest.raises(ValidationFailed) as caught:
        await env.adapter.calculate(tax_request(nowhere, [tax_line("1", "10.00")]))
    error = caught.value
    assert error.system == "avalara"
    assert [(i.field, i.code) for i in error.errors] == [("ship_to", "InvalidAddress")]
    assert "region" in error.errors[0].message


async def test_an_unknown_country_is_a_client_error_naming_the_country(env: Env) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await env.adapter.calculate(
            tax_request(Address(country="XX", city="X"), [tax_line("1", "10.00")])
        )
    assert caught.value.system == "avalara"
    assert [i.field for i in caught.value.errors] == ["ship_to.country"]


async def test_the_address_error_names_the_field_the_client_gave_it_in(env: Env) -> None:
    request = msgspec.structs.replace(
        tax_request(Address(country="XX", city="X"), [tax_line("1", "10.00")]),
        ship_to_field="customer.address",
    )
    with pytest.raises(ValidationFailed) as caught:
        await env.adapter.calculate(request)
    assert [i.field for i in caught.value.errors] == ["customer.address.country"]


async def test_an_unusable_origin_is_our_configuration_not_the_clients() -> None:
    async with environment(AvalaraSandbox()) as env:
        adapter = AvalaraAdapter(
            env.client, company_codes={}, default_company="ACME",
            ship_from={"ACME": AvalaraAddress(country="XX", city="Nowhere")},
        )  # fmt: skip
        with pytest.raises(DependencyRejected) as caught:
            await adapter.calculate(tax_request(NEW_YORK, [tax_line("1", "10.00")]))
    assert caught.value.vendor_code == "InvalidCountry"


async def test_a_too_long_document_code_names_the_document_code(env: Env) -> None:
    with pytest.raises(DependencyRejected) as caught:
        await env.adapter.calculate(tax_request(BERLIN, [tax_line("1", "1")], code="c" * 51))
    assert caught.value.vendor_code == "StringLengthError"
    assert [i.field for i in caught.value.errors] == ["document_code"]


async def test_wrong_credentials_are_unavailable_not_rejected() -> None:
    async with environment(AvalaraSandbox(), AvalaraAuth("2000123456", "wrong")) as env:
        with pytest.raises(DependencyUnavailable, match="AuthenticationException"):
            await env.adapter.calculate(tax_request(BERLIN, [tax_line("1", "1.00")]))
        assert len(env.wire.requests) == 1  # a 401 is not retried


async def test_an_unknown_company_code_is_a_configuration_failure() -> None:
    async with environment(AvalaraSandbox()) as env:
        adapter = AvalaraAdapter(env.client, company_codes={}, default_company="NOPE")
        with pytest.raises(DependencyUnavailable, match="Company not found"):
            await adapter.calculate(tax_request(BERLIN, [tax_line("1", "1.00")]))


# ======================================================================= wire


async def test_every_call_identifies_the_client_and_authenticates(env: Env) -> None:
    assert await env.client.ping() is True
    await env.adapter.calculate(tax_request(BERLIN, [tax_line("1", "1.00")], currency="EUR"))
    for request in env.wire.requests:
        assert request.headers["x-avalara-client"] == "q2c-gateway; 1.0; python; 1.0; ci-runner"
        assert request.headers["authorization"].startswith("Basic ")
    create = env.wire.requests[-1]
    assert create.url.params["$include"] == "Lines,Details"
    assert create.headers["content-type"] == "application/json"


async def test_ping_reports_bad_credentials_without_failing() -> None:
    async with environment(AvalaraSandbox(), AvalaraAuth("2000123456", "wrong")) as env:
        assert await env.client.ping() is False


# ======================================================================== void


async def test_void_cancels_the_committed_document_once(env: Env) -> None:
    await env.adapter.calculate(
        tax_request(BERLIN, [tax_line("1", "10.00")], currency="EUR", kind="invoice",
                    code="inv_void", legal_entity="acme-eu")
    )
    await env.adapter.void_transaction("acme-eu", "inv_void", "order cancelled")
    recorded = env.sandbox.transaction("ACME-EU", "inv_void")
    assert recorded is not None
    assert recorded["status"] == "Cancelled"
    voids = [r for r in env.wire.requests if r.url.path.endswith("/void")]
    assert [json.loads(r.content) for r in voids] == [{"code": "DocVoided"}]
    assert voids[0].url.params["documentType"] == "SalesInvoice"
    # again: a no-op (the compensation may run twice)
    await env.adapter.void_transaction("acme-eu", "inv_void", "order cancelled")
    assert env.sandbox.transaction("ACME-EU", "inv_void")["status"] == "Cancelled"  # type: ignore[index]
    assert len([r for r in env.wire.requests if r.url.path.endswith("/void")]) == 2


async def test_void_takes_the_legal_entity_or_the_company_code(env: Env) -> None:
    await env.adapter.calculate(
        tax_request(LONDON, [tax_line("1", "10.00")], currency="GBP", kind="invoice",
                    code="inv_uk", legal_entity="acme-uk")
    )
    company = env.adapter.company_for("acme-uk")
    assert company == "ACME-UK"
    await env.adapter.void_transaction(company, "inv_uk", "duplicate")
    assert env.sandbox.transaction(company, "inv_uk")["status"] == "Cancelled"  # type: ignore[index]


async def test_voiding_a_document_never_recorded_is_a_no_op(env: Env) -> None:
    await env.adapter.void_transaction("", "inv_never_posted", "order cancelled")
    assert env.sandbox.transactions() == []


async def test_voiding_in_a_company_avatax_lacks_is_a_configuration_failure(env: Env) -> None:
    adapter = AvalaraAdapter(env.client, company_codes={"acme-xx": "NOPE"},
                             default_company="ACME")  # fmt: skip
    with pytest.raises(DependencyUnavailable):
        await adapter.void_transaction("acme-xx", "inv_x", "order cancelled")
