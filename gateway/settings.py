"""Gateway configuration: TOML in, frozen validated Structs out, before the first request.

With no file, ``Settings()`` is the embedded default: every system is an
in-process sandbox and every store lives in memory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from domains.ownership import OwnershipMap, OwnershipRule
from gateway.portal.config import PortalConfig
from policies.audit import AuditConfig
from policies.auth import AuthConfig, sandbox_auth_config
from policies.idempotency import IdempotencyConfig
from policies.metrics import MetricsConfig
from policies.rate_limit import RateLimitConfig
from policies.tracing.middleware import TracingConfig
from policies.versioning import VersioningConfig
from systems.sap_s4hana.adapter import SalesArea
from systems.upstream import UpstreamConfig

SystemName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
REQUIRED_DOMAINS = ("customers", "products", "prices", "quotes", "orders")


class ServerSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8080
    workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    public_url: str | None = None  # how clients reach us, for Location headers and docs


class UpstreamClientSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The one pooled HTTP client every system of record is called through."""

    # "aiohttp" keeps httpx as the API but moves connection handling to aiohttp,
    # measured here at several times httpx's own pool throughput (bench/).
    transport: Literal["aiohttp", "httpx"] = "aiohttp"
    max_connections: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 256
    max_keepalive_connections: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 64
    keepalive_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 30.0


class RedisSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str = "redis://127.0.0.1:6379/0"
    prefix: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9:_{}.-]{1,64}$")] = "q2c:"
    timeout_seconds: float = 1.0


class SalesforceSystem(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag="salesforce",
    tag_field="kind",
):
    """Salesforce REST. Secrets come from the named environment variables."""

    sandbox: bool = False  # True: serve the built-in simulator in-process
    base_url: str = "http://salesforce.sandbox"
    api_version: Annotated[str, msgspec.Meta(pattern=r"^\d{2}\.0$")] = "62.0"
    access_token_env: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None
    upstream: UpstreamConfig = UpstreamConfig()


class SapS4HanaSystem(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag="sap_s4hana",
    tag_field="kind",
):
    """SAP S/4HANA OData V2 with Basic auth (communication user)."""

    sandbox: bool = False
    base_url: str = "http://sap-s4hana.sandbox"
    user_env: str | None = None
    password_env: str | None = None
    sales_area: SalesArea = SalesArea()
    sales_areas: dict[str, SalesArea] = {}  # per legal entity
    upstream: UpstreamConfig = UpstreamConfig()


class NetSuiteSystem(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag="netsuite",
    tag_field="kind",
):
    """NetSuite REST web services with an OAuth 2.0 access token."""

    sandbox: bool = False
    base_url: str = "http://netsuite.sandbox"
    access_token_env: str | None = None
    # Which NetSuite subsidiary books orders per legal entity, and the fallback.
    subsidiaries: dict[str, str] = msgspec.field(
        default_factory=lambda: {"ACME-UK": "2", "ACME-US": "3"}
    )
    default_subsidiary: str = "2"
    upstream: UpstreamConfig = UpstreamConfig()


class StripeSystem(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag="stripe",
    tag_field="kind",
):
    """Stripe, for invoices and payments; the secret key comes from the environment."""

    sandbox: bool = False
    base_url: str = "http://stripe.sandbox"
    api_key_env: str | None = None
    upstream: UpstreamConfig = UpstreamConfig()


class AvalaraSystem(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag="avalara",
    tag_field="kind",
):
    """Avalara AvaTax REST v2 with account id and license key."""

    sandbox: bool = False
    base_url: str = "http://avalara.sandbox"
    account_id_env: str | None = None
    license_key_env: str | None = None
    # AvaTax company per selling legal entity, and the fallback company.
    company_codes: dict[str, str] = msgspec.field(
        default_factory=lambda: {"ACME-US": "ACME", "ACME-UK": "ACME-UK", "ACME-EU": "ACME-EU"}
    )
    default_company: str = "ACME"
    upstream: UpstreamConfig = UpstreamConfig()


SystemSettings = SalesforceSystem | SapS4HanaSystem | NetSuiteSystem | StripeSystem | AvalaraSystem

# Which domains each kind of system can own (a domain owned by a system that
# cannot serve it is a configuration error caught at start-up).
CAPABILITIES: dict[type, frozenset[str]] = {
    SalesforceSystem: frozenset({"customers", "prices", "quotes"}),
    SapS4HanaSystem: frozenset({"products", "orders", "erp_customers"}),
    NetSuiteSystem: frozenset({"orders", "erp_customers"}),
    StripeSystem: frozenset({"invoices", "payments"}),
    AvalaraSystem: frozenset({"tax"}),
}


def _default_systems() -> dict[str, SystemSettings]:
    return {
        "salesforce": SalesforceSystem(sandbox=True),
        "sap_s4hana": SapS4HanaSystem(sandbox=True),
        "netsuite": NetSuiteSystem(sandbox=True),
        "stripe": StripeSystem(sandbox=True),
        "avalara": AvalaraSystem(sandbox=True),
    }


