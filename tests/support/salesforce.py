"""Helpers for tests that need a Salesforce sandbox org bigger than the demo landscape."""

from __future__ import annotations

import httpx

from sandboxes.salesforce.app import API_VERSION

COLLECTION_LIMIT = 200  # records per sObject Collections call


async def seed_accounts(client: httpx.AsyncClient, count: int, *, prefix: str) -> list[str]:
    """Create ``count`` Accounts through the public API (sObject Collections), in order.

    ``client`` talks to the sandbox with a valid session. Returns the new ids.
    """
    ids: list[str] = []
    for start in range(0, count, COLLECTION_LIMIT):
        batch = [
            {"attributes": {"type": "Account"}, "Name": f"{prefix} {n:05d}",
             "BillingCountryCode": "DE"}
            for n in range(start, min(count, start + COLLECTION_LIMIT))
        ]  # fmt: skip
        response = await client.post(
            f"/services/data/v{API_VERSION}/composite/sobjects",
            json={"allOrNone": True, "records": batch},
        )
        assert response.status_code == 200, response.text
        results = response.json()
        assert all(result["success"] for result in results), results
        ids.extend(result["id"] for result in results)
    return ids
