"""What every vendor sandbox package exposes, so one bridge can serve any of them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from typing import Any, Generic, TypeVar

from sandboxes.asgi import Receive, Scope

# ``send`` is typed loosely: the vendors' apps declare their message types differently.
ASGIApp = Callable[[Scope, Receive, Callable[[Any], Awaitable[None]]], Awaitable[None]]
StateT = TypeVar("StateT")


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a client presents to a sandbox; subclasses name each field as the vendor
    does (``user``, ``access_token``, ``license_key``...)."""

    def items(self) -> list[tuple[str, str]]:
        return [(f.name, str(getattr(self, f.name))) for f in fields(self)]

    def get(self, name: str) -> str | None:
        return dict(self.items()).get(name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Simulator(Generic[StateT]):
    """One vendor's simulator: a freshly seeded state, the ASGI app serving a state, and
    the credentials that state accepts."""

    vendor: str  # what is simulated, for people: "SAP S/4HANA Cloud (OData V2)"
    new_state: Callable[[], StateT]
    create_app: Callable[[StateT], ASGIApp]
    credentials: Callable[[StateT], Credentials]
    # How the vendor's own SDK connects, with BASE_URL and the credential names.
    sdk_usage: str
