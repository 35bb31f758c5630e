"""Request encoding matches httpx's (which the vendor clients were written against),
and Retry-After is read in both of its forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from systems.outbound import encode_body, encode_url, retry_after_seconds

BASE = "http://sap.test/sap/opu/odata/sap/API_PRODUCT_SRV"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/A_Product", {"$filter": "Product eq 'P-1'", "$top": 1, "$format": "json"}),
        ("/A_Product('P%2F1')", {"$expand": "to_Description"}),
        ("/query", [("q", "SELECT Id FROM Account WHERE Name LIKE '%a+b%'")]),
        ("/flags", {"yes": True, "no": False, "none": None, "many": ["1", "2"]}),
        ("/with space/é", None),
        ("/plain", None),
    ],
)
def test_urls_are_encoded_as_httpx_encodes_them(path: str, params: Any) -> None:
    expected = str(httpx.Request("GET", BASE + path, params=params).url)
    assert encode_url(BASE + path, params) == expected


def test_params_join_a_query_the_path_already_has() -> None:
    assert encode_url("http://x.test/p?a=1", {"b": "2 3"}) == "http://x.test/p?a=1&b=2+3"


@pytest.mark.parametrize(
    "body",
    [
        {"json": {"name": "Zoë", "amount": 1.5, "lines": [1, None]}},
        {"data": {"grant_type": "client_credentials", "scope": "a b", "n": None}},
        {"content": b"\x00raw"},
    ],
)
def test_bodies_are_encoded_as_httpx_encodes_them(body: dict[str, Any]) -> None:
    request = httpx.Request("POST", "http://x.test/", **body)
    headers: dict[str, str] = {}
    assert encode_body(headers, **body) == request.content
    assert headers.get("Content-Type") == request.headers.get("content-type")


def test_a_form_may_repeat_a_field() -> None:
    pairs = [("expand[]", "charge"), ("expand[]", "invoice")]
    assert encode_body({}, data=pairs) == b"expand%5B%5D=charge&expand%5B%5D=invoice"


def test_a_content_type_the_caller_named_is_kept() -> None:
    headers = {"content-type": "application/merge-patch+json"}
    encode_body(headers, json={"a": 1})
    assert headers == {"content-type": "application/merge-patch+json"}


def test_no_body_is_no_body() -> None:
    headers: dict[str, str] = {}
    assert encode_body(headers) is None
    assert encode_body(headers, data={}) is None
    assert headers == {}


def test_retry_after_in_seconds_and_as_a_date() -> None:
    assert retry_after_seconds("7") == 7.0
    soon = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 <= (retry_after_seconds(format_datetime(soon, usegmt=True)) or 0) <= 30
    past = datetime.now(UTC) - timedelta(hours=1)
    assert retry_after_seconds(format_datetime(past, usegmt=True)) == 0.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("-1") is None
