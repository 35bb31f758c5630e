"""Schema-level fixes of the generated document, applied once at start-up.

Litestar renders ``X | None`` as ``oneOf: [{type: X}, {type: null}]`` with the
constraints on the outer schema, so the branch a validator checks carries no
bounds; it leaves integers without a format; and it cannot say that a body
Struct forbids unknown members. Each fix here restates what the contracts
already enforce, in the form OpenAPI 3.1 tools read.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from typing import Any, cast

import msgspec
from litestar.openapi.spec import OpenAPI, OpenAPIType, Parameter, Schema
from litestar.openapi.spec.enums import OpenAPIFormat

import contracts
from contracts.problem import MAX_POLICY_NAME
from policies.tracing.view import MAX_ATTRIBUTE_KEY, MAX_ATTRIBUTE_VALUE

_INT32 = (-(2**31), 2**31 - 1)
MAX_TIMESTAMP_LENGTH = 40
# Litestar drops the bounds of a mapping's keys and values and of list items;
# restate the ones the contracts declare.
_MAP_BOUNDS = {("SpanView", "attributes"): (MAX_ATTRIBUTE_KEY, MAX_ATTRIBUTE_VALUE)}
_ITEM_LENGTHS = {("Problem", "violated_policies"): MAX_POLICY_NAME}
# Branch types whose constraints move up when ``T | None`` is collapsed.
_COLLAPSIBLE = {
    OpenAPIType.STRING,
    OpenAPIType.INTEGER,
    OpenAPIType.NUMBER,
    OpenAPIType.BOOLEAN,
    OpenAPIType.ARRAY,
}


def normalise_schemas(document: OpenAPI) -> None:
    """Apply every schema fix to ``document`` in place."""
    for parameter in _parameters(document):
        if isinstance(parameter.schema, Schema):
            _collapse_nullable(parameter.schema, keep_null=False)
    for schema in walk_schemas(document):
        _collapse_nullable(schema, keep_null=True)
    for schema in walk_schemas(document):
        _integer_format(schema)
        _timestamp_length(schema)
    _map_bounds(document)
    forbid_unknown_members(document)


def _map_bounds(document: OpenAPI) -> None:
    schemas = document.components.schemas if document.components else {}
    for (component, member), (key_length, value_length) in _MAP_BOUNDS.items():
        owner = schemas.get(component)
        mapping = (owner.properties or {}).get(member) if owner is not None else None
        if not isinstance(mapping, Schema):
            continue
        mapping.property_names = Schema(type=OpenAPIType.STRING, max_length=key_length)
        if isinstance(mapping.additional_properties, Schema):
            mapping.additional_properties.max_length = value_length
    for (component, member), length in _ITEM_LENGTHS.items():
        owner = schemas.get(component)
        listing = (owner.properties or {}).get(member) if owner is not None else None
        if isinstance(listing, Schema) and isinstance(listing.items, Schema):
            listing.items.max_length = length


def walk_schemas(node: Any) -> Iterator[Schema]:
    """Every Schema object reachable from ``node`` (spec dataclasses, dicts, lists)."""
    pending = [node]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, Schema):
            yield current
        if is_dataclass(current) and not isinstance(current, type):
            pending.extend(
                value
                for value in (getattr(current, f.name) for f in fields(current))
                if value is not None and not isinstance(value, str | int | float | bool)
            )
        elif isinstance(current, dict):
            pending.extend(current.values())
        elif isinstance(current, list | tuple):
            pending.extend(current)


def _parameters(document: OpenAPI) -> Iterator[Parameter]:
    for item in (document.paths or {}).values():
        for parameter in item.parameters or []:
            if isinstance(parameter, Parameter):
                yield parameter
        for method in ("get", "put", "post", "patch", "delete"):
            operation = getattr(item, method, None)
            for parameter in getattr(operation, "parameters", None) or []:
                if isinstance(parameter, Parameter):
                    yield parameter


def _collapse_nullable(schema: Schema, *, keep_null: bool) -> None:
    """``oneOf: [{type: T, ...}, {type: null}]`` -> ``type: [T, null]`` with the bounds
    where validators look for them (a lone ``oneOf: [{type: T}]``, from ``T | UNSET``,
    becomes ``type: T``). A query or header parameter is absent rather than null, so
    there the null is dropped (``keep_null=False``)."""
    branches = list(schema.one_of or [])
    if branches and all(isinstance(b, Schema) for b in branches):
        nulls = [b for b in branches if isinstance(b, Schema) and b.type == OpenAPIType.NULL]
        values = [b for b in branches if isinstance(b, Schema) and b.type in _COLLAPSIBLE]
        if len(values) == 1 and len(nulls) + 1 == len(branches) and len(nulls) <= 1:
            value = values[0]
            if value.enum is None and value.const is None:
                for f in fields(value):
                    inner = getattr(value, f.name)
                    if inner is not None and f.name != "type" and getattr(schema, f.name) is None:
                        setattr(schema, f.name, inner)
                schema.one_of = None
                value_type = cast("OpenAPIType", value.type)
                schema.type = [value_type, OpenAPIType.NULL] if nulls else value_type
    if not keep_null and isinstance(schema.type, list | tuple) and OpenAPIType.NULL in schema.type:
        rest = [t for t in schema.type if t != OpenAPIType.NULL]
        schema.type = rest[0] if len(rest) == 1 else rest
        if schema.enum is not None:
            schema.enum = [v for v in schema.enum if v is not None]


def _integer_format(schema: Schema) -> None:
    types = schema.type if isinstance(schema.type, list | tuple) else [schema.type]
    if OpenAPIType.INTEGER not in types or schema.format is not None:
        return
    low = schema.minimum if schema.minimum is not None else schema.exclusive_minimum
    high = schema.maximum if schema.maximum is not None else schema.exclusive_maximum
    fits = low is not None and high is not None and _INT32[0] <= low and high <= _INT32[1]
    schema.format = cast("OpenAPIFormat", "int32" if fits else "int64")
    # Litestar renders ge/le as floats (200.0); an integer's bounds are integers.
    if isinstance(schema.minimum, float) and schema.minimum.is_integer():
        schema.minimum = int(schema.minimum)
    if isinstance(schema.maximum, float) and schema.maximum.is_integer():
        schema.maximum = int(schema.maximum)


def _timestamp_length(schema: Schema) -> None:
    """RFC 3339 date-times are at most 35 characters (nanoseconds and an offset);
    Litestar documents datetime members without a length."""
    if schema.format == OpenAPIFormat.DATE_TIME and schema.max_length is None:
        schema.max_length = MAX_TIMESTAMP_LENGTH


def strict_structs() -> dict[str, type[msgspec.Struct]]:
    """Contract Structs that reject unknown members, by class name (Litestar's
    component name for them)."""
    found: dict[str, type[msgspec.Struct]] = {}
    for module in pkgutil.walk_packages(contracts.__path__, prefix="contracts."):
        loaded = importlib.import_module(module.name)
        for value in vars(loaded).values():
            if (
                isinstance(value, type)
                and issubclass(value, msgspec.Struct)
                and value.__module__ == loaded.__name__
                and value.__struct_config__.forbid_unknown_fields
            ):
                found[value.__name__] = value
    return found


def forbid_unknown_members(document: OpenAPI) -> None:
    """``additionalProperties: false`` on every component whose Struct rejects unknown
    members (the server answers 422 naming the member)."""
    schemas = document.components.schemas if document.components else {}
    for name, struct in strict_structs().items():
        schema = schemas.get(name)
        if schema is None:
            continue
        declared = set((schema.properties or {}).keys())
        encoded = {f.encode_name for f in msgspec.structs.fields(struct)}
        if declared != encoded:
            raise ValueError(f"component {name!r} does not describe {struct.__qualname__}")
        schema.additional_properties = False

