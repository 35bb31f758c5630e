"""The Avalara AvaTax plugin: tax estimates and committed tax documents."""

from __future__ import annotations

from typing import Annotated

import msgspec

from systems.avalara.adapter import AvalaraAdapter
from systems.avalara.client import AvalaraAuth, AvalaraClient
from systems.avalara.errors import translate
from systems.plugin import (
    HealthProbe,
    SecretReader,
    SystemPlugin,
    SystemSettings,
    basic_authorization,
)
from systems.ports import TAX
from systems.upstream import Upstream


class AvalaraSettings(SystemSettings, frozen=True, tag="avalara"):
    """Avalara AvaTax REST v2 with account id and license key."""

    base_url: str = "http://avalara.sandbox"
    account_id_env: str | None = None
    license_key_env: str | None = None
    # A committed document code is refused the second time (DocumentCodeConflict), so
    # sending it again after an unknown outcome cannot post tax twice: no need to wait.
    commit_window_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 0.0
    # AvaTax company per selling legal entity, and the fallback company.
    company_codes: dict[str, str] = msgspec.field(
        default_factory=lambda: {"ACME-US": "ACME", "ACME-UK": "ACME-UK", "ACME-EU": "ACME-EU"}
    )
    default_company: str = "ACME"

    def missing_credentials(self) -> str | None:
        return self._require("account_id_env", "license_key_env")


def build(settings: AvalaraSettings, upstream: Upstream, secrets: SecretReader) -> AvalaraAdapter:
    auth = AvalaraAuth(account_id=secrets("account_id"), license_key=secrets("license_key"))
    return AvalaraAdapter(
        AvalaraClient(upstream, auth),
        company_codes=dict(settings.company_codes),
        default_company=settings.default_company,
    )


def probe(secrets: SecretReader) -> HealthProbe:
    authorization = basic_authorization(secrets("account_id"), secrets("license_key"))
    return HealthProbe("/api/v2/utilities/ping", {"Authorization": authorization})


PLUGIN: SystemPlugin[AvalaraSettings, AvalaraAdapter] = SystemPlugin(
    settings=AvalaraSettings,
    owns=frozenset({"tax"}),
    ports=(TAX,),
    build=build,
    probe=probe,
    translate=translate,
    sandbox="sandboxes.avalara",
)
