"""What every fault test uses: sandboxes with switches, gateways as processes, a client
that retries the way the problems tell it to, and the one-line figures each test prints.

Salesforce runs as a sandbox process. SAP, Stripe and AvaTax are served by uvicorn in a
thread of the test process (a process of their own as far as the gateways can tell),
each behind a wrapper that injects the faults a test switches on: an order POST that
SAP commits only after the gateway gave up, a response held until the gateway is
killed, billing down at one step of invoicing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.settings import load_settings
from policies.auth import mint_local_token
from policies.auth.scopes import ALL_SCOPES
from sandboxes.avalara import SIMULATOR as AVALARA
from sandboxes.avalara.app import AvalaraSandbox
from sandboxes.sap_s4hana.app import SapSandbox
from sandboxes.sap_s4hana.app import create_app as sap_app
from sandboxes.stripe import SIMULATOR as STRIPE
from sandboxes.stripe.app import StripeSandbox
from tests.support.processes import (
    E2E_CLIENT,
    E2E_SECRET,
    SANDBOX_ENV,
    ServerProcess,
    config_for,
    gateway,
    running_together,
)
from tests.support.servers import serve_in_thread

Scope = dict[str, Any]
SAP_ORDERS = "/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder"


# -- figures -----------------------------------------------------------------------------


@dataclass
class Figures:
    """What a fault test reports: requests sent, faults injected, duplicate effects, 5xx."""

    name: str
    statuses: Counter[int] = field(default_factory=Counter)
    faults: int = 0
    duplicates: int = 0
    notes: dict[str, object] = field(default_factory=dict)

    def record(self, response: httpx.Response) -> httpx.Response:
        self.statuses[response.status_code] += 1
        return response

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def line(self) -> str:
        server_errors = sum(n for status, n in self.statuses.items() if status >= 500)
        extra = " ".join(f"{k}={v}" for k, v in self.notes.items())
        return (
            f"FAULTS {self.name}: requests={self.requests} faults_injected={self.faults} "
            f"duplicates={self.duplicates} 5xx={server_errors} (500={self.statuses[500]}) "
            f"statuses={dict(sorted(self.statuses.items()))} {extra}"
        ).rstrip()

    def report(self, capsys: pytest.CaptureFixture[str]) -> None:
        with capsys.disabled():
            print(f"\n{self.line()}", flush=True)


def retry_after(response: httpx.Response, cap: float = 2.0) -> float:
    value = response.headers.get("retry-after", "1")
    return min(cap, float(value)) if value.isdigit() else 1.0


async def until_done(
    send: Callable[[], Any],
    figures: Figures,
    *,
    deadline_seconds: float = 60.0,
    retry_on: frozenset[int] = frozenset({409, 503, 504}),
) -> httpx.Response:
    """Send until the answer is final, waiting what ``Retry-After`` says (capped);
    a transport error (a gateway killed under the request) is retried as well."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            response = figures.record(await send())
        except httpx.TransportError:
            figures.notes["transport_errors"] = int(figures.notes.get("transport_errors", 0)) + 1
            await asyncio.sleep(0.2)
            continue
        if response.status_code not in retry_on:
            return response
        if time.monotonic() > deadline:
            return response
        await asyncio.sleep(retry_after(response))


def key() -> dict[str, str]:
    return {"Idempotency-Key": f'"{uuid.uuid4()}"', "Content-Type": "application/json"}


# -- SAP with switches -------------------------------------------------------------------


class SapControl:
    """The SAP sandbox; order POSTs can be slowed (committed late) or held."""

    def __init__(self, sandbox: SapSandbox) -> None:
        self.sandbox = sandbox
        self.app = sap_app(sandbox)
        self.commit_after_seconds = 0.0  # order POSTs: wait, then create (and answer)
        self.hold: asyncio.Event | None = None  # order POSTs: create, answer once set
        self.held = 0
        self.order_posts = 0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        is_order_post = (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].endswith("/A_SalesOrder")
        )
        if not is_order_post:
            await self.app(scope, receive, send)
            return
        self.order_posts += 1
        # Read the whole request first: SAP goes on with a request it has received
        # even when the caller hangs up.
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                await asyncio.sleep(3600)
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        if self.commit_after_seconds:
            await asyncio.sleep(self.commit_after_seconds)
        if self.hold is None:
            await self.app(scope, replay, send)
            return
        messages: list[dict[str, Any]] = []

        async def capture(message: dict[str, Any]) -> None:
            messages.append(message)

        await self.app(scope, replay, capture)
        self.held += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.hold.wait(), 30)
        for message in messages:
            await send(message)

    def orders_with_reference(self, reference: str) -> list[dict[str, Any]]:
        return [
            o for o in self.sandbox.sales_orders() if o["PurchaseOrderByCustomer"] == reference
        ]

    def duplicates(self) -> int:
        """SAP orders whose reference (the canonical order id) another order has too."""
        references = Counter(
            o["PurchaseOrderByCustomer"]
            for o in self.sandbox.sales_orders()
            if str(o.get("PurchaseOrderByCustomer", "")).startswith("ord_")
        )
        return sum(n - 1 for n in references.values() if n > 1)


@contextlib.contextmanager
def sap_server() -> Iterator[tuple[str, SapControl]]:
    control = SapControl(SapSandbox())
    with serve_in_thread(control) as url:
        try:
            yield url, control
        finally:
            if control.hold is not None:
                control.hold.set()


# -- billing and tax with switches -------------------------------------------------------


