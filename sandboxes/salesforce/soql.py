"""SOQL lexer and parser for the Salesforce sandbox.

Only syntax lives here: the parser turns query text into a small tree and knows
nothing about sObjects or fields. Binding names to the schema, type checks and
evaluation happen in :mod:`sandboxes.salesforce.query`.

Supported subset::

    SELECT item, ... FROM Type
        [WHERE condition] [ORDER BY path [ASC|DESC] [NULLS FIRST|LAST], ...]
        [LIMIT n] [OFFSET n]

    item       := path | COUNT() | COUNT(path) [alias] | (SELECT ... FROM ChildRelationship ...)
    condition  := term {AND term} | term {OR term}     -- mixing needs parentheses, as in SOQL
    term       := NOT term | ( condition ) | path op literal | path [NOT] IN (literal, ...)
    op         := = | != | <> | < | > | <= | >= | LIKE
    literal    := 'string' | number | true | false | null | 2026-12-31
                | 2026-12-31T10:00:00Z | TODAY | YESTERDAY | TOMORROW

Errors are raised as :class:`SoqlError` with the Salesforce error code and the
character offset, which the caller renders the way the real API does (the query
echoed back, a caret, ``ERROR at Row:1:Column:N`` and the reason).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal as TypingLiteral

__all__ = [
    "BoolExpr",
    "Comparison",
    "CountExpr",
    "FieldPath",
    "Literal",
    "NotExpr",
    "OrderItem",
    "Query",
    "SoqlError",
    "SubQuery",
    "decode_string",
    "like_to_regex",
    "parse",
    "render_error",
]


class SoqlError(Exception):
    """A query the API rejects: ``error_code`` is the Salesforce errorCode."""

    def __init__(self, error_code: str, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.position = position


def render_error(query: str, error: SoqlError) -> str:
    """Format an error message like the REST API does for query errors."""
    if error.position is None:
        return error.message
    before = query[: error.position]
    row = before.count("\n") + 1
    line_start = before.rfind("\n") + 1
    column = error.position - line_start + 1
    line_end = query.find("\n", error.position)
    line = query[line_start:] if line_end < 0 else query[line_start:line_end]
    caret = " " * (column - 1) + "^"
    return f"\n{line}\n{caret}\nERROR at Row:{row}:Column:{column}\n{error.message}"


# --------------------------------------------------------------------------- tree


@dataclass(frozen=True, slots=True)
class FieldPath:
    parts: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


LiteralKind = TypingLiteral[
    "string", "number", "boolean", "null", "date", "datetime", "relative_date"
]


@dataclass(frozen=True, slots=True)
class Literal:
    kind: LiteralKind
    value: str | Decimal | bool | None  # decoded value; raw text for strings is in ``raw``
    raw: str
    pos: int


@dataclass(frozen=True, slots=True)
class Comparison:
    field: FieldPath
    op: str  # = != < > <= >= LIKE IN NOT IN
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True, slots=True)
class BoolExpr:
    op: TypingLiteral["AND", "OR"]
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class NotExpr:
    item: Condition


Condition = Comparison | BoolExpr | NotExpr


@dataclass(frozen=True, slots=True)
class OrderItem:
    field: FieldPath
    descending: bool
    nulls_last: bool


@dataclass(frozen=True, slots=True)
class CountExpr:
    field: FieldPath | None
    alias: str | None
    pos: int


@dataclass(frozen=True, slots=True)
class SubQuery:
    query: Query


SelectItem = FieldPath | CountExpr | SubQuery


@dataclass(frozen=True, slots=True)
class Query:
    select: tuple[SelectItem, ...]
    sobject: str
    sobject_pos: int
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


# -------------------------------------------------------------------------- lexer

_KEYWORDS = frozenset(
    {
        "SELECT", "FROM", "WHERE", "ORDER", "BY", "LIMIT", "OFFSET", "AND", "OR", "NOT",
        "IN", "LIKE", "ASC", "DESC", "NULLS", "FIRST", "LAST", "TRUE", "FALSE", "NULL",
        "GROUP", "HAVING", "WITH", "FOR", "USING", "INCLUDES", "EXCLUDES", "TYPEOF",
    }
)  # fmt: skip
_RELATIVE_DATES = frozenset({"TODAY", "YESTERDAY", "TOMORROW"})

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<quote>')
    """,
    re.VERBOSE,
)

