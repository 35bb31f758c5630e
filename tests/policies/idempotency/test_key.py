from __future__ import annotations

import pytest

from policies.idempotency.key import fingerprint, parse_idempotency_key, record_id


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ('"8e03978e-40d5-43e8-bc93-6894a57f9324"', "8e03978e-40d5-43e8-bc93-6894a57f9324"),
        ("8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324"),
        ('"a\\"b\\\\c"', 'a"b\\c'),
        ('  "abc"  ', "abc"),
        ('"abc";v=1;x', "abc"),
        ('"abc"; note="x y";flag=?1', "abc"),
        ("order:42/retry#1", "order:42/retry#1"),
        ('"' + "k" * 255 + '"', "k" * 255),
        ("k" * 255, "k" * 255),
    ],
)
def test_accepts_sf_strings_and_bare_keys(value: str, key: str) -> None:
    assert parse_idempotency_key(value) == key


@pytest.mark.parametrize(
    "value",
    [
        "",
        '""',
        '"abc',
        '"a"b"',
        '"abc" trailing',
        '"abc";Bad=1',
        '"with space"',
        "with space",
        '"caf\u00e9"',
        "caf\u00e9",
        '"\\n"',
        'ab"c',
        '"' + "k" * 256 + '"',
        "k" * 256,
    ],
)
def test_rejects_malformed_keys(value: str) -> None:
    assert parse_idempotency_key(value) is None


def test_fingerprint_covers_method_path_query_and_body() -> None:
    base = fingerprint("POST", b"/v1/orders", b"a=1", b"{}")
    assert base == fingerprint("POST", b"/v1/orders", b"a=1", b"{}")
    assert (
        len(
            {
                base,
                fingerprint("PATCH", b"/v1/orders", b"a=1", b"{}"),
                fingerprint("POST", b"/v1/orders/x", b"a=1", b"{}"),
                fingerprint("POST", b"/v1/orders", b"a=2", b"{}"),
                fingerprint("POST", b"/v1/orders", b"a=1", b"[]"),
                # Moving bytes between parts must not collide.
                fingerprint("POST", b"/v1/orders", b"a=1{", b"}"),
            }
        )
        == 6
    )


def test_record_id_scopes_the_key_by_consumer_method_and_route() -> None:
    base = record_id("acme/crm", "POST", "/v1/orders", "k1")
    assert len(base) == 64
    assert (
        len(
            {
                base,
                record_id("acme/erp", "POST", "/v1/orders", "k1"),
                record_id("acme/crm", "PATCH", "/v1/orders", "k1"),
                record_id("acme/crm", "POST", "/v1/payments", "k1"),
                record_id("acme/crm", "POST", "/v1/orders", "k2"),
            }
        )
        == 5
    )


def test_fingerprint_compares_json_bodies_by_meaning() -> None:
    def of(body: bytes) -> str:
        return fingerprint("POST", b"/v1/orders", b"", body)

    base = of(b'{"a": 1, "b": {"c": "x", "d": [1, 2]}}')
    assert of(b'{"b":{"d":[1,2],"c":"x"},"a":1}') == base
    assert of(b'  {"a":1,\r\n "b":{"c":"x","d":[1,2]}}  ') == base
    # Values, array order and types still count.
    assert of(b'{"a": 1, "b": {"c": "x", "d": [2, 1]}}') != base
    assert of(b'{"a": "1", "b": {"c": "x", "d": [1, 2]}}') != base
    assert of(b'{"a": 1, "b": {"c": "y", "d": [1, 2]}}') != base
    # A body that is not JSON is compared byte for byte, and never equals a JSON one.
    assert of(b"a=1&b=2") != of(b"b=2&a=1")
    assert of(b'{"a": 1') != of(b'{"a":1')
    assert of(b'"{}"') != of(b"{}")
