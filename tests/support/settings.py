"""Gateway settings for tests."""

from __future__ import annotations

import msgspec

from gateway.settings import Settings, embedded_settings


def gateway_settings(**overrides: object) -> Settings:
    """The embedded default, with the sandbox client on the roomy "gold" plan so that
    suites issuing hundreds of calls test behaviour rather than the rate limiter."""
    base = embedded_settings()
    auth = msgspec.structs.replace(base.auth, plans_by_client={"sandbox-client": "gold"})
    return msgspec.structs.replace(base, auth=auth, **overrides)
