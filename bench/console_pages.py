"""Operations console page latency with 10,000 transactions and 1,000 open exceptions.

Seeds a store (bench/seed_console.py) unless ``--home`` names a seeded one, starts
``q2c serve`` on it as a real process (the embedded default: SQLite under that home,
the demo users; or ``--database-url`` for PostgreSQL), signs in over HTTP through the
console's OpenID flow, and times each page sequentially over real HTTP: p50 and p95
per page, against two baselines measured in the same run on the same server:
``GET /health/live`` (the floor of any request) and the API's
``GET /v1/ops/exceptions?limit=50`` (the same store, as JSON, with a bearer token).

    .venv/bin/python bench/console_pages.py                     # seeds /tmp/..., ~3 min
    .venv/bin/python bench/console_pages.py --home /tmp/console-home --requests 50

The target is a page in under 300 ms (p95) at this size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.console.support import sign_in_http  # noqa: E402
from tests.e2e.console.flow_server import demo_users_toml  # noqa: E402
from tests.support.processes import Q2C, ServerProcess  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

TARGET_MS = 300.0
USERS = {"ada": "admin-demo", "priya": "pricing-demo"}


def seed(home: Path, database_url: str | None, transactions: int, open_exceptions: int) -> None:
    command = [sys.executable, str(ROOT / "bench" / "seed_console.py"),
               "--transactions", str(transactions), "--open-exceptions", str(open_exceptions)]
    if database_url:
        command += ["--database-url", database_url]
    subprocess.run(command, check=True, env={**os.environ, "Q2C_HOME": str(home)})  # fmt: skip


def sqlite_ids(home: Path) -> dict[str, str]:
    import sqlite3

    with sqlite3.connect(home / "gateway.db") as db:
        exception, transaction = db.execute(
            "SELECT id, transaction_id FROM flow_exceptions WHERE kind = 'exception' "
            "AND state = 'open' AND owner = 'pricing-ops' ORDER BY created_at LIMIT 1"
        ).fetchone()
        completed = db.execute(
            "SELECT id FROM flow_transactions WHERE state = 'completed' LIMIT 1"
        ).fetchone()[0]
    return {"exception": exception, "stopped": transaction, "completed": completed}


def timings(client: httpx.Client, path: str, requests: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        answer = client.get(path)
        assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text[:300]}"
    measured = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(path)
        measured.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, f"{path}: {answer.status_code}"
    return measured


def p(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="a Q2C_HOME already seeded (skips seeding)")
    parser.add_argument("--database-url", help="PostgreSQL instead of the home's SQLite file")
    parser.add_argument("--transactions", type=int, default=10_000)
    parser.add_argument("--open-exceptions", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "console.json")
    args = parser.parse_args(argv)

    home = args.home or Path(tempfile.mkdtemp(prefix="q2c-console-bench-"))
    if args.home is None:
        print(f"seeding {args.transactions} transactions, {args.open_exceptions} open "
              f"exceptions into {home} ...", flush=True)  # fmt: skip
        seed(home, args.database_url, args.transactions, args.open_exceptions)
    env = {"Q2C_HOME": str(home), "Q2C_CONFIG": ""}
    command = [Q2C, "serve"]
    if args.database_url:
        config = home / "bench.toml"
        config.write_text(
            f'[database]\nurl = "{args.database_url}"\n\n'
            "[auth.builtin_issuer]\nsandbox_client = true\n" + demo_users_toml(),
            encoding="utf-8",
        )
        command += ["--config", str(config)]
    if args.database_url:
        import psycopg

        with psycopg.connect(args.database_url.replace("+psycopg", "")) as db:
            exception, stopped = db.execute(
                "SELECT id, transaction_id FROM flow_exceptions WHERE kind = 'exception' "
                "AND state = 'open' AND owner = 'pricing-ops' ORDER BY created_at LIMIT 1"
            ).fetchone()  # type: ignore[misc]
            completed = db.execute(  # type: ignore[index]
                "SELECT id FROM flow_transactions WHERE state = 'completed' LIMIT 1"
            ).fetchone()[0]
        ids = {"exception": exception, "stopped": stopped, "completed": completed}
    else:
        ids = sqlite_ids(home)
    port = free_port()
    server = ServerProcess([*command, "--port", str(port)], port, env)
    server.start()
    results: dict[str, Any] = {}
    try:
        token = subprocess.run(
            [Q2C, "token", "--client", "sandbox-client", "--tenant", "sandbox",
             "--scopes", "ops:read orders:read"],
            check=True, capture_output=True, text=True,
            env={**os.environ, **env, **({"Q2C_CONFIG": str(home / "bench.toml")}
                                         if args.database_url else {})},
        ).stdout.strip()  # fmt: skip
        rows: list[tuple[str, str, list[float]]] = []
        with httpx.Client(base_url=server.url, timeout=30) as plain:
            rows.append(("baseline", "/health/live",
                         timings(plain, "/health/live", args.requests, args.warmup)))
        with httpx.Client(base_url=server.url, timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as api:
            path = "/v1/ops/exceptions?limit=50"
            rows.append(("baseline", path, timings(api, path, args.requests, args.warmup)))
        pages = {
            "ada": [
                "/console/exceptions",
                "/console/exceptions?class=price_mismatch&min_amount=1000&age=1d",
                "/console/exceptions/counts",
                f"/console/exceptions/{ids['exception']}",
                f"/console/transactions/{ids['completed']}",
                f"/console/transactions/{ids['stopped']}",
                "/console/transactions",
                "/console/dead-letters",
                "/console/dashboards",
                "/console/dashboards?days=90",
            ],
            "priya": ["/console/exceptions", "/console/dashboards"],
        }
        for user, paths in pages.items():
            with httpx.Client(base_url=server.url, timeout=30) as browser:
                sign_in_http(browser, server.url, user, USERS[user])
                for path in paths:
                    rows.append((user, path, timings(browser, path, args.requests,
                                                     args.warmup)))  # fmt: skip
    finally:
        server.stop()

    floor = statistics.median(rows[0][2])
    api_p50 = statistics.median(rows[1][2])
    width = max(len(path) for _, path, _ in rows)
    print(f"\n{'who':<8} {'path':<{width}}  {'p50 ms':>8} {'p95 ms':>8}  {'x /health':>9} "
          f"{'x API list':>10}")  # fmt: skip
    worst = 0.0
    for who, path, values in rows:
        p50, p95 = statistics.median(values), p(values, 95)
        if who != "baseline":
            worst = max(worst, p95)
        print(f"{who:<8} {path:<{width}}  {p50:8.1f} {p95:8.1f}  {p50 / floor:9.1f} "
              f"{p50 / api_p50:10.2f}")  # fmt: skip
        results[f"{who} {path}"] = {"p50_ms": round(p50, 2), "p95_ms": round(p95, 2)}
    verdict = "under" if worst < TARGET_MS else "OVER"
    print(f"\nslowest page p95 {worst:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target "
          f"({args.transactions} transactions, {args.open_exceptions} open exceptions, "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"pages": results, "slowest_p95_ms": round(worst, 2),
                                    "database": "postgresql" if args.database_url
                                    else "sqlite"}, indent=2))  # fmt: skip
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
