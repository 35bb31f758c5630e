"""The API catalog: every API and version with its lifecycle, owner, systems of record,
scopes and rate-limit plans, assembled from the documents and the configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from gateway.portal.documents import ApiDocument, Operation, unversioned, versioned
from gateway.settings import Settings
from policies.versioning.config import Deprecation

# Which ownership-map domains stand behind each API (tax is priced in for quotes,
# price calculation and invoices; orders create ERP customers on the way).
API_DOMAINS: dict[str, tuple[str, ...]] = {
    "customers": ("customers",),
    "products": ("products",),
    "prices": ("prices", "tax"),
    "quotes": ("quotes", "tax"),
    "orders": ("orders", "erp_customers"),
    "invoices": ("invoices", "tax"),
    "payments": ("payments",),
}
PLATFORM = "platform"  # the label of operations outside any version path


@dataclass(frozen=True)
class SystemOfRecord:
    domain: str
    legal_entity: str  # "" for the default owner
    system: str
    kind: str
    sandbox: bool


@dataclass(frozen=True)
class Lifecycle:
    state: str  # beta, ga, deprecated, retired
    deprecation: Deprecation | None = None

    @property
    def label(self) -> str:
        return {"ga": "GA", "beta": "Beta", "deprecated": "Deprecated", "retired": "Retired"}[
            self.state
        ]


@dataclass(frozen=True)
class CatalogEntry:
    api: str
    version: str  # "v1", or PLATFORM for unversioned operations
    description: str
    lifecycle: Lifecycle
    team: str
    systems: tuple[SystemOfRecord, ...]
    operations: tuple[Operation, ...]
    # operationId -> its own lifecycle where it differs from the API's (deprecations).
    exceptions: dict[str, Lifecycle] = field(default_factory=dict)

    def lifecycle_of(self, operation: Operation) -> Lifecycle:
        return self.exceptions.get(operation.operation_id, self.lifecycle)

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(sorted({scope for op in self.operations for scope in op.scopes}))

    @property
    def slug(self) -> str:
        return f"{self.version}/{self.api}"


@dataclass(frozen=True)
class PlanRow:
    name: str
    quota: int
    window_seconds: int
    burst: int
    roles: tuple[str, ...]  # "default", "per client IP", "client x", ...


def lifecycle_of(version: str, operation_id: str | None, settings: Settings,
                 now: datetime | None = None) -> Lifecycle:
    """An operation's (or, without ``operation_id``, a version's) lifecycle: the
    versioning config's deprecation wins over the portal's beta/GA label."""
    now = now or datetime.now(UTC)
    entry = deprecation_for(version, operation_id, settings)
    if entry is not None and now >= entry.deprecated_at:
        retired = entry.sunset is not None and now >= entry.sunset
        return Lifecycle("retired" if retired else "deprecated", entry)
    return Lifecycle(settings.portal.lifecycle_for(version), entry)


def deprecation_for(version: str, operation_id: str | None, settings: Settings
                    ) -> Deprecation | None:
    by_version = None
    for entry in settings.versioning.deprecations:
        if operation_id is not None and entry.operation == operation_id:
            return entry
        if entry.version == version:
            by_version = entry
    return by_version


def systems_of_record(api: str, settings: Settings) -> tuple[SystemOfRecord, ...]:
    ownership = settings.ownership_map()
    found = []
    for domain in API_DOMAINS.get(api, ()):
        rule = ownership.rules.get(domain)
        if rule is None:
            continue
        owners = [("", rule.system), *sorted(rule.by_legal_entity.items())]
        for legal_entity, name in owners:
            system = settings.systems.get(name)
            kind = type(system).__struct_config__.tag if system is not None else "?"
            found.append(SystemOfRecord(domain, legal_entity, name, str(kind),
                                        bool(system is not None and system.sandbox)))
    return tuple(found)


def build_catalog(documents: dict[str, ApiDocument], settings: Settings) -> list[CatalogEntry]:
    portal = settings.portal
    entries = []
    for version, document in documents.items():
        operations = versioned(document)
        for api in document.apis():
            mine = tuple(op for op in operations if op.api == api)
            if not mine:
                continue
            overall = lifecycle_of(version, None, settings)
            exceptions = {}
            for op in mine:
                own = lifecycle_of(version, op.operation_id, settings)
                if op.deprecated and own.state in ("ga", "beta"):
                    own = Lifecycle("deprecated")
                if own != overall:
                    exceptions[op.operation_id] = own
            entries.append(
                CatalogEntry(
                    api=api,
                    version=version,
                    description=document.tag_description(api),
                    lifecycle=overall,
                    team=portal.team_for(api),
                    systems=systems_of_record(api, settings),
                    operations=mine,
                    exceptions=exceptions,
                )
            )
    platform = unversioned(documents)
    first = next(iter(documents.values()), None)
    for api in sorted({op.api for op in platform}):
        entries.append(
            CatalogEntry(
                api=api,
                version=PLATFORM,
                description=first.tag_description(api) if first else "",
                lifecycle=Lifecycle("ga"),
                team=portal.team_for(api),
                systems=(),
                operations=tuple(op for op in platform if op.api == api),
            )
        )
    return entries


def plan_rows(settings: Settings) -> list[PlanRow]:
    config = settings.rate_limit
    roles: dict[str, list[str]] = {name: [] for name in config.plans}
    roles.setdefault(config.default_plan, []).append("default for every client")
    roles.setdefault(config.ip_plan, []).append(
        "per client IP on public endpoints (token, registration)"
    )
    for client in settings.auth.builtin_issuer.all_clients():
        if client.plan:
            roles.setdefault(client.plan, []).append(f"client {client.client_id}")
    for client_id, plan in sorted(settings.auth.plans_by_client.items()):
        roles.setdefault(plan, []).append(f"client {client_id}")
    if settings.portal.registration_plan:
        roles.setdefault(settings.portal.registration_plan, []).append(
            "applications registered on this portal"
        )
    rows = []
    for name, limits in config.plans.items():
        rows.append(PlanRow(name, limits.quota, limits.window_seconds, limits.capacity,
                            tuple(roles.get(name, ()))))
    return rows
