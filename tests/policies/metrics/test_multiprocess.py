"""Several worker processes sharing PROMETHEUS_MULTIPROC_DIR: scrapes show the sum."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec
from prometheus_client.multiprocess import MultiProcessCollector

from policies.metrics import GovernanceReport, prepare_multiprocess_dir
from tests.policies.metrics.multiprocess_worker import SEPARATOR
from tests.policies.metrics.support import value

ROOT = Path(__file__).resolve().parents[3]


def _worker(directory: Path, *args: str) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.policies.metrics.multiprocess_worker", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_workers_add_up_and_the_dlq_gauge_shows_the_latest(tmp_path: Path) -> None:
    directory = tmp_path / "prometheus"
    prepare_multiprocess_dir(str(directory))
    _worker(directory, "record", "5")
    _worker(directory, "record", "2")

    text, _, report_json = _worker(directory, "scrape").partition(SEPARATOR)
    route = {"api": "quotes", "version": "v1", "operation": "getQuote"}
    assert value(text, "q2c_requests_total", consumer="alice", status_class="2xx", **route) == 2
    assert value(text, "q2c_gateway_latency_seconds_count", **route) == 2
    assert value(text, "q2c_auth_failures_total", reason="token_expired") == 2
    sor = {"system": "salesforce", "operation": "getQuote"}
    assert value(text, "q2c_sor_calls_total", outcome="ok", **sor) == 2
    assert value(text, "q2c_sor_latency_seconds_count", **sor) == 2
    assert value(text, "q2c_dlq_depth", stream="q2c.dlq") == 2

    report = msgspec.json.decode(report_json, type=GovernanceReport)
    quotes = next(a for a in report.apis if a.api == "quotes")
    assert (quotes.calls, report.auth_failures[0].count) == (2, 2)
    assert [(d.stream, d.depth) for d in report.dead_letters] == [("q2c.dlq", 2)]

    prepare_multiprocess_dir(str(directory))
    assert list(MultiProcessCollector(None, path=str(directory)).collect()) == []
