"""The systems of record as real processes behind fault proxies, and the helpers the
quote-to-cash tests use to set up quotes and count what each system holds."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from tests.support.fault_proxy import FaultProxy
from tests.support.processes import ServerProcess, running_together, sandbox
from tests.support.servers import serve_in_thread

SF_TOKEN = "00DSANDBOX!q2c-static-sandbox-token"
SAP_AUTH = ("Q2C_GATEWAY", "sandbox")
STRIPE_KEY = "sk_test_q2c_sandbox"
SYSTEMS = {
    "salesforce": "salesforce",
    "sap_s4hana": "sap-s4hana",
    "stripe": "stripe",
    "avalara": "avalara",
}
ENV = {
    "FLOW_SF_TOKEN": SF_TOKEN,
    "FLOW_SAP_USER": SAP_AUTH[0],
    "FLOW_SAP_PASSWORD": SAP_AUTH[1],
    "FLOW_STRIPE_KEY": STRIPE_KEY,
    "FLOW_AVATAX_ACCOUNT": "2000123456",
    "FLOW_AVATAX_LICENSE": "q2c-sandbox-license",
    "Q2C_CRM_WEBHOOK_SECRET": "crm-shared-secret-for-tests",
    "Q2C_STRIPE_WEBHOOK_SECRET": "whsec_q2c_tests",
}
SF = "/services/data/v62.0"
SAP_ORDERS = "/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder"


@dataclass
class Landscape:
    processes: dict[str, ServerProcess]
    proxies: dict[str, FaultProxy]
    urls: dict[str, str]  # through the proxies
    direct: dict[str, str] = field(default_factory=dict)  # straight to the sandboxes

    def reset(self) -> None:
        for proxy in self.proxies.values():
            proxy.clear()
            proxy.seen.clear()
            proxy.arrived.clear()
            proxy.headers.clear()


@contextlib.contextmanager
def landscape() -> Iterator[Landscape]:
    processes = {name: sandbox(cli) for name, cli in SYSTEMS.items()}
    with running_together(*processes.values()), contextlib.ExitStack() as stack:
        proxies = {name: FaultProxy(p.url) for name, p in processes.items()}
        urls = {
            name: stack.enter_context(serve_in_thread(proxy)) for name, proxy in proxies.items()
        }
        yield Landscape(processes, proxies, urls, {n: p.url for n, p in processes.items()})


def systems_toml(land: Landscape) -> str:
    """``[systems.*]`` and ``[ownership]`` of a gateway whose systems of record are the
    landscape's sandboxes (through the fault proxies), credentials from ``ENV``."""
    upstream = "timeout_seconds = 3\nmax_retries = 0\n"
    return f"""
[systems.salesforce]
kind = "salesforce"
base_url = "{land.urls["salesforce"]}"
access_token_env = "FLOW_SF_TOKEN"
[systems.salesforce.upstream]
{upstream}
[systems.sap_s4hana]
kind = "sap_s4hana"
base_url = "{land.urls["sap_s4hana"]}"
user_env = "FLOW_SAP_USER"
password_env = "FLOW_SAP_PASSWORD"
[systems.sap_s4hana.upstream]
{upstream}
[systems.stripe]
kind = "stripe"
base_url = "{land.urls["stripe"]}"
api_key_env = "FLOW_STRIPE_KEY"
[systems.stripe.upstream]
{upstream}
[systems.avalara]
kind = "avalara"
base_url = "{land.urls["avalara"]}"
account_id_env = "FLOW_AVATAX_ACCOUNT"
license_key_env = "FLOW_AVATAX_LICENSE"
[systems.avalara.upstream]
{upstream}
[ownership]
customers = "salesforce"
prices = "salesforce"
quotes = "salesforce"
products = "sap_s4hana"
orders = "sap_s4hana"
erp_customers = "sap_s4hana"
invoices = "stripe"
payments = "stripe"
tax = "avalara"
"""


