"""``q2c``: run the gateway and its sandboxes, and manage the OpenAPI contracts."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _serve(target: str, host: str, port: int, workers: int, log_level: str = "warning") -> None:
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    Granian(
        target,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        log_level=LogLevels(log_level),
        log_access=False,
    ).serve()


def cmd_serve(args: argparse.Namespace) -> int:
    from gateway.settings import load_settings

    if args.config:
        os.environ["Q2C_CONFIG"] = str(Path(args.config).resolve())
    settings = load_settings()
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    workers = args.workers or settings.server.workers
    if workers > 1 and (settings.redis is None or settings.database is None or settings.embedded):
        print(
            "q2c serve: several workers need shared state: configure [database], [redis] "
            "and real systems (embedded sandboxes, the SQLite file and in-process caches "
            "serve one process).",
            file=sys.stderr,
        )
        return 2
    if not _database_ready(settings, "q2c serve"):
        return 2
    os.environ["Q2C_LISTEN"] = f"{host}:{port}"
    if workers > 1 and settings.paging.cursor_key_env is None:
        from gateway.settings import MULTI_PROCESS_CURSOR_KEY

        print(f"q2c serve: {MULTI_PROCESS_CURSOR_KEY}", file=sys.stderr)
        return 2
    base = f"http://{host}:{port}"
    mode = "embedded sandboxes" if settings.embedded else "configured systems"
    store = "SQLite file" if settings.database is None else "configured database"
    mode = f"{mode}, {store}"
    lines = [
        f"Q2C Gateway on {base} ({mode}, {workers} worker(s))",
        f"  API      {base}/v1/products",
        f"  schema   {base}/schema/openapi.json  (docs: {base}/schema)",
        f"  health   {base}/health/live  {base}/health/ready",
    ]
    if settings.portal.enabled:
        lines.append(f"  portal   {base}/portal")
    if settings.console.enabled:
        issuer = settings.auth.builtin_issuer
        demo_users = {u.username for u in issuer.users} if issuer is not None else set()
        demo = "  (demo sign-in: priya / pricing-demo)" if "priya" in demo_users else ""
        lines.append(f"  console  {base}/console{demo}")
    print("\n".join(lines), flush=True)
    _serve("gateway.asgi:create", host, port, workers, settings.log_level)
    return 0


def _database_ready(settings: Any, command: str) -> bool:
    """Bring the embedded SQLite file to the current schema, or check that a configured
    database is there already; say what to do when it is not."""
    from gateway.stores.sql import migrate

    url = settings.database_url()
    try:
        if settings.database is None:
            migrate.upgrade(url)
        else:
            migrate.require_current(url)
    except migrate.SchemaBehind as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return False
    except Exception as exc:  # cannot connect, bad URL: say which database
        print(f"{command}: database {_safe_url(url)} is not usable: {exc}", file=sys.stderr)
        return False
    return True


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_db(args: argparse.Namespace) -> int:
    """``q2c db upgrade``: migrate the configured database (or the embedded file)."""
    from gateway.settings import load_settings
    from gateway.stores.sql import migrate

    if args.config:
        os.environ["Q2C_CONFIG"] = str(Path(args.config).resolve())
    settings = load_settings()
    url = settings.database_url()
    if args.action == "current":
        print(migrate.revision_of(url) or "empty", f"(head: {migrate.head()})")
        return 0
    try:
        revision = migrate.upgrade(url, args.revision)
    except Exception as exc:
        print(f"q2c db upgrade: {_safe_url(url)}: {exc}", file=sys.stderr)
        return 1
    print(f"{_safe_url(url)} is at {revision}")
    if settings.flow.enabled and settings.database is not None and url.startswith("postgres"):
        from gateway.flow.engine import migrate_system_database
        from gateway.flow.settings import system_database_url
        from gateway.stores.sql.config import home_folder

        migrate_system_database(system_database_url(url, True, home_folder()))
        print(f"{_safe_url(url)}: DBOS system tables (schema dbos) are current")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Mint a token with the built-in issuer's key (the one the local gateway verifies)."""
    from gateway.settings import load_settings
    from policies.auth import mint_local_token
    from policies.auth.scopes import ALL_SCOPES

    if args.config:
        os.environ["Q2C_CONFIG"] = str(Path(args.config).resolve())
    settings = load_settings()
    scopes = args.scopes.replace(",", " ").split() if args.scopes else sorted(ALL_SCOPES)
    try:
        token = mint_local_token(
            settings.auth,
            client_id=args.client,
            scopes=scopes,
            tenant=args.tenant,
            ttl_seconds=args.ttl,
        )
    except ValueError as exc:
        print(f"q2c token: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


def cmd_auth(args: argparse.Namespace) -> int:
    """``q2c auth hash-password``: the argon2id PHC string of a password read from stdin
    (the first line), for ``[[auth.builtin_issuer.users]] password_hash``."""
    from policies.auth.passwords import hash_password

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("q2c auth hash-password: the passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        print(hash_password(password))
    except ValueError as exc:
        print(f"q2c auth hash-password: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_governance(args: argparse.Namespace) -> int:
    """Print the governance report of a running gateway (its metrics live in that process)."""
    import httpx

    from policies.metrics import render_text
    from policies.metrics.report import GovernanceReport

    token = args.token or os.environ.get("Q2C_TOKEN")
    if not token:
        print(
            "q2c governance report: pass --token (scope ops:read for your tenant, ops:admin "
            "for every tenant) or set Q2C_TOKEN; "
            "`q2c token --scopes ops:read` mints one for a local gateway",
            file=sys.stderr,
        )
        return 2
    try:
        response = httpx.get(
            f"{args.url.rstrip('/')}/v1/ops/governance",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        print(f"q2c governance report: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(
            f"q2c governance report: HTTP {response.status_code}: {response.text[:500]}",
            file=sys.stderr,
        )
        return 1
    if args.json:
        print(response.text)
    else:
        import msgspec

        print(render_text(msgspec.json.decode(response.content, type=GovernanceReport)))
    return 0


def cmd_audit_export(args: argparse.Namespace) -> int:
    """Write audit entries as JSON lines, straight from the shared store."""
    import asyncio
    from datetime import datetime

    from gateway.settings import load_settings
    from policies.audit import export_jsonl

    if args.config:
        os.environ["Q2C_CONFIG"] = str(Path(args.config).resolve())
    settings = load_settings()

    def when(text: str | None) -> datetime | None:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None

    async def run() -> int:
        from gateway.stores.sql.audit import SqlAuditStore
        from gateway.stores.sql.engine import Database

        database = Database(settings.database_url(), settings.database)
        try:
            store = SqlAuditStore(database)
            return await export_jsonl(
                store,
                sys.stdout,
                tenant=args.tenant,
                since=when(args.since),
                until=when(args.until),
            )
        finally:
            await database.dispose()

    if not _database_ready(settings, "q2c audit export"):
        return 2
    count = asyncio.run(run())
    print(f"exported {count} audit entries", file=sys.stderr)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run quote-to-cash transactions (no HTTP API) against the configured database."""
    from gateway.flow.worker import main as worker_main
    from gateway.settings import load_settings

    if args.config:
        os.environ["Q2C_CONFIG"] = str(Path(args.config).resolve())
    return worker_main(load_settings())


def cmd_dlq(args: argparse.Namespace) -> int:
    """List or replay dead-lettered transactions in the shared database."""
    import asyncio

    from gateway.flow import dlq
    from gateway.settings import load_settings

    if args.config:
        os.environ["Q2C_CONFIG"] = str(Path(args.config).resolve())
    settings = load_settings()
    if args.action == "list":
        return asyncio.run(dlq.list_dead_letters(settings, args.tenant, args.all))
    if not args.id:
        print("q2c dlq replay needs the dead letter's id (exc_...)", file=sys.stderr)
        return 2
    return asyncio.run(dlq.replay(settings, args.tenant, args.id))


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Serve one simulator; print where it listens and the credentials it accepts."""
    from gateway import embedded

    served = embedded.standalone(args.system, f"http://{args.host}:{args.port}")
    print(served.banner, flush=True)
    _serve(served.target, args.host, args.port, 1)
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from gateway import openapi_doc

    if args.action == "export":
        for path in openapi_doc.export():
            print(f"wrote {path}")
        return 0
    if args.action == "check":
        return _openapi_check(openapi_doc)
    return _openapi_diff(args)


def _openapi_check(openapi_doc: Any) -> int:
    """Current with the code, and no breaking change against the released copies."""
    stale = openapi_doc.stale()
    for version, diff in stale.items():
        print(f"openapi/{version}.json is stale; run `q2c openapi export`:\n{diff[:4000]}")
    from gateway.openapi_diff import render_text

    incompatible = openapi_doc.incompatible()
    for version, changes in incompatible.items():
        print(
            f"openapi/{version}.json breaks openapi/released/{version}.json (same major "
            f"version); keep the change compatible or release a new major version:\n"
            + render_text(changes)
        )
    if not stale and not incompatible:
        print("openapi documents are current and compatible with their released copies")
    return 1 if stale or incompatible else 0


def _openapi_diff(args: argparse.Namespace) -> int:
    """Classify the changes OLD -> NEW; exit 1 when any breaks a client."""
    import msgspec

    from gateway import openapi_doc
    from gateway.openapi_diff import breaking, diff, render_text

    old_file = args.old or args.against
    if old_file is None:
        print("q2c openapi diff needs OLD (and NEW) documents", file=sys.stderr)
        return 2
    try:
        old = json.loads(Path(old_file).read_text(encoding="utf-8"))
        new = (
            json.loads(Path(args.new).read_text(encoding="utf-8"))
            if args.new
            else openapi_doc.generate(args.version)
        )
    except (OSError, ValueError) as exc:
        print(f"q2c openapi diff: {exc}", file=sys.stderr)
        return 2
    changes = diff(old, new)
    if args.json:
        print(msgspec.json.encode(changes).decode())
    else:
        print(render_text(changes))
    return 1 if breaking(changes) else 0


def build_parser() -> argparse.ArgumentParser:
    from gateway import embedded

    parser = argparse.ArgumentParser(prog="q2c", description="Q2C Gateway")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", help="TOML file (default: $Q2C_CONFIG or embedded)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(func=cmd_serve)

    token = sub.add_parser("token", help="mint a sandbox JWT (prints only the token)")
    token.add_argument("--config", help="TOML file (default: $Q2C_CONFIG or embedded)")
    token.add_argument("--client", default="sandbox-client")
    token.add_argument("--scopes", help="space- or comma-separated (default: every scope)")
    token.add_argument("--tenant", default="sandbox")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    token.set_defaults(func=cmd_token)

    auth = sub.add_parser("auth", help="the built-in issuer's users")
    auth_sub = auth.add_subparsers(dest="action", required=True)
    auth_sub.add_parser("hash-password",
                        help="print the argon2id hash of a password read from stdin")
    auth.set_defaults(func=cmd_auth)

    governance = sub.add_parser("governance", help="API governance from live metrics")
    governance_sub = governance.add_subparsers(dest="action", required=True)
    report = governance_sub.add_parser("report", help="print a running gateway's report")
    report.add_argument("--url", default="http://127.0.0.1:8080")
    report.add_argument(
        "--token",
        help="bearer token with ops:read: its tenant's report; with ops:admin too, every "
        "tenant's (default $Q2C_TOKEN)",
    )
    report.add_argument("--json", action="store_true", help="print the JSON document")
    report.set_defaults(func=cmd_governance)

    audit = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(dest="action", required=True)
    export = audit_sub.add_parser("export", help="write audit entries as JSON lines")
    export.add_argument("--config", help="TOML file (default: $Q2C_CONFIG)")
    export.add_argument("--tenant", help="only this tenant's entries")
    export.add_argument("--since", help="RFC 3339 start (inclusive)")
    export.add_argument("--until", help="RFC 3339 end (exclusive)")
    export.set_defaults(func=cmd_audit_export)

    worker = sub.add_parser("worker", help="run quote-to-cash transactions (no HTTP API)")
    worker.add_argument("--config", help="TOML file (default: $Q2C_CONFIG)")
    worker.set_defaults(func=cmd_worker)

    dlq = sub.add_parser("dlq", help="dead-lettered transactions")
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("id", nargs="?", help="the dead letter to replay (exc_...)")
    dlq.add_argument("--config", help="TOML file (default: $Q2C_CONFIG)")
    dlq.add_argument("--tenant", default="sandbox")
    dlq.add_argument("--all", action="store_true", help="list replayed ones too")
    dlq.set_defaults(func=cmd_dlq)

    db = sub.add_parser("db", help="the gateway's own database")
    db_sub = db.add_subparsers(dest="action", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply the schema migrations")
    upgrade.add_argument("--config", help="TOML file (default: $Q2C_CONFIG or embedded)")
    upgrade.add_argument("--revision", default="head", help="target revision (default head)")
    upgrade.set_defaults(func=cmd_db)
    current = db_sub.add_parser("current", help="print the schema revision")
    current.add_argument("--config", help="TOML file (default: $Q2C_CONFIG or embedded)")
    current.set_defaults(func=cmd_db)

    sandbox = sub.add_parser("sandbox", help="run a system-of-record simulator")
    sandbox_sub = sandbox.add_subparsers(dest="action", required=True)
    sandbox_serve = sandbox_sub.add_parser("serve")
    sandbox_serve.add_argument("--system", choices=embedded.standalone_names(), required=True)
    sandbox_serve.add_argument("--host", default="127.0.0.1")
    sandbox_serve.add_argument("--port", type=int, required=True)
    sandbox_serve.set_defaults(func=cmd_sandbox)

    openapi = sub.add_parser("openapi", help="export, check or diff the OpenAPI documents")
    openapi_sub = openapi.add_subparsers(dest="action", required=True)
    openapi_sub.add_parser("export", help="write openapi/vN.json from the code")
    openapi_sub.add_parser(
        "check", help="fail when a committed document is stale or breaks its released copy"
    )
    openapi_diff = openapi_sub.add_parser(
        "diff", help="classify the changes OLD -> NEW (exit 1 on a breaking change)"
    )
    openapi_diff.add_argument("old", nargs="?", help="the earlier document (JSON)")
    openapi_diff.add_argument("new", nargs="?", help="the later document (default: the code's)")
    openapi_diff.add_argument("--against", help="same as OLD (older spelling)")
    openapi_diff.add_argument("--version", default="v1", help="version of the code's document")
    openapi_diff.add_argument("--json", action="store_true", help="print the changes as JSON")
    openapi.set_defaults(func=cmd_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
