"""Dependencies point down only: the layers of README.md ("Layout" and "Layers"), checked
on the source as an allow-list.

Each package names what it MAY import besides the standard library: first-party packages
and third-party distributions. Anything else, a new library included, is a finding here
until someone decides which layer it belongs to and adds it.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

FIRST_PARTY = frozenset({"contracts", "domains", "policies", "systems", "sandboxes", "gateway"})

ALLOWED: dict[str, frozenset[str]] = {
    # Wire schemas only.
    "contracts": frozenset({"msgspec"}),
    # Business rules: no transport, no storage, no framework.
    "domains": frozenset({"contracts", "msgspec", "ulid"}),
    # Cross-cutting policies share the contracts (problem details) but know no domain.
    "policies": frozenset(
        {
            "contracts",
            "litestar",
            "msgspec",
            "httpx",
            "redis",
            "hiredis",  # the rate limiter's pipelined Redis connection
            "jwt",
            "cryptography",
            "argon2",  # people's passwords at the built-in issuer's sign-in form
            "opentelemetry",
            "prometheus_client",
        }
    ),
    # Vendor dialects implement domain ports: HTTP clients (aiohttp with its
    # multidict/yarl types), a retry library, and JOSE for the vendors' OAuth JWT
    # assertions (Salesforce JWT bearer, NetSuite machine-to-machine).
    "systems": frozenset(
        {
            "domains",
            "contracts",
            "msgspec",
            "httpx",
            "aiohttp",
            "multidict",
            "yarl",
            "tenacity",
            "jwt",
            "cryptography",
        }
    ),
    # Simulators know their vendor, not the gateway, its policies or its domains; they
    # verify the vendors' signed OAuth assertions with JOSE.
    "sandboxes": frozenset({"msgspec", "jwt", "cryptography"}),
    # The composition root and edge; ``sandboxes`` only in EMBEDDED (checked below).
    "gateway": frozenset(
        {
            "contracts",
            "domains",
            "policies",
            "systems",
            "sandboxes",
            "litestar",
            "msgspec",
            "httpx",
            "aiohttp",
            "redis",
            "granian",
            "opentelemetry",
            # The gateway's own records: SQLAlchemy Core and Alembic migrations.
            "sqlalchemy",
            "alembic",
            # Durable quote-to-cash workflows, in gateway/flow/ only (checked below).
            "dbos",
        }
    ),
}
EMBEDDED = Path("gateway/embedded.py")  # the gateway's one way to the simulators
FLOW = Path("gateway/flow")  # the only package that imports DBOS


def _imports(tree: ast.AST) -> Iterator[tuple[ast.stmt, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node, node.module.split(".")[0]


def _findings(package: str) -> list[str]:
    allowed = ALLOWED[package] | {package, "__future__"}
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT)
        for node, name in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if name in sys.stdlib_module_names or name in allowed:
                if name == "sandboxes" and package == "gateway" and relative != EMBEDDED:
                    found.append(f"{relative}:{node.lineno} imports sandboxes")
                if name == "dbos" and FLOW not in relative.parents:
                    found.append(f"{relative}:{node.lineno} imports dbos outside {FLOW}")
                continue
            found.append(f"{relative}:{node.lineno} imports {name}")
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_what_its_layer_allows(package: str) -> None:
    findings = _findings(package)
    assert not findings, "\n".join(findings)


def test_every_first_party_package_has_its_rules() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == FIRST_PARTY == set(ALLOWED)


def test_the_embedded_bridge_imports_the_simulators_lazily() -> None:
    """Only inside functions (or for type checking), so importing the gateway loads none."""
    tree = ast.parse((ROOT / EMBEDDED).read_text(encoding="utf-8"))
    eager = []
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            continue
        eager += [f"line {n.lineno}" for n, name in _imports(node) if name == "sandboxes"]
    assert not eager, f"{EMBEDDED} imports sandboxes at module level: {eager}"


def test_the_layer_rules_are_documented_where_this_module_says() -> None:
    text = README.read_text(encoding="utf-8")
    assert "## Layout" in text
    assert "## Layers" in text
