"""The client-registry port: one contract suite over the memory backend and the gateway's
database (SQLite and PostgreSQL), and the token endpoint asking it for clients the
configuration does not know."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest

from gateway.stores.sql.clients import SqlClientRegistry
from gateway.stores.sql.engine import Database
from policies.auth import (
    AuthConfig,
    BuiltinIssuerConfig,
    ClientRegistry,
    ClientRegistryUnavailable,
    Issuer,
    MemoryClientRegistry,
    RegisteredClient,
    RegistrationRefused,
    build_verifier,
    hash_secret,
)
from policies.auth.routes import issuer_routes
from tests.policies.auth.conftest import auth_app
from tests.support.servers import free_port

OWNER = "owner-aaaaaaaaaaaaaaaa"
OTHER = "owner-bbbbbbbbbbbbbbbb"
# Cheap scrypt parameters: these tests are about the registry, not hashing cost.
SECRET = "s3cret-for-the-registry"
SECRET_HASH = hash_secret(SECRET, n=2**10, r=8, p=1)


def client(client_id: str, owner: str = OWNER, created_at: float = 1.0) -> RegisteredClient:
    return RegisteredClient(
        client_id=client_id, secret_hash=SECRET_HASH, name=f"App {client_id}", owner=owner,
        scopes=("products:read",), tenant="sandbox", created_at=created_at,
    )


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def registry(request: pytest.FixtureRequest) -> ClientRegistry:
    if request.param == "memory":
        return MemoryClientRegistry()
    return SqlClientRegistry(request.getfixturevalue(f"{request.param}_database"))


async def test_registered_clients_are_found_and_listed_by_owner(registry: ClientRegistry
                                                                ) -> None:
    await registry.register(client("app_1", created_at=2.0), max_per_owner=5)
    await registry.register(client("app_2", created_at=1.0), max_per_owner=5)
    await registry.register(client("app_3", owner=OTHER), max_per_owner=5)
    found = await registry.get("app_1")
    assert found == client("app_1", created_at=2.0)
    assert await registry.get("app_unknown") is None
    mine = await registry.list_by_owner(OWNER)
    assert [c.client_id for c in mine] == ["app_2", "app_1"]  # oldest first
    assert [c.client_id for c in await registry.list_by_owner(OTHER)] == ["app_3"]


async def test_a_taken_id_and_the_owner_limit_are_refused(registry: ClientRegistry) -> None:
    await registry.register(client("app_1"), max_per_owner=2)
    with pytest.raises(RegistrationRefused, match="taken"):
        await registry.register(client("app_1", owner=OTHER), max_per_owner=2)
    await registry.register(client("app_2"), max_per_owner=2)
    with pytest.raises(RegistrationRefused, match="at most 2"):
        await registry.register(client("app_3"), max_per_owner=2)
    assert await registry.get("app_3") is None
    # Revoking frees a place.
    assert await registry.revoke("app_1", OWNER)
    await registry.register(client("app_3"), max_per_owner=2)


async def test_only_the_owner_revokes_and_the_record_stays_revoked(registry: ClientRegistry
                                                                   ) -> None:
    await registry.register(client("app_1"), max_per_owner=5)
    assert not await registry.revoke("app_1", OTHER)
    assert (await registry.get("app_1")).active  # type: ignore[union-attr]
    assert await registry.revoke("app_1", OWNER)
    assert not await registry.revoke("app_1", OWNER)  # already revoked
    assert not await registry.revoke("app_missing", OWNER)
    revoked = await registry.get("app_1")
    assert revoked is not None
    assert not revoked.active
    assert revoked.revoked_at is not None
    assert await registry.list_by_owner(OWNER) == []


async def test_concurrent_registrations_respect_the_owner_limit(registry: ClientRegistry
                                                                ) -> None:
    attempts = [registry.register(client(f"app_{i}"), max_per_owner=3) for i in range(10)]
    outcomes = await asyncio.gather(*attempts, return_exceptions=True)
    assert sum(1 for o in outcomes if o is None) == 3
    assert all(isinstance(o, RegistrationRefused) for o in outcomes if o is not None)
    assert len(await registry.list_by_owner(OWNER)) == 3


async def test_an_unreachable_database_is_reported_as_unavailable() -> None:
    dead = unreachable_database()
    registry = SqlClientRegistry(dead)
    try:
        with pytest.raises(ClientRegistryUnavailable):
            await registry.get("app_1")
        with pytest.raises(ClientRegistryUnavailable):
            await registry.register(client("app_1"), max_per_owner=1)
    finally:
        await dead.dispose()


def unreachable_database() -> Database:
    """A database on a port nobody listens on (fails at once)."""
    return Database(f"postgresql://postgres@127.0.0.1:{free_port()}/none")


# The token endpoint ---------------------------------------------------------------------

def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode())
            .decode()}


GRANT = {"grant_type": "client_credentials"}


@pytest.fixture
def config(tmp_path: Path) -> AuthConfig:
    return AuthConfig(builtin_issuer=BuiltinIssuerConfig(key_file=str(tmp_path / "key.pem"),
                                                         sandbox_client=True))


@contextlib.asynccontextmanager
async def token_api(config: AuthConfig, registry: ClientRegistry
                    ) -> AsyncIterator[httpx.AsyncClient]:
    issuer = Issuer.from_config(config)
    async with auth_app(issuer_routes(issuer, config, registry),
                        build_verifier(config, issuer=issuer)) as api:
        yield api


async def test_token_endpoint_issues_to_registered_clients_until_revoked(
    config: AuthConfig, registry: ClientRegistry
) -> None:
    await registry.register(client("app_1"), max_per_owner=5)
    async with token_api(config, registry) as api:
        issued = await api.post("/oauth/token", data=GRANT, headers=basic("app_1", SECRET))
        assert issued.status_code == 200
        claims = issued.json()
        assert claims["scope"] == "products:read"
        wrong = await api.post("/oauth/token", data=GRANT, headers=basic("app_1", "nope"))
        assert wrong.status_code == 401
        beyond = await api.post("/oauth/token", data={**GRANT, "scope": "orders:write"},
                                headers=basic("app_1", SECRET))
        assert beyond.status_code == 400
        assert beyond.json()["error"] == "invalid_scope"
        # Configured clients are unaffected by the registry.
        sandbox = await api.post("/oauth/token", data=GRANT,
                                 headers=basic("sandbox-client", "sandbox-secret"))
        assert sandbox.status_code == 200
        assert await registry.revoke("app_1", OWNER)
        refused = await api.post("/oauth/token", data=GRANT, headers=basic("app_1", SECRET))
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_client"


async def test_a_registered_client_cannot_shadow_a_configured_one(config: AuthConfig) -> None:
    registry = MemoryClientRegistry()
    impostor = msgspec.structs.replace(client("sandbox-client"),
                                       scopes=("ops:write",), tenant="other")
    await registry.register(impostor, max_per_owner=5)
    async with token_api(config, registry) as api:
        # The registered record's secret does not open the configured client ...
        mine = await api.post("/oauth/token", data=GRANT, headers=basic("sandbox-client", SECRET))
        assert mine.status_code == 401


async def test_token_endpoint_answers_503_when_the_registry_is_down(config: AuthConfig) -> None:
    dead = unreachable_database()
    try:
        async with token_api(config, SqlClientRegistry(dead)) as api:
            answer = await api.post("/oauth/token", data=GRANT, headers=basic("app_1", SECRET))
            assert answer.status_code == 503
            assert answer.headers["retry-after"] == "1"
            # Configured clients do not need the registry.
            sandbox = await api.post("/oauth/token", data=GRANT,
                                     headers=basic("sandbox-client", "sandbox-secret"))
            assert sandbox.status_code == 200
    finally:
        await dead.dispose()
