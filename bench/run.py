#!/usr/bin/env python3
"""Load benchmark of the Q2C Gateway against baselines measured in the same run.

One command (``make bench``). On loopback only, it starts:

- the SAP S/4HANA and Salesforce sandboxes as servers (``q2c sandbox serve``);
- nginx (one worker, upstream keepalive) as a plain reverse proxy to the SAP sandbox;
- the gateway (``q2c serve``, one worker) with Redis-backed stores and every
  policy on: auth, rate limit (a plan too large to limit), idempotency, audit,
  metrics, tracing;

and drives the same load with wrk (Lua scripts in bench/lua) against the SAP
sandbox directly, through nginx, and through the gateway, for a governed GET
(one upstream call) and an idempotent POST of an order, recording CPU per request
of every process. It then samples a gateway worker's CPU under both loads
(bench/cpu_sampler.py), restarts the gateway with the other upstream transport
(aiohttp vs httpx) and with two workers, and prints a table plus
``bench/results/latest.json``. See bench/README.md.

Only the standard library and httpx; every process it starts is stopped in
``finally`` (also on Ctrl-C or SIGTERM), and the Redis keys it wrote are deleted.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LUA = BENCH / "lua"
RESULTS = BENCH / "results"
Q2C = str(Path(sys.executable).with_name("q2c"))

LOOPBACK = "127.0.0.1"
REDIS_PORT = 6379
# The server the gateway's records go to (a database of the run's own, dropped after).
POSTGRES_URL = os.environ.get("POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SAP_USER, SAP_PASSWORD = "Q2C_GATEWAY", "sandbox"
SF_TOKEN = "00DSANDBOX!q2c-static-sandbox-token"  # noqa: S105 - the sandbox's fixed token
SANDBOX_ENV = {
    "BENCH_SF_TOKEN": SF_TOKEN,
    "BENCH_SAP_USER": SAP_USER,
    "BENCH_SAP_PASSWORD": SAP_PASSWORD,
    # Every worker signs list cursors with this key (required with --workers 2).
    "BENCH_CURSOR_KEY": secrets.token_urlsafe(32),
}
CLIENT_ID = "bench-client"
SCOPES = [
    f"{domain}:{access}"
    for domain in (
        "customers",
        "products",
        "prices",
        "quotes",
        "orders",
        "invoices",
        "payments",
        "ops",
    )
    for access in ("read", "write")
]
SAP_ROOT = "/sap/opu/odata/sap"
SAP_BASIC = "Basic " + base64.b64encode(f"{SAP_USER}:{SAP_PASSWORD}".encode()).decode()

# What OrderService.create does for an order from explicit lines (domains/order/service.py).
ORDER_FLOW = (
    "the gateway's order flow: read the customer in Salesforce (crosswalk HGETALL + Account GET),",
    "SKU per line from the crosswalk, check the products in SAP (A_Product query), look the",
    "order up in SAP by its reference first (A_SalesOrder query: the duplicate guard), ERP",
    "account from the crosswalk, the deep insert, then claim the record owner and link and",
    "annotate the crosswalk; around it idempotency begin/complete and the audit XADD.",
)

# Targets for the report (issue 10): gateway / nginx throughput, gateway-added p50 at
# c=1, gateway worker CPU per governed GET.
TARGET_RATIO_MIN, TARGET_ADDED_P50_MS = 0.35, 0.8
TARGET_CPU_MS, TARGET_CPU_AIM_MS = 0.5, 0.35


class BenchError(RuntimeError):
    pass


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- processes -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]
        return ""


class Processes:
    """Every server this run starts, each in its own process group, stopped in reverse."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.running: list[Proc] = []

    def start(
        self,
        name: str,
        args: list[str],
        port: int,
        env: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Proc:
        log_path = self.workdir / f"{name}.log"
        with open(log_path, "ab") as out:
            popen = subprocess.Popen(
                args,
                cwd=ROOT,
                env={**os.environ, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        proc = Proc(name, popen, port, log_path)
        self.running.append(proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if popen.poll() is not None:
                raise BenchError(f"{name} exited with {popen.returncode}:\n{proc.tail()}")
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.2):
                return proc
            time.sleep(0.05)
        raise BenchError(f"{name} did not listen on {port} within {timeout:g}s:\n{proc.tail()}")

    def stop(self, proc: Proc) -> None:
        if proc.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.popen.pid, signal.SIGTERM)
            try:
                proc.popen.wait(timeout=8)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait(timeout=5)
        # Workers that outlived their parent (same process group) go too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.popen.pid, signal.SIGKILL)
        if proc in self.running:
            self.running.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.running)):
            try:
                self.stop(proc)
            except Exception as exc:  # keep stopping the others
                print(f"bench: could not stop {proc.name}: {exc}", file=sys.stderr)