@contextlib.contextmanager
def environment() -> Iterator[None]:
    """The sandboxes' credentials and the inbound secrets in this process's environment
    (the gateway reads them by name), restored afterwards."""
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def write_config(
    path: Path,
    land: Landscape,
    *,
    database_url: str,
    redis_prefix: str,
    redis_url: str,
    policy: str = "",
    flow: str = "",
) -> Path:
    from policies.auth import hash_secret
    from policies.auth.scopes import ALL_SCOPES

    scopes = ", ".join(f'"{s}"' for s in sorted(ALL_SCOPES))
    path.write_text(
        f"""
[redis]
url = "{redis_url}"
prefix = "{redis_prefix}"

[database]
url = "{database_url}"
pool_size = 20

[flow]
embedded_worker = false
polling_interval_seconds = 0.05
heartbeat_seconds = 0.5
dead_after_heartbeats = 3
{flow}

[flow.policy]
decision_timeout_seconds = 600
{policy}

{systems_toml(land)}
[auth.builtin_issuer]
key_file = "{path.parent / "issuer-key.pem"}"
[[auth.builtin_issuer.clients]]
client_id = "flow-tests"
secret_hash = "{hash_secret("flow-tests-secret")}"
tenant = "sandbox"
plan = "gold"
scopes = [{scopes}]
""",
        encoding="utf-8",
    )
    return path


# ------------------------------------------------------------------ CRM set-up
def _sf(land: Landscape) -> httpx.Client:
    return httpx.Client(
        base_url=land.direct["salesforce"] + SF,
        headers={"Authorization": f"Bearer {SF_TOKEN}"},
        timeout=10,
    )


def soql(land: Landscape, query: str) -> list[dict[str, Any]]:
    with _sf(land) as sf:
        response = sf.get("/query", params={"q": query})
        response.raise_for_status()
        records: list[dict[str, Any]] = response.json()["records"]
        return records


def create_quote(
    land: Landscape,
    *,
    account: str = "Northwind Traders GmbH",
    currency: str = "EUR",
    lines: tuple[tuple[str, str], ...] = (("Q2C-1001", "2"), ("Q2C-1002", "1")),
    price_factor: str = "1",
    status: str = "Accepted",
) -> str:
    """An accepted quote in the CRM; ``price_factor`` != 1 makes its prices disagree
    with the standard price book. Returns the CRM's quote id."""
    account_id = soql(land, f"SELECT Id FROM Account WHERE Name = '{account}'")[0]["Id"]
    book = soql(land, "SELECT Id FROM Pricebook2 WHERE IsStandard = true")[0]["Id"]
    entries = {
        r["Product2"]["ProductCode"]: r
        for r in soql(
            land,
            "SELECT Id, UnitPrice, Product2.ProductCode FROM PricebookEntry "
            f"WHERE Pricebook2Id = '{book}' AND CurrencyIsoCode = '{currency}'",
        )
    }
    with _sf(land) as sf:
        opportunity = sf.post(
            "/sobjects/Opportunity",
            json={
                "Name": f"Flow test {account}",
                "AccountId": account_id,
                "StageName": "Negotiation/Review",
                "CloseDate": "2027-01-31",
                "Pricebook2Id": book,
                "CurrencyIsoCode": currency,
            },
        )
        opportunity.raise_for_status()
        quote = sf.post(
            "/sobjects/Quote",
            json={
                "Name": "Flow test quote",
                "OpportunityId": opportunity.json()["id"],
                "Pricebook2Id": book,
                "CurrencyIsoCode": currency,
                "Status": status,
            },
        )
        quote.raise_for_status()
        quote_id: str = quote.json()["id"]
        for sku, quantity in lines:
            entry = entries[sku]
            price = Decimal(str(entry["UnitPrice"])) * Decimal(price_factor)
            line = sf.post(
                "/sobjects/QuoteLineItem",
                json={
                    "QuoteId": quote_id,
                    "PricebookEntryId": entry["Id"],
                    "Quantity": float(quantity),
                    "UnitPrice": float(round(price, 2)),
                },
            )
            line.raise_for_status()
    return quote_id


# --------------------------------------------------------------- what exists where
def sap_orders(land: Landscape, reference: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=land.direct["sap_s4hana"], auth=SAP_AUTH, timeout=10) as sap:
        response = sap.get(
            SAP_ORDERS,
            params={"$filter": f"PurchaseOrderByCustomer eq '{reference}'", "$format": "json"},
        )
        response.raise_for_status()
        results: list[dict[str, Any]] = response.json()["d"]["results"]
        return results


def stripe_invoices(land: Landscape, customer: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=land.direct["stripe"], auth=(STRIPE_KEY, ""), timeout=10) as stripe:
        response = stripe.get("/v1/invoices", params={"customer": customer, "limit": 100})
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()["data"]
        return data
