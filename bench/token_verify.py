#!/usr/bin/env python3
"""Micro-benchmark: CPU per bearer-token check, full verification and the cached path.

    .venv/bin/python bench/token_verify.py [--tokens 2000] [--rounds 5]

``policies.auth.TokenVerifier`` with static RS256 and ES256 keys (the built-in
issuer signs ES256): ``verify`` of fresh tokens (what a token costs the first time
the gateway sees it: PyJWT's header parse, signature check and iss/aud/exp checks,
then the lifetime and the consumer) and ``cached`` (every later request with the
same token: the verified-token cache). CPU time per call, median of rounds.
Not a pytest test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policies.auth import AuthConfig, build_verifier  # noqa: E402
from policies.auth.keys import public_jwk  # noqa: E402

ISSUER, AUDIENCE = "https://issuer.bench.test/", "urn:q2c:api"


def _tokens(private: Any, alg: str, kid: str, count: int) -> list[bytes]:
    now = int(time.time())
    return [
        jwt.encode(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": "crm-app",
                "client_id": "crm-app",
                "tenant": "acme",
                "scope": "products:read orders:write",
                "iat": now,
                "exp": now + 3600,
                "jti": str(index),
            },
            private,
            algorithm=alg,
            headers={"kid": kid},
        ).encode()
        for index in range(count)
    ]


async def measure(count: int, rounds: int) -> dict[str, dict[str, float]]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    config = msgspec.convert(
        {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "algorithms": ["RS256", "ES256"],
            "builtin_issuer": {"enabled": False},
            "static_keys": [
                {**public_jwk(rsa_key), "kid": "rsa"},
                {**public_jwk(ec_key), "kid": "ec"},
            ],
            "cache_size": count * 2,
        },
        AuthConfig,
    )
    results: dict[str, dict[str, float]] = {}
    for alg, key, kid in (("RS256", rsa_key, "rsa"), ("ES256", ec_key, "ec")):
        full, cached = [], []
        for _ in range(rounds):
            verifier = build_verifier(config)
            tokens = _tokens(key, alg, kid, count)
            started = time.process_time()
            for token in tokens:
                await verifier.verify(token)
            full.append((time.process_time() - started) / count * 1e6)
            started = time.process_time()
            for token in tokens:
                assert verifier.cached(token) is not None
            cached.append((time.process_time() - started) / count * 1e6)
        results[alg] = {
            "verify_us": statistics.median(full),
            "cached_us": statistics.median(cached),
        }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results = asyncio.run(measure(args.tokens, args.rounds))
    print(f"token check, CPU µs per call (load average {[round(x, 2) for x in os.getloadavg()]})")
    for alg, row in results.items():
        print(f"  {alg}: verify {row['verify_us']:7.1f} µs   cached {row['cached_us']:5.2f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
