"""Avalara AvaTax REST v2 simulator with a deterministic rate table (see :mod:`.app`)."""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.avalara.app import AvalaraSandbox, create_app
from sandboxes.simulator import Credentials, Simulator

__all__ = ["SIMULATOR", "AvalaraCredentials", "AvalaraSandbox", "create_app"]


@dataclass(frozen=True, slots=True)
class AvalaraCredentials(Credentials):
    """An AvaTax account id and license key, sent as HTTP Basic authentication."""

    account_id: str
    license_key: str


SIMULATOR: Simulator[AvalaraSandbox] = Simulator(
    vendor="Avalara AvaTax REST v2",
    new_state=AvalaraSandbox,
    create_app=create_app,
    credentials=lambda account: AvalaraCredentials(
        account_id=account.account_id, license_key=account.license_key
    ),
    sdk_usage=(
        "AvataxClient(app, version, machine, BASE_URL)"
        ".add_credentials(account_id, license_key)"
    ),
)
