"""The portal over HTTP (in-process): self-service protections, production mode, and
what it adds to (and keeps out of) the gateway's contract."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.app import create_app
from gateway.portal.config import PortalConfig
from gateway.settings import Settings, embedded_settings
from gateway.wiring import build_runtime
from policies.auth import AuthConfig, BuiltinIssuerConfig

BASE = "http://gateway.test"


async def portal_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    runtime = build_runtime(settings)
    await runtime.start()
    app = create_app(settings, runtime)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=BASE) as client:
            yield client
    finally:
        await runtime.close()


@pytest.fixture
async def sandbox(tmp_path: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    settings = embedded_settings(auth=AuthConfig(builtin_issuer=BuiltinIssuerConfig(
        sandbox_client=True, key_file=str(tmp_path / "key.pem"))))  # type: ignore[operator]
    async for client in portal_client(settings):
        yield client


async def form_token(client: httpx.AsyncClient) -> str:
    page = await client.get("/portal/getting-started")
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def credentials(page: str) -> tuple[str, str]:
    client_id = re.search(r'id="new-client-id">([^<]+)<', page)
    secret = re.search(r'id="new-client-secret">([^<]+)<', page)
    assert client_id is not None, page[:2000]
    assert secret is not None
    return client_id.group(1), secret.group(1)


async def test_registration_sets_a_private_cookie_and_shows_the_secret_once(
    sandbox: httpx.AsyncClient,
) -> None:
    first = await sandbox.get("/portal/getting-started")
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    assert "Path=/portal" in cookie
    assert first.headers["cache-control"] == "no-store"
    token = re.search(r'name="csrf_token" value="([^"]+)"', first.text).group(1)  # type: ignore[union-attr]
    made = await sandbox.post("/portal/apps", data={"csrf_token": token, "name": "Ledger sync",
                                                    "scope": ["products:read", "orders:read"]})
    assert made.status_code == 201
    assert made.headers["cache-control"] == "no-store"
    assert made.headers["ratelimit-policy"].startswith('"anonymous"')  # the per-IP plan
    client_id, secret = credentials(made.text)
    later = await sandbox.get("/portal/getting-started")
    assert client_id in later.text
    assert secret not in later.text
    issued = await sandbox.post("/oauth/token", data={"grant_type": "client_credentials"},
                                auth=(client_id, secret))
    assert issued.status_code == 200
    assert issued.json()["scope"] == "products:read orders:read"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"csrf_token": "forged"}, "did not come from this portal"),
        ({"csrf_token": None}, "did not come from this portal"),
    ],
)
async def test_forged_forms_are_refused(sandbox: httpx.AsyncClient, change: dict[str, str | None],
                                        why: str) -> None:
    token = await form_token(sandbox)
    form = {"csrf_token": token, "name": "x", "scope": "products:read", **change}
    posted = await sandbox.post("/portal/apps", data={k: v for k, v in form.items() if v})
    assert posted.status_code == 403
    assert why in posted.text


async def test_a_post_from_another_site_or_without_the_cookie_is_refused(
    sandbox: httpx.AsyncClient,
) -> None:
    token = await form_token(sandbox)
    form = {"csrf_token": token, "name": "x", "scope": "products:read"}
    foreign = await sandbox.post("/portal/apps", data=form,
                                 headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert "another site" in foreign.text
    # Behind a TLS-terminating proxy the page's origin is https, the gateway sees http.
    proxied = await sandbox.post("/portal/apps", data=form,
                                 headers={"Origin": "https://gateway.test"})
    assert proxied.status_code == 201
    sandbox.cookies.clear()
    cookieless = await sandbox.post("/portal/apps", data=form)
    assert cookieless.status_code == 403
    assert "session is missing" in cookieless.text


async def test_invalid_registrations_name_the_field(sandbox: httpx.AsyncClient) -> None:
    token = await form_token(sandbox)
    posted = await sandbox.post("/portal/apps", data={"csrf_token": token, "name": "",
                                                      "scope": "ops:root"})
    assert posted.status_code == 422
    assert 'aria-invalid="true"' in posted.text
    assert "Not available in the sandbox: ops:root" in posted.text


async def test_registration_spends_the_per_ip_quota(sandbox: httpx.AsyncClient) -> None:
    """Each registration costs 10 units of the 60-unit anonymous plan."""
    config = PortalConfig()
    token = await form_token(sandbox)
    statuses = []
    for number in range(60 // config.registration_cost + 1):
        posted = await sandbox.post("/portal/apps", data={
            "csrf_token": token, "name": f"App {number}", "scope": "products:read"})
        statuses.append(posted.status_code)
    assert statuses[:-1] == [201] * (60 // config.registration_cost)
    assert statuses[-1] == 429


async def test_only_the_registering_browser_can_revoke(sandbox: httpx.AsyncClient) -> None:
    token = await form_token(sandbox)
    made = await sandbox.post("/portal/apps", data={"csrf_token": token, "name": "Mine",
                                                    "scope": "products:read"})
    client_id, secret = credentials(made.text)
    async with httpx.AsyncClient(transport=sandbox._transport, base_url=BASE) as other:
        other_token = await form_token(other)
        stolen = await other.post(f"/portal/apps/{client_id}/revoke",
                                  data={"csrf_token": other_token})
        assert stolen.status_code == 404
    still = await sandbox.post("/oauth/token", data={"grant_type": "client_credentials"},
                               auth=(client_id, secret))
    assert still.status_code == 200
    revoked = await sandbox.post(f"/portal/apps/{client_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert revoked.headers["location"] == f"/portal/getting-started?revoked={client_id}#apps"
    confirmed = await sandbox.get(revoked.headers["location"])
    assert f"Application {client_id} was revoked." in confirmed.text
    # The confirmation is not text from the URL: a made-up id shows nothing.
    spoofed = await sandbox.get("/portal/getting-started?revoked=Your+account+is+closed")
    assert "was revoked" not in spoofed.text
    refused = await sandbox.post("/oauth/token", data={"grant_type": "client_credentials"},
                                 auth=(client_id, secret))
    assert refused.status_code == 401


def identity_provider_auth() -> AuthConfig:
    """Production-style auth: keys of an identity provider, no built-in issuer."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = key.public_bytes(serialization.Encoding.PEM,
                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return AuthConfig(builtin_issuer=BuiltinIssuerConfig(enabled=False), static_keys=(pem,))


