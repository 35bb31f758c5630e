"""What every browser test shares: one headless Chromium for the whole session, and
axe-core for the accessibility checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import AXE, chromium, missing


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        missing("node_modules/axe-core (npm ci)")
    return AXE.read_text(encoding="utf-8")
