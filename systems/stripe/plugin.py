"""The Stripe plugin: invoices and payments."""

from __future__ import annotations

from typing import Annotated

import msgspec

from systems.plugin import HealthProbe, SecretReader, SystemPlugin, SystemSettings
from systems.ports import BILLING
from systems.stripe.adapter import StripeAdapter
from systems.stripe.client import StripeAuth, StripeClient
from systems.stripe.errors import translate
from systems.upstream import Upstream


class StripeSettings(SystemSettings, frozen=True, tag="stripe"):
    """Stripe, for invoices and payments; the secret key comes from the environment."""

    base_url: str = "http://stripe.sandbox"
    api_key_env: str | None = None
    # Every create carries an Idempotency-Key derived from the canonical id, so sending
    # it again after an unknown outcome returns the first result: no need to wait.
    commit_window_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 0.0
    # The webhook endpoint's signing secret (whsec_..., from the dashboard or the answer
    # to registering the endpoint) and how far a delivery's timestamp may be from now.
    webhook_secret_env: str | None = None
    webhook_tolerance_s: int = 300

    def missing_credentials(self) -> str | None:
        return self._require("api_key_env")


def build(settings: StripeSettings, upstream: Upstream, secrets: SecretReader) -> StripeAdapter:
    del settings
    return StripeAdapter(StripeClient(upstream, StripeAuth(api_key=secrets("api_key"))))


def probe(secrets: SecretReader) -> HealthProbe:
    return HealthProbe("/v1/customers?limit=1", {"Authorization": f"Bearer {secrets('api_key')}"})


PLUGIN: SystemPlugin[StripeSettings, StripeAdapter] = SystemPlugin(
    settings=StripeSettings,
    owns=frozenset({"invoices", "payments"}),
    ports=(BILLING,),
    build=build,
    probe=probe,
    translate=translate,
    sandbox="sandboxes.stripe",
)
