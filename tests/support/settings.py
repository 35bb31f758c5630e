"""Gateway settings for tests."""

from __future__ import annotations

import msgspec

from gateway.flow.settings import FlowSettings
from gateway.settings import Settings, embedded_settings


def gateway_settings(**overrides: object) -> Settings:
    """The embedded default, with the sandbox client on the roomy "gold" plan so that
    suites issuing hundreds of calls test behaviour rather than the rate limiter."""
    base = embedded_settings()
    auth = msgspec.structs.replace(base.auth, plans_by_client={"sandbox-client": "gold"})
    # The quote-to-cash engine is off unless a test asks for it (tests/flow/): DBOS is
    # one per process and would otherwise launch for every gateway a test builds.
    overrides.setdefault("flow", FlowSettings(enabled=False))
    return msgspec.structs.replace(base, auth=auth, **overrides)