_ESCAPES = {
    "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f",
    '"': '"', "'": "'", "\\": "\\", "%": "%", "_": "_",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # ident string number date datetime op punct eof
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "ident" else ""


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Return (raw content, index after the closing quote) for a literal at ``start``."""
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                break
            if text[i + 1] not in _ESCAPES:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    "Invalid string literal '"
                    + text[start + 1 : i + 2]
                    + "'. Illegal character sequence '\\"
                    + text[i + 1]
                    + "' in string literal.",
                    i,
                )
            i += 2
            continue
        if ch == "'":
            return text[start + 1 : i], i + 1
        i += 1
    raise SoqlError("MALFORMED_QUERY", "unexpected token: <EOF>", len(text))


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {text[pos]}", pos)
        kind = match.lastgroup or ""
        if kind == "quote":
            raw, end = _read_string(text, pos)
            tokens.append(_Token("string", raw, pos))
            pos = end
            continue
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(_Token("eof", "<EOF>", len(text)))
    return tokens


def decode_string(raw: str) -> str:
    """Decode the escapes of a string literal's raw content."""
    if "\\" not in raw:
        return raw
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            out.append(_ESCAPES[raw[i + 1]])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def like_to_regex(raw: str) -> re.Pattern[str]:
    """Compile a LIKE pattern (raw literal content): % any run, _ one char, case-insensitive."""
    parts: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            parts.append(re.escape(_ESCAPES[raw[i + 1]]))
            i += 2
            continue
        if ch == "%":
            parts.append(".*")
        elif ch == "_":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
        i += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


# ------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    # -- token helpers
    @property
    def tok(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def unexpected(self, token: _Token | None = None) -> SoqlError:
        token = token or self.tok
        return SoqlError("MALFORMED_QUERY", f"unexpected token: {token.text}", token.pos)

    def is_kw(self, *words: str) -> bool:
        return self.tok.upper in words

    def expect_kw(self, word: str) -> _Token:
        if self.tok.upper != word:
            raise self.unexpected()
        return self.advance()

    def expect_punct(self, char: str) -> _Token:
        if self.tok.kind != "punct" or self.tok.text != char:
            raise self.unexpected()
        return self.advance()

    def is_punct(self, char: str) -> bool:
        return self.tok.kind == "punct" and self.tok.text == char

    # -- grammar
    def parse_query(self, *, nested: bool) -> Query:
        self.expect_kw("SELECT")
        select = self.parse_select_list(nested=nested)
        self.expect_kw("FROM")
        sobject_tok = self.tok
        if sobject_tok.kind != "ident" or sobject_tok.upper in _KEYWORDS:
            raise self.unexpected()
        self.advance()
        where: Condition | None = None
        order_by: tuple[OrderItem, ...] = ()
        limit: int | None = None
        offset: int | None = None
        if self.is_kw("WHERE"):
            self.advance()
            where = self.parse_condition()
        if self.is_kw("ORDER"):
            self.advance()
            self.expect_kw("BY")
            order_by = self.parse_order_list()
        if self.is_kw("LIMIT"):
            self.advance()
            limit = self.parse_int()
        if self.is_kw("OFFSET"):
            self.advance()
            offset = self.parse_int()
        return Query(
            select=select,
            sobject=sobject_tok.text,
            sobject_pos=sobject_tok.pos,
            where=where,
            order_by=order_by,
            limit=limit,
            offset=offset,
        )

    def parse_int(self) -> int:
        token = self.tok
        if token.kind != "number" or not token.text.isdigit():
            raise self.unexpected()
        self.advance()
        return int(token.text)

    def parse_select_list(self, *, nested: bool) -> tuple[SelectItem, ...]:
        items: list[SelectItem] = [self.parse_select_item(nested=nested)]
        while self.is_punct(","):
            self.advance()
            items.append(self.parse_select_item(nested=nested))
        counts = [item for item in items if isinstance(item, CountExpr)]
        if counts and any(c.field is None for c in counts) and len(items) > 1:
            bare = next(c for c in counts if c.field is None)
            raise SoqlError(
                "MALFORMED_QUERY",
                "COUNT() cannot be combined with other fields in the SELECT clause",
                bare.pos,
            )
        if counts and len(counts) != len(items):
            field = next(i for i in items if not isinstance(i, CountExpr))
            pos = field.pos if isinstance(field, FieldPath) else counts[0].pos
            raise SoqlError(
                "MALFORMED_QUERY",
                "Field must be grouped or aggregated: "
                + (field.text if isinstance(field, FieldPath) else "subquery"),
                pos,
            )
        return tuple(items)

    def parse_select_item(self, *, nested: bool) -> SelectItem:
        token = self.tok
        if self.is_punct("("):
            if nested:
                raise self.unexpected()
            self.advance()
            sub = self.parse_query(nested=True)
            self.expect_punct(")")
            if sub.offset is not None:
                raise SoqlError("MALFORMED_QUERY", "OFFSET is not allowed in a subquery", token.pos)
            return SubQuery(sub)
        if token.kind != "ident" or token.upper in _KEYWORDS:
            raise self.unexpected()
        self.advance()
        if token.upper == "COUNT" and self.is_punct("("):
            self.advance()
            field: FieldPath | None = None
            if not self.is_punct(")"):
                field = self.parse_path()
            self.expect_punct(")")
            alias: str | None = None
            if self.tok.kind == "ident" and self.tok.upper not in _KEYWORDS:
                alias = self.advance().text
            return CountExpr(field=field, alias=alias, pos=token.pos)
        return FieldPath(tuple(token.text.split(".")), token.pos)

    def parse_path(self) -> FieldPath:
        token = self.tok
        if token.kind != "ident" or token.upper in _KEYWORDS:
            raise self.unexpected()
        self.advance()
        return FieldPath(tuple(token.text.split(".")), token.pos)

    def parse_order_list(self) -> tuple[OrderItem, ...]:
        items = [self.parse_order_item()]
        while self.is_punct(","):
            self.advance()
            items.append(self.parse_order_item())
        return tuple(items)

    def parse_order_item(self) -> OrderItem:
        path = self.parse_path()
        descending = False
        if self.is_kw("ASC", "DESC"):
            descending = self.advance().upper == "DESC"
        nulls_last = descending
        if self.is_kw("NULLS"):
            self.advance()
            if not self.is_kw("FIRST", "LAST"):
                raise self.unexpected()
            nulls_last = self.advance().upper == "LAST"
        return OrderItem(path, descending, nulls_last)

    def parse_condition(self) -> Condition:
        first = self.parse_term()
        if not self.is_kw("AND", "OR"):
            return first
        connector = self.tok.upper
        items = [first]
        while self.is_kw("AND", "OR"):
            if self.tok.upper != connector:
                raise self.unexpected()
            self.advance()
            items.append(self.parse_term())
        return BoolExpr("AND" if connector == "AND" else "OR", tuple(items))

    def parse_term(self) -> Condition:
        if self.is_kw("NOT"):
            self.advance()
            return NotExpr(self.parse_term())
        if self.is_punct("("):
            self.advance()
            inner = self.parse_condition()
            self.expect_punct(")")
            return inner
        return self.parse_comparison()

    def parse_comparison(self) -> Comparison:
        path = self.parse_path()
        token = self.tok
        if token.kind == "op":
            self.advance()
            op = "!=" if token.text == "<>" else token.text
            return Comparison(path, op, self.parse_literal())
        if self.is_kw("LIKE"):
            self.advance()
            return Comparison(path, "LIKE", self.parse_literal())
        negate = False
        if self.is_kw("NOT"):
            self.advance()
            negate = True
            if not self.is_kw("IN"):
                raise self.unexpected()
        if self.is_kw("IN"):
            self.advance()
            self.expect_punct("(")
            values = [self.parse_literal()]
            while self.is_punct(","):
                self.advance()
                values.append(self.parse_literal())
            self.expect_punct(")")
            return Comparison(path, "NOT IN" if negate else "IN", tuple(values))
        raise self.unexpected()

    def parse_literal(self) -> Literal:
        token = self.advance()
        if token.kind == "string":
            return Literal("string", decode_string(token.text), token.text, token.pos)
        if token.kind == "number":
            return Literal("number", Decimal(token.text), token.text, token.pos)
        if token.kind == "date":
            return Literal("date", token.text, token.text, token.pos)
        if token.kind == "datetime":
            return Literal("datetime", token.text, token.text, token.pos)
        word = token.upper
        if word in ("TRUE", "FALSE"):
            return Literal("boolean", word == "TRUE", token.text, token.pos)
        if word == "NULL":
            return Literal("null", None, token.text, token.pos)
        if word in _RELATIVE_DATES:
            return Literal("relative_date", word, token.text, token.pos)
        raise self.unexpected(token)


def parse(text: str) -> Query:
    """Parse a SOQL query; raises :class:`SoqlError` (MALFORMED_QUERY) on bad syntax."""
    if not text.strip():
        raise SoqlError("MALFORMED_QUERY", "A query string has to be specified")
    parser = _Parser(text)
    query = parser.parse_query(nested=False)
    if parser.tok.kind != "eof":
        raise parser.unexpected()
    return query
