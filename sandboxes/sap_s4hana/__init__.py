"""SAP S/4HANA Cloud simulator speaking OData V2 (see :mod:`.app`)."""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.sap_s4hana.app import SapSandbox, create_app
from sandboxes.simulator import Credentials, Simulator

__all__ = ["SIMULATOR", "SapCredentials", "SapSandbox", "create_app"]


@dataclass(frozen=True, slots=True)
class SapCredentials(Credentials):
    """A communication user, sent as HTTP Basic authentication."""

    user: str
    password: str


SIMULATOR: Simulator[SapSandbox] = Simulator(
    vendor="SAP S/4HANA Cloud (OData V2)",
    new_state=SapSandbox,
    create_app=create_app,
    credentials=lambda tenant: SapCredentials(user=tenant.user, password=tenant.password),
    sdk_usage=(
        "pyodata.Client(BASE_URL + '/sap/opu/odata/sap/API_PRODUCT_SRV', session) "
        "with session.auth = (user, password)"
    ),
)
