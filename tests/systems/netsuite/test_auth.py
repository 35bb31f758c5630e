"""NetSuite OAuth 2.0 machine-to-machine tokens against the NetSuite sandbox: the client
assertion, the cache, renewal before expiry and once after a 401, one renewal for many
callers, and a call after the token expired."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from domains.errors import DependencyUnavailable
from sandboxes.netsuite.app import NetSuiteSandbox, create_app
from sandboxes.netsuite.oauth import DEMO_CERTIFICATE_ID, DEMO_CLIENT_ID, DEMO_PRIVATE_KEY
from systems.netsuite.auth import (
    TOKEN_PATH,
    ClientCredentials,
    MachineTokens,
    algorithm_for,
    load_private_key,
)
from systems.netsuite.client import NetSuiteClient
from systems.netsuite.errors import SYSTEM, translate
from systems.transport import HttpxTransport
from systems.upstream import Upstream, UpstreamConfig

BASE = "http://netsuite.sandbox"
LIFETIME = 600


class Clock:
    """One clock for the account and the gateway, moved by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Counting:
    """Counts token requests and record calls by the Authorization they carried."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.token_requests = 0
        self.statuses: list[int] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == TOKEN_PATH:
            self.token_requests += 1

        async def record(message: Any) -> None:
            if message["type"] == "http.response.start" and scope["path"] != TOKEN_PATH:
                self.statuses.append(message["status"])
            await send(message)

        await self.app(scope, receive, record)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> NetSuiteSandbox:
    # No fixed token here: every call needs a token from the client credentials flow.
    return NetSuiteSandbox(access_token=None, token_lifetime_seconds=LIFETIME, clock=clock)


@pytest.fixture
def counting(sandbox: NetSuiteSandbox) -> Counting:
    return Counting(create_app(sandbox))


@pytest.fixture
async def upstream(counting: Counting) -> AsyncIterator[Upstream]:
    async with httpx.AsyncClient(mounts={BASE: httpx.ASGITransport(app=counting)}) as http:
        yield Upstream(
            system=SYSTEM,
            transport=HttpxTransport(http),
            base_url=BASE,
            config=UpstreamConfig(backoff_seconds=0.01),
            translate=translate,
        )


def credentials(**changes: Any) -> ClientCredentials:
    values: dict[str, Any] = {
        "client_id": DEMO_CLIENT_ID,
        "certificate_id": DEMO_CERTIFICATE_ID,
        "private_key": DEMO_PRIVATE_KEY,
        "refresh_margin_seconds": 60.0,
    }
    return ClientCredentials(**(values | changes))


def tokens(upstream: Upstream, clock: Clock, **changes: Any) -> MachineTokens:
    return MachineTokens(upstream, credentials(**changes), clock=clock.seconds)


def test_the_assertion_has_netsuites_header_and_claims(upstream: Upstream, clock: Clock) -> None:
    source = tokens(upstream, clock)
    assertion = source.assertion()
    header = jwt.get_unverified_header(assertion)
    assert (header["alg"], header["kid"], header["typ"]) == ("ES256", DEMO_CERTIFICATE_ID, "JWT")
    claims = jwt.decode(assertion, options={"verify_signature": False})
    assert claims["iss"] == DEMO_CLIENT_ID
    assert claims["scope"] == "rest_webservices"
    assert claims["aud"] == BASE + TOKEN_PATH
    assert claims["exp"] - claims["iat"] == 300
    assert claims["iat"] == int(clock.seconds())


async def test_one_token_serves_calls_until_shortly_before_it_expires(
    upstream: Upstream, clock: Clock, counting: Counting
) -> None:
    source = tokens(upstream, clock)
    client = NetSuiteClient(upstream, source)
    assert (await client.get("customer", "1001")) is not None
    assert (await client.get("customer", "1002")) is not None
    assert counting.token_requests == 1
    clock.advance(LIFETIME - 61)  # just outside the 60 s margin: still the cached token
    await client.get("customer", "1001")
    assert counting.token_requests == 1
    clock.advance(2)  # inside the margin: renewed before NetSuite would refuse it
    await client.get("customer", "1001")
    assert counting.token_requests == 2
    assert 401 not in counting.statuses


async def test_a_call_after_the_token_expired_renews_it_once_and_succeeds(
    upstream: Upstream, clock: Clock, counting: Counting
) -> None:
    """The gateway's clock runs 90 s behind the account's (more than the 60 s margin), so
    NetSuite expires a token the gateway still thinks valid. The call is answered 401, the
    token renewed once, and the call goes through."""
    gateway_clock = Clock()
    source = MachineTokens(upstream, credentials(), clock=gateway_clock.seconds)
    client = NetSuiteClient(upstream, source)
    await client.get("customer", "1001")
    clock.advance(LIFETIME + 1)
    gateway_clock.advance(LIFETIME + 1 - 90)
    customer = await client.get("customer", "1001")
    assert customer is not None
    assert customer["companyName"] == "Fabrikam Logistics Ltd"
    assert counting.statuses == [200, 401, 200]
    assert counting.token_requests == 2
    # A write after expiry is resent too: NetSuite processed nothing on the 401.
    clock.advance(LIFETIME + 1)
    gateway_clock.advance(LIFETIME - 80)
    await client.update("customer", "1001", {"comments": "after expiry"})
    assert counting.statuses[-2:] == [401, 204]
    assert counting.token_requests == 3


async def test_a_second_401_is_not_retried_again(upstream: Upstream, clock: Clock) -> None:
    class Revoked:
        """A token source whose renewed tokens NetSuite never accepts."""

        renewals = 0

        async def token(self) -> str:
            return "revoked"

        async def refresh(self, rejected: str) -> str | None:
            self.renewals += 1
            return "revoked-too"

    source = Revoked()
    with pytest.raises(DependencyUnavailable):
        await NetSuiteClient(upstream, source).get("customer", "1001")
    assert source.renewals == 1


async def test_concurrent_callers_share_one_renewal(
    upstream: Upstream, clock: Clock, counting: Counting
) -> None:
    client = NetSuiteClient(upstream, tokens(upstream, clock))
    found = await asyncio.gather(*(client.get("customer", str(1001 + n % 5)) for n in range(20)))
    assert all(customer is not None for customer in found)
    assert counting.token_requests == 1
    clock.advance(LIFETIME)  # every caller now finds the token stale at once
    await asyncio.gather(*(client.get("customer", "1001") for _ in range(20)))
    assert counting.token_requests == 2


async def test_refused_credentials_are_a_dependency_outage_that_names_the_cause(
    upstream: Upstream, clock: Clock
) -> None:
    wrong = tokens(upstream, clock, certificate_id="not-the-mapped-certificate")
    with pytest.raises(DependencyUnavailable, match="invalid_grant") as refused:
        await NetSuiteClient(upstream, wrong).get("customer", "1001")
    assert refused.value.system == "netsuite"
    assert "certificate ID" in refused.value.detail


def test_keys_and_algorithms() -> None:
    key = load_private_key(DEMO_PRIVATE_KEY)
    assert algorithm_for(key, None) == "ES256"
    with pytest.raises(ValueError, match="signs ES256"):
        algorithm_for(key, "PS256")
    with pytest.raises(ValueError, match="private key"):
        load_private_key("not a key")
    with pytest.raises(ValueError, match="rest_webservices"):
        credentials(scopes=("restlets",))
    assert DEMO_PRIVATE_KEY not in repr(credentials())
