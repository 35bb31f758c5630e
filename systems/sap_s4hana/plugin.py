"""The SAP S/4HANA plugin: product catalogue, ERP customers and sales orders."""

from __future__ import annotations

from systems.plugin import (
    HealthProbe,
    SecretReader,
    SystemPlugin,
    SystemSettings,
    basic_authorization,
)
from systems.ports import CATALOG, ERP
from systems.sap_s4hana.adapter import OrderChanges, SalesArea, SapAdapter
from systems.sap_s4hana.client import SERVICE_ROOT, SapAuth, SapClient
from systems.sap_s4hana.errors import translate
from systems.upstream import Upstream


class SapS4HanaSettings(SystemSettings, frozen=True, tag="sap_s4hana"):
    """SAP S/4HANA OData V2 with Basic auth (a communication user)."""

    base_url: str = "http://sap-s4hana.sandbox"
    user_env: str | None = None
    password_env: str | None = None
    sales_area: SalesArea = SalesArea()
    sales_areas: dict[str, SalesArea] = {}  # per legal entity
    # Block and rejection codes the gateway writes when it holds or cancels an order.
    order_changes: OrderChanges = OrderChanges()

    def missing_credentials(self) -> str | None:
        return self._require("user_env", "password_env")


def build(settings: SapS4HanaSettings, upstream: Upstream, secrets: SecretReader) -> SapAdapter:
    auth = SapAuth(user=secrets("user"), password=secrets("password"))
    return SapAdapter(
        SapClient(upstream, auth),
        settings.sales_area,
        dict(settings.sales_areas),
        settings.order_changes,
    )


def probe(secrets: SecretReader) -> HealthProbe:
    authorization = basic_authorization(secrets("user"), secrets("password"))
    return HealthProbe(
        f"{SERVICE_ROOT}/API_PRODUCT_SRV/$metadata", {"Authorization": authorization}
    )


PLUGIN: SystemPlugin[SapS4HanaSettings, SapAdapter] = SystemPlugin(
    settings=SapS4HanaSettings,
    owns=frozenset({"products", "orders", "erp_customers"}),
    ports=(CATALOG, ERP),
    build=build,
    probe=probe,
    translate=translate,
    sandbox="sandboxes.sap_s4hana",
)