def descendants(pid: int) -> list[int]:
    """Child processes, recursively (granian runs its workers as children)."""
    found: list[int] = []
    stack = [pid]
    while stack:
        current = stack.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                for child in (task / "children").read_text().split():
                    found.append(int(child))
                    stack.append(int(child))
    return found


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants (granian workers)."""
    total = 0
    for each in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / _TICK


# -- Redis (a few commands over RESP, stdlib only) -------------------------------------


class MiniRedis:
    def __init__(self, host: str = LOOPBACK, port: int = REDIS_PORT, timeout: float = 2.0):
        self.sock = socket.create_connection((host, port), timeout)
        self.reader = self.sock.makefile("rb")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.reader.close()
            self.sock.close()

    def send(self, *args: str | bytes) -> None:
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            raw = arg.encode() if isinstance(arg, str) else arg
            parts.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
        self.sock.sendall(b"".join(parts))

    def command(self, *args: str | bytes) -> Any:
        self.send(*args)
        return self.read()

    def read(self) -> Any:
        line = self.reader.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise BenchError(f"redis: {rest.decode()}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self.reader.read(size + 2)[:-2]
            return data.decode(errors="replace")
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self.read() for _ in range(count)]
        raise BenchError(f"redis: unexpected reply {line!r}")

    def cpu_seconds(self) -> float:
        info = self.command("INFO", "cpu") or ""
        values = dict(re.findall(r"(used_cpu_(?:sys|user)):([\d.]+)", info))
        return sum(float(v) for v in values.values())

    def delete_prefix(self, prefix: str) -> int:
        cursor, deleted = "0", 0
        while True:
            cursor, keys = self.command("SCAN", cursor, "MATCH", f"{prefix}*", "COUNT", "1000")
            if keys:
                deleted += self.command("UNLINK", *keys)
            if cursor == "0":
                return deleted


class RedisMonitor:
    """MONITOR while a few requests run: which Redis commands one request costs.

    Only commands from connections that touched this run's key prefix are
    counted, so other users of the shared Redis do not leak into the numbers.
    """

    _LINE = re.compile(r'^\+[\d.]+ \[\d+ ([^\]]+)\] "([A-Za-z]+)"(.*)$')

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.redis = MiniRedis(timeout=5.0)
        self.lines: list[tuple[str, str, str]] = []
        self.redis.send("MONITOR")
        if self.redis.reader.readline().strip() != b"+OK":
            raise BenchError("redis MONITOR was refused")
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            for raw in self.redis.reader:
                match = self._LINE.match(raw.decode(errors="replace").rstrip("\r\n"))
                if match:
                    self.lines.append((match.group(1), match.group(2).upper(), match.group(3)))

    def stop(self) -> tuple[Counter[str], Counter[str]]:
        """(commands sent by our gateway's connections, commands run inside its scripts)."""
        time.sleep(0.3)  # let the last replies arrive
        with contextlib.suppress(OSError):
            self.redis.sock.shutdown(socket.SHUT_RDWR)
        self.redis.close()
        self.thread.join(timeout=2)
        # Script bodies show up as client "lua"; attribute them by the prefix they touch.
        ours = {c for c, _, args in self.lines if self.prefix in args and c != "lua"}
        sent = Counter(command for c, command, _ in self.lines if c in ours)
        scripted: Counter[str] = Counter()
        for index, (client, command, args) in enumerate(self.lines):
            if client != "lua":
                continue
            # A script's commands are contiguous; TIME carries no key, so it counts
            # when the script's next command touches our keys.
            following = self.lines[index + 1] if index + 1 < len(self.lines) else None
            if self.prefix in args or (
                command == "TIME"
                and following
                and following[0] == "lua"
                and self.prefix in following[2]
            ):
                scripted[command] += 1
        return sent, scripted


# -- installation checks ---------------------------------------------------------------


def check_tools(install: bool = True) -> dict[str, str]:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    missing = [name for name, path in (("wrk", shutil.which("wrk")), ("nginx", nginx)) if not path]
    if missing:
        packages = ["wrk" if name == "wrk" else "nginx-light" for name in missing]
        if install and os.geteuid() == 0 and shutil.which("apt-get"):
            log(f"installing {' '.join(packages)} with apt-get")
            subprocess.run(["apt-get", "update", "-qq"], check=False, timeout=180)
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", *packages],
                check=True,
                timeout=300,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
            return check_tools(install=False)
        raise BenchError(
            f"missing {', '.join(missing)}; install with: "
            f"sudo apt-get install -y {' '.join(packages)}"
        )
    if not Path(Q2C).exists():
        raise BenchError(f"{Q2C} not found; run `make bench` (it installs the venv first)")
    try:
        redis = MiniRedis(timeout=1.0)
        pong = redis.command("PING")
        version = redis.command("INFO", "server")
        redis.close()
    except (OSError, BenchError) as exc:
        raise BenchError(
            f"no Redis at {LOOPBACK}:{REDIS_PORT} ({exc}); start one, e.g. "
            "`redis-server --port 6379 --save '' --daemonize yes`"
        ) from exc
    if pong != "PONG":
        raise BenchError(f"Redis answered PING with {pong!r}")
    assert nginx is not None
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    nginx_version = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip()
    redis_version = re.search(r"redis_version:(\S+)", version or "")
    return {
        "wrk": wrk_version.split("\n")[0].strip(),
        "nginx_path": nginx,
        "nginx": nginx_version,
        "redis": redis_version.group(1) if redis_version else "?",
    }


# -- configuration ---------------------------------------------------------------------


def secret_hash(secret: str) -> str:
    """The ``secret_hash`` encoding of policies.auth.client_secrets (scrypt)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode().rstrip("=")

    return f"scrypt$16384$8$1${b64(salt)}${b64(digest)}"


def create_database(name: str) -> str:
    """A PostgreSQL database of the run's own at $POSTGRES_URL's server, migrated by
    ``q2c db upgrade``; its URL."""
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


def drop_database(name: str) -> None:
    import psycopg

    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(POSTGRES_URL, autocommit=True) as admin,
    ):
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def gateway_config(
    path: Path,
    *,
    sap: str,
    salesforce: str,
    prefix: str,
    transport: str,
    client_secret: str,
    database_url: str,
    pool_size: int = int(os.environ.get("BENCH_POOL_SIZE", "10")),
) -> Path:
    """The gateway's records in PostgreSQL (a database of the run's own), Redis for
    rate limits and caches, every policy on; the bench plan never limits the load."""
    scopes = ", ".join(f'"{scope}"' for scope in SCOPES)
    path.write_text(
        f"""# Generated by bench/run.py

[server]
host = "{LOOPBACK}"
workers = 1

[redis]
url = "redis://{LOOPBACK}:{REDIS_PORT}/0"
prefix = "{prefix}"

[database]
url = "{database_url}"
pool_size = {pool_size}

[paging]
cursor_key_env = "BENCH_CURSOR_KEY"

[http_client]
transport = "{transport}"

# Every policy is on by default (auth, rate limit, idempotency, audit, metrics,
# tracing); run.py checks each one answers before it measures.
[rate_limit]
default_plan = "bench"

[rate_limit.plans.bench]     # ~830k requests/s sustained: enforced, never reached
quota = 50000000
window_seconds = 60
burst = 50000000

[rate_limit.plans.default]
quota = 600
window_seconds = 60

[rate_limit.plans.anonymous]
quota = 600
window_seconds = 60

[auth.builtin_issuer]
key_file = "{path.parent / "issuer-key.pem"}"

[[auth.builtin_issuer.clients]]
client_id = "{CLIENT_ID}"
secret_hash = "{secret_hash(client_secret)}"
tenant = "bench"
plan = "bench"
scopes = [{scopes}]

[systems.salesforce]
kind = "salesforce"
base_url = "{salesforce}"
access_token_env = "BENCH_SF_TOKEN"

[systems.sap_s4hana]
kind = "sap_s4hana"
base_url = "{sap}"
user_env = "BENCH_SAP_USER"
password_env = "BENCH_SAP_PASSWORD"
""",
        encoding="utf-8",
    )
    return path


def nginx_config(workdir: Path, port: int, upstream_port: int, name: str = "nginx") -> Path:
    """One worker, no access log, keepalive to the upstream: a plain reverse proxy."""
    temp = workdir / name
    temp.mkdir(mode=0o755, exist_ok=True)
    temp.chmod(0o755)  # workers run as an unprivileged user when the master is root
    path = workdir / f"{name}.conf"
    path.write_text(
        f"""# Generated by bench/run.py
worker_processes 1;
daemon off;
pid {temp}/nginx.pid;
error_log {temp}/error.log warn;

