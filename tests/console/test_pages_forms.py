"""The retry-with-edits form is generated from the contract (RetryRequest and its
TransactionEdits), posts the body the API takes, and reports the errors the API would
report for that body, field by field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from contracts.v1.transactions import RetryRequest, TransactionEdits
from gateway.console.actions import EDIT_FIELDS, RETRY_FIELDS
from gateway.console.forms import body_from_form, error_map, render_fields, validate

EXCEPTION = "exc_01J0000000000000000000000A"


def test_the_form_has_one_input_per_member_of_the_contract() -> None:
    members = set(TransactionEdits.__struct_fields__)
    assert {f.name for f in EDIT_FIELDS} == {f"edits.{m}" for m in members}
    kinds = {f.name: f.kind for f in RETRY_FIELDS}
    assert kinds == {
        "edits.accept_price_variance": "checkbox",
        "edits.legal_entity": "text",
        "edits.payment_terms": "text",
        "edits.requested_delivery_date": "date",
        "note": "textarea",
    }
    hints = {f.name: f.hint for f in RETRY_FIELDS}
    assert "NET30" in hints["edits.payment_terms"]  # the contract's example
    assert "Selling legal entity" in hints["edits.legal_entity"]  # its description


def test_rendered_inputs_are_labelled_and_carry_their_errors() -> None:
    markup = render_fields(
        EDIT_FIELDS,
        {"edits.payment_terms": "NET999", "edits.accept_price_variance": "true"},
        {"edits.payment_terms": "Use one of NET30."},
        choices={"payment_terms": ["NET30", "NET45"]},
    )
    assert '<label for="f-edits-payment-terms">Payment terms</label>' in markup
    assert 'value="NET999"' in markup
    assert 'aria-invalid="true"' in markup
    assert 'id="f-edits-payment-terms-error">Use one of NET30.</p>' in markup
    assert 'aria-describedby="f-edits-payment-terms-hint f-edits-payment-terms-error"' in markup
    assert '<option value="NET45">' in markup  # suggestions, still free text
    assert " checked" in markup
    assert "pattern=" not in markup
    assert "required" not in markup


def test_the_form_posts_the_contracts_body() -> None:
    form = {
        "edits.accept_price_variance": "true",
        "edits.payment_terms": " NET45 ",
        "edits.legal_entity": "",
        "note": "approved by pricing",
        "csrf_token": "ignored",
    }
    body = body_from_form(RETRY_FIELDS, form)
    assert body == {
        "edits": {"accept_price_variance": True, "payment_terms": "NET45"},
        "note": "approved by pricing",
    }
    decoded, issues = validate(RetryRequest, body)
    assert issues == []
    assert decoded == RetryRequest(
        edits=TransactionEdits(accept_price_variance=True, payment_terms="NET45"),
        note="approved by pricing",
    )
    assert body_from_form(RETRY_FIELDS, {}) == {}  # a plain retry: no edits at all


BAD_FORMS = [
    {"edits.payment_terms": "net 30"},
    {"edits.legal_entity": "acme us"},
    {"edits.requested_delivery_date": "2026-02-30"},
    {"edits.payment_terms": "net 30", "edits.requested_delivery_date": "31.12.2026"},
]


@pytest.mark.parametrize("form", BAD_FORMS)
async def test_field_errors_are_the_apis_for_the_same_body(
    api: httpx.AsyncClient, form: dict[str, str]
) -> None:
    body = body_from_form(RETRY_FIELDS, form)
    _, issues = validate(RetryRequest, body)
    assert issues, "the form was expected to be refused"
    # The API decodes the same body before it looks for the exception.
    answer = await api.post(f"/v1/ops/exceptions/{EXCEPTION}/retry", json=body)
    assert answer.status_code in (400, 422), answer.text
    problem: dict[str, Any] = answer.json()
    from_api = {(e["field"], e["message"]) for e in problem["errors"]}
    assert {(i.field, i.message) for i in issues} == from_api
    shown = error_map(issues, RETRY_FIELDS)
    assert set(shown) == set(form)  # each message next to the field that caused it
