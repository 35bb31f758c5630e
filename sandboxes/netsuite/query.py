"""The two query languages of the NetSuite sandbox: record-collection ``q`` filters and SuiteQL.

* ``q`` on ``GET /services/rest/record/v1/{type}`` ("Record Collection Filtering"): conditions
  ``field OPERATOR value`` joined with ``AND`` / ``OR`` and grouped with parentheses, e.g.
  ``externalId IS "CRM-42"``, ``companyName START_WITH Fab``, ``id ANY_OF [1001, 1002]``,
  ``companyName EMPTY``, ``id BETWEEN [1000, 1010]``. Operators depend on the field type
  (string, boolean, number, date, select) as in the documented table; string matching is
  case-insensitive like N/query.
* SuiteQL on ``POST /services/rest/query/v1/suiteql``: the subset
  ``SELECT [DISTINCT] cols | * FROM table [alias] [WHERE cond] [ORDER BY col [ASC|DESC], ...]``
  where ``cond`` combines ``=, <>, !=, <, <=, >, >=, [NOT] LIKE, [NOT] IN (...),
  [NOT] BETWEEN .. AND .., IS [NOT] NULL`` with ``AND`` / ``OR`` / ``NOT`` and parentheses.
  Values come back as strings with lower-case column names, null columns left out, the way
  SuiteQL answers over REST. Oracle semantics: ``=`` and ``LIKE`` are case-sensitive.

Both parsers raise :class:`QueryError`; the sandbox turns it into NetSuite's 400 body.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

__all__ = [
    "Column",
    "ColumnKind",
    "FieldKind",
    "FilterField",
    "QueryError",
    "Select",
    "Table",
    "compile_filter",
    "parse_suiteql",
    "run_suiteql",
]


class QueryError(Exception):
    """A query the sandbox cannot parse or evaluate (NetSuite answers 400)."""


# ===================================================================== q filters

FieldKind = Literal["string", "boolean", "number", "date", "select"]


@dataclass(frozen=True, slots=True)
class FilterField:
    """A field that ``q`` may filter on: its type and how to read it from a record."""

    kind: FieldKind
    get: Callable[[Any], Any]


_UNARY = frozenset({"EMPTY", "EMPTY_NOT"})
_OPERATORS: dict[FieldKind, frozenset[str]] = {
    "string": frozenset({
        "CONTAIN", "CONTAIN_NOT", "IS", "IS_NOT", "START_WITH", "START_WITH_NOT",
        "END_WITH", "END_WITH_NOT", "ENDWITH", *_UNARY,
    }),
    "boolean": frozenset({"IS", "IS_NOT"}),
    "number": frozenset({
        "ANY_OF", "ANY_OF_NOT", "BETWEEN", "BETWEEN_NOT", "EQUAL", "EQUAL_NOT", "GREATER",
        "GREATER_NOT", "GREATER_OR_EQUAL", "GREATER_OR_EQUAL_NOT", "LESS", "LESS_NOT",
        "LESS_OR_EQUAL", "LESS_OR_EQUAL_NOT", *_UNARY,
    }),
    "date": frozenset({
        "AFTER", "AFTER_NOT", "BEFORE", "BEFORE_NOT", "ON", "ON_NOT", "ON_OR_AFTER",
        "ON_OR_AFTER_NOT", "ON_OR_BEFORE", "ON_OR_BEFORE_NOT", *_UNARY,
    }),
    "select": frozenset({"ANY_OF", "ANY_OF_NOT", "IS", "IS_NOT", "EQUAL", "EQUAL_NOT", *_UNARY}),
}  # fmt: skip
_LIST_OPERATORS = frozenset({"ANY_OF", "ANY_OF_NOT", "BETWEEN", "BETWEEN_NOT"})

_Q_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lp>\() | (?P<rp>\)) | (?P<lb>\[) | (?P<rb>]) | (?P<comma>,)
      | "(?P<dq>(?:[^"\\]|\\.)*)" | '(?P<sq>(?:[^'\\]|\\.)*)'
      | (?P<word>[^\s()\[\],"']+)
    )""",
    re.VERBOSE,
)

