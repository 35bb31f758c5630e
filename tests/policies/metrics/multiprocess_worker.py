"""Run as a subprocess with PROMETHEUS_MULTIPROC_DIR set (like one server worker).

``record DEPTH``: serve one request and feed the hooks; ``scrape``: print the
exposition every worker shares, then SEPARATOR, then the governance report JSON.
"""

from __future__ import annotations

import asyncio
import sys

import msgspec

from policies.metrics import GatewayMetrics, governance_report
from tests.policies.metrics.support import bearer, build_app, client

SEPARATOR = "\n--- report ---\n"


async def record(metrics: GatewayMetrics, depth: int) -> None:
    async with client(build_app(metrics)) as http:
        response = await http.get("/v1/quotes/q-1", headers=bearer("alice", "quotes:read"))
        assert response.status_code == 200
    metrics.auth_failure("token_expired")
    metrics.set_dlq_depth("q2c.dlq", depth)


def main(argv: list[str]) -> None:
    metrics = GatewayMetrics()
    if argv[0] == "record":
        asyncio.run(record(metrics, int(argv[1])))
    else:
        sys.stdout.write(metrics.exposition()[0].decode())
        sys.stdout.write(SEPARATOR)
        sys.stdout.write(msgspec.json.encode(governance_report(metrics)).decode())


if __name__ == "__main__":
    main(sys.argv[1:])
