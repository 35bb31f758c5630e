"""Every field error in a request body, with its path.

msgspec stops at the first error, which makes a CRM developer fix a payload one
round trip at a time. On failure (only then: the fast path stays msgspec's) the
body is re-checked member by member against the same Struct type.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import inspect as mi

from domains.errors import FieldIssue

_MAX_ISSUES = 100


def collect_errors(target: Any, raw: bytes) -> list[FieldIssue]:
    try:
        document = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        return [FieldIssue("$", f"Malformed JSON: {exc}", "malformed_json")]
    issues: list[FieldIssue] = []
    _check(mi.type_info(target), document, "$", issues)
    if not issues:  # the collector is stricter nowhere, but never report nothing
        try:
            msgspec.convert(document, target)
        except msgspec.ValidationError as exc:
            issues.append(_issue_from_message("$", str(exc)))
    return issues[:_MAX_ISSUES]


def _check(info: mi.Type, value: Any, path: str, issues: list[FieldIssue]) -> None:
    if len(issues) >= _MAX_ISSUES:
        return
    info = _unwrap(info)
    if isinstance(info, mi.StructType):
        _check_struct(info, value, path, issues)
        return
    if isinstance(info, mi.ListType) and isinstance(value, list):
        _check_convert(info, value, path, issues, shallow=True)
        for index, item in enumerate(value):
            _check(info.item_type, item, f"{path}[{index}]", issues)
        return
    if isinstance(info, mi.UnionType):
        nested = [t for t in map(_unwrap, info.types) if isinstance(t, mi.StructType | mi.ListType)]
        if len(nested) == 1 and value is not None:
            _check(nested[0], value, path, issues)
            return
    _check_convert(info, value, path, issues)


def _check_struct(info: mi.StructType, value: Any, path: str, issues: list[FieldIssue]) -> None:
    if not isinstance(value, dict):
        issues.append(FieldIssue(_display(path), "Expected an object.", "type"))
        return
    known = {f.encode_name: f for f in info.fields}
    for field in info.fields:
        member = f"{path}.{field.encode_name}"
        if field.encode_name not in value:
            if field.required:
                issues.append(FieldIssue(_display(member), "This member is required.", "required"))
            continue
        _check(field.type, value[field.encode_name], member, issues)
    if info.forbid_unknown_fields:
        for name in value:
            if name not in known:
                issues.append(
                    FieldIssue(
                        _display(f"{path}.{name}"),
                        "Unknown member; check the spelling against the schema.",
                        "unknown_field",
                    )
                )


def _check_convert(
    info: mi.Type, value: Any, path: str, issues: list[FieldIssue], shallow: bool = False
) -> None:
    target = _python_type(info, shallow)
    try:
        msgspec.convert(value, target)
    except msgspec.ValidationError as exc:
        issues.append(_issue_from_message(path, str(exc)))


def _python_type(info: mi.Type, shallow: bool) -> Any:
    """Rebuild a checkable type from inspect info (constraints included)."""
    if shallow and isinstance(info, mi.ListType):
        meta = msgspec.Meta(min_length=info.min_length, max_length=info.max_length)
        return Annotated[list[Any], meta]
    return _rebuild(info)


def _unwrap(info: mi.Type) -> mi.Type:
    # Descriptions and examples wrap the constrained type in Metadata.
    while isinstance(info, mi.Metadata):
        info = info.type
    return info


def _rebuild(info: mi.Type) -> Any:
    info = _unwrap(info)
    if isinstance(info, mi.StrType):
        return Annotated[
            str,
            msgspec.Meta(
                pattern=info.pattern, min_length=info.min_length, max_length=info.max_length
            ),
        ]
    if isinstance(info, mi.IntType | mi.FloatType):
        bounds: dict[str, Any] = {"ge": info.ge, "le": info.le, "gt": info.gt, "lt": info.lt}
        meta = msgspec.Meta(**{k: v for k, v in bounds.items() if v is not None})
        return Annotated[int if isinstance(info, mi.IntType) else float, meta]
    if isinstance(info, mi.BoolType):
        return bool
    if isinstance(info, mi.NoneType):
        return None
    if isinstance(info, mi.LiteralType):
        return Literal[tuple(info.values)]
    if isinstance(info, mi.StructType):
        return info.cls
    if isinstance(info, mi.ListType):
        return Annotated[
            list[_rebuild(info.item_type)],  # type: ignore[misc]
            msgspec.Meta(min_length=info.min_length, max_length=info.max_length),
        ]
    if isinstance(info, mi.UnionType):
        return Union[tuple(_rebuild(t) for t in info.types)]  # noqa: UP007
    return Any


def _issue_from_message(path: str, message: str) -> FieldIssue:
    # msgspec: "Expected `str` of length <= 255 - at `$.name`"
    text, _, where = message.partition(" - at `")
    where = where.rstrip("`")
    full = path + where[1:] if where.startswith("$") else path
    return FieldIssue(_display(full), text, "invalid")


def _display(path: str) -> str:
    """``$.lines[0].product_id`` -> ``lines[0].product_id``; ``$`` -> ``body``."""
    return path[2:] if path.startswith("$.") else ("body" if path == "$" else path)