Predicate = Callable[[Any], bool]


def _q_tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _Q_TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise QueryError(f"Unexpected character at position {pos} of the query.")
        pos = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind in ("dq", "sq"):
            tokens.append(("str", re.sub(r"\\(.)", r"\1", value)))
        else:
            tokens.append((kind, value))
        if text[pos:].strip() == "":
            break
    return tokens


class _FilterParser:
    def __init__(self, text: str, fields: Mapping[str, FilterField]) -> None:
        self.tokens = _q_tokens(text)
        self.pos = 0
        self.fields = fields

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise QueryError("Unexpected end of the query.")
        self.pos += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].upper() == word:
            self.pos += 1
            return True
        return False

    def parse(self) -> Predicate:
        if not self.tokens:
            raise QueryError("The query is empty.")
        predicate = self.expression()
        if self.peek() is not None:
            raise QueryError(f"Unexpected token '{self.take()[1]}' in the query.")
        return predicate

    def expression(self) -> Predicate:
        parts = [self.conjunction()]
        while self.keyword("OR"):
            parts.append(self.conjunction())
        if len(parts) == 1:
            return parts[0]
        return lambda record: any(part(record) for part in parts)

    def conjunction(self) -> Predicate:
        parts = [self.factor()]
        while self.keyword("AND"):
            parts.append(self.factor())
        if len(parts) == 1:
            return parts[0]
        return lambda record: all(part(record) for part in parts)

    def factor(self) -> Predicate:
        token = self.take()
        if token[0] == "lp":
            inner = self.expression()
            if self.take()[0] != "rp":
                raise QueryError("Missing closing parenthesis in the query.")
            return inner
        if token[0] != "word":
            raise QueryError(f"Expected a field name but found '{token[1]}'.")
        name = token[1]
        spec = self.fields.get(name.casefold())
        if spec is None:
            raise QueryError(f"Invalid field '{name}' in the query. Provide a valid field name.")
        op_token = self.take()
        operator = op_token[1].upper()
        if op_token[0] != "word" or operator not in _OPERATORS[spec.kind]:
            raise QueryError(
                f"Invalid operator '{op_token[1]}' for the field '{name}'. "
                f"Allowed operators: {', '.join(sorted(_OPERATORS[spec.kind]))}."
            )
        values: list[str] = []
        if operator in _UNARY:
            pass
        elif operator in _LIST_OPERATORS:
            values = self.value_list()
            if operator.startswith("BETWEEN") and len(values) != 2:
                raise QueryError(f"The operator {operator} requires exactly two values.")
        else:
            values = [self.value()]
        return _condition(spec, operator, values, name)

    def value(self) -> str:
        token = self.take()
        if token[0] not in ("word", "str"):
            raise QueryError(f"Expected a value but found '{token[1]}'.")
        return token[1]

    def value_list(self) -> list[str]:
        token = self.peek()
        if token is None or token[0] != "lb":
            return [self.value()]
        self.take()
        values = [self.value()]
        while True:
            token = self.take()
            if token[0] == "rb":
                return values
            if token[0] != "comma":
                raise QueryError("Expected ',' or ']' in the list of values.")
            values.append(self.value())


