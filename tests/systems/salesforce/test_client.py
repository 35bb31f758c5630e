"""The Salesforce REST client's session handling and error arrays, against scripted responses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from domains.errors import DependencyRejected, DependencyUnavailable
from systems.salesforce.client import SalesforceAuth, SalesforceClient
from systems.salesforce.errors import SYSTEM, translate
from tests.support.fakes import scripted

BASE = "https://acme.my.salesforce.example"
ROOT = "/services/data/v62.0"
CREDENTIALS = SalesforceAuth(client_id="q2c", client_secret="s3cret")
FLOWS = ["client_credentials", "jwt_bearer"]


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def auth_for(flow: str, key: rsa.RSAPrivateKey) -> SalesforceAuth:
    if flow == "client_credentials":
        return CREDENTIALS
    return SalesforceAuth(
        client_id="3MVG9q2c", username="integration@acme.example", private_key=pem(key),
        audience="https://test.salesforce.com",
    )  # fmt: skip


@pytest.fixture
async def fake() -> AsyncIterator[tuple[respx.MockRouter, SalesforceClient]]:
    async with scripted(BASE, SYSTEM, translate) as (router, upstream):
        yield router, SalesforceClient(upstream, CREDENTIALS)


@pytest.fixture(params=FLOWS)
async def flow_fake(
    request: pytest.FixtureRequest, rsa_key: rsa.RSAPrivateKey
) -> AsyncIterator[tuple[respx.MockRouter, SalesforceClient, str]]:
    async with scripted(BASE, SYSTEM, translate) as (router, upstream):
        yield router, SalesforceClient(upstream, auth_for(request.param, rsa_key)), request.param


def login_form(request: httpx.Request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(request.content.decode()).items()}


def _token(value: str) -> httpx.Response:
    return httpx.Response(200, json={"access_token": value, "instance_url": BASE})


async def test_an_expired_session_logs_in_again_once(
    flow_fake: tuple[respx.MockRouter, SalesforceClient, str], rsa_key: rsa.RSAPrivateKey
) -> None:
    router, client, flow = flow_fake
    login = router.post("/services/oauth2/token").mock(
        side_effect=[_token("first"), _token("second")]
    )
    expired = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    query = router.get(f"{ROOT}/query").mock(
        side_effect=[
            httpx.Response(401, json=expired),
            httpx.Response(200, json={"totalSize": 0, "done": True, "records": []}),
        ]
    )  # fmt: skip
    result = await client.query("SELECT Id FROM Account", operation="Account.query")
    assert result.records == []
    assert login.call_count == 2
    assert [call.request.headers["authorization"] for call in query.calls] == [
        "Bearer first",
        "Bearer second",
    ]
    form = login_form(login.calls.last.request)
    if flow == "client_credentials":
        assert form == {
            "grant_type": "client_credentials", "client_id": "q2c", "client_secret": "s3cret"
        }  # fmt: skip
    else:
        assert form.keys() == {"grant_type", "assertion"}
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        assert jwt.get_unverified_header(form["assertion"])["alg"] == "RS256"
        claims = jwt.decode(
            form["assertion"], rsa_key.public_key(), algorithms=["RS256"],
            audience="https://test.salesforce.com",
        )  # fmt: skip
        assert claims["iss"] == "3MVG9q2c"
        assert claims["sub"] == "integration@acme.example"
        assert 0 < claims["exp"] - time.time() <= 180  # "within 3 minutes"


async def test_a_session_refused_twice_is_unavailable_not_a_loop(
    flow_fake: tuple[respx.MockRouter, SalesforceClient, str],
) -> None:
    router, client, _ = flow_fake
    login = router.post("/services/oauth2/token").mock(
        side_effect=[_token("t1"), _token("t2")]
    )
    query = router.get(f"{ROOT}/query").mock(
        return_value=httpx.Response(
            401, json=[{"message": "no", "errorCode": "INVALID_SESSION_ID"}]
        )
    )
    with pytest.raises(DependencyUnavailable, match="INVALID_SESSION_ID"):
        await client.query("SELECT Id FROM Account", operation="Account.query")
    assert query.call_count == 2
    assert login.call_count == 2  # the first login, and exactly one renewal


async def test_a_fixed_session_is_never_renewed() -> None:
    async with scripted(BASE, SYSTEM, translate) as (router, upstream):
        client = SalesforceClient(upstream, SalesforceAuth(access_token="00Dfixed"))
        query = router.get(f"{ROOT}/query").mock(
            return_value=httpx.Response(
                401, json=[{"message": "no", "errorCode": "INVALID_SESSION_ID"}]
            )
        )
        with pytest.raises(DependencyUnavailable, match="INVALID_SESSION_ID"):
            await client.query("SELECT Id FROM Account", operation="Account.query")
        assert query.call_count == 1


async def test_calls_that_meet_one_expired_session_share_one_new_login(
    flow_fake: tuple[respx.MockRouter, SalesforceClient, str],
) -> None:
    router, client, _ = flow_fake
    login = router.post("/services/oauth2/token").mock(
        side_effect=[_token("old"), _token("new")]
    )
    expired = httpx.Response(
        401, json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    )
    empty = {"totalSize": 0, "done": True, "records": []}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer old":
            return expired
        return httpx.Response(200, json=empty)

    router.get(f"{ROOT}/query").mock(side_effect=answer)
    await client.session.token()
    results = await asyncio.gather(
        *(client.query("SELECT Id FROM Account", operation="Account.query") for _ in range(5))
    )
    assert all(result.records == [] for result in results)
    assert login.call_count == 2


@pytest.mark.parametrize(
    ("error", "description"),
    [
        ("invalid_grant", "user hasn't approved this consumer"),
        ("invalid_client", "invalid client credentials"),
    ],
)
async def test_a_refused_login_is_unavailable_with_salesforces_reason(
    flow_fake: tuple[respx.MockRouter, SalesforceClient, str], error: str, description: str
) -> None:
    router, client, _ = flow_fake
    router.post("/services/oauth2/token").mock(
        return_value=httpx.Response(400, json={"error": error, "error_description": description})
    )
    with pytest.raises(DependencyUnavailable) as refused:
        await client.query("SELECT Id FROM Account", operation="Account.query")
    assert refused.value.code == "DEPENDENCY_AUTH_FAILED"
    assert f"{error}: {description}" in refused.value.detail


async def test_an_upsert_answered_without_a_body_finds_the_id_by_its_external_id(
    fake: tuple[respx.MockRouter, SalesforceClient],
) -> None:
    router, client = fake
    router.post("/services/oauth2/token").mock(return_value=_token("t"))
    router.patch(f"{ROOT}/sobjects/Account/Q2C_Id__c/cus_1").mock(return_value=httpx.Response(204))
    lookup = router.get(f"{ROOT}/query").mock(
        return_value=httpx.Response(
            200, json={"totalSize": 1, "done": True, "records": [{"Id": "001Q2000000abcDEF"}]}
        )
    )
    assert (
        await client.upsert("Account", "Q2C_Id__c", "cus_1", {"Name": "N"}) == "001Q2000000abcDEF"
    )
    assert lookup.calls.last.request.url.params["q"] == (
        "SELECT Id FROM Account WHERE Q2C_Id__c = 'cus_1' LIMIT 1"
    )


async def test_an_error_array_becomes_a_rejection_naming_each_field(
    fake: tuple[respx.MockRouter, SalesforceClient],
) -> None:
    router, client = fake
    router.post("/services/oauth2/token").mock(return_value=_token("t"))
    router.patch(f"{ROOT}/sobjects/Account/001Q2000000abcDEF").mock(
        return_value=httpx.Response(
            400,
            json=[
                {
                    "message": "Billing Country: bad value",
                    "errorCode": "FIELD_INTEGRITY_EXCEPTION",
                    "fields": ["BillingCountry", "BillingCountryCode"],
                }
            ],
        )
    )
    with pytest.raises(DependencyRejected) as rejected:
        await client.update("Account", "001Q2000000abcDEF", {"BillingCountry": "Atlantis"})
    assert rejected.value.vendor_code == "FIELD_INTEGRITY_EXCEPTION"
    assert [issue.field for issue in rejected.value.errors] == [
        "BillingCountry",
        "BillingCountryCode",
    ]


async def test_a_malformed_id_reads_as_no_record(
    fake: tuple[respx.MockRouter, SalesforceClient],
) -> None:
    router, client = fake
    router.post("/services/oauth2/token").mock(return_value=_token("t"))
    read = router.get(f"{ROOT}/sobjects/Account/not-an-id").mock(
        return_value=httpx.Response(400, json=[{"message": "bad id", "errorCode": "MALFORMED_ID"}])
    )
    assert await client.get("Account", "not-an-id", ("Id", "Name")) is None
    assert read.calls.last.request.url.params["fields"] == "Id,Name"
