"""A served gateway for the console's pages on the real quote-to-cash flow: ``q2c serve``
as a process, its systems of record the sandboxes as processes behind fault proxies
(tests/flow/landscape.py), so a test can create a mispriced quote in the CRM or take
the ERP down, then watch what the console shows.

The gateway keeps its records and DBOS's in SQLite under its own home folder and runs
the workflows itself (the embedded default's worker); the built-in issuer signs the
demo users in and issues client-credentials tokens to the test's API client.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from policies.auth import hash_secret
from policies.auth.config import DEMO_USERS
from policies.auth.scopes import ALL_SCOPES
from tests.flow.landscape import ENV, Landscape, environment, landscape, systems_toml
from tests.support.processes import Q2C, ServerProcess
from tests.support.servers import free_port

CLIENT = "console-e2e"
SECRET = "console-e2e-secret"
PASSWORDS = {"priya": "pricing-demo", "carl": "credit-demo", "vera": "viewer-demo",
             "ada": "admin-demo"}  # fmt: skip
RECORD_URLS = {
    "salesforce": "https://acme.my.salesforce.example/lightning/r/{id}/view",
    "sap_s4hana": "https://s4.example/ui#SalesOrder-manageV2&/SalesOrder/{id}",
    "stripe": "https://dashboard.stripe.example/invoices/{id}",
}


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def demo_users_toml() -> str:
    """The embedded default's demo people as ``[[auth.builtin_issuer.users]]`` tables."""
    return "".join(
        f"""
[[auth.builtin_issuer.users]]
username = {_toml(u.username)}
password_hash = {_toml(u.password_hash)}
name = {_toml(u.name)}
tenant = {_toml(u.tenant)}
teams = [{", ".join(_toml(t) for t in u.teams)}]
role = {_toml(u.role)}
"""
        for u in DEMO_USERS
    )


def write_config(directory: Path, land: Landscape) -> Path:
    scopes = ", ".join(_toml(s) for s in sorted(ALL_SCOPES))
    users = demo_users_toml()
    record_urls = "".join(f"{k} = {_toml(v)}\n" for k, v in RECORD_URLS.items())
    path = directory / "gateway.toml"
    path.write_text(
        f"""
[flow]
polling_interval_seconds = 0.05
heartbeat_seconds = 0.5

[flow.policy]
decision_timeout_seconds = 600

[flow.policy.step_retry.submit_order]
max_attempts = 3
interval_seconds = 0.05
backoff_rate = 2.0

[console]
refresh_seconds = 1

[console.record_urls]
{record_urls}
{systems_toml(land)}
[auth.builtin_issuer]
key_file = "{directory / "issuer-key.pem"}"
[[auth.builtin_issuer.clients]]
client_id = "{CLIENT}"
secret_hash = "{hash_secret(SECRET)}"
tenant = "sandbox"
plan = "gold"
scopes = [{scopes}]
{users}""",
        encoding="utf-8",
    )
    return path


@dataclass
class FlowGateway:
    """The served gateway, its landscape and an API client of the sandbox tenant."""

    url: str
    land: Landscape
    api: httpx.Client

    def accept(self, crm_quote: str) -> str:
        """Accept the CRM's quote through the API; the transaction id."""
        quote_id = self.quote_id(crm_quote)
        answer = self.api.post(f"/v1/quotes/{quote_id}/accept",
                               headers={"Idempotency-Key": f'"{crm_quote}"'})  # fmt: skip
        assert answer.status_code == 202, answer.text
        transaction: str = answer.json()["transaction_id"]
        return transaction

    def quote_id(self, crm_quote: str) -> str:
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            page = self.api.get("/v1/quotes", params=params)
            assert page.status_code == 200, page.text
            for quote in page.json()["data"]:
                refs = {r["system"]: r["id"] for r in quote["external_references"]}
                if refs.get("salesforce") == crm_quote:
                    return str(quote["id"])
            cursor = page.json()["next_cursor"]
            assert cursor, f"the API lists no quote {crm_quote}"

    def transaction(self, transaction_id: str) -> dict[str, Any]:
        answer = self.api.get(f"/v1/transactions/{transaction_id}")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def wait(self, transaction_id: str, *states: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            body = self.transaction(transaction_id)
            if body["state"] in states:
                return body
            time.sleep(0.05)
        raise AssertionError(f"{transaction_id} never reached {states}: {body}")

    def exception_of(self, transaction_id: str) -> dict[str, Any]:
        """The transaction's open exception or dead letter, as the API shows it."""
        found = self.api.get("/v1/ops/exceptions", params={"limit": 200})
        assert found.status_code == 200, found.text
        items = [i for i in found.json()["data"]
                 if i["transaction_id"] == transaction_id and i["state"] in ("open", "assigned")]
        assert len(items) == 1, items
        return items[0]  # type: ignore[no-any-return]


@contextlib.contextmanager
def flow_gateway(directory: Path) -> Iterator[FlowGateway]:
    with environment(), landscape() as land:
        config = write_config(directory, land)
        port = free_port()
        server = ServerProcess(
            [Q2C, "serve", "--config", str(config), "--port", str(port)],
            port,
            {**ENV, "Q2C_HOME": str(directory / "home")},
        )
        server.start()
        try:
            token = httpx.post(
                f"{server.url}/oauth/token",
                data={"grant_type": "client_credentials", "client_id": CLIENT,
                      "client_secret": SECRET},
                timeout=10,
            )  # fmt: skip
            assert token.status_code == 200, token.text
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=15) as api:
                yield FlowGateway(server.url, land, api)
        finally:
            server.stop()
