"""The developer portal's configuration (``[portal]``), validated at start-up."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from policies.auth import AuthConfig
from policies.auth.config import SANDBOX_CLIENT, PlanName, ScopeName, TenantId
from policies.auth.scopes import SCOPE_TOKEN

Lifecycle = Literal["beta", "ga"]
TeamName = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
ApiName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
VersionName = Annotated[str, msgspec.Meta(pattern=r"^v[0-9]{1,3}$")]


# Teams follow the systems of record they integrate. Configured entries override these.
DEFAULT_TEAMS: dict[str, str] = {
    "customers": "CRM & CPQ integration",
    "prices": "CRM & CPQ integration",
    "quotes": "CRM & CPQ integration",
    "products": "ERP integration",
    "orders": "ERP integration",
    "invoices": "Billing integration",
    "payments": "Billing integration",
    "operations": "API platform",
    "auth": "API platform",
}
# v2 carries only orders so far: consumers should treat it as a preview.
DEFAULT_LIFECYCLE: dict[str, Lifecycle] = {"v1": "ga", "v2": "beta"}


class PortalConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the developer portal at /portal shows and lets developers do."""

    enabled: bool = True
    # Self-service registration of sandbox applications on the getting-started page.
    # None: on exactly when the built-in issuer accepts the sandbox client (the embedded
    # default). True needs the built-in issuer; never turn it on where tokens reach
    # production data, since anyone who can reach the portal can register.
    self_service: bool | None = None
    # Scopes a developer may request for a registered application.
    registration_scopes: tuple[ScopeName, ...] = SANDBOX_CLIENT.scopes
    # Tenant and rate-limit plan written into the tokens of registered applications.
    registration_tenant: TenantId = "sandbox"
    registration_plan: PlanName | None = None
    max_apps_per_developer: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    # Rate-limit units one registration costs on the per-IP plan (rate_limit.ip_plan).
    registration_cost: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 10
    # Shown instead of the registration form when self-service is off.
    credentials_help: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] = (
        "Production credentials are issued by the API platform team. Ask for a client "
        "for your application, naming the APIs and scopes it needs and the legal entities "
        "it works for; you receive a client id and secret for the OAuth 2.0 client "
        "credentials grant of your identity provider, and the rate-limit plan agreed for "
        "your integration."
    )
    credentials_url: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    # API (OpenAPI tag) -> the team that owns it, over DEFAULT_TEAMS; APIs in neither
    # belong to default_team.
    owning_teams: dict[ApiName, TeamName] = {}
    default_team: TeamName = "API platform"
    # Lifecycle per API version, over DEFAULT_LIFECYCLE (others are GA); deprecation and
    # sunset come from [versioning].
    lifecycle: dict[VersionName, Lifecycle] = {}

    def team_for(self, api: str) -> str:
        return self.owning_teams.get(api) or DEFAULT_TEAMS.get(api) or self.default_team

    def lifecycle_for(self, version: str) -> Lifecycle:
        return self.lifecycle.get(version) or DEFAULT_LIFECYCLE.get(version, "ga")

    def self_service_enabled(self, auth: AuthConfig) -> bool:
        if not (self.enabled and auth.enabled and auth.builtin_issuer.enabled):
            return False
        if self.self_service is None:
            return auth.builtin_issuer.sandbox_client
        return self.self_service

    def check(self, auth: AuthConfig) -> None:
        """Cross-section checks, called by Settings once auth is known."""
        if self.self_service and not (auth.enabled and auth.builtin_issuer.enabled):
            raise ValueError(
                "portal.self_service needs the built-in token issuer "
                "(auth.builtin_issuer.enabled) to issue credentials"
            )
        for scope in self.registration_scopes:
            if not SCOPE_TOKEN.fullmatch(scope):
                raise ValueError(f"portal.registration_scopes: {scope!r} is not a valid scope")
        if self.credentials_url is not None and not self.credentials_url.startswith(
            ("https://", "http://", "mailto:")
        ):
            raise ValueError("portal.credentials_url must be an http(s) or mailto: URL")
