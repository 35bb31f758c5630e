"""How deeply a JSON document nests, found without decoding it.

The JSON decoder recurses once per array or object level, so a small body of a
few thousand brackets exhausts the interpreter's stack (a RecursionError, a 500).
Counting is done before decoding, cheaply: a document with no more opening
brackets than the limit cannot be deeper than it, which settles nearly every
request with two byte counts. A body with more brackets is reduced to its
structure: strings are cut out (brackets in text are not structure; with the
escaped backslashes and quotes gone, the remaining quotes alternately open and
close strings) and objects count as arrays. Its innermost pairs are then peeled
off one level per pass: a well-formed document within the limit is empty after
at most ``limit`` passes. What cannot be peeled is unbalanced (closers, then
openers), and its unclosed openers add to the depth the decoder would reach.
Every step is one C loop over the bytes; a 1 MiB body takes milliseconds.
"""

from __future__ import annotations

# Objects nest like arrays: "{" -> "[", "}" -> "]"; everything else is dropped.
_AS_ARRAYS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def deeper_than(body: bytes, limit: int) -> bool:
    """Whether decoding ``body`` would nest arrays and objects more than ``limit`` deep.

    Exact for a well-formed document; for a malformed one an upper bound (a 400
    either way, and the decoder never sees it).
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    rest = _outside_strings(body).translate(_AS_ARRAYS, _NOT_BRACKETS)
    for peeled_levels in range(limit + 1):
        if not rest:
            return False
        peeled = rest.replace(b"[]", b"")
        if len(peeled) == len(rest):
            # Nothing left to peel: "]]..[[" remains, whose openers are never closed.
            return peeled_levels + rest.count(b"[") > limit
        rest = peeled
    return True


def _outside_strings(body: bytes) -> bytes:
    """The bytes of ``body`` that are not inside a JSON string.

    Backslashes only occur inside strings, where escapes read left to right: drop
    the escaped backslashes, then the escaped quotes, and every quote left is a
    string's start or end.
    """
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(unescaped.split(b'"')[0::2])
