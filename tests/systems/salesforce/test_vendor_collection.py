"""The adapter and the sandbox against Salesforce's own Postman collection (a CC0 extract
in tests/fixtures/vendor/salesforce): every request the adapter sends has the method, path
shape and parameters of one of Salesforce's request templates, and the sandbox serves
each template with the fields the collection's scripts read."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from contracts.v1.customers import CustomerCreate, CustomerUpdate
from domains.customer.ports import CustomerQuery
from domains.pricing.ports import PriceQuery
from domains.quote.ports import QuoteProgress, QuoteQuery
from sandboxes.salesforce.app import STATIC_TOKEN, SalesforceSandbox, create_app
from sandboxes.salesforce.oauth import INTEGRATION_USER
from systems.salesforce.client import SalesforceAuth
from tests.systems.salesforce.support import wired

EXTRACT = (
    Path(__file__).parents[2] / "fixtures/vendor/salesforce/postman-salesforce-apis.extract.json"
)
COLLECTION: dict[str, Any] = json.loads(EXTRACT.read_text(encoding="utf-8"))
VERBS = ("GET", "HEAD", "POST", "PATCH", "PUT", "DELETE")


@dataclass(frozen=True)
class Template:
    key: str
    methods: frozenset[str]
    path: re.Pattern[str]
    form_keys: frozenset[str]
    query_keys: frozenset[str]


def _template(key: str, request: dict[str, Any]) -> Template:
    url = request["url"].split("?")[0]
    for variable in ("{{_endpoint}}", "{{url}}", "{{site}}"):
        url = url.replace(variable, "")
    pattern = re.escape(url.rstrip("/"))
    pattern = pattern.replace(re.escape("{{version}}"), r"\d+\.0")
    pattern = re.sub(re.escape("<") + r"[A-Z_]+" + re.escape(">"), "[^/]+", pattern)
    # The template's method plus those its description names (rows: GET, PATCH, DELETE...).
    named = {verb for verb in VERBS if re.search(rf"\b{verb}\b", request.get("description", ""))}
    return Template(
        key=key,
        methods=frozenset({request["method"], *named}),
        path=re.compile(pattern + "/?"),
        form_keys=frozenset(f["key"] for f in request.get("data") or []),
        query_keys=frozenset(q["key"] for q in request.get("queryParams") or []),
    )


TEMPLATES = [_template(key, request) for key, request in COLLECTION["requests"].items()]


def matching(method: str, path: str) -> list[Template]:
    # The most specific path wins: /sobjects/Quote/describe is not "rows by external id".
    found = [t for t in TEMPLATES if method in t.methods and t.path.fullmatch(path)]
    return sorted(found, key=lambda t: -len(t.path.pattern))


def test_the_extract_names_its_source_and_licence() -> None:
    source = COLLECTION["source"]
    assert source["repository"] == "https://github.com/forcedotcom/postman-salesforce-apis"
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
    assert source["licence"].startswith("CC0-1.0")
    assert len(TEMPLATES) == len(COLLECTION["requests"]) >= 10


def test_templates_tell_requests_apart() -> None:
    root = "/services/data/v62.0"
    assert [t.key for t in matching("GET", f"{root}/query")] == ["rest/query.json"]
    assert matching("GET", f"{root}/queries") == []
    assert matching("PUT", f"{root}/sobjects/Account/001Q20000000001AAA") == []
    assert matching("PATCH", f"{root}/sobjects/Account/Q2C_Id__c/cus_1")[0].key == (
        "rest/sobject_rows_by_external_id.json"
    )
    assert matching("POST", f"{root}/composite")[0].key == "composite/composite.json"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


async def test_every_request_of_the_adapter_has_a_template(key: rsa.RSAPrivateKey) -> None:
    org = SalesforceSandbox()
    org.connected_app.trust_certificate(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    auth = SalesforceAuth(client_id="q2c-gateway", username=INTEGRATION_USER, private_key=private)
    async with wired(org, auth) as sf:
        adapter = sf.adapter
        page = await adapter.list_customers(CustomerQuery(country="DE"), 0, 2)
        await adapter.list_customers(CustomerQuery(), 3, 2, after=page.next_position)
        created = await adapter.create_customer(
            "cus_01JPOSTMAN", CustomerCreate(name="Postman Checks GmbH", country="DE")
        )
        await adapter.update_customer(created.system_id, CustomerUpdate(phone="+49 1"))
        await adapter.get_customer(created.system_id)
        await adapter.list_prices(PriceQuery(price_list="Standard Price Book"), 0, 3)
        quotes = await adapter.list_quotes(QuoteQuery(), 0, 2)
        synced = next(q for q in org.records("Quote") if q["IsSyncing"])
        await adapter.get_quote(quotes.items[0].system_id)
        await adapter.write_back(synced["Id"], QuoteProgress(transaction_id="t", stage="s"))
        sent = list(sf.transport.requests)
    assert len({(r.method, r.url.path.split("/")[-1]) for r in sent}) > 6
    for request in sent:
        templates = matching(request.method, request.url.path)
        assert templates, f"{request.method} {request.url.path} has no Salesforce template"
        template = templates[0]
        if template.form_keys:
            form = parse_qs(request.content.decode())
            assert set(form) == template.form_keys, template.key
        if template.query_keys:
            assert set(request.url.params) <= template.query_keys, template.key


@pytest.fixture
async def sandbox_http() -> AsyncIterator[tuple[httpx.AsyncClient, SalesforceSandbox]]:
    org = SalesforceSandbox()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(org)), base_url="http://sf.sandbox"
    ) as http:
        yield http, org


def _instantiate(url: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        url = url.replace(placeholder, value)
    return url


async def test_the_sandbox_serves_every_template(
    sandbox_http: tuple[httpx.AsyncClient, SalesforceSandbox], key: rsa.RSAPrivateKey
) -> None:
    http, org = sandbox_http
    account = org.records("Account")[0]
    values = {
        "{{_endpoint}}": "", "{{url}}": "", "{{site}}": "", "{{version}}": "62.0",
        "<SOBJECT_API_NAME>": "Account", "<RECORD_ID>": account["Id"],
        "<FIELD_NAME>": "SAP_Business_Partner__c",
        "<FIELD_VALUE>": account["SAP_Business_Partner__c"],
    }  # fmt: skip
    bodies: dict[str, Any] = {
        "rest/sobject_create.json": {"Name": "From the template"},
        "rest/sobject_rows_update.json": {"Phone": "+1 0"},
        "composite/composite.json": {"allOrNone": True, "compositeRequest": [
            {"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "limits"}]},
        "composite/sobject_collections_create.json": {"allOrNone": True, "records": [
            {"attributes": {"type": "Account"}, "Name": "From the collection"}]},
    }  # fmt: skip
    org.connected_app.trust_certificate(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    headers = {"Authorization": f"Bearer {STATIC_TOKEN}"}
    for name, request in COLLECTION["requests"].items():
        url = _instantiate(request["url"], values)
        if name == "auth/jwt_bearer_token_flow.json":
            form = {f["key"]: f["value"] for f in request["data"]}
            form["assertion"] = jwt.encode(
                {"iss": "q2c-gateway", "sub": INTEGRATION_USER,
                 "aud": "https://login.salesforce.com", "exp": int(time.time()) + 120},
                key, algorithm="RS256",
            )  # fmt: skip
            answer = await http.post(url, data=form)
            assert answer.status_code == 200, answer.text
            token = answer.json()
            # What the collection's test script reads from the answer.
            assert token["access_token"]
            assert token["instance_url"] == "http://sf.sandbox"
            *_, org_id, user_id = token["id"].split("/")
            assert org_id.startswith("00D")
            assert user_id.startswith("005")
            continue
        body = bodies.get(name)
        response = await http.request(
            request["method"], url, headers=headers, json=body if body is not None else None
        )
        assert response.status_code < 300, f"{name}: {response.status_code} {response.text}"
