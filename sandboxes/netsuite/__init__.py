"""NetSuite SuiteTalk REST web services simulator (see :mod:`.app`)."""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.netsuite.app import NetSuiteSandbox, create_app
from sandboxes.simulator import Credentials, Simulator

__all__ = ["SIMULATOR", "NetSuiteCredentials", "NetSuiteSandbox", "create_app"]


@dataclass(frozen=True, slots=True)
class NetSuiteCredentials(Credentials):
    """An OAuth 2.0 access token for the account (OAuth 1.0a token-based authentication
    with ``realm`` = account id is accepted too; its signature is not checked)."""

    account_id: str
    access_token: str


SIMULATOR: Simulator[NetSuiteSandbox] = Simulator(
    vendor="NetSuite SuiteTalk REST web services",
    new_state=NetSuiteSandbox,
    create_app=create_app,
    credentials=lambda account: NetSuiteCredentials(
        account_id=account.account_id, access_token=account.access_token
    ),
    sdk_usage=(
        "Authorization: Bearer access_token on BASE_URL/services/rest/record/v1/...; the "
        "netsuite package with TokenAuth and Config(account=account_id), host = BASE_URL's"
    ),
)
