"""The changelog: what changed between released documents, classified by the
breaking-change tool (``gateway.openapi_doc``), plus the additions it does not list.

The diff is passed in as a function of two documents returning an iterable of
changes; a change is anything with a readable ``str()``, and one with a
``breaking`` attribute that is false counts as an addition. Rendering lives in
``pages_docs`` and only sees ``ChangelogEntry`` values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from gateway.portal.documents import METHODS, OPENAPI_DIR

Diff = Callable[[dict[str, Any], dict[str, Any]], Iterable[object]]
RELEASED_DIR = OPENAPI_DIR / "released"
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Release:
    major: str  # "v1"
    label: str  # info.version, e.g. "1.2.0"
    document: dict[str, Any]


@dataclass(frozen=True)
class ChangelogEntry:
    major: str
    from_label: str
    to_label: str
    breaking: tuple[str, ...]
    additions: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.breaking or self.additions)


def changelog_entry(major: str, old: Release, new: Release, changes: Iterable[object]
                    ) -> ChangelogEntry:
    """One entry from two documents and the diff tool's result for them."""
    breaking, additions = [], []
    for change in changes:
        text = str(getattr(change, "message", None) or change)
        if getattr(change, "breaking", True):
            breaking.append(text)
        else:
            additions.append(text)
    for addition in additions_between(old.document, new.document):
        if addition not in additions:
            additions.append(addition)
    return ChangelogEntry(major, old.label, new.label, tuple(breaking), tuple(additions))


def additions_between(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Non-breaking additions: new operations, responses and optional members."""
    found = []
    old_ops, new_ops = _operations(old), _operations(new)
    for key, op in new_ops.items():
        method, path = key
        if key not in old_ops:
            found.append(f"operation added: {method.upper()} {path} ({op.get('operationId')})")
            continue
        for status in op.get("responses", {}):
            if status not in old_ops[key].get("responses", {}):
                found.append(f"{method.upper()} {path}: response {status} added")
    old_schemas = old.get("components", {}).get("schemas", {})
    for name, schema in new.get("components", {}).get("schemas", {}).items():
        before = old_schemas.get(name)
        if before is None:
            continue
        required = set(schema.get("required", []))
        for member in schema.get("properties", {}):
            if member not in before.get("properties", {}) and member not in required:
                found.append(f"schema {name}: optional member {member} added")
    return found


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): op
        for path, item in document.get("paths", {}).items()
        for method, op in item.items()
        if method in METHODS and isinstance(op, dict)
    }


def _semver(label: str) -> tuple[int, int, int]:
    match = _SEMVER.match(label)
    return (int(match[1]), int(match[2]), int(match[3])) if match else (0, 0, 0)


def load_releases(directory: Path = RELEASED_DIR) -> dict[str, list[Release]]:
    """major -> its released documents, oldest first (any *.json below ``directory``)."""
    found: dict[str, list[Release]] = {}
    if not directory.is_dir():
        return found
    for path in sorted(directory.rglob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        label = str(document.get("info", {}).get("version", ""))
        if not _SEMVER.match(label):
            continue
        major = f"v{_semver(label)[0]}"
        found.setdefault(major, []).append(Release(major, label, document))
    for releases in found.values():
        releases.sort(key=lambda r: _semver(r.label))
    return found


def build_changelog(current: dict[str, dict[str, Any]], releases: dict[str, list[Release]],
                    diff: Diff) -> list[ChangelogEntry]:
    """Newest first: the committed document against its last release (unreleased
    changes), then each release against the one before it."""
    entries = []
    for major in sorted(set(current) | set(releases), key=lambda v: -int(v[1:])):
        history = releases.get(major, [])
        if major in current and history:
            head = Release(major, "unreleased", current[major])
            entry = changelog_entry(major, history[-1], head,
                                    diff(history[-1].document, head.document))
            if not entry.empty:
                entries.append(entry)
        for older, newer in reversed(list(pairwise(history))):
            entries.append(changelog_entry(major, older, newer,
                                           diff(older.document, newer.document)))
    return entries


def default_diff() -> Diff:
    """The repository's breaking-change tool (imported late: it builds the app)."""
    from gateway import openapi_doc

    return openapi_doc.breaking_changes