def _default_ownership() -> dict[str, str | OwnershipRule]:
    return {
        "customers": "salesforce",
        "prices": "salesforce",
        "quotes": "salesforce",
        "products": "sap_s4hana",
        # The acquired UK business unit books its orders in NetSuite.
        "orders": OwnershipRule(system="sap_s4hana", by_legal_entity={"ACME-UK": "netsuite"}),
        "erp_customers": OwnershipRule(
            system="sap_s4hana", by_legal_entity={"ACME-UK": "netsuite"}
        ),
        "invoices": "stripe",
        "payments": "stripe",
        "tax": "avalara",
    }


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    server: ServerSettings = ServerSettings()
    redis: RedisSettings | None = None  # None: in-memory stores (one process only)
    http_client: UpstreamClientSettings = UpstreamClientSettings()
    systems: dict[SystemName, SystemSettings] = msgspec.field(default_factory=_default_systems)
    # Empty: the default map below, restricted to the systems that are configured.
    ownership: dict[str, str | OwnershipRule] = {}
    tracing: TracingConfig = TracingConfig()
    auth: AuthConfig = msgspec.field(default_factory=AuthConfig)
    rate_limit: RateLimitConfig = msgspec.field(default_factory=RateLimitConfig)
    idempotency: IdempotencyConfig = msgspec.field(default_factory=IdempotencyConfig)
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    audit: AuditConfig = msgspec.field(default_factory=AuditConfig)
    versioning: VersioningConfig = msgspec.field(default_factory=VersioningConfig)
    portal: PortalConfig = msgspec.field(default_factory=PortalConfig)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    def __post_init__(self) -> None:
        self.portal.check(self.auth)
        ownership = self.ownership_map()
        ownership.check(set(self.systems), REQUIRED_DOMAINS)
        for domain, rule in ownership.rules.items():
            owners = {rule.system, *rule.by_legal_entity.values()}
            for owner in sorted(owners):
                kind = type(self.systems[owner])
                if domain not in CAPABILITIES[kind]:
                    raise ValueError(
                        f"ownership.{domain}: system {owner!r} ({kind.__name__}) cannot own "
                        f"{domain}; it serves {', '.join(sorted(CAPABILITIES[kind]))}"
                    )
        for name, system in self.systems.items():
            if system.sandbox:
                continue
            if isinstance(system, SalesforceSystem) and not (
                system.access_token_env or (system.client_id_env and system.client_secret_env)
            ):
                raise ValueError(
                    f"systems.{name}: set access_token_env or client_id_env + client_secret_env"
                )
            if isinstance(system, SapS4HanaSystem) and not (
                system.user_env and system.password_env
            ):
                raise ValueError(f"systems.{name}: set user_env and password_env")
            if isinstance(system, NetSuiteSystem) and not system.access_token_env:
                raise ValueError(f"systems.{name}: set access_token_env")
            if isinstance(system, StripeSystem) and not system.api_key_env:
                raise ValueError(f"systems.{name}: set api_key_env")
            if isinstance(system, AvalaraSystem) and not (
                system.account_id_env and system.license_key_env
            ):
                raise ValueError(f"systems.{name}: set account_id_env and license_key_env")

    def ownership_map(self) -> OwnershipMap:
        configured = self.ownership or _default_ownership()
        rules = {
            domain: rule if isinstance(rule, OwnershipRule) else OwnershipRule(system=rule)
            for domain, rule in configured.items()
        }
        if not self.ownership:
            rules = {
                domain: OwnershipRule(
                    system=rule.system,
                    by_legal_entity={
                        le: s for le, s in rule.by_legal_entity.items() if s in self.systems
                    },
                )
                for domain, rule in rules.items()
                if rule.system in self.systems
            }
        return OwnershipMap(rules=rules)

    @property
    def embedded(self) -> bool:
        return any(system.sandbox for system in self.systems.values())


def embedded_settings(**overrides: object) -> Settings:
    """The no-configuration default: sandboxes, memory stores, the sandbox token client.

    Only here is the well-known sandbox client enabled; a configuration file that
    leaves out ``[auth]`` gets a built-in issuer with no clients at all.
    """
    fields: dict[str, object] = {"auth": sandbox_auth_config()}
    fields.update(overrides)
    return Settings(**fields)  # type: ignore[arg-type]


def load_settings(path: str | Path | None = None) -> Settings:
    """Read ``path`` (or ``$Q2C_CONFIG``); no file means the embedded default."""
    path = path or os.environ.get("Q2C_CONFIG")
    if not path:
        return embedded_settings()
    try:
        return msgspec.toml.decode(Path(path).read_bytes(), type=Settings)
    except msgspec.ValidationError as exc:
        raise SystemExit(f"invalid configuration in {path}: {exc}") from exc
    except (OSError, msgspec.DecodeError) as exc:
        raise SystemExit(f"cannot read configuration {path}: {exc}") from exc


def secret(env_name: str | None, what: str) -> str:
    """A credential from the environment; missing ones stop the start-up by name."""
    if not env_name:
        raise SystemExit(f"{what}: no environment variable configured")
    value = os.environ.get(env_name)
    if not value:
        raise SystemExit(f"{what}: environment variable {env_name} is not set")
    return value
