"""The NetSuite plugin: the ERP of the acquired UK business unit (customers, orders)."""

from __future__ import annotations

import msgspec

from systems.netsuite.adapter import NetSuiteAdapter
from systems.netsuite.client import NetSuiteAuth, NetSuiteClient, record_path
from systems.netsuite.errors import translate
from systems.plugin import HealthProbe, SecretReader, SystemPlugin, SystemSettings
from systems.ports import ERP
from systems.upstream import Upstream


class NetSuiteSettings(SystemSettings, frozen=True, tag="netsuite"):
    """NetSuite REST web services with an OAuth 2.0 access token."""

    base_url: str = "http://netsuite.sandbox"
    access_token_env: str | None = None
    # Which NetSuite subsidiary books orders per legal entity, and the fallback.
    subsidiaries: dict[str, str] = msgspec.field(
        default_factory=lambda: {"ACME-UK": "2", "ACME-US": "3"}
    )
    default_subsidiary: str = "2"

    def missing_credentials(self) -> str | None:
        return self._require("access_token_env")


def build(settings: NetSuiteSettings, upstream: Upstream, secrets: SecretReader) -> NetSuiteAdapter:
    return NetSuiteAdapter(
        NetSuiteClient(upstream, NetSuiteAuth(access_token=secrets("access_token"))),
        subsidiaries=dict(settings.subsidiaries),
        default_subsidiary=settings.default_subsidiary,
    )


def probe(secrets: SecretReader) -> HealthProbe:
    return HealthProbe(
        record_path("subsidiary", "1"), {"Authorization": f"Bearer {secrets('access_token')}"}
    )


PLUGIN: SystemPlugin[NetSuiteSettings, NetSuiteAdapter] = SystemPlugin(
    settings=NetSuiteSettings,
    owns=frozenset({"orders", "erp_customers"}),
    ports=(ERP,),
    build=build,
    probe=probe,
    translate=translate,
    sandbox="sandboxes.netsuite",
)
