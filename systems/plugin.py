"""The shape of a system-of-record plugin: one object per vendor, registered by kind.

A plugin says everything the gateway needs to know about a vendor: its settings (a
Struct on :class:`SystemSettings`, tagged by ``kind`` in TOML), which domains it can
own, how it builds its adapter and which domain ports that adapter fills, how its
health is probed, how its errors translate, and which simulator backs it in the
embedded default. The gateway loops over :mod:`systems.registry`; no other module
names a vendor.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Generic, Protocol, TypeVar

import msgspec

from systems.ports import PortRole
from systems.upstream import ErrorTranslator, Upstream, UpstreamConfig


class SystemSettings(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="kind"
):
    """What every system's settings share. Each vendor subclasses it with ``tag=<kind>``.

    Credentials are never in the file: a field ``<credential>_env`` names the
    environment variable holding ``<credential>`` (``user_env`` -> ``user``), which is
    also how a sandbox's credentials are named (see ``sandboxes.simulator``).
    """

    sandbox: bool = False  # True: serve the built-in simulator in-process
    base_url: str
    upstream: UpstreamConfig = UpstreamConfig()
    # After a create timed out or its connection was lost, how long the system may
    # still be committing it: until then, a look-up by the record's external id that
    # finds nothing does not prove the create failed, and it is not sent again.
    commit_window_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 30.0

    def missing_credentials(self) -> str | None:
        """What to set when the credential fields of a real system are incomplete."""
        return None

    def _require(self, *fields: str) -> str | None:
        unset = [name for name in fields if not getattr(self, name)]
        return f"set {' and '.join(unset)}" if unset else None


class SecretReader(Protocol):
    """Reads one credential by the vendor's name for it (``user``, ``api_key``...):
    from the environment for a real system, from the simulator in the embedded default.
    A missing one stops the start-up, naming the settings field."""

    def __call__(self, credential: str) -> str: ...


@dataclass(frozen=True, slots=True)
class HealthProbe:
    """A cheap authenticated GET that shows the system answers (401 and 404 count as
    answering: readiness is about reachability, not about one record)."""

    path: str
    headers: Mapping[str, str] = field(default_factory=dict)


SettingsT = TypeVar("SettingsT", bound=SystemSettings)
AdapterT = TypeVar("AdapterT")


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemPlugin(Generic[SettingsT, AdapterT]):
    """One vendor, as the gateway sees it."""

    settings: type[SettingsT]
    owns: frozenset[str]  # the domains this kind of system can own
    ports: tuple[PortRole[AdapterT], ...]  # which domain ports its adapter fills
    build: Callable[[SettingsT, Upstream, SecretReader], AdapterT]
    probe: Callable[[SecretReader], HealthProbe]
    translate: ErrorTranslator  # vendor error bodies -> the gateway's error taxonomy
    sandbox: str  # the module whose ``SIMULATOR`` backs it in the embedded default

    @property
    def kind(self) -> str:
        """The ``kind`` tag this vendor's settings carry in the configuration."""
        tag = self.settings.__struct_config__.tag
        if not isinstance(tag, str):
            raise TypeError(f"{self.settings.__name__} needs a string tag (its kind)")
        return tag


def basic_authorization(user: str, password: str) -> str:
    """An HTTP Basic ``Authorization`` value (RFC 7617)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