def _as_decimal(text: str, field_name: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise QueryError(f"Invalid number '{text}' for the field '{field_name}'.") from None


def _as_date(text: str, field_name: str) -> date:
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise QueryError(f"Invalid date '{text}' for the field '{field_name}'.")


def _condition(spec: FilterField, operator: str, raw: list[str], name: str) -> Predicate:
    negate = operator.endswith("_NOT")
    base = operator.removesuffix("_NOT")
    get = spec.get

    def test(check: Callable[[Any], bool]) -> Predicate:
        if negate:
            return lambda record: not check(get(record))
        return lambda record: check(get(record))

    if base == "EMPTY":
        return test(lambda v: v is None or v == "")
    if spec.kind == "boolean":
        flag = raw[0].casefold()
        if flag not in ("true", "false", "t", "f"):
            raise QueryError(f"Invalid boolean '{raw[0]}' for the field '{name}'.")
        wanted = flag in ("true", "t")
        return test(lambda v: bool(v) is wanted)
    if spec.kind == "string":
        needle = raw[0].casefold()
        string_checks: dict[str, Callable[[Any], bool]] = {
            "IS": lambda v: v is not None and str(v).casefold() == needle,
            "CONTAIN": lambda v: v is not None and needle in str(v).casefold(),
            "START_WITH": lambda v: v is not None and str(v).casefold().startswith(needle),
            "END_WITH": lambda v: v is not None and str(v).casefold().endswith(needle),
            "ENDWITH": lambda v: v is not None and str(v).casefold().endswith(needle),
        }
        return test(string_checks[base])
    if spec.kind == "select":
        ids = {value.strip() for value in raw}
        return test(lambda v: v is not None and str(v) in ids)
    if spec.kind == "number":
        numbers = [_as_decimal(value, name) for value in raw]

        def num(v: Any) -> Decimal | None:
            return None if v is None or v == "" else Decimal(str(v))

        number_checks: dict[str, Callable[[Any], bool]] = {
            "ANY_OF": lambda v: num(v) in numbers,
            "EQUAL": lambda v: num(v) == numbers[0],
            "BETWEEN": lambda v: (n := num(v)) is not None and numbers[0] <= n <= numbers[1],
            "GREATER": lambda v: (n := num(v)) is not None and n > numbers[0],
            "GREATER_OR_EQUAL": lambda v: (n := num(v)) is not None and n >= numbers[0],
            "LESS": lambda v: (n := num(v)) is not None and n < numbers[0],
            "LESS_OR_EQUAL": lambda v: (n := num(v)) is not None and n <= numbers[0],
        }
        return test(number_checks[base])
    day = _as_date(raw[0], name)

    def as_day(v: Any) -> date | None:
        if isinstance(v, datetime):
            return v.date()
        return v if isinstance(v, date) else None

    date_checks: dict[str, Callable[[Any], bool]] = {
        "ON": lambda v: as_day(v) == day,
        "AFTER": lambda v: (d := as_day(v)) is not None and d > day,
        "BEFORE": lambda v: (d := as_day(v)) is not None and d < day,
        "ON_OR_AFTER": lambda v: (d := as_day(v)) is not None and d >= day,
        "ON_OR_BEFORE": lambda v: (d := as_day(v)) is not None and d <= day,
    }
    return test(date_checks[base])


def compile_filter(text: str, fields: Mapping[str, FilterField]) -> Predicate:
    """Compile a ``q`` expression; ``fields`` maps case-folded field names to their specs."""
    return _FilterParser(text, fields).parse()


# ====================================================================== SuiteQL

ColumnKind = Literal["integer", "text", "boolean", "decimal", "date", "datetime"]


@dataclass(frozen=True, slots=True)
class Column:
    kind: ColumnKind
    get: Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Table:
    """A SuiteQL table: its columns (lower-case names, in ``SELECT *`` order) and rows."""

    name: str
    columns: Mapping[str, Column]
    rows: Callable[[], Iterable[Any]]
    format_date: Callable[[date], str]
    date_formats: tuple[str, ...] = ("%d/%m/%Y", "%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class _SelectItem:
    column: str
    alias: str


@dataclass(frozen=True, slots=True)
class Select:
    table: str
    table_alias: str | None
    items: tuple[_SelectItem, ...] | None  # None means SELECT *
    distinct: bool
    where: _Expr | None
    order_by: tuple[tuple[str, bool], ...]  # (column, descending)


_SQL_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^']|'')*')
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<op><>|!=|<=|>=|=|<|>)
      | (?P<punct>[(),*])
      | (?P<ident>[A-Za-z_][A-Za-z0-9_$#]*(?:\.[A-Za-z_][A-Za-z0-9_$#]*)?)
      | (?P<dot>\.)
    )""",
    re.VERBOSE,
)
_KEYWORDS = frozenset({
    "SELECT", "DISTINCT", "FROM", "WHERE", "ORDER", "BY", "ASC", "DESC", "AND", "OR", "NOT",
    "LIKE", "IN", "IS", "NULL", "BETWEEN", "AS",
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # str | num | op | punct | ident | kw
    text: str
    value: Any


def _sql_tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    stripped = text.rstrip().rstrip(";")
    while pos < len(stripped):
        if stripped[pos:].strip() == "":
            break
        match = _SQL_TOKEN.match(stripped, pos)
        if match is None or match.end() == pos:
            raise QueryError(f"Syntax error near '{stripped[pos:pos + 20].strip()}'.")
        pos = match.end()
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "str":
            tokens.append(_Token("str", raw, raw[1:-1].replace("''", "'")))
        elif kind == "num":
            tokens.append(_Token("num", raw, Decimal(raw)))
        elif kind == "ident" and raw.upper() in _KEYWORDS:
            tokens.append(_Token("kw", raw.upper(), raw.upper()))
        elif kind == "dot":
            raise QueryError("Syntax error near '.'.")
        else:
            tokens.append(_Token(kind, raw, raw))
    return tokens


# Expressions are small tuples evaluated against a row accessor.
@dataclass(frozen=True, slots=True)
class _Compare:
    column: str
    op: str  # = <> < <= > >= LIKE IN BETWEEN NULL
    values: tuple[Any, ...]
    negate: bool = False


@dataclass(frozen=True, slots=True)
class _Bool:
    op: str  # AND | OR | NOT
    parts: tuple[_Expr, ...]


_Expr = _Compare | _Bool


class _SqlParser:
    def __init__(self, text: str) -> None:
        self.tokens = _sql_tokens(text)
        self.pos = 0

    def peek(self, offset: int = 0) -> _Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise QueryError("Unexpected end of the query.")
        self.pos += 1
        return token

    def accept(self, kind: str, text: str | None = None) -> _Token | None:
        token = self.peek()
        if token is not None and token.kind == kind and (text is None or token.text == text):
            self.pos += 1
            return token
        return None

    def expect(self, kind: str, text: str | None = None) -> _Token:
        token = self.accept(kind, text)
        if token is None:
            found = self.peek()
            wanted = text or {"ident": "an identifier"}.get(kind, kind)
            raise QueryError(
                f"Syntax error: expected {wanted} but found "
                f"{repr(found.text) if found else 'the end of the query'}."
            )
        return token

    def parse(self) -> Select:
        self.expect("kw", "SELECT")
        distinct = self.accept("kw", "DISTINCT") is not None
        items: list[_SelectItem] | None
        if self.accept("punct", "*"):
            items = None
        else:
            items = [self.select_item()]
            while self.accept("punct", ","):
                items.append(self.select_item())
        self.expect("kw", "FROM")
        table = self.expect("ident").text
        if "." in table:
            raise QueryError(f"Syntax error near '{table}'.")
        alias: str | None = None
        self.accept("kw", "AS")
        token = self.accept("ident")
        if token is not None:
            alias = token.text
        where = None
        if self.accept("kw", "WHERE"):
            where = self.disjunction()
        order: list[tuple[str, bool]] = []
        if self.accept("kw", "ORDER"):
            self.expect("kw", "BY")
            while True:
                column = self.expect("ident").text
                descending = False
                if self.accept("kw", "DESC"):
                    descending = True
                else:
                    self.accept("kw", "ASC")
                order.append((column, descending))
                if not self.accept("punct", ","):
                    break
        if self.peek() is not None:
            raise QueryError(f"Syntax error near '{self.take().text}'.")
        return Select(
            table=table,
            table_alias=alias,
            items=None if items is None else tuple(items),
            distinct=distinct,
            where=where,
            order_by=tuple(order),
        )

    def select_item(self) -> _SelectItem:
        column = self.expect("ident").text
        alias = column.rsplit(".", 1)[-1]
        if self.accept("kw", "AS"):
            alias = self.expect("ident").text
        else:
            token = self.peek()
            if token is not None and token.kind == "ident":
                alias = self.take().text
        return _SelectItem(column=column, alias=alias.lower())

    def disjunction(self) -> _Expr:
        parts = [self.conjunction()]
        while self.accept("kw", "OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else _Bool("OR", tuple(parts))

    def conjunction(self) -> _Expr:
        parts = [self.negation()]
        while self.accept("kw", "AND"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else _Bool("AND", tuple(parts))

    def negation(self) -> _Expr:
        if self.accept("kw", "NOT"):
            return _Bool("NOT", (self.negation(),))
        if self.accept("punct", "("):
            inner = self.disjunction()
            self.expect("punct", ")")
            return inner
        return self.comparison()

    def literal(self) -> Any:
        token = self.take()
        if token.kind in ("str", "num"):
            return token.value
        if token.kind == "kw" and token.text == "NULL":
            return None
        raise QueryError(f"Syntax error: expected a literal but found {token.text}.")

    def comparison(self) -> _Compare:
        column = self.expect("ident").text
        op = self.accept("op")
        if op is not None:
            symbol = "<>" if op.text == "!=" else op.text
            return _Compare(column, symbol, (self.literal(),))
        negate = self.accept("kw", "NOT") is not None
        if self.accept("kw", "LIKE"):
            return _Compare(column, "LIKE", (self.literal(),), negate)
        if self.accept("kw", "IN"):
            self.expect("punct", "(")
            values = [self.literal()]
            while self.accept("punct", ","):
                values.append(self.literal())
            self.expect("punct", ")")
            return _Compare(column, "IN", tuple(values), negate)
        if self.accept("kw", "BETWEEN"):
            low = self.literal()
            self.expect("kw", "AND")
            return _Compare(column, "BETWEEN", (low, self.literal()), negate)
        if not negate and self.accept("kw", "IS"):
            is_not = self.accept("kw", "NOT") is not None
            self.expect("kw", "NULL")
            return _Compare(column, "NULL", (), is_not)
        found = self.peek()
        raise QueryError(
            f"Syntax error near '{found.text if found else column}': expected a comparison."
        )


def parse_suiteql(text: str) -> Select:
    """Parse the supported SuiteQL subset (see the module docstring)."""
    if not text.strip():
        raise QueryError("The query is empty.")
    return _SqlParser(text).parse()


def _resolve(select: Select, table: Table, name: str) -> str:
    qualifier, _, column = name.rpartition(".")
    if qualifier and qualifier.casefold() not in {
        table.name.casefold(),
        (select.table_alias or table.name).casefold(),
    }:
        raise QueryError(f"Unknown identifier '{name}'.")
    key = column.lower()
    if key not in table.columns:
        raise QueryError(f"Field '{column}' for record '{table.name}' was not found.")
    return key


def _comparable(kind: ColumnKind, value: Any) -> Any:
    """A value normalised for comparison (numbers as Decimal, booleans as 'T'/'F')."""
    if value is None:
        return None
    if kind in ("integer", "decimal"):
        return Decimal(str(value))
    if kind == "boolean":
        return "T" if value else "F"
    if kind == "datetime" and isinstance(value, datetime):
        return value.date()
    return value


def _coerce_literal(kind: ColumnKind, literal: Any, table: Table) -> Any:
    if literal is None:
        return None
    if kind in ("integer", "decimal"):
        try:
            return Decimal(str(literal))
        except InvalidOperation:
            raise QueryError(f"Invalid number '{literal}'.") from None
    if kind in ("date", "datetime"):
        for fmt in table.date_formats:
            try:
                return datetime.strptime(str(literal), fmt).date()
            except ValueError:
                continue
        raise QueryError(f"Invalid date value '{literal}'.")
    if isinstance(literal, Decimal):
        return str(literal)
    return literal


def _format(kind: ColumnKind, value: Any, table: Table) -> str:
    if kind in ("integer", "decimal"):
        return format(Decimal(value).normalize(), "f")
    if kind in ("date", "datetime") and isinstance(value, date):
        return table.format_date(value)
    return str(value)  # text, and booleans already as 'T' / 'F'


def _like(pattern: str) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def _evaluate(expr: _Expr, row: Mapping[str, Any], kinds: Mapping[str, ColumnKind]) -> bool:
    if isinstance(expr, _Bool):
        if expr.op == "AND":
            return all(_evaluate(part, row, kinds) for part in expr.parts)
        if expr.op == "OR":
            return any(_evaluate(part, row, kinds) for part in expr.parts)
        return not _evaluate(expr.parts[0], row, kinds)
    value = row[expr.column]
    if expr.op == "NULL":
        is_null = value is None or value == ""
        return not is_null if expr.negate else is_null
    if value is None or any(v is None for v in expr.values):
        return False  # comparisons with NULL are unknown, and unknown filters the row out
    kind = kinds[expr.column]
    result: bool
    try:
        if expr.op == "LIKE":
            result = _like(str(expr.values[0])).fullmatch(str(value)) is not None
        elif expr.op == "IN":
            result = value in expr.values
        elif expr.op == "BETWEEN":
            result = expr.values[0] <= value <= expr.values[1]
        else:
            target = expr.values[0]
            result = {
                "=": value == target,
                "<>": value != target,
                "<": value < target,
                "<=": value <= target,
                ">": value > target,
                ">=": value >= target,
            }[expr.op]
    except TypeError:
        raise QueryError(f"Invalid comparison for a {kind} column.") from None
    return not result if expr.negate else result


def _bind(expr: _Expr, select: Select, table: Table) -> _Expr:
    """Resolve column names and coerce literals to the column types."""
    if isinstance(expr, _Bool):
        return _Bool(expr.op, tuple(_bind(part, select, table) for part in expr.parts))
    column = _resolve(select, table, expr.column)
    kind = table.columns[column].kind
    if expr.op == "LIKE":
        values: tuple[Any, ...] = tuple(
            None if v is None else (format(v, "f") if isinstance(v, Decimal) else str(v))
            for v in expr.values
        )
    else:
        values = tuple(_coerce_literal(kind, v, table) for v in expr.values)
    return _Compare(column, expr.op, values, expr.negate)


def run_suiteql(select: Select, tables: Mapping[str, Table]) -> list[dict[str, str]]:
    """Execute ``select``; each result row maps lower-case column aliases to strings."""
    table = tables.get(select.table.casefold())
    if table is None:
        raise QueryError(f"Record '{select.table}' was not found.")
    if select.items is None:
        projection = [(name, name) for name in table.columns]
    else:
        projection = [(_resolve(select, table, item.column), item.alias) for item in select.items]
    where = _bind(select.where, select, table) if select.where is not None else None
    order = [(_resolve(select, table, name), desc) for name, desc in select.order_by]
    kinds = {name: column.kind for name, column in table.columns.items()}
    needed = {name for name, _ in projection} | {name for name, _ in order}
    if where is not None:
        needed |= _columns_of(where)
    rows: list[dict[str, Any]] = []
    for record in table.rows():
        row = {
            name: _comparable(kinds[name], table.columns[name].get(record)) for name in needed
        }
        if where is None or _evaluate(where, row, kinds):
            rows.append(row)
    for name, descending in reversed(order):
        present = [r for r in rows if r[name] is not None]
        missing = [r for r in rows if r[name] is None]
        present.sort(key=lambda r, n=name: r[n], reverse=descending)  # type: ignore[misc]
        rows = present + missing if not descending else missing + present
    result: list[dict[str, str]] = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    for row in rows:
        out = {
            alias: _format(kinds[name], row[name], table)
            for name, alias in projection
            if row[name] is not None and row[name] != ""
        }
        if select.distinct:
            key = tuple(sorted(out.items()))
            if key in seen:
                continue
            seen.add(key)
        result.append(out)
    return result


def _columns_of(expr: _Expr) -> set[str]:
    if isinstance(expr, _Bool):
        names: set[str] = set()
        for part in expr.parts:
            names |= _columns_of(part)
        return names
    return {expr.column}

