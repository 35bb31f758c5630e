"""Gateway configuration: TOML in, frozen validated Structs out, before the first request.

With no file, ``Settings()`` is the embedded default: every system is an
in-process sandbox, the gateway's records are in a SQLite file under ``.q2c/``
and caches and rate limits live in the process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from domains.ownership import OwnershipMap, OwnershipRule
from domains.paging import DEFAULT_MAX_SCAN, MAX_LIMIT, MAX_OFFSET
from gateway.console.config import ConsoleConfig
from gateway.flow.settings import FlowSettings
from gateway.home import local_secret
from gateway.portal.config import PortalConfig
from gateway.stores.sql.config import DatabaseSettings, embedded_url
from policies.audit import AuditConfig
from policies.auth import AuthConfig, sandbox_auth_config
from policies.idempotency import IdempotencyConfig
from policies.input import InputConfig
from policies.metrics import MetricsConfig
from policies.rate_limit import RateLimitConfig
from policies.tracing.middleware import TracingConfig
from policies.versioning import VersioningConfig
from systems.plugin import SecretReader, SystemSettings
from systems.registry import PLUGINS, AnySystemSettings, Plugin, plugin_for

SystemName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
REQUIRED_DOMAINS = ("customers", "products", "prices", "quotes", "orders")
MULTI_PROCESS_CURSOR_KEY = (
    "paging.cursor_key_env: several worker processes must sign list cursors with one key; "
    "name an environment variable holding it (at least 32 characters)"
)
CURSOR_KEY_FILE = "cursor.key"


class ServerSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8080
    workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    public_url: str | None = None  # how clients reach us, for Location headers and docs
    # Base of problem ``type`` URIs; default ``{public_url or http://host:port}/problems/``,
    # which this gateway serves (a page per problem kind in the portal).
    problem_base_url: str | None = None

    def origin(self) -> str:
        """Where browsers reach this gateway: ``public_url``, else the listening address
        (a wildcard address as the loopback one)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host  # noqa: S104
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def problem_type_base(self) -> str:
        if self.problem_base_url:
            return self.problem_base_url
        origin = self.public_url or f"http://{self.host}:{self.port}"
        return origin.rstrip("/") + "/problems/"


class UpstreamClientSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The one pooled HTTP client every system of record is called through."""

    # "aiohttp" sends system-of-record calls through aiohttp's client, measured here
    # at a fraction of httpx's CPU per call (bench/upstream_client.py); "httpx" through
    # httpx's own pool. Sandboxes mounted in-process always go through httpx.
    transport: Literal["aiohttp", "httpx"] = "aiohttp"
    max_connections: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 256
    max_keepalive_connections: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 64
    keepalive_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 30.0


class PagingSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[paging]``: how list cursors are signed and how far one page reads ahead."""

    # Environment variable holding the key list cursors are signed with (at least 32
    # characters), the same in every process of a deployment. Unset: a key generated
    # once into the .q2c folder (``$Q2C_HOME``), which only processes on this machine
    # share.
    cursor_key_env: str | None = None
    # Records of a system of record one list request reads at most while it fills a
    # page with records the caller may see; past it, a short page with a cursor.
    max_scan: Annotated[int, msgspec.Meta(ge=MAX_LIMIT, le=MAX_OFFSET)] = DEFAULT_MAX_SCAN


class RedisSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str = "redis://127.0.0.1:6379/0"
    prefix: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9:_{}.-]{1,64}$")] = "q2c:"
    timeout_seconds: float = 1.0


def _default_systems() -> dict[str, AnySystemSettings]:
    """Every registered kind of system, as an in-process sandbox named after its kind."""
    return {kind: plugin.settings(sandbox=True) for kind, plugin in PLUGINS.items()}


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
    redis: RedisSettings | None = None  # None: in-process caches and limits (one process)
    # None: the embedded default, a SQLite file under .q2c/ ($Q2C_HOME).
    database: DatabaseSettings | None = None
    http_client: UpstreamClientSettings = UpstreamClientSettings()
    paging: PagingSettings = PagingSettings()
    systems: dict[SystemName, AnySystemSettings] = msgspec.field(default_factory=_default_systems)
    # Empty: the default map below, restricted to the systems that are configured.
    ownership: dict[str, str | OwnershipRule] = {}
    tracing: TracingConfig = TracingConfig()
    auth: AuthConfig = msgspec.field(default_factory=AuthConfig)
    rate_limit: RateLimitConfig = msgspec.field(default_factory=RateLimitConfig)
    idempotency: IdempotencyConfig = msgspec.field(default_factory=IdempotencyConfig)
    input: InputConfig = msgspec.field(default_factory=InputConfig)
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    audit: AuditConfig = msgspec.field(default_factory=AuditConfig)
    versioning: VersioningConfig = msgspec.field(default_factory=VersioningConfig)
    # The quote-to-cash transactions: engine, database, business rules.
    flow: FlowSettings = msgspec.field(default_factory=FlowSettings)
    portal: PortalConfig = msgspec.field(default_factory=PortalConfig)
    # The operations console at /console and how people sign in to it.
    console: ConsoleConfig = msgspec.field(default_factory=ConsoleConfig)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    def __post_init__(self) -> None:
        if self.server.workers > 1 and self.paging.cursor_key_env is None:
            raise ValueError(MULTI_PROCESS_CURSOR_KEY)
        plugins = {name: _plugin(name, system) for name, system in self.systems.items()}
        self.portal.check(self.auth)
        ownership = self.ownership_map()
        ownership.check(set(self.systems), REQUIRED_DOMAINS)
        for domain, rule in ownership.rules.items():
            owners = {rule.system, *rule.by_legal_entity.values()}
            for owner in sorted(owners):
                plugin = plugins[owner]
                if domain not in plugin.owns:
                    raise ValueError(
                        f"ownership.{domain}: system {owner!r} (kind {plugin.kind!r}) cannot own "
                        f"{domain}; it serves {', '.join(sorted(plugin.owns))}"
                    )
        for name, system in self.systems.items():
            if not system.sandbox and (missing := system.missing_credentials()):
                raise ValueError(f"systems.{name}: {missing}")
        for name in self.console.record_urls:
            if name not in self.systems:
                raise ValueError(f"console.record_urls.{name}: there is no system {name!r} "
                                 f"(systems: {', '.join(sorted(self.systems))})")

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

    def database_url(self) -> str:
        """The configured database, or the embedded SQLite file."""
        return self.database.resolved_url() if self.database else embedded_url()


