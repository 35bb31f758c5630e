"""HTML forms generated from a contract's msgspec Struct, and the request body they
post, validated on the server exactly as the API validates the same body.

A field's input follows its type (bool: a checkbox; a string with ``format: date``: a
date input; other strings: a text input with the contract's description and example
as its hint). Browsers are not asked to validate (no ``pattern``/``required``), so
what reaches the server is what the user typed, and the errors shown are the API's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from msgspec import inspect as mi

from domains.errors import FieldIssue
from gateway.console.html import esc
from gateway.validation import collect_errors

Kind = Literal["checkbox", "text", "date", "textarea"]


@dataclass(frozen=True, slots=True)
class FormField:
    name: str  # the body member's path, as the API names it in errors: edits.payment_terms
    label: str
    kind: Kind
    hint: str = ""
    max_length: int | None = None

    @property
    def ident(self) -> str:
        return "f-" + self.name.replace(".", "-").replace("_", "-")


def _unwrap(info: mi.Type) -> tuple[mi.Type, dict[str, Any]]:
    """The type under its metadata, and the metadata's description/examples/format."""
    extra: dict[str, Any] = {}
    while True:
        if isinstance(info, mi.Metadata):
            extra.update(info.extra_json_schema or {})
            extra.update(info.extra or {})
            info = info.type
        elif isinstance(info, mi.UnionType):
            present = [t for t in info.types if not isinstance(t, mi.NoneType)]
            if len(present) != 1:
                return info, extra
            info = present[0]
        else:
            return info, extra


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def struct_fields(
    struct: type[msgspec.Struct],
    prefix: str = "",
    labels: Mapping[str, str] | None = None,
) -> list[FormField]:
    """One form field per scalar member of ``struct``, nested Structs flattened into
    dotted names."""
    info = mi.type_info(struct)
    assert isinstance(info, mi.StructType)
    fields = []
    for member in info.fields:
        kind_info, extra = _unwrap(member.type)
        path = f"{prefix}{member.encode_name}"
        label = (labels or {}).get(member.encode_name) or _label(member.encode_name)
        description = str(extra.get("description", ""))
        examples = extra.get("examples") or []
        hint = description
        if examples:
            hint = (hint + ", " if hint else "") + f"for example {examples[0]}"
        if isinstance(kind_info, mi.StructType):
            fields.extend(struct_fields(kind_info.cls, f"{path}.", labels))
        elif isinstance(kind_info, mi.BoolType):
            fields.append(FormField(path, label, "checkbox", hint))
        elif isinstance(kind_info, mi.StrType):
            kind: Kind = "date" if extra.get("format") == "date" else "text"
            if kind == "text" and (kind_info.max_length or 0) > 200:
                kind = "textarea"
            fields.append(FormField(path, label, kind, hint, kind_info.max_length))
        else:  # pragma: no cover - contracts for forms hold scalars only
            raise TypeError(f"{path}: no form input for {type(kind_info).__name__}")
    return fields


def body_from_form(fields: Sequence[FormField], form: Mapping[str, str]) -> dict[str, Any]:
    """The JSON body the form stands for: a checkbox is true when sent, an empty text
    member is left out (the contract's default), dotted names nest."""
    body: dict[str, Any] = {}
    for field in fields:
        raw = form.get(field.name)
        if field.kind == "checkbox":
            value: Any = raw is not None
            if not value:
                continue
        else:
            if raw is None or not raw.strip():
                continue
            value = raw.strip() if field.kind != "textarea" else raw
        target = body
        *parents, leaf = field.name.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return body


def validate(target: type[msgspec.Struct], body: dict[str, Any]) -> tuple[Any, list[FieldIssue]]:
    """``body`` decoded as ``target``, or every field error the API would report."""
    raw = msgspec.json.encode(body)
    try:
        return msgspec.json.decode(raw, type=target), []
    except msgspec.ValidationError:
        return None, collect_errors(target, raw)


def render_fields(
    fields: Sequence[FormField],
    values: Mapping[str, str],
    errors: Mapping[str, str],
    *,
    choices: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The inputs with their labels, hints and errors (``aria-describedby``)."""
    out = []
    for field in fields:
        ident = field.ident
        described = []
        hint_html = ""
        if field.hint:
            hint_html = f'<p class="hint" id="{ident}-hint">{esc(field.hint)}</p>'
            described.append(f"{ident}-hint")
        error_html = ""
        error = errors.get(field.name)
        if error:
            error_html = f'<p class="field-error" id="{ident}-error">{esc(error)}</p>'
            described.append(f"{ident}-error")
        aria = f' aria-describedby="{" ".join(described)}"' if described else ""
        invalid = ' aria-invalid="true"' if error else ""
        name = esc(field.name)
        if field.kind == "checkbox":
            checked = " checked" if values.get(field.name) else ""
            out.append(
                f'<div class="field check"><input type="checkbox" id="{ident}" name="{name}" '
                f'value="true"{checked}{aria}{invalid}>'
                f'<label for="{ident}">{esc(field.label)}</label>{hint_html}{error_html}</div>'
            )
            continue
        value = esc(values.get(field.name, ""))
        options = (choices or {}).get(field.name.rsplit(".", 1)[-1], ())
        listed = ""
        if options and field.kind == "text":
            listed = f' list="{ident}-list" autocomplete="off"'
        if field.kind == "textarea":
            control = (
                f'<textarea id="{ident}" name="{name}" rows="3"{aria}{invalid}>{value}</textarea>'
            )
        else:
            control = (
                f'<input type="{field.kind}" id="{ident}" name="{name}" value="{value}"'
                f"{listed}{aria}{invalid}>"
            )
        datalist = ""
        if listed:
            datalist = f'<datalist id="{ident}-list">' + "".join(
                f'<option value="{esc(o)}"></option>' for o in options
            ) + "</datalist>"
        out.append(
            f'<div class="field"><label for="{ident}">{esc(field.label)}</label>'
            f"{hint_html}{control}{datalist}{error_html}</div>"
        )
    return "".join(out)


def error_map(issues: Sequence[FieldIssue], fields: Sequence[FormField]) -> dict[str, str]:
    """Field errors by field name; an issue of no field of the form is kept under ""."""
    names = {f.name for f in fields}
    found: dict[str, str] = {}
    for issue in issues:
        key = issue.field if issue.field in names else ""
        text = issue.message if key else f"{issue.field}: {issue.message}"
        found[key] = (found[key] + " " + text) if key in found else text
    return found
