"""TEMPORARY stand-in for gateway/console/auth.py and config.py (the sign-in branch),
with the agreed interface only; deleted when that branch is merged."""

from __future__ import annotations

from html import escape
from typing import Any, Literal

import msgspec
from litestar import Request

Role = Literal["viewer", "operator", "admin"]


class ConsoleUser(msgspec.Struct, frozen=True, kw_only=True):
    subject: str
    name: str
    tenant: str
    teams: tuple[str, ...]
    role: Role

    @property
    def can_act(self) -> bool:
        return self.role in ("operator", "admin")

    def sees_team(self, team: str) -> bool:
        return self.role == "admin" or team in self.teams


def csrf_value(request: Request[Any, Any, Any]) -> str:
    return "shim-token"


def csrf_input(request: Request[Any, Any, Any]) -> str:
    return f'<input type="hidden" name="csrf_token" value="{escape(csrf_value(request))}">'


class ConsoleConfig(msgspec.Struct, frozen=True, kw_only=True):
    record_urls: dict[str, str] = {}
    refresh_seconds: int = 15


def console_config(settings: Any) -> ConsoleConfig:
    found = getattr(settings, "console", None)
    return found if isinstance(found, ConsoleConfig) else ConsoleConfig()