async def test_production_mode_explains_how_to_get_credentials() -> None:
    settings = embedded_settings(
        auth=identity_provider_auth(),
        portal=PortalConfig(credentials_help="Ask the integration desk for a client.",
                            credentials_url="https://desk.example.com/api-access"),
    )
    async for client in portal_client(settings):
        page = await client.get("/portal/getting-started")
        assert page.status_code == 200
        assert "Ask the integration desk for a client." in page.text
        assert 'href="https://desk.example.com/api-access"' in page.text
        assert 'action="/portal/apps"' not in page.text
        posted = await client.post("/portal/apps", data={"name": "x"})
        assert posted.status_code == 404


def test_self_service_needs_the_built_in_issuer() -> None:
    with pytest.raises(ValueError, match=r"portal\.self_service needs the built-in token issuer"):
        embedded_settings(auth=identity_provider_auth(), portal=PortalConfig(self_service=True))
    toml = b'[portal]\nself_service = true\n[auth.builtin_issuer]\nenabled = false\n' \
           b'[auth]\njwks_url = "https://idp.example.com/jwks.json"\n'
    with pytest.raises(msgspec.ValidationError, match=r"portal\.self_service"):
        msgspec.toml.decode(toml, type=Settings)
    with pytest.raises(ValueError, match=r"portal\.registration_scopes: 'a b'"):
        embedded_settings(portal=PortalConfig(registration_scopes=("a b",)))


async def test_portal_pages_stay_out_of_the_contract_and_schema_is_offline(
    sandbox: httpx.AsyncClient,
) -> None:
    document = (await sandbox.get("/schema/openapi.json")).json()
    assert not [p for p in document["paths"] if p.startswith(("/portal", "/problems"))]
    assert "/" not in document["paths"]
    viewer = await sandbox.get("/schema")
    assert viewer.status_code == 200
    external = re.findall(r'(?:src|href)="(https?:[^"]+)"', viewer.text)
    assert external == []
    assert "/portal/static/vendor/swagger-ui/swagger-ui-bundle.js" in viewer.text
    assert 'data-spec-url="/schema/openapi.json"' in viewer.text


async def test_the_served_reference_document_points_try_it_at_this_gateway(
    sandbox: httpx.AsyncClient,
) -> None:
    served = (await sandbox.get("/portal/openapi/v2.json")).json()
    assert served["servers"][0]["url"] == BASE
    assert served["info"]["version"].startswith("2.")
    assert (await sandbox.get("/portal/openapi/v9.json")).status_code == 404


async def test_pages_forbid_external_resources(sandbox: httpx.AsyncClient) -> None:
    page = await sandbox.get("/portal/catalog")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "connect-src 'self'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert (await sandbox.get("/")).headers["location"] == "/portal"
