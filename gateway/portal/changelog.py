"""The changelog: what changed between released documents, as the breaking-change
tool (``gateway.openapi_diff``, also behind ``q2c openapi diff``) classifies it.

The diff is passed in as a function of two documents returning its changes, so
tests can feed scripted ones. Rendering lives in ``pages_docs`` and only sees
``ChangelogEntry`` values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from gateway.openapi_diff import Change, diff
from gateway.portal.documents import OPENAPI_DIR

Diff = Callable[[dict[str, Any], dict[str, Any]], list[Change]]
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


def changelog_entry(major: str, old: Release, new: Release, changes: list[Change]
                    ) -> ChangelogEntry:
    """One entry from two documents and the diff tool's result for them."""
    breaking = tuple(_line(c) for c in changes if c.breaking)
    additions = tuple(_line(c) for c in changes if not c.breaking)
    return ChangelogEntry(major, old.label, new.label, breaking, additions)


def _line(change: Change) -> str:
    return f"{change.kind.replace('-', ' ')}: {change.path} ({change.detail})"


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
    """The repository's breaking-change tool."""
    return diff
