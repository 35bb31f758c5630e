"""The Salesforce plugin: the CRM (customer masters, price books, quotes)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from systems.plugin import HealthProbe, SecretReader, SystemPlugin, SystemSettings
from systems.ports import CRM
from systems.salesforce.adapter import SalesforceAdapter
from systems.salesforce.client import SalesforceAuth, SalesforceClient
from systems.salesforce.errors import translate
from systems.upstream import Upstream


class SalesforceSettings(SystemSettings, frozen=True, tag="salesforce"):
    """Salesforce REST: a fixed access token, or OAuth 2.0 client credentials."""

    base_url: str = "http://salesforce.sandbox"
    api_version: Annotated[str, msgspec.Meta(pattern=r"^\d{2}\.0$")] = "62.0"
    access_token_env: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None

    def missing_credentials(self) -> str | None:
        if self.access_token_env or (self.client_id_env and self.client_secret_env):
            return None
        return "set access_token_env or client_id_env + client_secret_env"


def build(
    settings: SalesforceSettings, upstream: Upstream, secrets: SecretReader
) -> SalesforceAdapter:
    if settings.sandbox or settings.access_token_env:
        auth = SalesforceAuth(access_token=secrets("access_token"))
    else:
        auth = SalesforceAuth(
            client_id=secrets("client_id"), client_secret=secrets("client_secret")
        )
    return SalesforceAdapter(SalesforceClient(upstream, auth, settings.api_version))


def probe(secrets: SecretReader) -> HealthProbe:
    del secrets  # the version list answers without a session
    return HealthProbe("/services/data/")


PLUGIN: SystemPlugin[SalesforceSettings, SalesforceAdapter] = SystemPlugin(
    settings=SalesforceSettings,
    owns=frozenset({"customers", "prices", "quotes"}),
    ports=(CRM,),
    build=build,
    probe=probe,
    translate=translate,
    sandbox="sandboxes.salesforce",
)
