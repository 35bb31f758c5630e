"""The ``netsuite`` client library (jacobsvante/netsuite) against the sandbox over real HTTPS.

The library has no base-URL option: ``NetSuiteRestApi`` builds every URL as
``https://{hostname}/services/rest{subpath}`` where ``hostname`` comes from
``_make_hostname()`` (``<account>.suitetalk.api.netsuite.com``). The test overrides only
that hook, so paths, headers, JSON encoding, OAuth 1.0a signing (``realm`` = account id,
HMAC-SHA256), status handling and the SuiteQL call are the library's own. Each request opens
its own ``httpx.AsyncClient`` with default TLS verification, which honours ``SSL_CERT_FILE``;
the fixture points that at a throwaway CA that signed the server's certificate.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from sandboxes.netsuite.app import NetSuiteSandbox, create_app
from tests.support.servers import serve_in_thread
from tests.support.tls import make_tls

# netsuite 0.12.0 pins httpx<0.28 while this project runs 0.28, so it is installed with
# ``pip install --no-deps netsuite==0.12.0`` next to authlib<1.7, oauthlib<4 and pydantic 2.
_INSTALL = "pip install --no-deps netsuite==0.12.0 'authlib<1.7' 'oauthlib<4' pydantic"
netsuite = pytest.importorskip("netsuite", reason=_INSTALL)
rest_api = pytest.importorskip("netsuite.rest_api", reason=_INSTALL)
RestApi: Any = rest_api.NetSuiteRestApi
Config = netsuite.Config
TokenAuth = netsuite.TokenAuth
NetsuiteAPIRequestError = pytest.importorskip("netsuite.exceptions").NetsuiteAPIRequestError

pytestmark = [
    pytest.mark.e2e,
    # Two deprecations raised inside netsuite 0.12.0 itself on every request, not by the
    # sandbox: it signs HMAC-SHA256 with oauthlib's deprecated ``sign_hmac_sha256``, and it
    # hands httpx the JSON body as ``data=<str>`` instead of ``content=``.
    pytest.mark.filterwarnings(
        "ignore:use sign_hmac_sha256_with_client instead of sign_hmac_sha256:DeprecationWarning"
    ),
    pytest.mark.filterwarnings(
        "ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning"
    ),
]

ACCOUNT = "1234567_SB1"


class SandboxRestApi(RestApi):  # type: ignore[misc]  # the library ships no type hints
    """The library's REST client with only the host swapped for the sandbox's."""

    def __init__(self, config: Any, host: str) -> None:
        super().__init__(config, default_timeout=10)
        self._sandbox_host = host

    def _make_hostname(self) -> str:
        return self._sandbox_host


def _config(account: str = ACCOUNT) -> Any:
    auth = TokenAuth(consumer_key="ck-q2c", consumer_secret="cs-q2c", token_id="tk-q2c",
                     token_secret="ts-q2c")  # fmt: skip
    return Config(account=account, auth=auth)


@dataclass
class Account:
    sandbox: NetSuiteSandbox
    api: Any  # NetSuiteRestApi (the library ships no type hints)
    host: str


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    tls = make_tls(tmp_path_factory.mktemp("tls"), ca_common_name="q2c netsuite test CA")
    sandbox = NetSuiteSandbox()
    with (
        pytest.MonkeyPatch.context() as env,
        serve_in_thread(
            create_app(sandbox), ssl_certfile=str(tls.cert_file), ssl_keyfile=str(tls.key_file)
        ) as base_url,
    ):
        # httpx's default SSL context trusts SSL_CERT_FILE when it is set (trust_env=True).
        env.setenv("SSL_CERT_FILE", str(tls.ca_file))
        env.delenv("SSL_CERT_DIR", raising=False)
        for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            env.delenv(proxy, raising=False)
        host = base_url.removeprefix("https://")
        yield Account(sandbox, SandboxRestApi(_config(), host), host)


def _error(exc: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.value.response_text)
    return body


async def test_urls_point_at_the_sandbox(account: Account) -> None:
    assert account.api.hostname == account.host
    assert account.api._make_url("/record/v1/customer") == (
        f"https://{account.host}/services/rest/record/v1/customer"
    )


async def test_get_record_and_list_with_q(account: Account) -> None:
    customer = await account.api.get("/record/v1/customer/1001")
    assert customer["companyName"] == "Fabrikam Logistics Ltd"
    assert customer["subsidiary"]["id"] == "2"
    assert customer["links"][0]["href"] == (
        f"https://{account.host}/services/rest/record/v1/customer/1001"
    )
    listing = await account.api.get(
        "/record/v1/customer", params={"q": 'companyName START_WITH "Fourth"', "limit": 10}
    )
    assert listing["totalResults"] == 1
    assert listing["items"][0]["id"] == "1002"


async def test_post_returns_no_body_and_a_location(account: Account) -> None:
    body = {"companyName": "Library Ltd", "subsidiary": {"id": "2"}, "externalId": "LIB-1"}
    assert await account.api.post("/record/v1/customer", json=body) is None
    created = await account.api.get("/record/v1/customer/eid:LIB-1")
    assert created["companyName"] == "Library Ltd"
    raw = await account.api.request(
        "POST", "/record/v1/customer",
        json={"companyName": "Raw Ltd", "subsidiary": {"id": "2"}, "externalId": "LIB-2"},
    )  # fmt: skip
    assert raw.status_code == 204
    new_id = raw.headers["location"].rsplit("/", 1)[-1]
    assert raw.headers["location"] == (
        f"https://{account.host}/services/rest/record/v1/customer/{new_id}"
    )
    assert (await account.api.get(f"/record/v1/customer/{new_id}"))["externalId"] == "LIB-2"


async def test_put_by_external_id_upserts_a_sales_order(account: Account) -> None:
    order = {
        "entity": {"id": "1005"},
        "otherRefNum": "PO-LIB-9",
        "item": {"items": [{"item": {"id": "103"}, "quantity": 10},
                           {"item": {"id": "109"}, "quantity": 24}]},
    }  # fmt: skip
    assert await account.api.put("/record/v1/salesOrder/eid:Q2C-LIB-ORDER", json=order) is None
    assert await account.api.put("/record/v1/salesOrder/eid:Q2C-LIB-ORDER",
                                 json={"memo": "retry"}) is None  # fmt: skip
    saved = await account.api.get(
        "/record/v1/salesOrder/eid:Q2C-LIB-ORDER", params={"expandSubResources": "true"}
    )
    assert saved["memo"] == "retry"
    assert saved["total"] == 10 * 1080.0 + 24 * 125.0
    assert [line["item"]["refName"] for line in saved["item"]["items"]] == ["Q2C-1003", "Q2C-3001"]
    matching = [o for o in account.sandbox.records("salesOrder")
                if o.get("externalId") == "Q2C-LIB-ORDER"]  # fmt: skip
    assert len(matching) == 1
    assert (
        await account.api.patch(
            f"/record/v1/salesOrder/{saved['id']}", json={"orderStatus": {"id": "B"}}
        )
        is None
    )
    approved = await account.api.get(f"/record/v1/salesOrder/{saved['id']}")
    assert approved["orderStatus"]["refName"] == "Pending Fulfillment"


async def test_suiteql(account: Account) -> None:
    result = await account.api.suiteql(q="SELECT id, itemid FROM item WHERE itemid = 'Q2C-1001'")
    assert result["items"] == [{"links": [], "id": "101", "itemid": "Q2C-1001"}]
    assert result["hasMore"] is False
    paged = await account.api.suiteql(q="SELECT id FROM item ORDER BY id", limit=5, offset=5)
    assert [row["id"] for row in paged["items"]] == ["106", "107", "108", "109", "110"]
    assert paged["hasMore"] is True
    assert paged["totalResults"] == 12


async def test_errors_surface_as_library_exceptions(account: Account) -> None:
    with pytest.raises(NetsuiteAPIRequestError) as missing:
        await account.api.get("/record/v1/customer/999999")
    assert missing.value.status_code == 404
    assert _error(missing)["o:errorDetails"][0]["o:errorCode"] == "NONEXISTENT_ID"
    with pytest.raises(NetsuiteAPIRequestError) as invalid:
        await account.api.post("/record/v1/salesOrder", json={
            "entity": {"id": "1001"}, "item": {"items": [{"item": {"id": "112"}, "quantity": 1}]},
        })  # fmt: skip
    assert invalid.value.status_code == 400
    detail = _error(invalid)["o:errorDetails"][0]
    assert detail["o:errorPath"] == "item.items[0].item"
    with pytest.raises(NetsuiteAPIRequestError) as bad_sql:
        await account.api.suiteql(q="SELECT nope FROM item")
    assert bad_sql.value.status_code == 400


async def test_tba_realm_must_match_the_account(account: Account) -> None:
    assert await account.api.delete("/record/v1/customer/eid:LIB-1") is None
    stranger = SandboxRestApi(_config("7654321"), account.host)
    with pytest.raises(NetsuiteAPIRequestError) as denied:
        await stranger.get("/record/v1/customer/1001")
    assert denied.value.status_code == 401
    assert _error(denied)["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"


async def test_the_adapters_order_changes_through_the_library(account: Account) -> None:
    """shipDate and a custom field kept, strict property names, the way back to Pending
    Approval (hold) and closing every line (cancel), as the adapter sends them."""
    strict = {"X-NetSuite-PropertyNameValidation": "Error"}
    order = {
        "entity": {"id": "1002"},
        "shipDate": "2027-04-30",
        "custbody_q2c_hold_reason": "",
        "item": {"items": [{"item": {"id": "101"}, "quantity": 1, "custcol_q2c_line": 10},
                           {"item": {"id": "106"}, "quantity": 2, "custcol_q2c_line": 20}]},
    }  # fmt: skip
    await account.api.put("/record/v1/salesOrder/eid:Q2C-LIB-HOLD", json=order, headers=strict)
    saved = await account.api.get(
        "/record/v1/salesOrder/eid:Q2C-LIB-HOLD", params={"expandSubResources": "true"}
    )
    assert saved["shipDate"] == "2027-04-30"
    assert [line["custcol_q2c_line"] for line in saved["item"]["items"]] == [10, 20]
    with pytest.raises(NetsuiteAPIRequestError) as unknown:
        await account.api.patch(
            f"/record/v1/salesOrder/{saved['id']}", json={"shipDat": "2027-05-01"}, headers=strict
        )
    assert _error(unknown)["o:errorDetails"][0]["o:errorPath"] == "shipDat"
    path = f"/record/v1/salesOrder/{saved['id']}"
    await account.api.patch(path, json={"orderStatus": {"id": "B"}}, headers=strict)
    await account.api.patch(
        path,
        json={"orderStatus": {"id": "A"}, "custbody_q2c_hold_reason": "payment failed"},
        headers=strict,
    )
    held = await account.api.get(path)
    assert (held["orderStatus"]["id"], held["custbody_q2c_hold_reason"]) == ("A", "payment failed")
    closing = {"item": {"items": [{"line": 1, "isClosed": True}, {"line": 2, "isClosed": True}]}}
    await account.api.patch(path, json=closing, headers=strict)
    assert (await account.api.get(path))["orderStatus"]["refName"] == "Closed"
    held_customer = await account.api.get("/record/v1/customer/1003")
    assert held_customer["creditHoldOverride"]["id"] == "ON"


async def test_authlib_gets_a_machine_to_machine_token_with_a_private_key_jwt(
    account: Account,
) -> None:
    """An independent OAuth 2.0 library (authlib, RFC 7523 private_key_jwt) against the
    sandbox's token endpoint over HTTPS; its token then opens the record API."""
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

    from sandboxes.netsuite.oauth import (
        DEMO_CERTIFICATE_ID,
        DEMO_CLIENT_ID,
        DEMO_PRIVATE_KEY,
        TOKEN_PATH,
    )

    pem = (
        "-----BEGIN PRIVATE KEY-----\n"
        + "\n".join(DEMO_PRIVATE_KEY[i : i + 64] for i in range(0, len(DEMO_PRIVATE_KEY), 64))
        + "\n-----END PRIVATE KEY-----\n"
    )
    token_url = f"https://{account.host}{TOKEN_PATH}"
    auth = PrivateKeyJWT(
        token_url,
        claims={"scope": "rest_webservices"},
        headers={"kid": DEMO_CERTIFICATE_ID},
        alg="ES256",
    )
    async with AsyncOAuth2Client(
        DEMO_CLIENT_ID, pem, token_endpoint_auth_method=auth
    ) as oauth:
        oauth.register_client_auth_method(auth)
        token = await oauth.fetch_token(token_url, grant_type="client_credentials")
        assert token["token_type"] == "bearer"
        assert int(token["expires_in"]) == 3600
        customer = await oauth.get(f"https://{account.host}/services/rest/record/v1/customer/1001")
    assert customer.status_code == 200
    assert customer.json()["companyName"] == "Fabrikam Logistics Ltd"
