"""The Salesforce plugin: the CRM (customer masters, price books, quotes)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from systems.plugin import HealthProbe, SecretReader, SystemPlugin, SystemSettings
from systems.ports import CRM
from systems.salesforce.adapter import SalesforceAdapter
from systems.salesforce.client import SalesforceClient
from systems.salesforce.errors import translate
from systems.salesforce.session import Flow, SalesforceAuth
from systems.upstream import Upstream


class SalesforceSettings(SystemSettings, frozen=True, tag="salesforce"):
    """Salesforce REST on the org's My Domain URL (``https://<domain>.my.salesforce.com``).

    ``auth_flow`` picks how the integration user logs in (see
    :mod:`systems.salesforce.session`); unset, it is ``access_token`` when
    ``access_token_env`` is given and ``client_credentials`` otherwise.
    """

    base_url: str = "http://salesforce.sandbox"
    api_version: Annotated[str, msgspec.Meta(pattern=r"^\d{2}\.0$")] = "62.0"
    auth_flow: Flow | None = None
    access_token_env: str | None = None
    client_id_env: str | None = None  # the connected app's consumer key
    client_secret_env: str | None = None
    username_env: str | None = None  # the integration user (JWT ``sub``)
    private_key_env: str | None = None  # PEM RSA key whose certificate the app holds
    # JWT ``aud``: https://login.salesforce.com, or https://test.salesforce.com for a
    # sandbox org.
    jwt_audience: Literal["https://login.salesforce.com", "https://test.salesforce.com"] = (
        "https://login.salesforce.com"
    )
    token_url: str | None = None  # default: <base_url>/services/oauth2/token

    @property
    def flow(self) -> Flow:
        if self.auth_flow is not None:
            return self.auth_flow
        return "access_token" if self.access_token_env else "client_credentials"

    def missing_credentials(self) -> str | None:
        needed = {
            "access_token": ("access_token_env",),
            "client_credentials": ("client_id_env", "client_secret_env"),
            "jwt_bearer": ("client_id_env", "username_env", "private_key_env"),
        }[self.flow]
        missing = self._require(*needed)
        return f"{missing} (auth_flow {self.flow})" if missing else None


def build(
    settings: SalesforceSettings, upstream: Upstream, secrets: SecretReader
) -> SalesforceAdapter:
    flow = "access_token" if settings.sandbox else settings.flow
    if flow == "access_token":
        auth = SalesforceAuth(access_token=secrets("access_token"))
    elif flow == "client_credentials":
        auth = SalesforceAuth(
            client_id=secrets("client_id"),
            client_secret=secrets("client_secret"),
            token_url=settings.token_url,
        )
    else:
        auth = SalesforceAuth(
            client_id=secrets("client_id"),
            username=secrets("username"),
            private_key=secrets("private_key"),
            audience=settings.jwt_audience,
            token_url=settings.token_url,
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
