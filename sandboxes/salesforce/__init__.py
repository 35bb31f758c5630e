"""Salesforce REST API simulator: a small multi-currency CPQ org (see :mod:`.app`)."""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.salesforce.app import STATIC_TOKEN, SalesforceSandbox, create_app
from sandboxes.simulator import Credentials, Simulator

__all__ = ["SIMULATOR", "SalesforceCredentials", "SalesforceSandbox", "create_app"]


@dataclass(frozen=True, slots=True)
class SalesforceCredentials(Credentials):
    """A ready session ("session id"), and the connected app's consumer key and secret
    for the client credentials flow; the JWT bearer flow signs for ``username`` with a
    key whose certificate was uploaded (``POST /sandbox/admin/connected-app/certificates``).
    The instance URL is the base URL."""

    access_token: str
    client_id: str
    client_secret: str
    username: str


SIMULATOR: Simulator[SalesforceSandbox] = Simulator(
    vendor="Salesforce REST API",
    new_state=SalesforceSandbox,
    create_app=create_app,
    credentials=lambda org: SalesforceCredentials(
        access_token=STATIC_TOKEN,
        client_id=org.connected_app.client_id,
        client_secret=org.connected_app.client_secret,
        username=org.connected_app.run_as,
    ),
    sdk_usage="simple_salesforce.Salesforce(instance_url=BASE_URL, session_id=access_token)",
)
