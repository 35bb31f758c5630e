"""Customer masters through the adapter against the sandbox: the upsert on the canonical id
finds the first Account on a retry, whichever way the API version answers an update."""

from __future__ import annotations

import pytest

from contracts.v1.customers import CustomerCreate, CustomerUpdate
from sandboxes.salesforce.app import SalesforceSandbox
from tests.systems.salesforce.support import wired


@pytest.mark.parametrize("api_version", ["62.0", "45.0"])  # 200 + body, or 204 without
async def test_creating_twice_with_one_canonical_id_keeps_one_account(api_version: str) -> None:
    sandbox = SalesforceSandbox()
    async with wired(sandbox, api_version=api_version) as sf:
        data = CustomerCreate(name="Retry Works GmbH", country="DE", tax_id="DE111222333")
        first = await sf.adapter.create_customer("cus_01JRETRY", data)
        second = await sf.adapter.create_customer("cus_01JRETRY", data)
        assert second.system_id == first.system_id
        assert first.canonical_id == "cus_01JRETRY"
        accounts = [a for a in sandbox.records("Account") if a["Q2C_Id__c"] == "cus_01JRETRY"]
        assert len(accounts) == 1
        patches = [r for r in sf.transport.requests if r.method == "PATCH"]
        assert all(b"Q2C_Id__c" not in r.content for r in patches)  # the key is in the URL
        renamed = await sf.adapter.update_customer(first.system_id, CustomerUpdate(name="RW"))
        assert renamed.name == "RW"
