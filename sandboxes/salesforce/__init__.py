"""Salesforce REST API simulator: a small multi-currency CPQ org (see :mod:`.app`)."""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.salesforce.app import STATIC_TOKEN, SalesforceSandbox, create_app
from sandboxes.simulator import Credentials, Simulator

__all__ = ["SIMULATOR", "SalesforceCredentials", "SalesforceSandbox", "create_app"]


@dataclass(frozen=True, slots=True)
class SalesforceCredentials(Credentials):
    """An OAuth access token (Salesforce's "session id"); the instance URL is the base URL."""

    access_token: str


SIMULATOR: Simulator[SalesforceSandbox] = Simulator(
    vendor="Salesforce REST API",
    new_state=SalesforceSandbox,
    create_app=create_app,
    credentials=lambda org: SalesforceCredentials(access_token=STATIC_TOKEN),
    sdk_usage="simple_salesforce.Salesforce(instance_url=BASE_URL, session_id=access_token)",
)
