"""The configuration example in the README is a valid configuration."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

from gateway.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_configuration_example_is_valid() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "the README shows a configuration"
    settings = msgspec.toml.decode(blocks[0].encode(), type=Settings)
    assert settings.ownership_map().owner("orders", "ACME-UK") == "netsuite"
    assert settings.ownership_map().owner("tax") == "avalara"
    assert settings.redis is not None
    assert not settings.auth.builtin_issuer.enabled
    assert settings.versioning.deprecations[0].operation == "listOrders"
    # Several workers sign list cursors with one key; the input limits are the defaults.
    assert settings.server.workers > 1
    assert settings.paging.cursor_key_env == "Q2C_CURSOR_KEY"
    assert settings.input == type(settings.input)()
