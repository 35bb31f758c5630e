"""``q2c worker`` with statement counters, for bench/flow.py (not product code).

Counts every statement each SQLAlchemy engine of the process sends (DBOS's system
database engine and the gateway's) and their COMMIT/ROLLBACK; writes them as JSON to
$BENCH_STATS when the worker stops (SIGTERM). bench/flow.py reads the CPU time.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from collections import Counter
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

statements: Counter[str] = Counter()
transactions: Counter[int] = Counter()
engine_kind: dict[int, str] = {}


@event.listens_for(Engine, "before_cursor_execute")
def _statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    kind = "dbos" if ('"dbos".' in statement or "dbos." in statement) else "gateway"
    engine_kind.setdefault(id(conn.engine), kind)
    statements[kind] += 1


@event.listens_for(Engine, "commit")
def _commit(conn: Any) -> None:
    transactions[id(conn.engine)] += 1


@event.listens_for(Engine, "rollback")
def _rollback(conn: Any) -> None:
    transactions[id(conn.engine)] += 1


def main() -> int:
    from gateway.flow.worker import main as worker_main
    from gateway.settings import load_settings

    profile_to = os.environ.get("BENCH_PROFILE")
    if profile_to:
        import cProfile

        profiler = cProfile.Profile()
        code = profiler.runcall(worker_main, load_settings(sys.argv[1]))
        profiler.dump_stats(f"{profile_to}.{os.getpid()}")
    else:
        code = worker_main(load_settings(sys.argv[1]))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    ends = Counter()
    for engine, count in transactions.items():
        ends[engine_kind.get(engine, "gateway")] += count
    with open(os.environ["BENCH_STATS"], "w", encoding="utf-8") as out:
        json.dump(
            {
                "statements": dict(statements),
                "commits_and_rollbacks": dict(ends),
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
            },
            out,
        )
    return code


if __name__ == "__main__":
    raise SystemExit(main())