class StripeControl:
    def __init__(self) -> None:
        self.sandbox = StripeSandbox()
        self.app = STRIPE.create_app(self.sandbox)
        self.down = False  # every request: 503
        self.refuse_finalize = False  # POST /v1/invoices/{id}/finalize: 400, for good
        self.injected = 0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and self.down:
            self.injected += 1
            await _json(send, 503, {"error": {"type": "api_error", "message": "down (test)"}})
            return
        if scope["type"] == "http" and self.refuse_finalize and path.endswith("/finalize"):
            self.injected += 1
            await _json(
                send,
                400,
                {"error": {"type": "invalid_request_error", "code": "invoice_not_editable",
                           "message": "This invoice cannot be finalized (test)."}},
            )
            return
        await self.app(scope, receive, send)

    def invoices(self, order_id: str) -> list[dict[str, Any]]:
        return [
            i
            for i in self.sandbox.objects("invoice")
            if i.get("metadata", {}).get("q2c_order_id") == order_id
        ]


class AvalaraControl:
    def __init__(self) -> None:
        self.sandbox = AvalaraSandbox()
        self.app = AVALARA.create_app(self.sandbox)
        self.down_for_commits = False  # SalesInvoice creates: 503; estimates pass
        self.injected = 0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if not (self.down_for_commits and scope["type"] == "http" and scope["method"] == "POST"):
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if b'"SalesInvoice"' in body or scope["path"].endswith("/void"):
            self.injected += 1
            await _json(send, 503, {"error": {"code": "ServiceNotReady", "message": "down"}})
            return
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def invoices(self, code: str) -> list[dict[str, Any]]:
        return [
            t
            for t in self.sandbox.transactions()
            if t["code"] == code and t["type"] == "SalesInvoice"
        ]


async def _json(send: Any, status: int, body: dict[str, Any]) -> None:
    content = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": content})


def billing_systems(stripe_url: str, avalara_url: str) -> str:
    """Configuration for Stripe and AvaTax reached over HTTP (credentials from env)."""
    return f"""
[systems.stripe]
kind = "stripe"
base_url = "{stripe_url}"
api_key_env = "E2E_STRIPE_KEY"

[systems.stripe.upstream]
timeout_seconds = 3
max_retries = 0

[systems.avalara]
kind = "avalara"
base_url = "{avalara_url}"
account_id_env = "E2E_AVATAX_ACCOUNT"
license_key_env = "E2E_AVATAX_KEY"

[systems.avalara.upstream]
timeout_seconds = 3
max_retries = 0
"""


def billing_env(stripe: StripeControl, avalara: AvalaraControl) -> dict[str, str]:
    stripe_credentials = STRIPE.credentials(stripe.sandbox)
    avalara_credentials = AVALARA.credentials(avalara.sandbox)
    return {
        "E2E_STRIPE_KEY": stripe_credentials.get("api_key") or "",
        "E2E_AVATAX_ACCOUNT": avalara_credentials.get("account_id") or "",
        "E2E_AVATAX_KEY": avalara_credentials.get("license_key") or "",
    }


# -- gateways ----------------------------------------------------------------------------


@dataclass
class Gateways:
    servers: tuple[ServerProcess, ...]
    config: Path
    token: str

    def client(self, index: int = 0, token: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.servers[index].url,
            timeout=30,
            headers={"Authorization": f"Bearer {token or self.token}"},
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )

    def token_for(self, tenant: str) -> str:
        """A token of the same client for another tenant, signed with the gateways' key."""
        settings = load_settings(self.config)
        return mint_local_token(
            settings.auth, client_id=E2E_CLIENT, scopes=sorted(ALL_SCOPES), tenant=tenant
        )


@contextlib.contextmanager
def gateways(
    folder: Path,
    *,
    count: int,
    salesforce: str,
    sap: str,
    database: str,
    redis_url: str | None = None,
    redis_prefix: str | None = None,
    extra: str = "",
    env: dict[str, str] | None = None,
    sap_commit_window: float = 30.0,
    sap_timeout: float = 5.0,
) -> Iterator[Gateways]:
    config = config_for(
        folder / "gateway.toml",
        salesforce=salesforce,
        sap=sap,
        redis_prefix=redis_prefix,
        redis_url=redis_url,
        database_url=database,
        extra=extra,
        sap_options=f"commit_window_seconds = {sap_commit_window}",
        sap_timeout_seconds=sap_timeout,
    )
    servers = tuple(gateway(config, {**SANDBOX_ENV, **(env or {})}) for _ in range(count))
    with running_together(*servers):
        for server in servers:
            ready = httpx.get(f"{server.url}/health/ready", timeout=20)
            assert ready.status_code == 200, ready.text
            assert ready.json()["status"] == "ready", ready.text
        response = httpx.post(
            f"{servers[0].url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(E2E_CLIENT, E2E_SECRET),
            timeout=20,
        )
        assert response.status_code == 200, response.text
        yield Gateways(servers, config, response.json()["access_token"])


async def order_body(api: httpx.AsyncClient, quantity: int = 1) -> bytes:
    """An order of explicit lines (accepted quotes are few, and each orders once)."""
    customers = (await api.get("/v1/customers", params={"name": "Datum"})).json()["data"]
    products = (await api.get("/v1/products", params={"limit": "50"})).json()["data"]
    product = next(p for p in products if p["sku"] == "Q2C-1001")
    return json.dumps(
        {
            "customer_id": customers[0]["id"],
            "currency": "USD",
            "lines": [{"product_id": product["id"], "quantity": str(quantity)}],
        }
    ).encode()


def ceil_seconds(value: float) -> int:
    return max(1, math.ceil(value))