events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    client_body_buffer_size 1m;
    proxy_buffer_size 64k;
    proxy_buffers 16 64k;

    upstream sap {{
        server {LOOPBACK}:{upstream_port};
        keepalive 64;
    }}

    server {{
        listen {LOOPBACK}:{port};
        location / {{
            proxy_pass http://sap;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
        }}
    }}
}}
""",
        encoding="utf-8",
    )
    return path


# -- wrk -------------------------------------------------------------------------------


@dataclass
class Load:
    threads: int
    connections: int
    seconds: float


@dataclass
class Measurement:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: dict[str, int]
    load: dict[str, float]

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


def run_wrk(url: str, script: str, env: dict[str, str], load: Load) -> Measurement:
    run_id = secrets.token_hex(4)  # short: it ends up in SAP's 35-character reference
    command = [
        "wrk",
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{max(1, round(load.seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA / script),
        url,
    ]
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=load.seconds + 30,
        env={**os.environ, "BENCH_LUA_DIR": str(LUA), "BENCH_RUN_ID": run_id, **env},
    )
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if completed.returncode != 0 or line is None:
        raise BenchError(
            f"wrk failed ({completed.returncode}) on {url}:\n{completed.stdout[-2000:]}"
            f"\n{completed.stderr[-2000:]}"
        )
    data = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = data["duration_us"] / 1e6
    lat = data["latency_us"]
    return Measurement(
        requests=data["requests"],
        seconds=round(seconds, 3),
        rps=round(data["requests"] / seconds, 1) if seconds else 0.0,
        p50_ms=lat["p50"] / 1000,
        p90_ms=lat["p90"] / 1000,
        p99_ms=lat["p99"] / 1000,
        mean_ms=round(lat["mean"] / 1000, 3),
        max_ms=lat["max"] / 1000,
        errors={k: v for k, v in data["errors"].items() if v},
        load={"threads": load.threads, "connections": load.connections, "seconds": load.seconds},
    )


@dataclass
class Target:
    """One thing to load: a URL, a Lua script and its environment."""

    name: str
    label: str
    url: str
    script: str
    env: dict[str, str]


@dataclass
class Plan:
    throughput: Load
    latency: Load
    warmup: Load | None


def short_name(process: str) -> str:
    for prefix, short in (
        ("sandbox-sap", "sap"),
        ("sandbox-salesforce", "salesforce"),
        ("gateway", "gateway"),
        ("nginx-memory", "nginx_memory"),
        ("nginx", "nginx"),
        ("memory-upstream", "memory_upstream"),
    ):
        if process.startswith(prefix):
            return short
    return process


def per_request(
    before: dict[str, float], after: dict[str, float], requests: int
) -> dict[str, float]:
    """CPU milliseconds per request of each process between two snapshots."""
    return {
        name: round(1000 * (after[name] - before[name]) / max(requests, 1), 3)
        for name in after
        if name in before
    }


def measure(target: Target, plan: Plan, land: Landscape, front: str) -> dict[str, Any]:
    """Warm up, then a throughput run (with CPU per request of every process) and a
    c=1 latency run. ``front`` names the process that serves the target."""
    if plan.warmup is not None:
        run_wrk(target.url, target.script, target.env, plan.warmup)
    before = land.cpu_snapshot()
    hot = run_wrk(target.url, target.script, target.env, plan.throughput)
    after = land.cpu_snapshot()
    cold = run_wrk(target.url, target.script, target.env, plan.latency)
    after_cold = land.cpu_snapshot()
    cpu = per_request(before, after, hot.requests)
    cpu_c1 = per_request(after, after_cold, cold.requests)
    flag = "" if not (hot.failed or cold.failed) else f"  ERRORS {hot.errors} {cold.errors}"
    log(
        f"  {target.label:<30} {hot.rps:>7.0f} req/s  p50 {hot.p50_ms:6.2f} ms  "
        f"p99 {hot.p99_ms:7.2f} ms | c1 p50 {cold.p50_ms:6.3f} ms | {front} CPU "
        f"{cpu.get(front, 0):.3f} ms/req{flag}"
    )
    return {
        "label": target.label,
        "url": target.url,
        "script": f"bench/lua/{target.script}",
        "front": front,
        "throughput": hot.__dict__,
        "low_concurrency": cold.__dict__,
        "cpu_ms_per_request": cpu,
        "cpu_ms_per_request_c1": cpu_c1,
    }


# -- the landscape ---------------------------------------------------------------------


@dataclass
class Landscape:
    processes: Processes
    workdir: Path
    prefix: str
    client_secret: str
    sap: Proc | None = None
    salesforce: Proc | None = None
    nginx: Proc | None = None
    memory: Proc | None = None
    nginx_memory: Proc | None = None
    gateway: Proc | None = None
    gateway_transport: str = ""
    gateway_workers: int = 0
    token: str = ""
    redis: MiniRedis | None = None
    database_url: str = ""

    def cpu_snapshot(self) -> dict[str, float]:
        """CPU seconds so far of every process we run, wrk (finished children) and Redis."""
        snapshot = {
            short_name(proc.name): cpu_seconds(proc.popen.pid) for proc in self.processes.running
        }
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        snapshot["wrk"] = usage.ru_utime + usage.ru_stime
        with contextlib.suppress(OSError, BenchError):
            if self.redis is None:
                self.redis = MiniRedis()
            snapshot["redis (shared)"] = self.redis.cpu_seconds()
        return snapshot

    def start_sandboxes(self) -> None:
        for system in ("sap-s4hana", "salesforce"):
            port = free_port()
            proc = self.processes.start(
                f"sandbox-{system}",
                [
                    Q2C,
                    "sandbox",
                    "serve",
                    "--system",
                    system,
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(port),
                ],
                port,
            )
            if system == "sap-s4hana":
                self.sap = proc
            else:
                self.salesforce = proc

    def start_nginx(self, nginx: str, upstream: Proc, name: str = "nginx") -> Proc:
        port = free_port()
        config = nginx_config(self.workdir, port, upstream.port, name)
        return self.processes.start(
            name,
            [
                nginx,
                "-p",
                str(self.workdir / name),
                "-c",
                str(config),
                "-e",
                str(self.workdir / name / "error.log"),
            ],
            port,
        )

    def start_memory_upstream(self, path: str, nginx: str) -> None:
        """bench/memory_upstream.py answering the SAP sandbox's own answer to ``path``
        (the governed GET's upstream request) from memory, and an nginx in front of it."""
        assert self.sap is not None
        answer = httpx.get(
            self.sap.url + path,
            headers={"Authorization": SAP_BASIC, "Accept": "application/json"},
            timeout=20,
        )
        if answer.status_code != 200:
            raise BenchError(f"SAP product query: {answer.status_code} {answer.text[:500]}")
        body = self.workdir / "memory-upstream-body.json"
        body.write_bytes(answer.content)
        content_type = answer.headers.get("content-type", "application/json")
        port = free_port()
        self.memory = self.processes.start(
            "memory-upstream",
            [
                sys.executable,
                str(BENCH / "memory_upstream.py"),
                "--host",
                LOOPBACK,
                "--port",
                str(port),
                "--body-file",
                str(body),
                "--content-type",
                content_type,
            ],
            port,
        )
        self.nginx_memory = self.start_nginx(nginx, self.memory, "nginx-memory")

    def start_gateway(self, transport: str, workers: int = 1, sap: Proc | None = None) -> None:
        """(Re)start the gateway; ``sap`` replaces the SAP sandbox as its SAP base URL."""
        assert self.sap is not None
        assert self.salesforce is not None
        if self.gateway is not None:
            self.processes.stop(self.gateway)
            self.gateway = None
        config = gateway_config(
            self.workdir / f"gateway-{transport}.toml",
            sap=(sap or self.sap).url,
            salesforce=self.salesforce.url,
            prefix=self.prefix,
            transport=transport,
            client_secret=self.client_secret,
            database_url=self.database_url,
        )
        # Idempotent: the first start creates the schema (the gateway's and DBOS's).
        subprocess.run(
            [Q2C, "db", "upgrade", "--config", str(config)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        port = free_port()
        self.gateway = self.processes.start(
            f"gateway-{transport}-{workers}w",
            [
                Q2C,
                "serve",
                "--config",
                str(config),
                "--host",
                LOOPBACK,
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            port,
            env=SANDBOX_ENV,
            timeout=60,
        )
        self.gateway_transport, self.gateway_workers = transport, workers
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                ready = httpx.get(f"{self.gateway.url}/health/ready", timeout=5)
                if ready.status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise BenchError(f"gateway not ready:\n{self.gateway.tail()}")
            time.sleep(0.2)
        if not self.token:
            response = httpx.post(
                f"{self.gateway.url}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(CLIENT_ID, self.client_secret),
                timeout=20,
            )
            if response.status_code != 200:
                raise BenchError(f"token request failed: {response.status_code} {response.text}")
            self.token = response.json()["access_token"]

    def api(self) -> httpx.Client:
        assert self.gateway is not None
        return httpx.Client(
            base_url=self.gateway.url,
            timeout=20,
            headers={"Authorization": f"Bearer {self.token}"},
        )


def sor_calls(api: httpx.Client) -> Counter[str]:
    """q2c_sor_calls_total by system and operation (this process's counters)."""
    text = api.get("/metrics").text
    calls: Counter[str] = Counter()
    for line in text.splitlines():
        if line.startswith("q2c_sor_calls_total{"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
            calls[f"{labels.get('system')} {labels.get('operation')}"] += int(
                float(line.rsplit(" ", 1)[1])
            )
    return calls


def cost_of(land: Landscape, send: Any, repeat: int = 5) -> dict[str, Any]:
    """Upstream calls (from /metrics) and Redis commands (MONITOR) of one request."""
    with land.api() as api:
        send(api)  # caches (ownership map, JWT) warm, as under load
        before = sor_calls(api)
        monitor = RedisMonitor(land.prefix)
        try:
            for _ in range(repeat):
                send(api)
        finally:
            sent, scripted = monitor.stop()
        after = sor_calls(api)
    upstream = {k: (after[k] - before[k]) / repeat for k in after if after[k] != before[k]}

    def per_request(counter: Counter[str]) -> dict[str, float]:
        return {k: round(v / repeat, 2) for k, v in counter.most_common()}

    return {
        "upstream_calls": upstream,
        "upstream_calls_total": sum(upstream.values()),
        "redis_commands": per_request(sent),
        "redis_round_trips": round(sum(sent.values()) / repeat, 2),
        "redis_in_scripts": per_request(scripted),
    }


def verify_policies(
    api: httpx.Client, product_id: str, order_body: dict[str, Any]
) -> dict[str, str]:
    """Each policy the benchmark claims is on, seen working from the outside."""
    found: dict[str, str] = {}
    anonymous = httpx.get(f"{api.base_url}/v1/products/{product_id}", timeout=20)
    found["auth"] = f"no token -> {anonymous.status_code}"
    governed = api.get(f"/v1/products/{product_id}")
    headers = governed.headers
    found["rate_limit"] = f"RateLimit-Policy: {headers.get('ratelimit-policy', 'MISSING')}"
    trace = headers.get("x-trace-id") or headers.get("traceparent")
    found["tracing"] = f"trace id {'echoed' if trace else 'MISSING'}"
    key = f'"bench-verify-{secrets.token_hex(8)}"'
    first = api.post("/v1/orders", json=order_body, headers={"Idempotency-Key": key})
    again = api.post("/v1/orders", json=order_body, headers={"Idempotency-Key": key})
    replayed = again.headers.get("idempotent-replayed", "MISSING")
    found["idempotency"] = (
        f"{first.status_code}, replay {again.status_code} Idempotent-Replayed: {replayed}"
    )
    audit = api.get("/v1/ops/audit", params={"limit": "1"})
    entries = audit.json().get("data", []) if audit.status_code == 200 else []
    found["audit"] = f"GET /v1/ops/audit -> {audit.status_code}, {len(entries)} entry"
    metrics = api.get("/metrics")
    counted = "q2c_requests_total" in metrics.text
    found["metrics"] = (
        f"/metrics -> {metrics.status_code}, "
        f"q2c_requests_total {'present' if counted else 'MISSING'}"
    )
    problems = [
        name
        for name, ok in (
            ("auth", anonymous.status_code == 401),
            ("rate_limit", "ratelimit-policy" in headers),
            ("tracing", bool(trace)),
            ("idempotency", replayed == "true"),
            ("audit", bool(entries)),
            ("metrics", counted),
        )
        if not ok
    ]
    if problems:
        raise BenchError(f"policies not working as configured: {problems}: {found}")
    return found


def prepare(land: Landscape) -> dict[str, Any]:
    """Pick a product and a customer, submit a first order, derive the SAP baselines."""
    assert land.sap is not None
    with land.api() as api:
        products = api.get("/v1/products", params={"limit": "20"})
        if products.status_code != 200:
            raise BenchError(f"GET /v1/products: {products.status_code} {products.text[:500]}")
        product = next(p for p in products.json()["data"] if p["active"])
        customers = api.get("/v1/customers", params={"limit": "5"})
        if customers.status_code != 200:
            raise BenchError(f"GET /v1/customers: {customers.status_code} {customers.text[:500]}")
        customer = customers.json()["data"][0]
        order_body = {
            "customer_id": customer["id"],
            "currency": "EUR",
            "lines": [{"product_id": product["id"], "quantity": "2"}],
        }
        first = api.post(
            "/v1/orders",
            json=order_body,
            headers={"Idempotency-Key": f'"bench-{secrets.token_hex(8)}"'},
        )
        if first.status_code != 201:
            raise BenchError(f"first POST /v1/orders: {first.status_code} {first.text[:1000]}")
        sap_order_id = next(
            ref["id"]
            for ref in first.json()["external_references"]
            if ref["system"] == "sap_s4hana"
        )
        policies = verify_policies(api, product["id"], order_body)
    sap = httpx.Client(
        base_url=land.sap.url,
        timeout=20,
        headers={"Authorization": SAP_BASIC, "Accept": "application/json"},
    )
    with sap:
        # The exact upstream request of SapAdapter.get_products for one SKU, encoded
        # by httpx as the gateway encodes it.
        product_url = httpx.URL(
            f"{SAP_ROOT}/API_PRODUCT_SRV/A_Product",
            params={
                "$filter": f"Product eq '{product['sku']}'",
                "$expand": "to_Description",
                "$top": "1",
                "$format": "json",
            },
        )
        product_path = product_url.raw_path.decode()
        check = sap.get(product_path)
        if check.status_code != 200 or len(check.json()["d"]["results"]) != 1:
            raise BenchError(f"SAP product query: {check.status_code} {check.text[:500]}")
        created = sap.get(
            f"{SAP_ROOT}/API_SALES_ORDER_SRV/A_SalesOrder('{sap_order_id}')",
            params={"$expand": "to_Item", "$format": "json"},
        )
        if created.status_code != 200:
            raise BenchError(f"SAP order read: {created.status_code} {created.text[:500]}")
        order = created.json()["d"]
        # The deep insert SapAdapter.submit_order sends for that order, but with a
        # reference unique per request (PurchaseOrderByCustomer).
        deep_insert = {
            "SalesOrderType": order["SalesOrderType"],
            "SalesOrganization": order["SalesOrganization"],
            "DistributionChannel": order["DistributionChannel"],
            "OrganizationDivision": order["OrganizationDivision"],
            "SoldToParty": order["SoldToParty"],
            "PurchaseOrderByCustomer": "@REF@",
            "TransactionCurrency": order["TransactionCurrency"],
            "to_Item": [
                {
                    "SalesOrderItem": item["SalesOrderItem"],
                    "Material": item["Material"],
                    "RequestedQuantity": "2",
                }
                for item in order["to_Item"]["results"]
            ],
        }
        head, tail = json.dumps(deep_insert, separators=(",", ":")).split("@REF@")
        # CSRF token and session cookie, fetched once and reused by every request.
        fetched = sap.get(f"{SAP_ROOT}/API_SALES_ORDER_SRV/", headers={"X-CSRF-Token": "Fetch"})
        token = fetched.headers.get("x-csrf-token", "")
        cookie = "; ".join(f"{k}={v}" for k, v in fetched.cookies.items())
        if not token or not cookie:
            raise BenchError("SAP sandbox returned no CSRF token/session cookie")
        probe = sap.post(
            f"{SAP_ROOT}/API_SALES_ORDER_SRV/A_SalesOrder",
            content=head + "Bprobe" + secrets.token_hex(4) + tail,
            headers={"X-CSRF-Token": token, "Cookie": cookie, "Content-Type": "application/json"},
        )
        if probe.status_code != 201:
            raise BenchError(f"SAP deep insert: {probe.status_code} {probe.text[:1000]}")
    return {
        "policies": policies,
        "product": {"id": product["id"], "sku": product["sku"]},
        "customer_id": customer["id"],
        "order_body": order_body,
        "sap_product_path": product_path,
        "sap_order_path": f"{SAP_ROOT}/API_SALES_ORDER_SRV/A_SalesOrder",
        "sap_order_body_head": head,
        "sap_order_body_tail": tail,
        "sap_csrf_token": token,
        "sap_cookie": cookie,
    }


def get_targets(land: Landscape, facts: dict[str, Any]) -> tuple[Target, Target]:
    assert land.sap is not None
    assert land.nginx is not None
    env = {"BENCH_AUTH": SAP_BASIC}
    path = facts["sap_product_path"]
    return (
        Target("sap_direct", "SAP sandbox direct", land.sap.url + path, "get.lua", env),
        Target("nginx", "nginx -> SAP sandbox", land.nginx.url + path, "get.lua", env),
    )


def gateway_get(land: Landscape, facts: dict[str, Any], name: str, label: str) -> Target:
    assert land.gateway is not None
    return Target(
        name,
        label,
        f"{land.gateway.url}/v1/products/{facts['product']['id']}",
        "get.lua",
        {"BENCH_AUTH": f"Bearer {land.token}"},
    )


def post_targets(land: Landscape, facts: dict[str, Any]) -> list[Target]:
    assert land.sap is not None
    assert land.nginx is not None
    assert land.gateway is not None
    sap_env = {
        "BENCH_AUTH": SAP_BASIC,
        "BENCH_PATH": facts["sap_order_path"],
        "BENCH_BODY_HEAD": facts["sap_order_body_head"],
        "BENCH_BODY_TAIL": facts["sap_order_body_tail"],
        "BENCH_CSRF_TOKEN": facts["sap_csrf_token"],
        "BENCH_COOKIE": facts["sap_cookie"],
    }
    return [
        Target(
            "sap_direct",
            "SAP sandbox direct",
            land.sap.url + facts["sap_order_path"],
            "post_order_sap.lua",
            sap_env,
        ),
        Target(
            "nginx",
            "nginx -> SAP sandbox",
            land.nginx.url + facts["sap_order_path"],
            "post_order_sap.lua",
            sap_env,
        ),
        Target(
            "gateway",
            "gateway (aiohttp)",
            f"{land.gateway.url}/v1/orders",
            "post_order_gateway.lua",
            {
                "BENCH_AUTH": f"Bearer {land.token}",
                "BENCH_PATH": "/v1/orders",
                "BENCH_BODY": json.dumps(facts["order_body"], separators=(",", ":")),
            },
        ),
    ]


# -- CPU profile of the gateway (bench/cpu_sampler.py) ---------------------------------

_PROJECT = ("gateway/", "policies/", "domains/", "systems/", "contracts/")
# Where a sample is charged: the first frame, walking up from the leaf, that belongs
# to one of these (project modules by path, then the two frameworks).
_COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("auth policy (bearer JWT, cached verify)", ("policies/auth/",)),
    ("rate-limit policy (GCRA EVALSHA)", ("policies/rate_limit/",)),
    ("idempotency policy", ("policies/idempotency/",)),
    ("audit policy", ("policies/audit/",)),
    ("metrics policy", ("policies/metrics/",)),
    ("tracing policy", ("policies/tracing/",)),
    ("policy plumbing (asgi, route, consumer)", ("policies/",)),
    ("crosswalk / ownership stores (Redis)", ("gateway/stores/",)),
    (
        "upstream client (systems/upstream.py + transport)",
        ("systems/upstream.py", "systems/outbound.py", "systems/transport/"),
    ),
    ("SAP client / adapter / mapping", ("systems/sap_s4hana/",)),
    ("other systems", ("systems/",)),
    ("domain services", ("domains/",)),
    ("gateway app, routes, problems", ("gateway/",)),
    ("contracts", ("contracts/",)),
    ("Litestar (routing, params, response)", ("litestar/",)),
    ("server glue / event loop (granian, uvloop)", ("granian/",)),
]
# The library a sample's time is spent in: first non-stdlib frame from the leaf.
_LIBRARIES = {
    "httpx": "httpx",
    "httpcore": "httpx",
    "tenacity": "tenacity",
    "aiohttp": "aiohttp",
    "yarl": "aiohttp",
    "multidict": "aiohttp",
    "aiohappyeyeballs": "aiohttp",
    "propcache": "aiohttp",
    "redis": "redis-py",
    "litestar": "litestar",
    "msgspec": "msgspec",
    "prometheus_client": "prometheus_client",
    "jwt": "pyjwt",
    "cryptography": "cryptography",
    "granian": "granian",
    "ulid": "ulid",
}
_FILE = re.compile(r"\((.+?):\d+\)")


def _frame_file(frame: str) -> str:
    match = _FILE.search(frame)
    return match.group(1) if match else ""


def summarize_profile(raw: Path) -> dict[str, Any]:
    """Charge collapsed-stack samples to components and libraries (percent of samples)."""
    components: Counter[str] = Counter()
    libraries: Counter[str] = Counter()
    pairs: dict[str, Counter[str]] = {}
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        component = "server glue / event loop (granian, uvloop)"
        for frame in reversed(frames):
            path = _frame_file(frame)
            name = next((n for n, pre in _COMPONENTS if path.startswith(pre)), None)
            if name:
                component = name
                break
        library = "stdlib / interpreter"
        for frame in reversed(frames):
            path = _frame_file(frame)
            if path.startswith(_PROJECT):
                library = "own code"
                break
            top = path.split("/", 1)[0]
            if top in _LIBRARIES:
                library = _LIBRARIES[top]
                break
        components[component] += count
        libraries[library] += count
        pairs.setdefault(component, Counter())[library] += count
        leaves[frames[-1]] += count

    def pct(value: int) -> float:
        return round(100 * value / total, 1) if total else 0.0

    return {
        "samples": total,
        "by_component_pct": {k: pct(v) for k, v in components.most_common()},
        "by_library_pct": {k: pct(v) for k, v in libraries.most_common()},
        "component_by_library_pct": {
            k: {lib: pct(v) for lib, v in pairs[k].most_common()}
            for k, _ in components.most_common()
        },
        "top_leaf_lines_pct": {k: pct(v) for k, v in leaves.most_common(25)},
    }


def profile_gateway(
    land: Landscape, targets: dict[str, Target], seconds: float, load: Load, out_dir: Path
) -> dict[str, Any]:
    """Serve the same gateway config through bench/cpu_sampler.py and sample its
    worker's CPU under each target's load; one summary per target."""
    assert land.gateway is not None
    config = land.workdir / "gateway-aiohttp.toml"
    out = land.workdir / "profile.txt"
    port = free_port()
    proc = land.processes.start(
        "gateway-profiled",
        [sys.executable, str(BENCH / "cpu_sampler.py"), "--host", LOOPBACK, "--port", str(port)],
        port,
        env={**SANDBOX_ENV, "Q2C_CONFIG": str(config), "BENCH_PROFILE_OUT": str(out)},
        timeout=60,
    )
    summaries: dict[str, Any] = {}
    try:
        workers = descendants(proc.popen.pid)
        if not workers:
            return {"skipped": "no granian worker process found"}
        worker = workers[-1]
        for name, target in targets.items():
            url = target.url.replace(land.gateway.url, proc.url)
            sampled = Load(load.threads, load.connections, seconds)
            run_wrk(url, target.script, target.env, Load(load.threads, load.connections, 2))
            out.unlink(missing_ok=True)
            os.kill(worker, signal.SIGUSR1)
            cpu_before = cpu_seconds(worker)
            measured = run_wrk(url, target.script, target.env, sampled)
            cpu_used = cpu_seconds(worker) - cpu_before
            os.kill(worker, signal.SIGUSR2)
            deadline = time.monotonic() + 10
            while not out.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            if not out.exists():
                summaries[name] = {"skipped": f"the sampler wrote no profile:\n{proc.tail()}"}
                continue
            kept = out_dir / f"profile-{name}.txt"
            out_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out, kept)
            summary = summarize_profile(out)
            summary["requests"] = measured.requests
            summary["rps_while_profiling"] = measured.rps
            summary["worker_cpu_ms_per_request"] = round(
                1000 * cpu_used / max(measured.requests, 1), 3
            )
            summary["collapsed_stacks"] = str(kept)
            summaries[name] = summary
    finally:
        land.processes.stop(proc)
    return summaries


# -- report ----------------------------------------------------------------------------


def ms(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(title: str, rows: dict[str, dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(
        f"  {'target':<30}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}"
        f" |{'c=1 p50 ms':>11}{'c=1 req/s':>10} | CPU ms per request (throughput run)"
    )
    for row in rows.values():
        hot, cold = row["throughput"], row["low_concurrency"]
        errors = sum(hot["errors"].values()) + sum(cold["errors"].values())
        cpu = row.get("cpu_ms_per_request", {})
        shown = [
            row.get("front", ""),
            "sap",
            "memory_upstream",
            "salesforce",
            "nginx",
            "nginx_memory",
            "redis (shared)",
            "wrk",
        ]
        cpu_text = "  ".join(
            f"{name} {cpu[name]:.3f}" for name in dict.fromkeys(shown) if cpu.get(name, 0) >= 0.005
        )
        print(
            f"  {row['label']:<30}{hot['rps']:>8.0f}{ms(hot['p50_ms']):>9}{ms(hot['p99_ms']):>9}"
            f"{errors:>7} |{ms(cold['p50_ms'], 3):>11}{cold['rps']:>10.0f} | {cpu_text}"
        )


def ratios(
    rows: dict[str, dict[str, Any]],
    gateway: str,
    *,
    direct_row: str = "sap_direct",
    nginx_row: str = "nginx",
    upstream: str = "sap",
    proxy: str = "nginx",
) -> dict[str, Any]:
    """Gateway against nginx and the bare upstream: ``*_row`` name the rows, ``upstream``
    and ``proxy`` the processes whose CPU the nginx path spends."""
    gw, nginx, direct = rows.get(gateway), rows.get(nginx_row), rows.get(direct_row)
    if not (gw and nginx and direct):
        return {}
    gw_cpu = gw["cpu_ms_per_request"].get("gateway", 0.0)
    sap_cpu = nginx["cpu_ms_per_request"].get(upstream, 0.0)
    nginx_cpu = nginx["cpu_ms_per_request"].get(proxy, 0.0)
    return {
        "gateway_over_nginx_throughput": round(
            gw["throughput"]["rps"] / nginx["throughput"]["rps"], 3
        ),
        "gateway_over_direct_throughput": round(
            gw["throughput"]["rps"] / direct["throughput"]["rps"], 3
        ),
        "gateway_added_p50_ms_c1": round(
            gw["low_concurrency"]["p50_ms"] - direct["low_concurrency"]["p50_ms"], 3
        ),
        "nginx_added_p50_ms_c1": round(
            nginx["low_concurrency"]["p50_ms"] - direct["low_concurrency"]["p50_ms"], 3
        ),
        # Contention-free estimates from CPU per request: each of these servers is one
        # Python (or nginx) worker, so it saturates at one core.
        "gateway_worker_cpu_ms": gw_cpu,
        "gateway_worker_cpu_ms_c1": gw.get("cpu_ms_per_request_c1", {}).get("gateway"),
        "gateway_one_core_capacity_rps": round(1000 / gw_cpu) if gw_cpu else None,
        "nginx_path_one_core_capacity_rps": (
            round(1000 / max(sap_cpu, nginx_cpu)) if max(sap_cpu, nginx_cpu) else None
        ),
        "capacity_ratio_estimate": (
            round(max(sap_cpu, nginx_cpu) / gw_cpu, 3)
            if gw_cpu and max(sap_cpu, nginx_cpu)
            else None
        ),
    }


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def print_ratios(
    r: dict[str, Any], rows: dict[str, dict[str, Any]], direct_row: str, upstream: str
) -> None:
    if not r:
        return
    ratio, added = r["gateway_over_nginx_throughput"], r["gateway_added_p50_ms_c1"]
    gw_p50 = rows["gateway"]["low_concurrency"]["p50_ms"]
    direct_p50 = rows[direct_row]["low_concurrency"]["p50_ms"]
    print(
        f"  gateway/nginx throughput   {ratio:.2f}x  (target >= {TARGET_RATIO_MIN:.2f}): "
        f"{verdict(ratio >= TARGET_RATIO_MIN)}"
    )
    print(
        f"  gateway-added p50, c=1     {added:.3f} ms = {gw_p50:.3f} - {direct_p50:.3f} "
        f"(target <= {TARGET_ADDED_P50_MS:g} ms): {verdict(added <= TARGET_ADDED_P50_MS)}"
        f"   (nginx adds {r['nginx_added_p50_ms_c1']:.3f} ms)"
    )
    cpu = r["gateway_worker_cpu_ms"]
    print(
        f"  gateway CPU per request    {cpu:.3f} ms (target <= {TARGET_CPU_MS:g}, aim "
        f"{TARGET_CPU_AIM_MS:g}): {verdict(0 < cpu <= TARGET_CPU_MS)}"
    )
    if r.get("gateway_worker_cpu_ms_c1"):
        print(
            f"  gateway CPU per request at c=1: {r['gateway_worker_cpu_ms_c1']:.3f} ms, a "
            "rough floor of its added latency, even on an idle machine"
        )
    if r.get("capacity_ratio_estimate"):
        print(
            "  from CPU per request (less sensitive to neighbours): gateway worker "
            f"{cpu:.3f} ms -> ~{r['gateway_one_core_capacity_rps']} req/s on a core of its "
            f"own; nginx path ~{r['nginx_path_one_core_capacity_rps']} req/s (bound by "
            f"{upstream}) -> ~{r['capacity_ratio_estimate']:.2f}x"
        )


def report(results: dict[str, Any]) -> None:
    meta = results["meta"]
    get = results["scenarios"]["governed_get"]
    rows = get["targets"]
    print("\n" + "=" * 100)
    print(
        f"Q2C Gateway load benchmark  {meta['started_at']}  {meta['cpus']} CPUs  load average "
        f"before {meta['loadavg_before']} after {meta['loadavg_after']}"
    )
    print(
        f"throughput: wrk {meta['throughput_load']}   latency: wrk {meta['latency_load']}   "
        "(wrk, servers and Redis share this machine)"
    )
    for name, seen in meta.get("policies_verified", {}).items():
        print(f"  policy {name:<12} {seen}")
    print_table(
        f"1) governed GET   gateway: {get['gateway_request']}\n"
        "   baseline, direct and via nginx: the one upstream request the gateway makes:\n"
        f"   {get['upstream_request']}",
        rows,
    )
    print_ratios(get["ratios"], rows, "sap_direct", "the SAP sandbox")
    cost = get.get("cost_per_request")
    if cost:
        print(
            f"  one gateway request: {cost['upstream_calls_total']:g} upstream call "
            f"{_calls(cost['upstream_calls'])}, {cost['redis_round_trips']:g} Redis round trips "
            f"{_calls(cost['redis_commands'])}, in scripts {_calls(cost['redis_in_scripts'])}"
        )

    memory = results["scenarios"].get("governed_get_memory_upstream")
    if memory:
        print_table(
            "1b) governed GET, the same with the SAP sandbox replaced by bench/memory_upstream.py "
            "(its answer, from memory)\n   for gateway and nginx alike",
            memory["targets"],
        )
        print_ratios(memory["ratios"], memory["targets"], "memory_direct", "the memory upstream")

    transport = results.get("transport_comparison") or {}
    if len(transport) > 1:
        print("\n   upstream transport ([http_client] transport), governed GET, otherwise same:")
        for name, row in transport.items():
            print(
                f"     {name:<8}{row['rps']:>7.0f} req/s  p50 {ms(row['p50_ms']):>7} ms  p99 "
                f"{ms(row['p99_ms']):>7} ms | c=1 p50 {ms(row['c1_p50_ms'], 3)} ms | gateway CPU "
                f"{row['cpu_ms']:.3f} ms/request"
            )
        a, b = transport["aiohttp"], transport["httpx"]
        if b["rps"] and b["cpu_ms"]:
            print(
                f"     aiohttp vs httpx: {a['rps'] / b['rps']:.2f}x throughput, "
                f"{a['cpu_ms'] / b['cpu_ms']:.2f}x CPU per request, c=1 p50 "
                f"{a['c1_p50_ms'] - b['c1_p50_ms']:+.3f} ms (one run each: compare several runs)"
            )

    post = results["scenarios"].get("idempotent_post")
    if post:
        print_table(
            "2) idempotent POST   gateway: POST /v1/orders (explicit lines, a new Idempotency-Key "
            "per request)\n   baseline, direct and via nginx: one SAP A_SalesOrder deep insert "
            "(CSRF token + session cookie fetched once)",
            post["targets"],
        )
        r = post["ratios"]
        if r:
            print(
                f"  gateway/nginx throughput {r['gateway_over_nginx_throughput']:.2f}x, "
                f"gateway-added p50 at c=1 {r['gateway_added_p50_ms_c1']:.3f} ms"
            )
        cost = post.get("cost_per_request")
        if cost:
            print(
                f"  NOT like for like: one gateway order makes {cost['upstream_calls_total']:g} "
                "upstream calls where the baseline makes 1:"
            )
            for call, n in cost["upstream_calls"].items():
                print(f"     {n:g} x {call}")
            print(
                f"  and {cost['redis_round_trips']:g} Redis round trips "
                f"{_calls(cost['redis_commands'])}"
            )
            for line in ORDER_FLOW:
                print(f"  {line}")

    for scenario, profile in (results.get("profile") or {}).items():
        if "by_component_pct" not in profile:
            print(f"\n3) profile {scenario}: {profile.get('skipped')}")
            continue
        cpu = profile["worker_cpu_ms_per_request"]
        print(
            f"\n3) where a gateway worker's CPU goes, {scenario}: {cpu:.3f} ms/request at "
            f"{profile['rps_while_profiling']:.0f} req/s ({profile['samples']} samples, "
            "bench/cpu_sampler.py)"
        )
        for name, pct in profile["by_component_pct"].items():
            if pct < 0.5:
                continue
            libs = ", ".join(
                f"{lib} {v:.1f}%"
                for lib, v in profile["component_by_library_pct"][name].items()
                if v >= 0.5
            )
            print(f"     {pct:5.1f}%  {cpu * pct / 100:6.3f} ms  {name:<50} {libs}")
        print(
            "     by library: "
            + ", ".join(f"{k} {v:.1f}%" for k, v in profile["by_library_pct"].items())
        )
    if results.get("skipped"):
        print(f"\nskipped: {', '.join(results['skipped'])}")
    print(f"\nresults: {meta['results_file']}   ({meta['elapsed_seconds']:.0f} s)")
    print("=" * 100)


def _calls(counts: dict[str, float]) -> str:
    return "{" + ", ".join(f"{k} {v:g}" for k, v in counts.items()) + "}"


# -- main ------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="throughput run seconds")
    parser.add_argument("--latency-duration", type=float, default=5.0, help="c=1 run seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds (0: none)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-post", action="store_true", help="skip the POST scenario")
    parser.add_argument("--no-transport", action="store_true", help="skip the httpx gateway run")
    parser.add_argument("--no-workers2", action="store_true", help="skip the 2-worker gateway run")
    parser.add_argument("--no-profile", action="store_true", help="skip the CPU profile")
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the memory-upstream baseline (1b)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=300.0,
        help="seconds; optional runs are skipped when they would exceed it",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    return parser.parse_args()


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _on_sigterm)
    # Ctrl-C stops the run even when started from a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        tools = check_tools()
    except (BenchError, subprocess.SubprocessError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    plan = Plan(
        throughput=Load(args.threads, args.connections, args.duration),
        latency=Load(1, 1, args.latency_duration),
        warmup=Load(args.threads, args.connections, args.warmup) if args.warmup > 0 else None,
    )
    per_target = plan.throughput.seconds + plan.latency.seconds + args.warmup + 1.5

    budget = float(args.budget)

    def fits(seconds: float) -> bool:
        return time.monotonic() - started + seconds <= budget

    workdir = Path(tempfile.mkdtemp(prefix="q2c-bench-"))
    workdir.chmod(0o755)  # nginx workers (unprivileged when we are root) read below it
    processes = Processes(workdir)
    prefix = f"q2c-bench:{os.getpid()}-{secrets.token_hex(3)}:"
    land = Landscape(processes, workdir, prefix, client_secret=secrets.token_urlsafe(24))
    database = f"q2c_bench_{os.getpid()}_{secrets.token_hex(3)}"
    results: dict[str, Any] = {
        "meta": {
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "tools": tools,
            "throughput_load": f"-t{args.threads} -c{args.connections} -d{args.duration:g}s",
            "latency_load": f"-t1 -c1 -d{args.latency_duration:g}s",
            "warmup_seconds": args.warmup,
            "gateway": "1 worker (unless noted), records in PostgreSQL, Redis for limits "
            "and caches; auth, rate limit, idempotency, audit, metrics and tracing on",
        },
        "scenarios": {},
        "skipped": [],
    }
    exit_code = 0
    try:
        log("starting the SAP and Salesforce sandboxes, nginx and the gateway (aiohttp)")
        land.database_url = create_database(database)
        land.start_sandboxes()
        assert land.sap is not None
        land.nginx = land.start_nginx(tools["nginx_path"], land.sap)
        land.start_gateway("aiohttp")
        facts = prepare(land)
        results["meta"]["fixture"] = {
            "product": facts["product"],
            "customer_id": facts["customer_id"],
            "order_body": facts["order_body"],
        }
        results["meta"]["policies_verified"] = facts["policies"]

        # 1) governed GET ----------------------------------------------------------------
        log("scenario 1: governed GET")
        get_rows: dict[str, dict[str, Any]] = {}
        direct, nginx = get_targets(land, facts)
        gw_get = gateway_get(land, facts, "gateway", "gateway (aiohttp)")
        for target, front in ((direct, "sap"), (nginx, "nginx"), (gw_get, "gateway")):
            get_rows[target.name] = measure(target, plan, land, front)
        product_path = f"/v1/products/{facts['product']['id']}"
        results["scenarios"]["governed_get"] = {
            "gateway_request": f"GET {product_path}",
            "upstream_request": f"GET {facts['sap_product_path']}",
            "targets": get_rows,
            "ratios": {},
            "cost_per_request": cost_of(land, lambda api: api.get(product_path).raise_for_status()),
        }

        # 2) idempotent POST -------------------------------------------------------------
        if args.no_post:
            results["skipped"].append("idempotent POST (--no-post)")
        else:
            log("scenario 2: idempotent POST")
            post_rows = {
                t.name: measure(t, plan, land, front)
                for t, front in zip(
                    post_targets(land, facts), ("sap", "nginx", "gateway"), strict=True
                )
            }

            def one_order(api: httpx.Client) -> None:
                key = f'"bench-cost-{secrets.token_hex(8)}"'
                api.post(
                    "/v1/orders", json=facts["order_body"], headers={"Idempotency-Key": key}
                ).raise_for_status()

            results["scenarios"]["idempotent_post"] = {
                "gateway_request": "POST /v1/orders",
                "upstream_request": f"POST {facts['sap_order_path']} (deep insert)",
                "targets": post_rows,
                "ratios": ratios(post_rows, "gateway"),
                "cost_per_request": cost_of(land, one_order, repeat=3),
            }

        # 3) CPU profile of the gateway under both loads ------------------------------------
        profile_seconds = min(plan.throughput.seconds, 6.0)
        if args.no_profile:
            results["skipped"].append("profile (--no-profile)")
        elif fits(2 * (profile_seconds + 3) + 8 + 2 * per_target):
            log("CPU profile of a gateway worker under each scenario (bench/cpu_sampler.py)")
            profiled = {"governed_get": gw_get}
            if not args.no_post:
                profiled["idempotent_post"] = post_targets(land, facts)[-1]
            results["profile"] = profile_gateway(
                land, profiled, profile_seconds, plan.throughput, args.output.parent
            )
        else:
            results["skipped"].append("profile (time budget)")

        # 1b) governed GET against an upstream answering from memory ------------------
        if args.no_memory:
            results["skipped"].append("memory upstream (--no-memory)")
        else:
            log("scenario 1b: governed GET, SAP replaced by an upstream answering from memory")
            land.start_memory_upstream(facts["sap_product_path"], tools["nginx_path"])
            assert land.memory is not None
            assert land.nginx_memory is not None
            land.start_gateway("aiohttp", sap=land.memory)
            env = {"BENCH_AUTH": SAP_BASIC}
            path = facts["sap_product_path"]
            memory_rows = {
                target.name: measure(target, plan, land, front)
                for target, front in (
                    (
                        Target("memory_direct", "memory upstream direct",
                               land.memory.url + path, "get.lua", env),
                        "memory_upstream",
                    ),
                    (
                        Target("nginx_memory", "nginx -> memory upstream",
                               land.nginx_memory.url + path, "get.lua", env),
                        "nginx_memory",
                    ),
                    (gateway_get(land, facts, "gateway", "gateway -> memory upstream"),
                     "gateway"),
                )
            }
            results["scenarios"]["governed_get_memory_upstream"] = {
                "gateway_request": f"GET /v1/products/{facts['product']['id']}",
                "upstream_request": f"GET {path} (answered from memory)",
                "targets": memory_rows,
                "ratios": ratios(
                    memory_rows,
                    "gateway",
                    direct_row="memory_direct",
                    nginx_row="nginx_memory",
                    upstream="memory_upstream",
                    proxy="nginx_memory",
                ),
            }

        # 4) upstream transport: the same gateway on httpx's own transport ----------------
        if args.no_transport:
            results["skipped"].append("httpx transport (--no-transport)")
        elif fits(per_target + 6):
            log('restarting the gateway with [http_client] transport = "httpx"')
            land.start_gateway("httpx")
            get_rows["gateway_httpx"] = measure(
                gateway_get(land, facts, "gateway_httpx", "gateway (httpx)"), plan, land, "gateway"
            )
        else:
            results["skipped"].append("httpx transport (time budget)")

        # 5) for reference: two workers ----------------------------------------------------
        if args.no_workers2:
            results["skipped"].append("2 workers (--no-workers2)")
        elif fits(per_target + 6):
            log("restarting the gateway with 2 workers (aiohttp), for reference")
            land.start_gateway("aiohttp", workers=2)
            get_rows["gateway_2_workers"] = measure(
                gateway_get(land, facts, "gateway_2_workers", "gateway (aiohttp, 2 workers)"),
                plan,
                land,
                "gateway",
            )
        else:
            results["skipped"].append("2 workers (time budget)")
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping everything", file=sys.stderr)
        exit_code = 130
    except (BenchError, httpx.HTTPError, subprocess.SubprocessError) as exc:
        print(f"\nbench: {exc}", file=sys.stderr)
        exit_code = 1
    finally:
        processes.stop_all()
        drop_database(database)
        with contextlib.suppress(OSError, BenchError):
            redis = MiniRedis()
            results["meta"]["redis_keys_deleted"] = redis.delete_prefix(prefix)
            redis.close()
        if land.redis is not None:
            land.redis.close()
        shutil.rmtree(workdir, ignore_errors=True)

    results["meta"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    results["meta"]["elapsed_seconds"] = round(time.monotonic() - started, 1)
    get = results["scenarios"].get("governed_get")
    if get:
        get["ratios"] = ratios(get["targets"], "gateway")
        results["transport_comparison"] = {
            name: {
                "rps": row["throughput"]["rps"],
                "p50_ms": row["throughput"]["p50_ms"],
                "p99_ms": row["throughput"]["p99_ms"],
                "c1_p50_ms": row["low_concurrency"]["p50_ms"],
                "cpu_ms": row["cpu_ms_per_request"].get("gateway", 0.0),
            }
            for name, row in (
                ("aiohttp", get["targets"].get("gateway")),
                ("httpx", get["targets"].get("gateway_httpx")),
            )
            if row
        }
        args.output.parent.mkdir(parents=True, exist_ok=True)
        results["meta"]["results_file"] = str(args.output)
        args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        report(results)
    return exit_code


if __name__ == "__main__":
    raise SystemExit(main())
