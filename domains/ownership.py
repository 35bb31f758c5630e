"""Which system of record owns which domain, optionally per legal entity.

The map is configuration: built once at start-up from the settings and handed
to every service, the same value for the life of the process.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from domains.errors import NotConfigured

Domain = Literal[
    "customers",
    "products",
    "prices",
    "quotes",
    "orders",
    "erp_customers",
    "invoices",
    "payments",
    "tax",
]
DOMAINS: tuple[Domain, ...] = (
    "customers",
    "products",
    "prices",
    "quotes",
    "orders",
    "erp_customers",
    "invoices",
    "payments",
    "tax",
)


class OwnershipRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The default owner of a domain and overrides per legal entity."""

    system: str
    by_legal_entity: dict[str, str] = {}


class OwnershipMap(msgspec.Struct, frozen=True, kw_only=True):
    rules: dict[str, OwnershipRule]

    def owner(self, domain: Domain, legal_entity: str | None = None) -> str:
        rule = self.rules.get(domain)
        if rule is None:
            raise NotConfigured(
                f"No system of record owns {domain} in this deployment.",
                code="DOMAIN_NOT_CONFIGURED",
            )
        if legal_entity is not None:
            return rule.by_legal_entity.get(legal_entity, rule.system)
        return rule.system

    def systems(self) -> set[str]:
        named = {rule.system for rule in self.rules.values()}
        for rule in self.rules.values():
            named.update(rule.by_legal_entity.values())
        return named

    def legal_entities(self) -> set[str]:
        return {le for rule in self.rules.values() for le in rule.by_legal_entity}

    def check(self, known_systems: set[str], required: tuple[str, ...]) -> None:
        """Fail at start-up when a domain has no owner or names an unknown system."""
        for domain in required:
            if domain not in self.rules:
                raise ValueError(f"ownership.{domain}: no system of record owns this domain")
        for domain, rule in self.rules.items():
            if domain not in DOMAINS:
                raise ValueError(f"ownership.{domain}: unknown domain")
            names = {"system": rule.system} | {
                f"by_legal_entity.{le}": s for le, s in rule.by_legal_entity.items()
            }
            for where, system in names.items():
                if system not in known_systems:
                    raise ValueError(
                        f"ownership.{domain}.{where}: unknown system {system!r} "
                        f"(configured: {', '.join(sorted(known_systems)) or 'none'})"
                    )
