"""SOQL against the sandbox org: binds a parsed query (:mod:`.soql`) to the schema and
evaluates it (filters, relationships, sub-queries, ordering, paging)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandboxes.salesforce import soql
from sandboxes.salesforce.org import (
    Org,
    Record,
)
from sandboxes.salesforce.schema import (
    DECIMAL_TYPES,
    MAX_SOQL_OFFSET,
    SCHEMA,
    SCHEMA_BY_LOWER,
    SOAP_TYPES,
    STRING_TYPES,
    ChildRelationship,
    FieldSpec,
    SObjectType,
    format_datetime,
    normalize_id,
    to_json,
)

# =============================================================== query engine


def _relationship_error(part: str, position: int) -> soql.SoqlError:
    return soql.SoqlError(
        "INVALID_FIELD",
        f"Didn't understand relationship '{part}' in field path. If you are attempting to use "
        "a custom relationship, be sure to append the '__r' after the custom relationship "
        "name. Please reference your WSDL or the describe call for the appropriate names.",
        position,
    )


def no_such_column(name: str, sobject: str, position: int) -> soql.SoqlError:
    return soql.SoqlError(
        "INVALID_FIELD",
        f"No such column '{name}' on entity '{sobject}'. If you are attempting to use a "
        "custom field, be sure to append the '__c' after the custom field name. Please "
        "reference your WSDL or the describe call for the appropriate names.",
        position,
    )


@dataclass(frozen=True, slots=True)
class _Path:
    hops: tuple[FieldSpec, ...]  # lookup fields walked, root first
    field: FieldSpec
    owner: SObjectType  # the object that holds ``field``


@dataclass(slots=True)
class _Projection:
    obj: SObjectType
    columns: list[tuple[str, Any]] = field(default_factory=list)
    # ("field", FieldSpec) | ("parent", (FieldSpec, _Projection)) | ("children", _BoundQuery)

    def parent(self, lookup: FieldSpec, target: SObjectType) -> _Projection:
        for kind, payload in self.columns:
            if kind == "parent" and payload[0].name == lookup.name:
                sub: _Projection = payload[1]
                return sub
        sub = _Projection(target)
        self.columns.append(("parent", (lookup, sub)))
        return sub

    def add_field(self, f: FieldSpec) -> None:
        if not any(kind == "field" and payload.name == f.name for kind, payload in self.columns):
            self.columns.append(("field", f))


Predicate = Callable[[Record], bool]


@dataclass(slots=True)
class _BoundQuery:
    obj: SObjectType
    projection: _Projection
    predicate: Predicate | None
    order: list[tuple[_Path, bool, bool]]
    limit: int | None
    offset: int | None
    count_only: bool = False
    aggregates: list[tuple[str, _Path | None]] = field(default_factory=list)
    relationship: ChildRelationship | None = None
    seek: tuple[FieldSpec, list[str]] | None = None  # indexed equality test from WHERE


class QueryEngine:
    def __init__(self, org: Org, version: str) -> None:
        self.org = org
        self.store = org.store
        self.version = version

    # ----------------------------------------------------------------- binding
    def bind(self, query: soql.Query) -> _BoundQuery:
        obj = SCHEMA_BY_LOWER.get(query.sobject.casefold())
        if obj is None:
            raise soql.SoqlError(
                "INVALID_TYPE",
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use "
                "a custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
                query.sobject_pos,
            )
        return self._bind_on(obj, query, None)

    def _bind_on(
        self, obj: SObjectType, query: soql.Query, relationship: ChildRelationship | None
    ) -> _BoundQuery:
        projection = _Projection(obj)
        bound = _BoundQuery(obj, projection, None, [], query.limit, query.offset)
        bound.relationship = relationship
        for index, item in enumerate(query.select):
            if isinstance(item, soql.FieldPath):
                self._project(projection, self.resolve(obj, item))
            elif isinstance(item, soql.CountExpr):
                if item.field is None:
                    bound.count_only = True
                else:
                    bound.aggregates.append(
                        (item.alias or f"expr{index}", self.resolve(obj, item.field))
                    )
            else:
                sub = item.query
                rel = obj.children.get(sub.sobject.casefold())
                if rel is None:
                    raise soql.SoqlError(
                        "INVALID_TYPE",
                        f"Didn't understand relationship '{sub.sobject}' in FROM part of query "
                        "call. If you are attempting to use a custom relationship, be sure to "
                        "append the '__r' after the custom relationship name. Please reference "
                        "your WSDL or the describe call for the appropriate names.",
                        sub.sobject_pos,
                    )
                projection.columns.append(
                    ("children", self._bind_on(SCHEMA[rel.child], sub, rel))
                )
        if query.where is not None:
            bound.predicate = self._condition(obj, query.where)
            bound.seek = self._seek(obj, query.where)
        bound.order = [
            (self.resolve(obj, item.field), item.descending, item.nulls_last)
            for item in query.order_by
        ]
        if query.offset is not None and query.offset > MAX_SOQL_OFFSET:
            # The wording of current API versions (older ones omit "for apiName ...").
            raise soql.SoqlError(
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"Maximum SOQL offset allowed for apiName {obj.name} is {MAX_SOQL_OFFSET}",
            )
        return bound

    def resolve(self, obj: SObjectType, path: soql.FieldPath) -> _Path:
        hops: list[FieldSpec] = []
        current = obj
        parts = list(path.parts)
        if len(parts) > 1 and parts[0].casefold() == obj.name.casefold() and (
            parts[1].casefold() in obj.fields or parts[1].casefold() in obj.parents
        ):
            parts = parts[1:]  # "Account.Name" on Account: the object-name prefix
        for part in parts[:-1]:
            lookup = current.parents.get(part.casefold())
            if lookup is None:
                raise _relationship_error(part, path.pos)
            hops.append(lookup)
            current = SCHEMA[lookup.reference_to or ""]
        target = current.field(parts[-1])
        if target is None:
            raise no_such_column(path.text if hops else parts[-1], current.name, path.pos)
        return _Path(tuple(hops), target, current)

    def _project(self, projection: _Projection, path: _Path) -> None:
        current = projection
        for hop in path.hops:
            current = current.parent(hop, SCHEMA[hop.reference_to or ""])
        current.add_field(path.field)

    def _seek(
        self, obj: SObjectType, condition: soql.Condition
    ) -> tuple[FieldSpec, list[str]] | None:
        """An indexed ``field = / IN`` test the filter is (or is ANDed with), if any.

        Id, external id and lookup fields are indexed, so such queries (a record by
        id, accounts by Q2C_Id__c, the lines of one quote) do not scan the table.
        """
        terms: tuple[soql.Condition, ...] = (condition,)
        if isinstance(condition, soql.BoolExpr) and condition.op == "AND":
            terms = condition.items
        for term in terms:
            if not (
                isinstance(term, soql.Comparison)
                and term.op in ("=", "IN")
                and len(term.field.parts) == 1
            ):
                continue
            f = obj.field(term.field.parts[0])
            if f is None or not (f.type in ("id", "reference") or f.external_id):
                continue
            literals = term.value if isinstance(term.value, tuple) else (term.value,)
            if any(lit.kind != "string" for lit in literals):
                continue  # "= null" is not indexed
            values = [str(lit.value) for lit in literals]
            if f.type in ("id", "reference"):
                values = [i for i in map(normalize_id, values) if i is not None]
            return f, values
        return None

    # -------------------------------------------------------------- predicates
    def value(self, record: Record, path: _Path) -> Any:
        current: Record | None = record
        for hop in path.hops:
            assert current is not None
            current = self.store.get(hop.reference_to or "", current[hop.name])
            if current is None:
                return None
        assert current is not None
        return current[path.field.name]

    def _condition(self, obj: SObjectType, condition: soql.Condition) -> Predicate:
        if isinstance(condition, soql.BoolExpr):
            parts = [self._condition(obj, item) for item in condition.items]
            if condition.op == "AND":
                return lambda record: all(p(record) for p in parts)
            return lambda record: any(p(record) for p in parts)
        if isinstance(condition, soql.NotExpr):
            inner = self._condition(obj, condition.item)
            return lambda record: not inner(record)
        return self._comparison(obj, condition)

    def _comparison(self, obj: SObjectType, comparison: soql.Comparison) -> Predicate:
        path = self.resolve(obj, comparison.field)
        f = path.field
        op = comparison.op
        literals = comparison.value if isinstance(comparison.value, tuple) else (comparison.value,)
        operands = [self._operand(f, comparison.field, literal, op) for literal in literals]
        if op == "LIKE":
            if f.type not in STRING_TYPES:
                raise soql.SoqlError(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"invalid operator on {SOAP_TYPES[f.type]} field: {comparison.field.text}",
                    literals[0].pos,
                )
            literal = literals[0]
            if literal.kind != "string":
                raise soql.SoqlError(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"value of filter criterion for field '{comparison.field.text}' must be of "
                    "type string and should be enclosed in quotes",
                    literal.pos,
                )
            pattern = soql.like_to_regex(literal.raw)
            return lambda record: (
                (value := self.value(record, path)) is not None
                and pattern.fullmatch(value) is not None
            )
        if op in ("IN", "NOT IN"):
            keys = {operand for operand in operands if not isinstance(operand, tuple)}
            ranges = [operand for operand in operands if isinstance(operand, tuple)]

            def member(record: Record) -> bool:
                key = self._key(f, self.value(record, path))
                return key in keys or any(lo <= key < hi for lo, hi in ranges if key is not None)

            if op == "IN":
                return member
            return lambda record: not member(record)
        operand = operands[0]
        if operand is None and op not in ("=", "!="):
            raise soql.SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on null value for field: {comparison.field.text}",
                literals[0].pos,
            )
        # Ids order by their base-62 value, so < > <= >= work on them (the documented
        # PK-chunking pattern ``Id >= '001...' AND Id < '001...'``); booleans only compare
        # for equality.
        if f.type == "boolean" and op not in ("=", "!="):
            raise soql.SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on {SOAP_TYPES[f.type]} field: {comparison.field.text}",
                literals[0].pos,
            )
        if isinstance(operand, tuple):  # relative date range [lo, hi)
            lo, hi = operand
            range_tests: dict[str, Callable[[Any], bool]] = {
                "=": lambda k: lo <= k < hi, "!=": lambda k: not lo <= k < hi,
                "<": lambda k: k < lo, "<=": lambda k: k < hi,
                ">": lambda k: k >= hi, ">=": lambda k: k >= lo,
            }  # fmt: skip
            in_range = range_tests[op]
            return lambda record: (
                (key := self._key(f, self.value(record, path))) is not None and in_range(key)
            )
        tests: dict[str, Callable[[Any], bool]] = {
            "=": lambda k: k == operand, "!=": lambda k: k != operand,
            "<": lambda k: k is not None and k < operand,
            "<=": lambda k: k is not None and k <= operand,
            ">": lambda k: k is not None and k > operand,
            ">=": lambda k: k is not None and k >= operand,
        }  # fmt: skip
        test = tests[op]
        return lambda record: test(self._key(f, self.value(record, path)))

    @staticmethod
    def _key(f: FieldSpec, value: Any) -> Any:
        if value is None:
            return None
        if f.type in STRING_TYPES:
            return str(value).casefold()
        return value

    def _operand(self, f: FieldSpec, path: soql.FieldPath, literal: soql.Literal, op: str) -> Any:
        """The comparable key for a literal, type-checked against the field."""
        if literal.kind == "null":
            return None
        soap = SOAP_TYPES[f.type]
        quoted = f.type in STRING_TYPES or f.type in ("id", "reference")

        def mismatch() -> soql.SoqlError:
            how = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
            return soql.SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"value of filter criterion for field '{path.text}' must be of type {soap} "
                f"and {how}",
                literal.pos,
            )

        if f.type in ("id", "reference"):
            if literal.kind != "string":
                raise mismatch()
            canonical = normalize_id(str(literal.value))
            if canonical is None:
                raise soql.SoqlError(
                    "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {literal.value}",
                    literal.pos,
                )  # fmt: skip
            return canonical
        if f.type in STRING_TYPES:
            if literal.kind != "string":
                raise mismatch()
            return str(literal.value).casefold()
        if f.type == "boolean":
            if literal.kind != "boolean":
                raise mismatch()
            return literal.value
        if f.type in DECIMAL_TYPES or f.type == "int":
            if literal.kind != "number":
                raise mismatch()
            return literal.value
        if literal.kind == "relative_date":
            today = self.org.clock().astimezone(UTC).date()
            shift = {"TODAY": 0, "YESTERDAY": -1, "TOMORROW": 1}[str(literal.value)]
            start = today + timedelta(days=shift)
            if f.type == "date":
                return (start.isoformat(), (start + timedelta(days=1)).isoformat())
            lo = datetime(start.year, start.month, start.day, tzinfo=UTC)
            return (format_datetime(lo), format_datetime(lo + timedelta(days=1)))
        if f.type == "date":
            if literal.kind != "date":
                raise mismatch()
            try:
                date.fromisoformat(str(literal.value))
            except ValueError:
                raise mismatch() from None
            return literal.value
        if literal.kind != "datetime":
            raise mismatch()
        text = str(literal.value).replace("Z", "+00:00")
        if re.search(r"[+-]\d{4}$", text):
            text = text[:-2] + ":" + text[-2:]
        try:
            return format_datetime(datetime.fromisoformat(text))
        except ValueError:
            raise mismatch() from None

    # --------------------------------------------------------------- execution
    def execute(self, bound: _BoundQuery, parent_id: str | None = None) -> list[Record]:
        """Matching stored records in result order (before projection)."""
        if bound.relationship is not None and parent_id is not None:
            candidates: Iterable[Record] = self.store.children(
                bound.obj.name, bound.relationship.field.name, parent_id
            )
        elif bound.seek is not None:
            candidates = self._sought(bound.obj, *bound.seek)
        else:
            candidates = self.store.tables[bound.obj.name].values()
        predicate = bound.predicate
        rows = [r for r in candidates if predicate is None or predicate(r)]
        for path, descending, nulls_last in reversed(bound.order):
            null_rank = 1 if nulls_last != descending else 0
            rows.sort(
                key=lambda r, p=path, n=null_rank: (  # type: ignore[misc]
                    (n, None) if (v := self._key(p.field, self.value(r, p))) is None else (1 - n, v)
                ),
                reverse=descending,
            )
        start = bound.offset or 0
        end = None if bound.limit is None else start + bound.limit
        return rows[start:end]

    def _sought(self, obj: SObjectType, f: FieldSpec, values: list[str]) -> list[Record]:
        found: dict[str, Record] = {}
        for value in dict.fromkeys(values):
            if f.type == "id":
                record = self.store.get(obj.name, value)
                matches = [record] if record is not None else []
            elif f.type == "reference":
                matches = self.store.children(obj.name, f.name, value)
            else:
                matches = self.store.by_external_id(obj.name, f.name, value)
            for record in matches:
                found[record["Id"]] = record
        # Ids are minted in ascending base62 order, so this is creation order, as a scan gives.
        return sorted(found.values(), key=lambda r: str(r["Id"]))

    def render(self, record: Record, projection: _Projection) -> dict[str, Any]:
        obj = projection.obj
        out: dict[str, Any] = {
            "attributes": {
                "type": obj.name,
                "url": f"/services/data/v{self.version}/sobjects/{obj.name}/{record['Id']}",
            }
        }
        for kind, payload in projection.columns:
            if kind == "field":
                out[payload.name] = to_json(payload, record[payload.name])
            elif kind == "parent":
                lookup, sub = payload
                parent = self.store.get(sub.obj.name, record[lookup.name])
                out[lookup.relationship] = None if parent is None else self.render(parent, sub)
            else:
                child_query: _BoundQuery = payload
                assert child_query.relationship is not None
                children = self.execute(child_query, record["Id"])
                out[child_query.relationship.name] = (
                    {
                        "totalSize": len(children),
                        "done": True,
                        "records": [self.render(c, child_query.projection) for c in children],
                    }
                    if children
                    else None
                )
        return out

    def run(self, text: str, batch: int) -> tuple[int, list[dict[str, Any]]]:
        """(totalSize, rendered records) for a SOQL query answered in ``batch``-sized pages."""
        bound = self.bind(soql.parse(text))
        rows = self.execute(bound)
        if bound.offset is not None:
            # OFFSET opens no server-side cursor: such a query answers its first batch
            # only (done, no nextRecordsUrl); the caller re-queries with a higher offset.
            rows = rows[:batch]
        if bound.count_only:
            return len(rows), []
        if bound.aggregates:
            aggregate: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
            for alias, path in bound.aggregates:
                assert path is not None
                aggregate[alias] = sum(1 for r in rows if self.value(r, path) is not None)
            return 1, [aggregate]
        return len(rows), [self.render(r, bound.projection) for r in rows]
