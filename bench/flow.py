"""Quote-to-cash throughput: N accepted quotes carried to invoiced by 2 worker processes.

PostgreSQL (a database of its own), the four sandboxes as processes, Redis under a
private prefix, ``q2c worker`` x 2 (through bench/flow_worker.py, which counts the
statements of each engine and the CPU time). The quotes are created in the
Salesforce sandbox first, then accepted as fast as the gateway's client path takes
them (record + DBOS enqueue); the clock runs from the first acceptance to the last
invoice. Reports transactions/s, p50/p95 accepted -> invoiced, database round trips
per transaction (DBOS's and the gateway's), worker CPU ms per transaction, and the
load average (the machine is shared).

    PYTHONPATH=. .venv/bin/python bench/flow.py --transactions 300
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.flow.engine import migrate_system_database  # noqa: E402
from gateway.settings import load_settings  # noqa: E402
from gateway.stores.sql import migrate  # noqa: E402
from gateway.wiring import build_runtime  # noqa: E402
from tests.flow.landscape import ENV, SF, SF_TOKEN, SYSTEMS, Landscape, write_config  # noqa: E402
from tests.support.databases import scratch_database  # noqa: E402
from tests.support.processes import running_together, sandbox  # noqa: E402

PYTHON = sys.executable
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
ACCOUNTS = (("Northwind Traders GmbH", "EUR"), ("Contoso Manufacturing Inc.", "USD"))


@contextlib.contextmanager
def sandboxes() -> Iterator[Landscape]:
    processes = {name: sandbox(cli) for name, cli in SYSTEMS.items()}
    with running_together(*processes.values()):
        urls = {n: p.url for n, p in processes.items()}
        yield Landscape(processes, {}, urls, urls)


def create_quotes(land: Landscape, count: int) -> list[str]:
    """``count`` accepted quotes in the CRM sandbox, priced from the standard book."""
    client = httpx.Client(
        base_url=land.direct["salesforce"] + SF,
        headers={"Authorization": f"Bearer {SF_TOKEN}"},
        timeout=30,
    )

    def soql(query: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = client.get("/query", params={"q": query}).json()["records"]
        return records

    book = soql("SELECT Id FROM Pricebook2 WHERE IsStandard = true")[0]["Id"]
    setups = []
    for name, currency in ACCOUNTS:
        account = soql(f"SELECT Id FROM Account WHERE Name = '{name}'")[0]["Id"]  # noqa: S608
        entries = {
            r["Product2"]["ProductCode"]: r
            for r in soql(
                "SELECT Id, UnitPrice, Product2.ProductCode FROM PricebookEntry "  # noqa: S608
                f"WHERE Pricebook2Id = '{book}' AND CurrencyIsoCode = '{currency}'"
            )
        }
        setups.append((account, currency, entries))
    quotes = []
    try:
        for index in range(count):
            account, currency, entries = setups[index % len(setups)]
            opportunity = client.post(
                "/sobjects/Opportunity",
                json={
                    "Name": f"Bench {index}",
                    "AccountId": account,
                    "CloseDate": "2027-01-31",
                    "StageName": "Negotiation/Review",
                    "Pricebook2Id": book,
                    "CurrencyIsoCode": currency,
                },
            ).json()["id"]
            quote = client.post(
                "/sobjects/Quote",
                json={
                    "Name": f"Bench quote {index}",
                    "OpportunityId": opportunity,
                    "Pricebook2Id": book,
                    "CurrencyIsoCode": currency,
                    "Status": "Accepted",
                },
            ).json()["id"]
            for sku, quantity in (("Q2C-1001", 2), ("Q2C-1002", 1)):
                entry = entries[sku]
                client.post(
                    "/sobjects/QuoteLineItem",
                    json={
                        "QuoteId": quote,
                        "PricebookEntryId": entry["Id"],
                        "Quantity": quantity,
                        "UnitPrice": entry["UnitPrice"],
                    },
                ).raise_for_status()
            quotes.append(quote)
    finally:
        client.close()
    return quotes


class Worker:
    def __init__(self, config: Path, stats: Path) -> None:
        self.stats = stats
        self.log = Path(tempfile.mkstemp(prefix="bench-worker-", suffix=".log")[1])
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [PYTHON, str(ROOT / "bench" / "flow_worker.py"), str(config)],
                env={**os.environ, "BENCH_STATS": str(stats), "PYTHONPATH": str(ROOT)},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while "running quote-to-cash" not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> dict[str, Any]:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if not self.stats.exists():
            return {}
        data: dict[str, Any] = json.loads(self.stats.read_text())
        return data


async def accept_all(config: Path, quotes: list[str]) -> None:
    runtime = build_runtime(load_settings(config), role="bench", run_workflows=False)
    await runtime.start()
    try:
        assert runtime.flow is not None
        flow = runtime.flow
        quote_ids = [
            await runtime.crosswalks("sandbox").ensure("quote", "salesforce", q) for q in quotes
        ]
        started = time.monotonic()

        async def accept(quote_id: str) -> None:
            await flow.transactions.accept("sandbox", quote_id, source="api", traceparent=None)

        for batch in range(0, len(quote_ids), 50):
            await asyncio.gather(*(accept(q) for q in quote_ids[batch : batch + 50]))
        print(f"accepted {len(quote_ids)} in {time.monotonic() - started:.2f} s", flush=True)
    finally:
        await runtime.close()


def wait_invoiced(url: str, count: int, timeout: float) -> list[tuple[str, str | None, str]]:
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            rows = conn.execute(
                "SELECT accepted_at, invoiced_at, state FROM flow_transactions"
            ).fetchall()
            done = sum(1 for _, invoiced, _ in rows if invoiced)
            stopped = sum(1 for *_, state in rows if state in ("exception", "dead_lettered"))
            if done + stopped >= count or time.monotonic() > deadline:
                return [(a, i, s) for a, i, s in rows]
            time.sleep(0.2)


def cpu_seconds(group: int) -> float:
    """User + system CPU so far of every process in a process group (the sandbox server
    and its worker process), from Linux /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime stime
    return total / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of a process so far: its event loop (the main thread: domain, HTTP
    clients, the gateway's SQL) and its other threads (DBOS's executor: system-database
    calls, queue polling, notifications)."""
    ticks = os.sysconf("SC_CLK_TCK")
    result = {"event_loop": 0.0, "other_threads": 0.0}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        group = "event_loop" if int(task.name) == pid else "other_threads"
        result[group] += (int(fields[11]) + int(fields[12])) / ticks
    return result


def parse(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=100, help="per worker")
    parser.add_argument("--polling", type=float, default=0.1, help="queue polling seconds")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    os.environ.update(ENV)
    prefix = f"q2c-bench:{uuid.uuid4().hex[:8]}:"
    with (
        scratch_database("q2c_bench_flow") as url,
        sandboxes() as land,
        tempfile.TemporaryDirectory() as tmp,
    ):
        migrate.upgrade(url)
        migrate_system_database(url)
        config = write_config(
            Path(tmp) / "bench.toml",
            land,
            database_url=url,
            redis_prefix=prefix,
            redis_url=REDIS_URL,
            # PostgreSQL allows 100 connections here: 2 workers x (15 + 10) + the client.
            flow=f"worker_concurrency = {args.concurrency}\nsystem_pool_size = 10",
        )
        config.write_text(
            config.read_text()
            .replace(
                "polling_interval_seconds = 0.05", f"polling_interval_seconds = {args.polling}"
            )
            .replace("heartbeat_seconds = 0.5", "heartbeat_seconds = 5")
            .replace("timeout_seconds = 3", "timeout_seconds = 10")
            .replace("pool_size = 20", "pool_size = 10\nmax_overflow = 5"),
            encoding="utf-8",
        )
        print(f"creating {args.transactions} accepted quotes in the CRM sandbox", flush=True)
        quotes = create_quotes(land, args.transactions)
        workers = [Worker(config, Path(tmp) / f"worker-{i}.json") for i in range(args.workers)]
        stats = []
        sandbox_cpu: dict[str, float] = {}
        threads: dict[str, float] = {}
        try:
            for worker in workers:
                worker.wait_ready()
            load_before = os.getloadavg()
            pids = {n: p.process.pid for n, p in land.processes.items() if p.process}
            # Worker CPU from here on: start-up (imports, DBOS launch) is not per transaction.
            worker_start = [thread_cpu(w.process.pid) for w in workers]
            sandbox_cpu = {n: cpu_seconds(pid) for n, pid in pids.items()}
            asyncio.run(accept_all(config, quotes))
            rows = wait_invoiced(url, args.transactions, args.timeout)
            sandbox_cpu = {n: cpu_seconds(pid) - sandbox_cpu[n] for n, pid in pids.items()}
            worker_end = [thread_cpu(w.process.pid) for w in workers]
            threads = {
                k: sum(
                    end[k] - start[k] for start, end in zip(worker_start, worker_end, strict=True)
                )
                for k in ("event_loop", "other_threads")
            }
        finally:
            stats = [w.stop() for w in workers]
            keys = redis.Redis.from_url(REDIS_URL).keys(f"{prefix}*")
            if keys:
                redis.Redis.from_url(REDIS_URL).delete(*keys)
        load_after = os.getloadavg()
    invoiced = [(parse(a), parse(i)) for a, i, _ in rows if i]
    states: dict[str, int] = {}
    for *_, state in rows:
        states[state] = states.get(state, 0) + 1
    n = len(invoiced)
    if not n:
        print(f"nothing was invoiced: {states}")
        return 1
    first = min(a for a, _ in invoiced)
    last = min(max(i for _, i in invoiced), max(i for _, i in invoiced))
    latencies = [i - a for a, i in invoiced]
    statements = {
        k: sum(s.get("statements", {}).get(k, 0) for s in stats) for k in ("dbos", "gateway")
    }
    ends = {
        k: sum(s.get("commits_and_rollbacks", {}).get(k, 0) for s in stats)
        for k in ("dbos", "gateway")
    }
    cpu = sum(threads.values())
    result = {
        "transactions": args.transactions,
        "invoiced": n,
        "states": states,
        "workers": args.workers,
        "throughput_per_s": round(n / (last - first), 1),
        "accepted_to_invoiced_p50_s": round(pct(latencies, 50), 3),
        "accepted_to_invoiced_p95_s": round(pct(latencies, 95), 3),
        "accepted_to_invoiced_max_s": round(max(latencies), 3),
        "db_statements_per_tx": {k: round(v / n, 1) for k, v in statements.items()},
        "db_commits_per_tx": {k: round(v / n, 1) for k, v in ends.items()},
        "worker_cpu_ms_per_tx": round(cpu * 1000 / n, 1),
        "worker_cpu_ms_per_tx_by_thread": {k: round(v * 1000 / n, 1) for k, v in threads.items()},
        "sandbox_cpu_ms_per_tx": {k: round(v * 1000 / n, 1) for k, v in sandbox_cpu.items()},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
