"""A system of record that fails is a 503 or 504 problem that says when to retry."""

from __future__ import annotations

import httpx
import pytest

from domains.errors import DependencyTimeout
from gateway.wiring import Runtime


async def test_a_system_of_record_answering_503_is_a_503_with_retry_after(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    runtime.sandboxes["sap_s4hana"].faults.fail_next = 3
    response = await api.get("/v1/products")
    runtime.sandboxes["sap_s4hana"].faults.fail_next = 0
    assert response.status_code == 503, response.text
    problem = response.json()
    assert problem["system"] == "sap_s4hana"
    assert problem["retryable"] is True
    assert int(response.headers["retry-after"]) >= 1


async def test_an_open_circuit_says_how_long_it_stays_open(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    runtime.sandboxes["sap_s4hana"].faults.fail_next = 100
    for _ in range(10):
        response = await api.get("/v1/products")
        if response.json().get("code") == "DEPENDENCY_CIRCUIT_OPEN":
            break
    runtime.sandboxes["sap_s4hana"].faults.fail_next = 0
    assert response.json()["code"] == "DEPENDENCY_CIRCUIT_OPEN", response.text
    open_seconds = runtime.settings.systems["sap_s4hana"].upstream.breaker_open_seconds
    assert 1 <= int(response.headers["retry-after"]) <= open_seconds


async def test_a_system_of_record_timing_out_is_a_504_with_retry_after(
    api: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def slow(*args: object, **kwargs: object) -> None:
        raise DependencyTimeout("salesforce did not answer within 10s.", system="salesforce")

    monkeypatch.setattr(runtime.services.customers, "list_page", slow)
    response = await api.get("/v1/customers")
    assert response.status_code == 504
    assert response.json()["code"] == "DEPENDENCY_TIMEOUT"
    assert int(response.headers["retry-after"]) >= 1
