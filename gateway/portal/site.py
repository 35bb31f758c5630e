"""What every portal route shares: the portal's view of the gateway and HTML responses."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.enums import MediaType

from gateway.portal.catalog import CatalogEntry, build_catalog
from gateway.portal.documents import ApiDocument, load_documents
from gateway.portal.sessions import FormTokens
from gateway.settings import Settings
from policies.auth import ClientRegistry, Issuer

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The pages load nothing from elsewhere; Swagger UI needs inline styles and data: images.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-cache",
}
NO_STORE = {**PAGE_HEADERS, "cache-control": "no-store"}


class Portal:
    """What the pages are built from; documents are read on first use."""

    def __init__(self, settings: Settings, registry: ClientRegistry,
                 issuer: Issuer | None) -> None:
        self.settings = settings
        self.registry = registry
        self.self_service = settings.portal.self_service_enabled(settings.auth)
        self.tokens = FormTokens(issuer)

    @cached_property
    def documents(self) -> dict[str, ApiDocument]:
        return load_documents()

    @cached_property
    def catalog(self) -> list[CatalogEntry]:
        return build_catalog(self.documents, self.settings)

    def base_url(self, request: Request[Any, Any, Any]) -> str:
        configured = self.settings.server.public_url
        return (configured or str(request.base_url)).rstrip("/")

    def newest_ga(self) -> ApiDocument | None:
        portal = self.settings.portal
        ga = [d for v, d in self.documents.items() if portal.lifecycle_for(v) == "ga"]
        candidates = ga or list(self.documents.values())
        return candidates[0] if candidates else None


def html(content: str, status: int = 200, headers: dict[str, str] | None = None,
         cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(content=content, status_code=status, media_type=MediaType.HTML,
                    headers=headers or PAGE_HEADERS, cookies=cookies)