def embedded_settings(**overrides: object) -> Settings:
    """The no-configuration default: sandboxes, memory stores, the sandbox token client.

    Only here is the well-known sandbox client enabled; a configuration file that
    leaves out ``[auth]`` gets a built-in issuer with no clients at all.
    """
    fields: dict[str, object] = {"auth": sandbox_auth_config()}
    fields.update(overrides)
    return Settings(**fields)  # type: ignore[arg-type]


def load_settings(path: str | Path | None = None) -> Settings:
    """Read ``path`` (or ``$Q2C_CONFIG``); no file means the embedded default.

    ``$Q2C_LISTEN`` (``host:port``, set by ``q2c serve`` for its workers) replaces the
    configured address, so what the gateway says about itself names where it listens.
    """
    path = path or os.environ.get("Q2C_CONFIG")
    if not path:
        return _listening(embedded_settings())
    try:
        data = Path(path).read_bytes()
        return _listening(msgspec.toml.decode(data, type=Settings))
    except msgspec.ValidationError as exc:
        raise SystemExit(f"invalid configuration in {path}: {_which_system(data, exc)}") from exc
    except (OSError, msgspec.DecodeError) as exc:
        raise SystemExit(f"cannot read configuration {path}: {exc}") from exc


def _listening(settings: Settings) -> Settings:
    listen = os.environ.get("Q2C_LISTEN")
    if not listen:
        return settings
    host, _, port = listen.rpartition(":")
    server = msgspec.structs.replace(settings.server, host=host, port=int(port))
    return msgspec.structs.replace(settings, server=server)


def _which_system(data: bytes, error: msgspec.ValidationError) -> str:
    """msgspec reports an error inside a system as ``$.systems[...]``; name the system."""
    if "$.systems[...]" not in str(error):
        return str(error)
    systems = msgspec.toml.decode(data).get("systems", {})
    for name, system in systems.items():
        try:
            msgspec.convert(system, type=AnySystemSettings)
        except msgspec.ValidationError as exc:
            message, at, where = str(exc).partition(" - at `$")
            return f"{message} - at `$.systems.{name}{where if at else '`'}"
    return str(error)


def _plugin(name: str, system: SystemSettings) -> Plugin:
    try:
        return plugin_for(system)
    except ValueError as exc:
        raise ValueError(f"systems.{name}.{exc}") from None


def env_secrets(name: str, system: SystemSettings) -> SecretReader:
    """A real system's credentials: ``<credential>_env`` names the variable holding it."""

    def read(credential: str) -> str:
        field = f"{credential}_env"
        return secret(getattr(system, field, None), f"systems.{name}.{field}")

    return read


def cursor_key(paging: PagingSettings) -> bytes:
    """The key list cursors are signed with: from ``paging.cursor_key_env``, or one
    generated once into the local .q2c folder."""
    if paging.cursor_key_env is None:
        return local_secret(CURSOR_KEY_FILE)
    value = secret(paging.cursor_key_env, "paging.cursor_key_env")
    if len(value) < 32:
        raise SystemExit(
            f"paging.cursor_key_env: {paging.cursor_key_env} holds {len(value)} characters; "
            "the cursor key needs at least 32"
        )
    return value.encode()


def secret(env_name: str | None, what: str) -> str:
    """A credential from the environment; missing ones stop the start-up by name."""
    if not env_name:
        raise SystemExit(f"{what}: no environment variable configured")
    value = os.environ.get(env_name)
    if not value:
        raise SystemExit(f"{what}: environment variable {env_name} is not set")
    return value
