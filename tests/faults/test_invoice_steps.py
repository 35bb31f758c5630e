"""Invoicing with billing or tax failing at each step (issue 13 item 8).

The order of effects is Stripe draft -> AvaTax commit -> Stripe finalize, so no failure
leaves tax on the return without an invoice behind it: billing down at the draft
commits nothing; the tax engine down at the commit leaves a draft that the retry
finishes; billing refusing the finalisation for good gets the tax document voided.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from domains.ids import derived_id
from tests.faults.harness import (
    AvalaraControl,
    Figures,
    Gateways,
    StripeControl,
    billing_env,
    billing_systems,
    gateways,
    key,
    order_body,
    sap_server,
    until_done,
)
from tests.support.processes import ServerProcess
from tests.support.servers import serve_in_thread

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
TENANT = "e2e"  # the fault harness's client


@contextlib.contextmanager
def billing_landscape(
    tmp_path: Path, salesforce: str, database: str, prefix: str
) -> Iterator[tuple[Gateways, StripeControl, AvalaraControl]]:
    stripe, avalara = StripeControl(), AvalaraControl()
    with contextlib.ExitStack() as stack:
        stripe_url = stack.enter_context(serve_in_thread(stripe))
        avalara_url = stack.enter_context(serve_in_thread(avalara))
        sap_url, _sap = stack.enter_context(sap_server())
        one = stack.enter_context(
            gateways(
                tmp_path,
                count=1,
                salesforce=salesforce,
                sap=sap_url,
                database=database,
                redis_prefix=prefix,
                extra=billing_systems(stripe_url, avalara_url),
                env=billing_env(stripe, avalara),
            )
        )
        yield one, stripe, avalara


async def new_order(api: httpx.AsyncClient, figures: Figures) -> str:
    response = figures.record(await api.post("/v1/orders", content=await order_body(api),
                                             headers=key()))
    assert response.status_code == 201, response.text
    order_id: str = response.json()["id"]
    return order_id


def invoice_body(order_id: str) -> bytes:
    return json.dumps({"order_id": order_id}).encode()


async def test_billing_and_tax_failing_at_each_invoice_step(
    tmp_path: Path,
    salesforce: ServerProcess,
    database: str,
    shared_redis_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    figures = Figures("invoice_steps")
    with billing_landscape(tmp_path, salesforce.url, database, shared_redis_prefix) as (
        gateway,
        stripe,
        avalara,
    ):
        async with gateway.client() as api:
            # 1. Billing down when the draft is made: nothing is committed anywhere.
            first = await new_order(api, figures)
            headers = key()
            stripe.down = True
            down = figures.record(
                await api.post("/v1/invoices", content=invoice_body(first), headers=headers)
            )
            stripe.down = False
            first_invoice = derived_id("invoice", TENANT, first)
            committed_while_down = avalara.invoices(first_invoice)
            done = await until_done(
                lambda: api.post("/v1/invoices", content=invoice_body(first), headers=headers),
                figures,
            )

            # 2. The tax engine down at the commit: the draft waits, the retry finishes it.
            second = await new_order(api, figures)
            headers = key()
            avalara.down_for_commits = True
            tax_down = figures.record(
                await api.post("/v1/invoices", content=invoice_body(second), headers=headers)
            )
            avalara.down_for_commits = False
            drafts = stripe.invoices(second)
            second_invoice = derived_id("invoice", TENANT, second)
            committed_while_tax_down = avalara.invoices(second_invoice)
            finished = await until_done(
                lambda: api.post("/v1/invoices", content=invoice_body(second), headers=headers),
                figures,
            )

            # 3. Billing refuses to finalise for good: the tax document is voided.
            third = await new_order(api, figures)
            headers = key()
            stripe.refuse_finalize = True
            refused = figures.record(
                await api.post("/v1/invoices", content=invoice_body(third), headers=headers)
            )
            again = figures.record(
                await api.post("/v1/invoices", content=invoice_body(third), headers=headers)
            )
            stripe.refuse_finalize = False
            third_invoice = derived_id("invoice", TENANT, third)
    figures.faults = stripe.injected + avalara.injected
    per_order = [len(stripe.invoices(o)) for o in (first, second, third)]
    per_code = [len(avalara.invoices(c)) for c in (first_invoice, second_invoice, third_invoice)]
    figures.duplicates = sum(max(0, n - 1) for n in per_order + per_code)
    figures.notes["stripe_invoices"] = per_order
    figures.notes["tax_documents"] = per_code
    figures.report(capsys)

    assert figures.statuses[500] == 0, figures.line()
    assert figures.duplicates == 0
    # 1.
    assert down.status_code == 503, down.text
    assert committed_while_down == []
    assert done.status_code == 201, done.text
    assert done.json()["id"] == first_invoice
    [tax] = avalara.invoices(first_invoice)
    assert tax["status"] == "Committed"
    assert [i["status"] for i in stripe.invoices(first)] == ["open"]
    # 2.
    assert tax_down.status_code == 503, tax_down.text
    assert [d["status"] for d in drafts] == ["draft"]
    assert committed_while_tax_down == []
    assert finished.status_code == 201, finished.text
    [invoice] = stripe.invoices(second)
    assert invoice["id"] == drafts[0]["id"]
    assert invoice["status"] == "open"
    assert [t["status"] for t in avalara.invoices(second_invoice)] == ["Committed"]
    # 3.
    assert refused.status_code == 502, refused.text
    assert refused.json()["system"] == "stripe"
    assert [t["status"] for t in avalara.invoices(third_invoice)] == ["Cancelled"]
    assert [i["status"] for i in stripe.invoices(third)] == ["draft"]
    assert again.status_code in (409, 502), again.text  # never tax without an invoice
    assert [t["status"] for t in avalara.invoices(third_invoice)] == ["Cancelled"]
