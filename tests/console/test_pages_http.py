"""The console's pages over HTTP after a real sign-in (the built-in issuer's OpenID
flow): each user sees their tenant's items of their teams only, viewers cannot act,
actions reach the same services as the API and are audited with the user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import msgspec
import pytest

from gateway.app import create_app
from gateway.flow.settings import FlowSettings
from gateway.wiring import Runtime, build_runtime
from policies.auth.config import DEMO_USERS, IssuerUser
from policies.auth.passwords import hash_password
from tests.console.pages_support import exception_item, now, seed
from tests.console.support import csrf_token, sign_in_asgi
from tests.support.settings import gateway_settings

PRICE = "exc_SA000000000000000000000001"
CREDIT = "exc_SA000000000000000000000002"
OTHER_TENANTS = "exc_OT000000000000000000000003"
PASSWORDS = {"priya": "pricing-demo", "carl": "credit-demo", "vera": "viewer-demo",
             "ada": "admin-demo", "olga": "other-demo"}  # fmt: skip


@dataclass
class Console:
    runtime: Runtime
    base: str
    app: object

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),  # type: ignore[arg-type]
                                 base_url=self.base)  # fmt: skip

    @asynccontextmanager
    async def signed_in(self, username: str) -> AsyncIterator[httpx.AsyncClient]:
        async with self.client() as client:
            await sign_in_asgi(client, username, PASSWORDS[username])
            yield client


@pytest.fixture
async def console() -> AsyncIterator[Console]:
    base = gateway_settings(flow=FlowSettings())
    other = IssuerUser(username="olga", password_hash=hash_password("other-demo"),
                       name="Olga Other", tenant="other", teams=("pricing-ops",),
                       role="operator")  # fmt: skip
    issuer = msgspec.structs.replace(base.auth.builtin_issuer, users=(*DEMO_USERS, other))
    settings = msgspec.structs.replace(
        base, auth=msgspec.structs.replace(base.auth, builtin_issuer=issuer)
    )
    runtime = build_runtime(settings, run_workflows=False)
    await runtime.start()
    try:
        assert runtime.flow is not None
        at = now()
        await seed(
            runtime.flow.store,
            exception_item("sandbox", 1, owner="pricing-ops", error_class="price_mismatch",
                           code="LINE_PRICE_MISMATCH", at=at, amount="800.00"),
            exception_item("sandbox", 2, owner="credit-control", error_class="credit_hold",
                           code="CREDIT_HOLD", at=at, amount="50000.00"),
            exception_item("other", 3, owner="pricing-ops", error_class="price_mismatch",
                           code="OTHER_TENANTS_MISMATCH", at=at),
        )  # fmt: skip
        yield Console(runtime, settings.server.origin(), create_app(settings, runtime))
    finally:
        await runtime.close()


async def test_an_operator_sees_their_teams_items_only(console: Console) -> None:
    async with console.signed_in("priya") as priya:
        queue = await priya.get("/console/exceptions")
        assert queue.status_code == 200
        assert PRICE in queue.text
        assert CREDIT not in queue.text
        assert "CREDIT_HOLD" not in queue.text
        counts = (await priya.get("/console/exceptions/counts")).json()
        assert counts["teams"] == {"pricing-ops": 1}
        assert counts["total"] == 1
        assert (await priya.get(f"/console/exceptions/{CREDIT}")).status_code == 404
        asked = await priya.get("/console/exceptions", params={"team": "credit-control"})
        assert CREDIT not in asked.text  # naming the team does not widen the view
    async with console.signed_in("ada") as ada:
        everything = (await ada.get("/console/exceptions")).text
        assert PRICE in everything
        assert CREDIT in everything
        big = (await ada.get("/console/exceptions", params={"min_amount": "1000"})).text
        assert CREDIT in big
        assert PRICE not in big


async def test_another_tenants_records_do_not_exist_for_a_user(console: Console) -> None:
    async with console.signed_in("olga") as olga:
        queue = (await olga.get("/console/exceptions")).text
        assert OTHER_TENANTS in queue
        assert PRICE not in queue
        assert (await olga.get(f"/console/exceptions/{PRICE}")).status_code == 404
        transaction = PRICE.replace("exc_", "txn_")
        assert (await olga.get(f"/console/transactions/{transaction}")).status_code == 404
        token = csrf_token(queue)
        taken = await olga.post(f"/console/exceptions/{PRICE}/assign",
                                data={"csrf_token": token})  # fmt: skip
        assert taken.status_code == 404
    assert console.runtime.flow is not None
    item = await console.runtime.flow.exceptions.get("sandbox", PRICE)
    assert (item.state, item.assignee) == ("open", None)


async def test_a_viewer_has_no_action_and_a_posted_one_is_refused(console: Console) -> None:
    async with console.signed_in("vera") as vera:
        page = await vera.get(f"/console/exceptions/{PRICE}")
        assert page.status_code == 200
        assert "/assign" not in page.text
        assert "/retry" not in page.text
        assert "Assign to me" not in (await vera.get("/console/exceptions")).text
        for action in ("assign", "retry", "resolve", "dismiss", "comment"):
            refused = await vera.post(
                f"/console/exceptions/{PRICE}/{action}",
                data={"csrf_token": csrf_token(page.text), "note": "x", "text": "x"},
            )
            assert refused.status_code == 403, action
    assert console.runtime.flow is not None
    item = await console.runtime.flow.exceptions.get("sandbox", PRICE)
    assert (item.state, item.actions, item.comments) == ("open", [], [])


async def test_actions_are_recorded_and_audited_with_the_signed_in_user(
    console: Console,
) -> None:
    async with console.signed_in("priya") as priya:
        page = await priya.get(f"/console/exceptions/{PRICE}")
        token = csrf_token(page.text)
        assigned = await priya.post(f"/console/exceptions/{PRICE}/assign",
                                    data={"csrf_token": token})  # fmt: skip
        assert assigned.status_code == 303
        assert assigned.headers["location"] == f"/console/exceptions/{PRICE}?done=assign"
        commented = await priya.post(f"/console/exceptions/{PRICE}/comment",
                                     data={"csrf_token": token, "text": "Asking sales"})
        assert commented.status_code == 303
        shown = (await priya.get(f"/console/exceptions/{PRICE}?done=comment")).text
        assert "Comment added." in shown
        assert "Asking sales" in shown
    assert console.runtime.flow is not None
    item = await console.runtime.flow.exceptions.get("sandbox", PRICE)
    assert (item.state, item.assignee) == ("assigned", "priya")
    assert [(a.action, a.actor) for a in item.actions] == [("assign", "priya"),
                                                          ("comment", "priya")]
    assert [(c.author, c.text) for c in item.comments] == [("priya", "Asking sales")]
    entries, _ = await console.runtime.audit_store.query("sandbox", consumer="priya")
    audited = sorted((e.operation, e.status, e.route, e.resource_id, e.method)
                     for e in entries)  # fmt: skip
    assert audited == [
        ("assignException", 200, "/console/exceptions/{exception_id}/assign", PRICE, "POST"),
        ("commentException", 200, "/console/exceptions/{exception_id}/comment", PRICE, "POST"),
    ]


async def test_a_refused_form_changes_nothing_and_says_why(console: Console) -> None:
    async with console.signed_in("priya") as priya:
        token = csrf_token((await priya.get(f"/console/exceptions/{PRICE}")).text)
        bad = await priya.post(
            f"/console/exceptions/{PRICE}/retry",
            data={"csrf_token": token, "form": "retry_edit",
                  "edits.payment_terms": "NET999", "edits.accept_price_variance": "true"},
        )  # fmt: skip
        assert bad.status_code == 422
        assert 'id="f-edits-payment-terms-error"' in bad.text
        assert "Use one of DUE_ON_RECEIPT, NET15, NET30, NET45, NET60." in bad.text
        assert 'value="NET999"' in bad.text  # what was typed is kept
        malformed = await priya.post(
            f"/console/exceptions/{PRICE}/retry",
            data={"csrf_token": token, "form": "retry_edit", "edits.legal_entity": "acme us"},
        )
        assert malformed.status_code == 422
        assert 'id="f-edits-legal-entity-error"' in malformed.text
        unexplained = await priya.post(f"/console/exceptions/{PRICE}/resolve",
                                       data={"csrf_token": token, "note": " "})  # fmt: skip
        assert unexplained.status_code == 422
        assert 'id="resolve-note-error"' in unexplained.text
    assert console.runtime.flow is not None
    item = await console.runtime.flow.exceptions.get("sandbox", PRICE)
    assert (item.state, item.actions) == ("open", [])
    entries, _ = await console.runtime.audit_store.query("sandbox", consumer="priya")
    assert [(e.operation, e.status, e.outcome) for e in entries] == [
        ("retryException", 422, "rejected")  # the flow's rule refused it, like the API's
    ]


async def test_every_page_renders_for_a_signed_in_user(console: Console) -> None:
    transaction = PRICE.replace("exc_", "txn_")
    async with console.signed_in("ada") as ada:
        for path, expected in (
            ("/console", "Exception queue"),
            ("/console/exceptions", "Open items per team"),
            (f"/console/exceptions/{PRICE}", "Why it stopped"),
            (f"/console/transactions/{transaction}", "com.q2c.quote.accepted"),
            ("/console/transactions", transaction),
            ("/console/dead-letters", "Dead letters"),
            ("/console/dashboards", "<svg"),
        ):
            page = await ada.get(path, follow_redirects=True)
            assert page.status_code == 200, path
            assert expected in page.text, path
            assert page.headers["cache-control"] == "no-store"
            assert "script-src 'self'" in page.headers["content-security-policy"]
        css = await ada.get("/console/static/console.css")
        assert css.status_code == 200
        assert ":focus-visible" in css.text


async def test_console_pages_stay_out_of_the_api_contract(console: Console) -> None:
    async with console.client() as client:
        document = (await client.get("/schema/openapi.json")).json()
    assert document["paths"]
    assert not [p for p in document["paths"] if p.startswith("/console")]


async def test_signed_out_readers_of_the_counts_are_sent_to_sign_in(console: Console) -> None:
    async with console.client() as client:
        answer = await client.get("/console/exceptions/counts")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/login")
