"""The SAP OData client's session handling and error translation, against scripted responses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from domains.errors import DependencyRejected, DependencyUnavailable
from systems.sap_s4hana.client import SERVICE_ROOT, SapAuth, SapClient, StaleEntity
from systems.sap_s4hana.errors import SYSTEM, translate
from tests.support.fakes import scripted

BASE = "https://s4.example"
PARTNERS = f"{SERVICE_ROOT}/API_BUSINESS_PARTNER"
AUTH = SapAuth(user="Q2C_GATEWAY", password="secret")


@pytest.fixture
async def sap() -> AsyncIterator[tuple[respx.MockRouter, SapClient]]:
    async with scripted(BASE, SYSTEM, translate) as (router, upstream):
        yield router, SapClient(upstream, AUTH)


def _csrf(token: str, session: str) -> httpx.Response:
    return httpx.Response(
        200, headers={"x-csrf-token": token, "set-cookie": f"SAP_SESSIONID={session}; path=/"}
    )


async def test_a_write_fetches_a_csrf_token_and_sends_it_with_its_session(
    sap: tuple[respx.MockRouter, SapClient],
) -> None:
    router, client = sap
    fetch = router.get(f"{PARTNERS}/").mock(return_value=_csrf("tok-1", "s-1"))
    create = router.post(f"{PARTNERS}/A_BusinessPartner").mock(
        return_value=httpx.Response(201, json={"d": {"BusinessPartner": "1000300"}})
    )
    created = await client.create("API_BUSINESS_PARTNER", "A_BusinessPartner", {"x": 1})
    assert created == {"BusinessPartner": "1000300"}
    assert fetch.calls.last.request.headers["x-csrf-token"] == "Fetch"
    sent = create.calls.last.request.headers
    assert sent["x-csrf-token"] == "tok-1"
    assert sent["cookie"] == "SAP_SESSIONID=s-1"
    assert sent["authorization"].startswith("Basic ")


async def test_an_expired_token_is_fetched_again_once(
    sap: tuple[respx.MockRouter, SapClient],
) -> None:
    router, client = sap
    fetch = router.get(f"{PARTNERS}/").mock(
        side_effect=[_csrf("tok-old", "s-old"), _csrf("tok-new", "s-new")]
    )
    create = router.post(f"{PARTNERS}/A_BusinessPartner").mock(
        side_effect=[
            httpx.Response(
                403, headers={"x-csrf-token": "Required"}, text="CSRF token validation failed"
            ),
            httpx.Response(201, json={"d": {"BusinessPartner": "1000301"}}),
        ]
    )
    created = await client.create("API_BUSINESS_PARTNER", "A_BusinessPartner", {"x": 1})
    assert created["BusinessPartner"] == "1000301"
    assert fetch.call_count == 2
    assert create.calls.last.request.headers["x-csrf-token"] == "tok-new"


async def test_a_refused_write_is_not_retried_past_one_new_token(
    sap: tuple[respx.MockRouter, SapClient],
) -> None:
    router, client = sap
    router.get(f"{PARTNERS}/").mock(return_value=_csrf("tok", "s"))
    create = router.post(f"{PARTNERS}/A_BusinessPartner").mock(
        return_value=httpx.Response(403, headers={"x-csrf-token": "Required"})
    )
    with pytest.raises(DependencyUnavailable):
        await client.create("API_BUSINESS_PARTNER", "A_BusinessPartner", {"x": 1})
    assert create.call_count == 2


async def test_a_gateway_error_envelope_becomes_a_rejection_with_its_fields(
    sap: tuple[respx.MockRouter, SapClient],
) -> None:
    router, client = sap
    router.get(f"{PARTNERS}/").mock(return_value=_csrf("tok", "s"))
    router.post(f"{PARTNERS}/A_BusinessPartner").mock(
        return_value=httpx.Response(
            400,
            json={
                "error": {
                    "code": "CX_SADL_ENTITY_SRV/002",
                    "message": {"lang": "en", "value": "Country/Region XX is not defined"},
                    "innererror": {
                        "errordetails": [
                            {
                                "code": "/IWBEP/CX_MGW_BUSI_EXCEPTION",
                                "message": "Country/Region XX is not defined",
                                "propertyref": "Country",
                                "target": "",
                            },
                        ]
                    },
                }
            },
        )
    )
    with pytest.raises(DependencyRejected) as rejected:
        await client.create("API_BUSINESS_PARTNER", "A_BusinessPartner", {"Country": "XX"})
    assert rejected.value.system == SYSTEM
    assert rejected.value.vendor_code == "CX_SADL_ENTITY_SRV/002"
    assert [(issue.field, issue.code) for issue in rejected.value.errors] == [
        ("Country", "/IWBEP/CX_MGW_BUSI_EXCEPTION")
    ]


async def test_a_missing_entity_reads_as_none(sap: tuple[respx.MockRouter, SapClient]) -> None:
    router, client = sap
    read = router.get(f"{PARTNERS}/A_BusinessPartner('404')").mock(
        return_value=httpx.Response(404, json={"error": {"code": "/IWBEP/CM_MGW_RT/020"}})
    )
    assert await client.get("API_BUSINESS_PARTNER", "A_BusinessPartner('404')") is None
    assert read.calls.last.request.url.params["$format"] == "json"


PRODUCTS = f"{SERVICE_ROOT}/API_PRODUCT_SRV"


def _page(rows: list[str], next_link: str | None = None) -> httpx.Response:
    body: dict[str, object] = {"results": [{"Product": row} for row in rows]}
    if next_link is not None:
        body["__next"] = next_link
    return httpx.Response(200, json={"d": body})


async def test_next_is_followed_on_our_host_whatever_host_it_names(
    sap: tuple[respx.MockRouter, SapClient],
) -> None:
    router, client = sap
    # Routes match in order and on a subset of the query: the follow-up route goes first.
    second = router.get(f"{PRODUCTS}/A_Product", params={"$skiptoken": "2"}).mock(
        return_value=_page(["P3"], f"{BASE}{PRODUCTS}/A_Product?$skiptoken=4")
    )
    first = router.get(f"{PRODUCTS}/A_Product", params={"$skip": "0"}).mock(
        return_value=_page(
            ["P1", "P2"],
            "https://internal-gw:44300/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product"
            "?$skip=0&$top=3&$skiptoken=2",
        )
    )
    rows = await client.query("API_PRODUCT_SRV", "A_Product", {"$top": "3", "$skip": "0"})
    assert [row["Product"] for row in rows] == ["P1", "P2", "P3"]  # $top reached: stop
    assert first.call_count == second.call_count == 1
    followed = second.calls.last.request.url
    assert followed.host == "s4.example"
    assert followed.params["$format"] == "json"


async def test_a_next_link_outside_the_service_is_refused(
    sap: tuple[respx.MockRouter, SapClient],
) -> None:
    router, client = sap
    router.get(f"{PRODUCTS}/A_Product").mock(
        return_value=_page(["P1"], "https://elsewhere.example/admin/steal?x=1")
    )
    with pytest.raises(DependencyUnavailable, match="outside"):
        await client.query("API_PRODUCT_SRV", "A_Product", {"$top": "5"})


async def test_paging_that_never_ends_is_an_error_not_a_loop(
    sap: tuple[respx.MockRouter, SapClient],
) -> None:
    router, client = sap
    router.get(f"{PRODUCTS}/A_Product").mock(
        return_value=_page(["P"], f"{PRODUCTS}/A_Product?$skiptoken=1")
    )
    with pytest.raises(DependencyUnavailable, match="kept paging"):
        await client.query("API_PRODUCT_SRV", "A_Product", {"$top": "1000"})


async def test_a_stale_etag_surfaces_as_stale_entity(
    sap: tuple[respx.MockRouter, SapClient],
) -> None:
    router, client = sap
    orders = f"{SERVICE_ROOT}/API_SALES_ORDER_SRV"
    router.get(f"{orders}/").mock(return_value=_csrf("tok", "s"))
    patch = router.patch(f"{orders}/A_SalesOrder('1')").mock(
        side_effect=[httpx.Response(412, json={"error": {"code": "X"}}), httpx.Response(204)]
    )
    with pytest.raises(StaleEntity):
        await client.update("API_SALES_ORDER_SRV", "A_SalesOrder('1')", {"A": "1"}, 'W/"old"')
    assert patch.calls.last.request.headers["if-match"] == 'W/"old"'
    await client.update("API_SALES_ORDER_SRV", "A_SalesOrder('1')", {"A": "1"}, 'W/"new"')
    assert patch.call_count == 2
