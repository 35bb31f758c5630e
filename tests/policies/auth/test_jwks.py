"""JWKS keys: fetched lazily, shared fetches, rotation without restart, flood protection."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest

from policies.auth import AuthConfig, AuthFailure, TokenVerifier, build_verifier
from tests.policies.auth.conftest import AUDIENCE, ISSUER, FakeClock, SigningKey, claims

JWKS_URL = "https://idp.example.test/.well-known/jwks.json"


class JwksEndpoint:
    """A tiny identity provider: serves ``keys``, counts calls, can be slow or broken."""

    def __init__(self, *keys: SigningKey) -> None:
        self.keys = list(keys)
        self.raw: list[Any] = []
        self.calls = 0
        self.delay = 0.0
        self.status = 200

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url == JWKS_URL
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status != 200:
            return httpx.Response(self.status, text="unavailable")
        return httpx.Response(200, json={"keys": [*self.raw, *(key.jwk() for key in self.keys)]})


@pytest.fixture
def endpoint(rsa_key: SigningKey) -> JwksEndpoint:
    return JwksEndpoint(rsa_key)


@pytest.fixture
async def http(endpoint: JwksEndpoint) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        yield client


def make_verifier(http: httpx.AsyncClient, clock: FakeClock, **fields: Any) -> TokenVerifier:
    config = msgspec.convert(
        {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "jwks_url": JWKS_URL,
            "builtin_issuer": {"enabled": False},
            "cache_size": 0,
            **fields,
        },
        AuthConfig,
    )
    return build_verifier(config, http_client=http, clock=clock, monotonic=clock)


async def outcome(verifier: TokenVerifier, token: str) -> str:
    try:
        await verifier.verify(token.encode())
    except AuthFailure as failure:
        return failure.description
    return "ok"


async def test_keys_are_fetched_once_and_cached(
    http: httpx.AsyncClient, endpoint: JwksEndpoint, rsa_key: SigningKey, clock: FakeClock
) -> None:
    verifier = make_verifier(http, clock)
    assert endpoint.calls == 0  # nothing fetched at construction
    for i in range(5):
        assert await outcome(verifier, rsa_key.sign(claims(jti=str(i)))) == "ok"
    assert endpoint.calls == 1


async def test_rotation_works_without_restart_after_the_interval(
    http: httpx.AsyncClient,
    endpoint: JwksEndpoint,
    rsa_key: SigningKey,
    rsa_key2: SigningKey,
    clock: FakeClock,
) -> None:
    verifier = make_verifier(http, clock, jwks_refetch_interval_seconds=60)
    assert await outcome(verifier, rsa_key.sign(claims())) == "ok"
    endpoint.keys = [rsa_key2]  # the provider rotates
    clock.advance(10)
    new_token = rsa_key2.sign(claims(jti="new", iat=int(clock.now), nbf=int(clock.now)))
    # Within the interval an unknown kid does not refetch...
    assert await outcome(verifier, new_token) == "token signing key is unknown"
    assert endpoint.calls == 1
    clock.advance(51)
    # ...after it, the first unknown kid refetches and the new key works.
    assert await outcome(verifier, new_token) == "ok"
    assert endpoint.calls == 2
    old_token = rsa_key.sign(claims(jti="old", iat=int(clock.now), nbf=int(clock.now)))
    assert await outcome(verifier, old_token) == "token signing key is unknown"


async def test_a_flood_of_random_kids_refetches_at_most_once_per_interval(
    http: httpx.AsyncClient, endpoint: JwksEndpoint, rsa_key: SigningKey, clock: FakeClock
) -> None:
    verifier = make_verifier(http, clock, jwks_refetch_interval_seconds=60)
    assert await outcome(verifier, rsa_key.sign(claims())) == "ok"
    clock.advance(60)
    flood = [rsa_key.sign(claims(), kid=uuid.uuid4().hex) for _ in range(100)]
    results = await asyncio.gather(*(outcome(verifier, token) for token in flood))
    assert set(results) == {"token signing key is unknown"}
    assert endpoint.calls == 2
    for token in flood:  # sequential, still inside the interval
        assert await outcome(verifier, token) == "token signing key is unknown"
    assert endpoint.calls == 2
    clock.advance(60)
    await outcome(verifier, flood[0])
    assert endpoint.calls == 3
    assert await outcome(verifier, rsa_key.sign(claims(jti="still"))) == "ok"


async def test_concurrent_misses_share_one_fetch(
    http: httpx.AsyncClient, endpoint: JwksEndpoint, rsa_key: SigningKey, clock: FakeClock
) -> None:
    endpoint.delay = 0.05
    verifier = make_verifier(http, clock)
    tokens = [rsa_key.sign(claims(jti=str(i))) for i in range(20)]
    results = await asyncio.gather(*(outcome(verifier, token) for token in tokens))
    assert results == ["ok"] * 20
    assert endpoint.calls == 1


async def test_a_cancelled_waiter_does_not_cancel_the_shared_fetch(
    http: httpx.AsyncClient, endpoint: JwksEndpoint, rsa_key: SigningKey, clock: FakeClock
) -> None:
    endpoint.delay = 0.05
    verifier = make_verifier(http, clock)
    impatient = asyncio.ensure_future(outcome(verifier, rsa_key.sign(claims(jti="a"))))
    await asyncio.sleep(0.01)
    patient = asyncio.ensure_future(outcome(verifier, rsa_key.sign(claims(jti="b"))))
    await asyncio.sleep(0)
    impatient.cancel()
    assert await patient == "ok"
    assert endpoint.calls == 1


async def test_known_keys_are_refreshed_after_the_cache_time(
    http: httpx.AsyncClient, endpoint: JwksEndpoint, rsa_key: SigningKey, clock: FakeClock
) -> None:
    verifier = make_verifier(http, clock, jwks_cache_seconds=300)
    assert await outcome(verifier, rsa_key.sign(claims())) == "ok"
    clock.advance(299)
    assert await outcome(verifier, rsa_key.sign(claims(jti="2", exp=int(clock.now) + 60))) == "ok"
    assert endpoint.calls == 1
    clock.advance(2)
    endpoint.keys = []  # the provider withdrew the key
    token = rsa_key.sign(claims(jti="3", iat=int(clock.now), exp=int(clock.now) + 60))
    assert await outcome(verifier, token) == "token signing key is unknown"
    assert endpoint.calls == 2


async def test_an_unreachable_provider(
    http: httpx.AsyncClient, endpoint: JwksEndpoint, rsa_key: SigningKey, clock: FakeClock
) -> None:
    endpoint.status = 503
    verifier = make_verifier(http, clock, jwks_refetch_interval_seconds=60)
    with pytest.raises(AuthFailure) as info:
        await verifier.verify(rsa_key.sign(claims()).encode())
    assert (info.value.status, info.value.code) == (503, "DEPENDENCY_UNAVAILABLE")
    endpoint.status = 200
    clock.advance(30)
    with pytest.raises(AuthFailure):  # no retry storm: still inside the interval
        await verifier.verify(rsa_key.sign(claims(jti="2")).encode())
    assert endpoint.calls == 1
    clock.advance(30)
    assert await outcome(verifier, rsa_key.sign(claims(jti="3", iat=int(clock.now)))) == "ok"
    # Once keys are known, a failing refresh keeps the stale set working.
    endpoint.status = 500
    clock.advance(400)
    assert (
        await outcome(
            verifier, rsa_key.sign(claims(jti="4", iat=int(clock.now), exp=int(clock.now) + 60))
        )
        == "ok"
    )
    assert endpoint.calls == 3


async def test_unusable_keys_in_the_set_are_skipped(
    http: httpx.AsyncClient,
    endpoint: JwksEndpoint,
    rsa_key: SigningKey,
    ec_key: SigningKey,
    clock: FakeClock,
) -> None:
    # ES256 is not allowed here, so that key is skipped; an encryption key is skipped too.
    endpoint.keys = [ec_key, rsa_key]
    endpoint.raw = [{**rsa_key.jwk(), "use": "enc", "kid": "enc-key"}, {"kty": "RSA"}, "junk"]
    verifier = make_verifier(http, clock, algorithms=["RS256"], builtin_issuer={"enabled": False})
    assert await outcome(verifier, rsa_key.sign(claims())) == "ok"
    assert await outcome(verifier, ec_key.sign(claims())) == "token algorithm is not allowed"
    assert verifier.jwks is not None
    assert verifier.jwks.cached(ec_key.kid) is None
    assert verifier.jwks.cached("enc-key") is None
    assert verifier.jwks.cached(rsa_key.kid) is not None


async def test_warm_up_fetches_once_and_survives_an_outage(
    http: httpx.AsyncClient, endpoint: JwksEndpoint, rsa_key: SigningKey, clock: FakeClock
) -> None:
    endpoint.status = 502
    verifier = make_verifier(http, clock)
    await verifier.warm_up()  # logged, not raised: the gateway still starts
    assert endpoint.calls == 1
    endpoint.status = 200
    clock.advance(60)
    await verifier.warm_up()
    assert endpoint.calls == 2
    assert await outcome(verifier, rsa_key.sign(claims(iat=int(clock.now)))) == "ok"
    assert endpoint.calls == 2
