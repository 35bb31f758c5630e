"""The NetSuite plugin: the ERP of the acquired UK business unit (customers, orders)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec

from systems.netsuite.adapter import NetSuiteAdapter
from systems.netsuite.auth import (
    Algorithm,
    ClientCredentials,
    MachineTokens,
    Scope,
    TokenSource,
    algorithm_for,
    load_private_key,
)
from systems.netsuite.client import NetSuiteAuth, NetSuiteClient, record_path
from systems.netsuite.errors import translate
from systems.plugin import HealthProbe, SecretReader, SystemPlugin, SystemSettings
from systems.ports import ERP
from systems.upstream import Upstream

_M2M_FIELDS = ("client_id_env", "certificate_id_env", "private_key_env", "private_key_file")


class NetSuiteSettings(SystemSettings, frozen=True, tag="netsuite"):
    """NetSuite REST web services with OAuth 2.0.

    Machine-to-machine (the default): ``client_id_env`` (the integration record's client
    ID), ``certificate_id_env`` (the ID NetSuite gave the uploaded certificate) and the
    certificate's private key from ``private_key_env`` (PEM or base64 DER) or
    ``private_key_file`` (PEM). Tokens are fetched, cached and renewed by the gateway.
    ``access_token_env`` alone keeps the older fixed-token set-up (a token NetSuite lets
    expire after 60 minutes: for tests and tools only)."""

    base_url: str = "http://netsuite.sandbox"
    client_id_env: str | None = None
    certificate_id_env: str | None = None
    private_key_env: str | None = None
    private_key_file: str | None = None
    assertion_algorithm: Algorithm | None = None  # None: PS256 (RSA) / ES256.. (EC)
    scopes: tuple[Scope, ...] = ("rest_webservices",)
    token_refresh_margin_seconds: Annotated[float, msgspec.Meta(ge=0, le=1800)] = 300.0
    access_token_env: str | None = None
    # Which NetSuite subsidiary books orders per legal entity, and the fallback.
    subsidiaries: dict[str, str] = msgspec.field(
        default_factory=lambda: {"ACME-UK": "2", "ACME-US": "3"}
    )
    default_subsidiary: str = "2"
    # Custom fields the account defines for the gateway (None: not used).
    line_number_field: str | None = None  # custcol_...: the canonical line number
    hold_field: str | None = "custbody_q2c_hold_reason"  # why the gateway held an order

    def __post_init__(self) -> None:
        if self.private_key_env and self.private_key_file:
            raise ValueError("set private_key_env or private_key_file, not both")
        if "rest_webservices" not in self.scopes:
            raise ValueError("scopes must include rest_webservices")

    @property
    def fixed_token(self) -> bool:
        """The older set-up: only ``access_token_env`` is configured."""
        return bool(self.access_token_env) and not any(getattr(self, f) for f in _M2M_FIELDS)

    def missing_credentials(self) -> str | None:
        if self.fixed_token:
            return None
        unset = [
            name for name in ("client_id_env", "certificate_id_env") if not getattr(self, name)
        ]
        if not (self.private_key_env or self.private_key_file):
            unset.append("private_key_env or private_key_file")
        if unset and not any(getattr(self, f) for f in _M2M_FIELDS):
            return f"set {' and '.join(unset)} (or access_token_env for a fixed token)"
        return f"set {' and '.join(unset)}" if unset else None


def _private_key(settings: NetSuiteSettings, secrets: SecretReader) -> str:
    if settings.private_key_file is None:
        return secrets("private_key")
    path = Path(settings.private_key_file)
    try:
        return path.read_text()
    except OSError as exc:
        raise SystemExit(f"netsuite private_key_file {path}: cannot read it ({exc})") from exc


def tokens_for(
    settings: NetSuiteSettings, upstream: Upstream, secrets: SecretReader
) -> TokenSource | NetSuiteAuth:
    """The token source the settings ask for; a bad key stops the start-up, named."""
    if settings.fixed_token:
        return NetSuiteAuth(access_token=secrets("access_token"))
    key = _private_key(settings, secrets)
    where = "private_key_file" if settings.private_key_file else "private_key_env"
    try:
        algorithm_for(load_private_key(key), settings.assertion_algorithm)
        credentials = ClientCredentials(
            client_id=secrets("client_id"),
            certificate_id=secrets("certificate_id"),
            private_key=key,
            scopes=settings.scopes,
            algorithm=settings.assertion_algorithm,
            refresh_margin_seconds=settings.token_refresh_margin_seconds,
        )
    except ValueError as exc:
        raise SystemExit(f"netsuite {where}: {exc}") from exc
    return MachineTokens(upstream, credentials)


def build(settings: NetSuiteSettings, upstream: Upstream, secrets: SecretReader) -> NetSuiteAdapter:
    return NetSuiteAdapter(
        NetSuiteClient(upstream, tokens_for(settings, upstream, secrets)),
        subsidiaries=dict(settings.subsidiaries),
        default_subsidiary=settings.default_subsidiary,
        line_number_field=settings.line_number_field or None,
        hold_field=settings.hold_field or None,  # "" in the file: not used
    )


def probe(secrets: SecretReader) -> HealthProbe:
    """A record read. Machine-to-machine tokens are minted at run time, which a static
    probe cannot carry: without a fixed token the probe goes unauthenticated and NetSuite's
    401 still shows it answers. The embedded sandbox offers a fixed token, so there the
    probe proves the credentials too."""
    try:
        token = secrets("access_token")
    except SystemExit:  # no fixed token configured: the machine-to-machine set-up
        return HealthProbe(record_path("subsidiary", "1"))
    return HealthProbe(record_path("subsidiary", "1"), {"Authorization": f"Bearer {token}"})


PLUGIN: SystemPlugin[NetSuiteSettings, NetSuiteAdapter] = SystemPlugin(
    settings=NetSuiteSettings,
    owns=frozenset({"orders", "erp_customers"}),
    ports=(ERP,),
    build=build,
    probe=probe,
    translate=translate,
    sandbox="sandboxes.netsuite",
)
