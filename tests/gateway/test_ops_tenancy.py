"""Operations data and identity conflicts tell one tenant nothing about another."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest

from domains.customer.identity import Candidate, identity_keys
from gateway.app import create_app
from gateway.wiring import Runtime
from policies.auth.scopes import ALL_SCOPES, OPS_ADMIN
from policies.metrics import GovernanceReport
from tests.conftest import bearer
from tests.support.servers import serve_in_thread

TENANT_OPS = ["ops:read", "customers:read", "customers:write", "products:read"]


@pytest.fixture
async def clients(runtime: Runtime) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    app = create_app(runtime.settings, runtime)
    made: dict[str, httpx.AsyncClient] = {}
    for name, tenant, client_id, scopes in [
        ("acme", "acme", "acme-crm", TENANT_OPS),
        ("globex", "globex", "globex-erp", TENANT_OPS),
        ("admin", "operator", "ops-console", [*TENANT_OPS, OPS_ADMIN]),
    ]:
        made[name] = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://gateway.test",
            headers=bearer(runtime, tenant=tenant, client_id=client_id, scopes=scopes),
        )
    yield made
    for client in made.values():
        await client.aclose()


async def traffic(clients: dict[str, httpx.AsyncClient]) -> None:
    for name, times in (("acme", 3), ("globex", 5)):
        for _ in range(times):
            assert (await clients[name].get("/v1/products?limit=1")).status_code == 200


async def test_a_tenant_token_sees_only_its_own_consumers_and_counts_in_metrics(
    clients: dict[str, httpx.AsyncClient],
) -> None:
    await traffic(clients)
    acme = await clients["acme"].get("/metrics")
    assert acme.status_code == 200
    assert 'consumer="acme-crm"' in acme.text
    assert "globex" not in acme.text
    assert "q2c_sor_calls_total{" not in acme.text  # shared systems: the global view only
    everyone = (await clients["admin"].get("/metrics")).text
    assert 'consumer="acme-crm"' in everyone
    assert 'consumer="globex-erp"' in everyone
    assert "q2c_sor_calls_total{" in everyone


async def test_a_tenant_token_sees_only_its_own_tenant_in_the_governance_report(
    clients: dict[str, httpx.AsyncClient],
) -> None:
    await traffic(clients)

    async def report(name: str) -> GovernanceReport:
        response = await clients[name].get("/v1/ops/governance")
        assert response.status_code == 200, response.text
        return msgspec.json.decode(response.content, type=GovernanceReport)

    globex = await report("globex")
    products = next(a for a in globex.apis if a.api == "products")
    assert products.calls == 5
    assert [c.consumer for c in products.top_consumers] == ["globex-erp"]
    assert globex.systems == []
    everyone = await report("admin")
    products = next(a for a in everyone.apis if a.api == "products")
    assert products.calls == 8
    assert {c.consumer for c in products.top_consumers} == {"acme-crm", "globex-erp"}


async def test_the_governance_cli_shows_the_callers_tenant(runtime: Runtime) -> None:
    app = create_app(runtime.settings, runtime)
    with serve_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            for tenant, client_id in (("acme", "acme-crm"), ("globex", "globex-erp")):
                headers = bearer(runtime, tenant=tenant, client_id=client_id, scopes=TENANT_OPS)
                assert (await http.get("/v1/products", headers=headers)).status_code == 200
        token = bearer(runtime, tenant="acme", client_id="acme-crm", scopes=TENANT_OPS)
        printed = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "governance", "report", "--url", url,
             "--token", token["Authorization"].removeprefix("Bearer ")],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    assert "acme-crm" in printed.stdout
    assert "globex" not in printed.stdout


def test_ops_admin_is_a_scope_the_token_cli_mints() -> None:
    assert OPS_ADMIN in ALL_SCOPES
    minted = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "token", "--scopes", "ops:read ops:admin"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert minted.returncode == 0, minted.stderr
    import jwt

    claims = jwt.decode(minted.stdout.strip(), options={"verify_signature": False})
    granted = claims.get("scope", claims.get("scp", ""))
    assert "ops:admin" in (granted if isinstance(granted, str) else " ".join(granted))


# --- identity conflicts ---------------------------------------------------------------------

COMPANY = {"name": "Initech Industries GmbH", "country": "DE", "tax_id": "DE271828182"}


def comparable(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in problem.items() if k not in ("trace_id", "instance")}


async def test_another_tenants_identity_gets_the_generic_answer_and_ones_own_the_id(
    clients: dict[str, httpx.AsyncClient], runtime: Runtime
) -> None:
    created = await clients["acme"].post("/v1/customers", json=COMPANY)
    assert created.status_code == 201, created.text
    again = await clients["acme"].post("/v1/customers", json=COMPANY)
    assert again.status_code == 409
    assert again.json()["existing_id"] == created.json()["id"]
    assert again.json()["code"] == "DUPLICATE_CUSTOMER"

    foreign = await clients["globex"].post("/v1/customers", json=COMPANY)
    assert foreign.status_code == 409
    problem = foreign.json()
    assert "existing_id" not in problem
    assert "tenant" not in problem["detail"].lower()
    assert created.json()["id"] not in foreign.text

    # A create of a fresh identity still under way (claimed, nothing mastered yet)
    # answers the same for its own tenant: nothing to tell the two apart.
    fresh = {"name": "Vandelay Imports GmbH", "country": "DE", "tax_id": "DE314159265"}
    keys = identity_keys(Candidate(fresh["name"], fresh["country"], fresh["tax_id"], None))
    holder = await runtime.crosswalks("").claim_identity(keys, "cus_01JDQ2C0000000000000000000")
    assert holder is None
    in_flight = await clients["acme"].post("/v1/customers", json=fresh)
    assert in_flight.status_code == 409
    assert comparable(in_flight.json()) == comparable(problem)
