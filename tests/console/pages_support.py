"""Signing in to the console the way a browser does (OpenID Connect code flow against
the built-in issuer: its sign-in form, the callback, the session cookie), and a store
seeded with exceptions for the page tests."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import httpx

from domains.quote_to_cash.clock import rfc3339
from domains.quote_to_cash.ports import CanonicalEvent, TransactionChange
from domains.quote_to_cash.records import ExceptionItem, Finding, StepEntry, Transaction
from gateway.flow.store import SqlTransactionStore

_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_ACTION = re.compile(r'<form method="post" action="([^"]+)"')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def sign_in_http(
    client: httpx.AsyncClient, base_url: str, username: str, password: str
) -> httpx.Response:
    """Through /console/login, the issuer's form and /console/callback; the client keeps
    the session cookie. Returns the console page the browser lands on."""
    form_page = await client.get(f"{base_url}/console/login", follow_redirects=True)
    assert form_page.status_code == 200, form_page.text
    action = _ACTION.search(form_page.text)
    assert action is not None, form_page.text
    fields = {name: unescape(value) for name, value in _INPUT.findall(form_page.text)}
    landed = await client.post(
        httpx.URL(str(form_page.url)).join(unescape(action.group(1))),
        data={**fields, "username": username, "password": password},
        follow_redirects=True,
    )
    assert landed.status_code == 200, landed.text
    assert landed.url.path.startswith("/console"), landed.url
    return landed


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found is not None, "the page has no form token"
    return unescape(found.group(1))


def exception_item(
    tenant: str,
    number: int,
    *,
    owner: str,
    error_class: str,
    code: str,
    at: str,
    state: str = "open",
    amount: str | None = "1200.00",
    kind: str = "exception",
) -> tuple[Transaction, list[TransactionChange]]:
    """A transaction that stopped at validation with one exception (and one event)."""
    txid = f"txn_{tenant[:2].upper()}{number:024d}"
    quote = f"quo_{tenant[:2].upper()}{number:024d}"
    record = Transaction(id=txid, tenant=tenant, quote_id=quote, state="running",
                         trace_id=f"{number:032x}", accepted_at=at, updated_at=at)
    item = ExceptionItem(
        id=f"exc_{tenant[:2].upper()}{number:024d}", tenant=tenant, transaction_id=txid,
        kind=kind, step="validate", error_class=error_class, code=code,  # type: ignore[arg-type]
        detail=f"{code} on quote {quote}", owner=owner, state=state,  # type: ignore[arg-type]
        findings=[Finding(check="price", error_class=error_class, code=code,
                          message="quoted 80.00, the price book gives 100.00",
                          field="lines[0].unit_price")],
        errors=[{"class": error_class, "code": code, "detail": "", "system": "salesforce"}],
        context={"quote_id": quote, "edits": {}}, created_at=at, updated_at=at,
        amount=amount, currency="EUR" if amount else None,
    )  # fmt: skip
    accepted = CanonicalEvent(
        id=f"evt_{tenant[:2].upper()}{number:024d}", type="com.q2c.quote.accepted",
        tenant=tenant, transaction_id=txid, subject=quote, time=at,
        data={"transaction_id": txid, "quote_id": quote, "source": "api"},
        traceparent=f"00-{number:032x}-{number:016x}-01",
    )  # fmt: skip
    changes = [
        TransactionChange(
            tenant=tenant, transaction_id=txid, state="exception",
            entry=StepEntry(step="validate", status="failed", system="salesforce",
                            system_ids={"quote": "0Q0000000000001AAA"}, started_at=at,
                            ended_at=at, detail=f"exception {item.id} -> {owner}",
                            error={"class": error_class, "code": code, "detail": "",
                                   "system": "salesforce"}),
            fields={"entry_key": "1:validate"}, events=[accepted], exception=item,
        )
    ]  # fmt: skip
    return record, changes


async def seed(store: SqlTransactionStore, *rows: tuple[Transaction, list[Any]]) -> None:
    await store.load([r for r, _ in rows], [c for _, cs in rows for c in cs])


def now() -> str:
    from datetime import UTC, datetime

    return rfc3339(datetime.now(UTC))
