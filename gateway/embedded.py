"""The gateway's one way to the simulators: the embedded default and ``q2c sandbox serve``.

``sandboxes`` is not part of the product's request path: this is the only gateway
module that imports it, and only inside functions, so a gateway configured with real
systems never loads a simulator. Which simulator backs a system is the plugin's
``sandbox`` module; its credentials are handed to the adapter as the secret reader.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from systems.plugin import SecretReader
from systems.registry import PLUGINS, Plugin

if TYPE_CHECKING:
    from sandboxes.simulator import ASGIApp, Credentials, Simulator


@dataclass(frozen=True, slots=True)
class EmbeddedSandbox:
    """A simulator started in this process for one configured system."""

    state: Any  # the simulator's data; tests read and fault-inject through it
    app: ASGIApp
    secrets: SecretReader


def start(plugin: Plugin, system: str) -> EmbeddedSandbox:
    """A freshly seeded simulator for ``plugin``'s kind, and the credentials it accepts."""
    simulator = _simulator(plugin)
    state = simulator.new_state()
    return EmbeddedSandbox(
        state, simulator.create_app(state), _secrets(simulator.credentials(state), system)
    )


def standalone_names() -> list[str]:
    """The ``--system`` names of ``q2c sandbox serve``: each kind, dash-separated."""
    return sorted(_cli_name(kind) for kind in PLUGINS)


@dataclass(frozen=True, slots=True)
class Standalone:
    """How ``q2c sandbox serve`` runs one simulator."""

    target: str  # "module:factory" for the ASGI server (a fresh, seeded state)
    banner: str  # what to print: the base URL and the credentials an SDK needs


def standalone(name: str, base_url: str) -> Standalone:
    kinds = {_cli_name(kind): plugin for kind, plugin in PLUGINS.items()}
    plugin = kinds[name]
    simulator = _simulator(plugin)
    credentials = simulator.credentials(simulator.new_state()).items()
    width = max(len("base_url"), *(len(key) for key, _ in credentials))
    lines = [
        f"{name} sandbox on {base_url} ({simulator.vendor})",
        f"  {'base_url':<{width}}  {base_url}",
        *(f"  {key:<{width}}  {value}" for key, value in credentials),
        f"  SDK: {simulator.sdk_usage}",
    ]
    return Standalone(target=f"{plugin.sandbox}:create_app", banner="\n".join(lines))


def _cli_name(kind: str) -> str:
    return kind.replace("_", "-")


def _simulator(plugin: Plugin) -> Simulator[Any]:
    module = importlib.import_module(plugin.sandbox)
    simulator: Simulator[Any] = module.SIMULATOR
    return simulator


def _secrets(credentials: Credentials, system: str) -> SecretReader:
    def read(credential: str) -> str:
        value = credentials.get(credential)
        if value is None:
            raise SystemExit(
                f"systems.{system}: the sandbox offers no {credential!r} "
                f"(it has {', '.join(key for key, _ in credentials.items())})"
            )
        return value

    return read
