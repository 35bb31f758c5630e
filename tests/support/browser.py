"""Headless Chromium for the browser tests: Debian's chromium driven through its own
chromedriver (nothing is downloaded), with DNS resolving nothing but 127.0.0.1 so a
page that reached for the internet would fail visibly; and the checks every page of the
portal and the console gets (requests, console errors, screenshots, axe-core)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
TABLET = (820, 1180)
DESKTOP = (1280, 900)


def missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required in CI (make test installs it)")
    pytest.skip(f"{what} is not installed (run `make browser` and `npm ci`)")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium at desktop size, logging every request and console message."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        missing("Debian's chromium and chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="q2c-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
        # Nothing but the gateway resolves: an external fetch could not succeed.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(flag)
    # Every request the pages make (including failed ones) and the console, for the checks.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver: Any, target: Path) -> Path:
    """A full-page PNG of the current page (capped at 10000 px high)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 10_000),
            "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    target.write_bytes(base64.b64decode(shot["data"]))
    return target


class PageCheck:
    """Loads pages and checks them: requests, console, screenshots, accessibility."""

    def __init__(self, driver: Any, base: str, axe: str, artifacts: Path) -> None:
        self.driver = driver
        self.base = base
        self.axe = axe
        self.artifacts = artifacts
        self.axe_results: dict[str, dict[str, int]] = {}

    def open(self, path: str, ready: Callable[[Any], bool] | None = None) -> None:
        self.drain()
        self.driver.get_log("browser")  # what earlier pages logged is not this page's
        self.driver.get(self.base + path)
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete")
        if ready is not None:
            self.wait(ready)

    def wait(self, condition: Callable[[Any], Any], timeout: float = 15) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(condition)

    def drain(self) -> list[dict[str, Any]]:
        """The DevTools events since the last call."""
        return [json.loads(e["message"])["message"] for e in self.driver.get_log("performance")]

    def requested_urls(self) -> list[str]:
        return [
            event["params"]["request"]["url"]
            for event in self.drain()
            if event.get("method") == "Network.requestWillBeSent"
        ]

    def console_errors(self) -> list[str]:
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def screenshot(self, name: str) -> Path:
        """A full-page PNG in the artifacts folder (capped at 10000 px high)."""
        return screenshot(self.driver, self.artifacts / f"{name}.png")

    def accessibility(self, name: str, within: str | None = None) -> list[dict[str, Any]]:
        """Run axe-core on the current page (or the elements matching ``within``); returns
        the serious and critical violations and keeps the full result in the artifacts
        folder."""
        self.driver.execute_script(self.axe)
        self.driver.set_script_timeout(60)
        violations: list[dict[str, Any]] = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "const where = arguments[0] ? {include: [[arguments[0]]]} : document;"
            "axe.run(where, {resultTypes: ['violations']})"
            ".then(r => done(r.violations), e => done([{id: 'axe-error', impact: 'critical',"
            " help: String(e), nodes: []}]));",
            within,
        )
        by_impact: dict[str, int] = {}
        for violation in violations:
            impact = violation.get("impact") or "unknown"
            by_impact[impact] = by_impact.get(impact, 0) + 1
        self.axe_results[name] = by_impact
        self.artifacts.mkdir(parents=True, exist_ok=True)
        (self.artifacts / f"{name}.axe.json").write_text(json.dumps(violations, indent=2))
        return [
            {"id": v["id"], "impact": v["impact"], "help": v["help"],
             "targets": [n.get("target") for n in v.get("nodes", [])][:5]}
            for v in violations
            if v.get("impact") in ("serious", "critical")
        ]

    def overflows_horizontally(self) -> bool:
        return bool(self.driver.execute_script(
            "return document.documentElement.scrollWidth > window.innerWidth + 1"
        ))

    def resize(self, size: tuple[int, int]) -> None:
        self.driver.set_window_size(*size)
        time.sleep(0.05)

    def write_axe_summary(self) -> None:
        if self.axe_results:
            self.artifacts.mkdir(parents=True, exist_ok=True)
            (self.artifacts / "axe-summary.json").write_text(
                json.dumps(self.axe_results, indent=2, sort_keys=True)
            )
