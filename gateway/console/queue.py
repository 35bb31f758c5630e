"""The exception queue's filters: GET parameters in, the store's ``ExceptionFilter`` out,
narrowed to the teams the signed-in user sees.

Filters are read leniently: a value that does not parse is reported next to its field
and ignored, so a hand-edited URL still shows a queue rather than an error page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from urllib.parse import urlencode

from contracts.v1.common import LEGAL_ENTITY_PATTERN
from domains.errors import FieldIssue
from domains.quote_to_cash.config import FlowPolicy
from domains.quote_to_cash.ports import ExceptionFilter
from domains.quote_to_cash.taxonomy import ERROR_CLASSES

# (value, label, seconds): "older than"; the first is no bound.
AGES: tuple[tuple[str, str, float | None], ...] = (
    ("", "Any age", None),
    ("1h", "Older than 1 hour", 3600.0),
    ("4h", "Older than 4 hours", 4 * 3600.0),
    ("1d", "Older than 1 day", 86400.0),
    ("3d", "Older than 3 days", 3 * 86400.0),
    ("7d", "Older than 7 days", 7 * 86400.0),
    ("30d", "Older than 30 days", 30 * 86400.0),
)
# (value, label, states); None: any state.
STATES: tuple[tuple[str, str, tuple[str, ...] | None], ...] = (
    ("active", "Open or assigned", ("open", "assigned")),
    ("open", "Open", ("open",)),
    ("assigned", "Assigned", ("assigned",)),
    ("resolved", "Resolved", ("resolved",)),
    ("dismissed", "Dismissed", ("dismissed",)),
    ("all", "Any state", None),
)
ACTIVE = ("open", "assigned")
_AMOUNT = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,4})?$")
_LEGAL_ENTITY = re.compile(LEGAL_ENTITY_PATTERN)
_TEAM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True, slots=True)
class QueueFilters:
    """What the queue page was asked to show (as given, once valid)."""

    error_class: str = ""
    team: str = ""
    state: str = "active"
    age: str = ""
    legal_entity: str = ""
    min_amount: str = ""
    max_amount: str = ""

    def query(self, **changes: str) -> str:
        """The query string of these filters (with ``changes``), defaults left out."""
        values = replace(self, **changes) if changes else self
        pairs = [
            ("class", values.error_class),
            ("team", values.team),
            ("state", "" if values.state == "active" else values.state),
            ("age", values.age),
            ("legal_entity", values.legal_entity),
            ("min_amount", values.min_amount),
            ("max_amount", values.max_amount),
        ]
        return urlencode([(k, v) for k, v in pairs if v])

    @property
    def narrowed(self) -> bool:
        return self != QueueFilters()


@dataclass(frozen=True, slots=True)
class TeamScope:
    """The teams a user's queue covers: ``None`` means every team (an admin)."""

    teams: tuple[str, ...] | None
    known: tuple[str, ...]  # the teams offered in the filter, in order

    def sees(self, team: str) -> bool:
        return self.teams is None or team in self.teams


def team_scope(role: str, teams: Iterable[str], policy: FlowPolicy) -> TeamScope:
    """An admin sees every team; anyone else the teams they belong to."""
    routed = sorted({*policy.routing.values(), policy.default_owner})
    if role == "admin":
        return TeamScope(None, tuple(routed))
    own = tuple(sorted(set(teams)))
    return TeamScope(own, own)


def parse_filters(
    params: Mapping[str, str], scope: TeamScope
) -> tuple[QueueFilters, list[FieldIssue]]:
    issues: list[FieldIssue] = []
    values: dict[str, str] = {}
    checks: tuple[tuple[str, str, Callable[[str], bool], str], ...] = (
        ("class", "error_class", lambda v: v in ERROR_CLASSES, "{raw} is not an error class."),
        ("team", "team", lambda v: bool(_TEAM.fullmatch(v)) and scope.sees(v),
         "You do not see team {raw}."),
        ("state", "state", lambda v: v in {s for s, _, _ in STATES}, "{raw} is not a state."),
        ("age", "age", lambda v: v in {a for a, _, _ in AGES}, "{raw} is not an age."),
        ("legal_entity", "legal_entity", lambda v: bool(_LEGAL_ENTITY.fullmatch(v.upper())),
         "A legal entity is upper case letters, digits and dashes (ACME-US)."),
        ("min_amount", "min_amount", lambda v: bool(_AMOUNT.fullmatch(v)),
         "Give an amount such as 1000 or 99.50."),
        ("max_amount", "max_amount", lambda v: bool(_AMOUNT.fullmatch(v)),
         "Give an amount such as 1000 or 99.50."),
    )  # fmt: skip
    for name, field, valid, message in checks:
        raw = params.get(name, "").strip()
        if not raw:
            continue
        if valid(raw):
            values[field] = raw.upper() if field == "legal_entity" else raw
        else:
            issues.append(FieldIssue(name, message.format(raw=raw[:40]), "invalid"))
    low, high = values.get("min_amount"), values.get("max_amount")
    if low and high and Decimal(low) > Decimal(high):
        issues.append(FieldIssue("max_amount", "The maximum is below the minimum.", "invalid"))
        values.pop("max_amount")
    return QueueFilters(**values), issues


def store_filter(filters: QueueFilters, scope: TeamScope, *, kind: str) -> ExceptionFilter:
    """The store's filter for what the user asked for, within the teams they see."""
    owners = (filters.team,) if filters.team else scope.teams
    states = next(s for v, _, s in STATES if v == filters.state)
    older = next(seconds for v, _, seconds in AGES if v == filters.age)
    return ExceptionFilter(
        kind=kind,
        error_class=filters.error_class or None,
        owners=owners,
        states=states,
        legal_entity=filters.legal_entity or None,
        older_than_seconds=older,
        min_amount=filters.min_amount or None,
        max_amount=filters.max_amount or None,
    )


def counts_filter(scope: TeamScope, *, kind: str = "exception") -> ExceptionFilter:
    """The live counts: open or assigned items per team the user sees."""
    return ExceptionFilter(kind=kind, owners=scope.teams, states=ACTIVE)
