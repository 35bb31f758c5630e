"""Start the gateway and sandboxes as real server processes for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.servers import free_port, wait_for_port

Q2C = str(Path(sys.executable).with_name("q2c"))


class ServerProcess:
    def __init__(self, args: list[str], port: int, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.port = port
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="q2c-server-", suffix=".log", delete=False)  # noqa: SIM115
        self.log.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        with open(self.log.name, "ab") as log:
            self.process = subprocess.Popen(
                self.args,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for_port(self.port, timeout=30)
        except TimeoutError as exc:
            self.stop()
            raise TimeoutError(f"{self.args} did not listen: {self.output()[-2000:]}") from exc
        return self

    def output(self) -> str:
        return Path(self.log.name).read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def kill(self) -> None:
        """Die as a crashed process would: no shutdown, no cleanup."""
        self.stop(signal.SIGKILL)


def sandbox(system: str, port: int | None = None) -> ServerProcess:
    port = port or free_port()
    return ServerProcess([Q2C, "sandbox", "serve", "--system", system, "--port", str(port)], port)


def gateway(config: Path, env: dict[str, str] | None = None) -> ServerProcess:
    port = free_port()
    return ServerProcess([Q2C, "serve", "--config", str(config), "--port", str(port)], port, env)


@contextlib.contextmanager
def running(*servers: ServerProcess) -> Iterator[tuple[ServerProcess, ...]]:
    started: list[ServerProcess] = []
    try:
        for server in servers:
            started.append(server.start())
        yield servers
    finally:
        for server in reversed(started):
            server.stop()


@contextlib.contextmanager
def running_together(*servers: ServerProcess) -> Iterator[tuple[ServerProcess, ...]]:
    """Like ``running``, but starts every server at the same time (they must not need
    each other to start); stops them all afterwards, or at once if one fails to start."""
    with ThreadPoolExecutor(max_workers=max(len(servers), 1)) as pool:
        futures = [pool.submit(server.start) for server in servers]
    try:
        for future in futures:
            future.result()
        yield servers
    finally:
        for server in reversed(servers):
            server.stop()


SANDBOX_ENV = {
    "E2E_SF_TOKEN": "00DSANDBOX!q2c-static-sandbox-token",
    "E2E_SAP_USER": "Q2C_GATEWAY",
    "E2E_SAP_PASSWORD": "sandbox",
}


E2E_CLIENT = "e2e-client"
E2E_SECRET = "e2e-secret-for-tests"


def config_for(
    path: Path,
    *,
    salesforce: str,
    sap: str,
    redis_prefix: str | None,
    extra: str = "",
    plan: str = "gold",
    database_url: str | None = None,
    redis_url: str | None = None,
    sap_options: str = "",
    sap_timeout_seconds: float = 5,
) -> Path:
    """A gateway configuration for real sandbox servers, with its own issuer key and a
    client-credentials client holding every scope. Without ``database_url`` the gateway
    keeps its records in the SQLite file under ``$Q2C_HOME``."""
    from policies.auth import hash_secret
    from policies.auth.scopes import ALL_SCOPES

    scopes = ", ".join(f'"{s}"' for s in sorted(ALL_SCOPES))
    auth = f"""
[auth.builtin_issuer]
key_file = "{path.parent / "issuer-key.pem"}"

[[auth.builtin_issuer.clients]]
client_id = "{E2E_CLIENT}"
secret_hash = "{hash_secret(E2E_SECRET)}"
tenant = "e2e"
plan = "{plan}"
scopes = [{scopes}]
"""
    redis_url = redis_url or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    redis = f'[redis]\nurl = "{redis_url}"\nprefix = "{redis_prefix}"\n' if redis_prefix else ""
    database = f'[database]\nurl = "{database_url}"\n' if database_url else ""
    path.write_text(
        f"""{redis}
{database}
{extra}
[systems.salesforce]
kind = "salesforce"
base_url = "{salesforce}"
access_token_env = "E2E_SF_TOKEN"

[systems.salesforce.upstream]
timeout_seconds = 5
max_retries = 1
backoff_seconds = 0.05

[systems.sap_s4hana]
kind = "sap_s4hana"
base_url = "{sap}"
user_env = "E2E_SAP_USER"
password_env = "E2E_SAP_PASSWORD"
{sap_options}

[systems.sap_s4hana.upstream]
timeout_seconds = {sap_timeout_seconds}
max_retries = 1
backoff_seconds = 0.05
{auth}
""",
        encoding="utf-8",
    )
    return path
