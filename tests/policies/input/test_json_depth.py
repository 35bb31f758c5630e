"""The nesting depth found without decoding agrees with the decoder's."""

from __future__ import annotations

import random
import time

import msgspec
import pytest

from policies.input.json_depth import deeper_than


def nested(depth: int, inner: bytes = b"1") -> bytes:
    opening = b"".join(b'{"k":' if i % 2 else b"[" for i in range(depth))
    closing = b"".join(b"}" if i % 2 else b"]" for i in reversed(range(depth)))
    return opening + inner + closing


def depth_of(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


@pytest.mark.parametrize("depth", [1, 5, 31, 32])
def test_documents_up_to_the_limit_pass(depth: int) -> None:
    body = nested(depth)
    assert depth_of(msgspec.json.decode(body)) == depth
    assert not deeper_than(body, 32)


@pytest.mark.parametrize("depth", [33, 100, 5000])
def test_documents_beyond_the_limit_are_found(depth: int) -> None:
    assert deeper_than(nested(depth), 32)


def test_brackets_inside_strings_are_text() -> None:
    text = msgspec.json.encode({"note": "[" * 500 + "{" * 500, "quote": '\\"[[[[\\'})
    assert not deeper_than(text, 4)
    assert deeper_than(msgspec.json.encode([[[[["[" * 10]]]]]), 4)


def test_agrees_with_the_decoder_on_random_documents() -> None:
    rng = random.Random(7)

    def build(level: int) -> object:
        # One deep spine with short side branches: depths up to ~40, small documents.
        roll = rng.random()
        if level > 40 or roll < 0.05:
            return rng.choice(["x", "[{", '"}]\\', 3, None, "\\"])
        children = [build(level + 1)] + [rng.choice(["[", "}", 1, [], {}]) for _ in range(2)]
        rng.shuffle(children)
        if roll < 0.5:
            return children
        return {f"k{i}": child for i, child in enumerate(children)}

    for _ in range(400):
        document = build(0)
        body = msgspec.json.encode(document)
        for limit in (4, 8, 16, 32):
            assert deeper_than(body, limit) is (depth_of(document) > limit), body[:200]


def test_unclosed_brackets_count_toward_the_depth() -> None:
    # The decoder recurses into every opener before it finds the body malformed.
    assert deeper_than(b"[" * 40, 32)
    assert deeper_than(b"[]" * 5 + b"[" * 20 + nested(20), 32)
    assert not deeper_than(b"]" * 40 + b"[" * 10, 32)


def test_a_mebibyte_of_brackets_is_judged_quickly() -> None:
    bodies = [
        b"[" + b"[]," * 349_000 + b"[]]",
        nested(31) * (1_000_000 // len(nested(31))),
        b'[' + b'{"a":"[[[[[\\\\""},' * 60_000 + b"1]",
        b"[" * 1_000_000,
    ]
    started = time.perf_counter()
    for body in bodies:
        deeper_than(body, 32)
    assert time.perf_counter() - started < 1.0
