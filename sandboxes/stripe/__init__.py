"""Stripe API v1 simulator: customers, invoicing and payments (see :mod:`.app`)."""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.simulator import Credentials, Simulator
from sandboxes.stripe.app import StripeSandbox, create_app

__all__ = ["SIMULATOR", "StripeCredentials", "StripeSandbox", "create_app"]


@dataclass(frozen=True, slots=True)
class StripeCredentials(Credentials):
    """A test-mode secret key (``sk_test_...``), sent as a bearer token."""

    api_key: str


SIMULATOR: Simulator[StripeSandbox] = Simulator(
    vendor="Stripe API v1",
    new_state=StripeSandbox,
    create_app=create_app,
    credentials=lambda account: StripeCredentials(api_key=account.api_key),
    sdk_usage="stripe.StripeClient(api_key, base_addresses={'api': BASE_URL})",
)
