"""Signed inbound events: the t=,v1= HMAC scheme Stripe uses, for the CRM and Stripe."""

from __future__ import annotations

import time

import pytest
import stripe

from gateway.flow.signatures import BadSignature, sign, verify

BODY = b'{"id": "evt_1", "type": "invoice.paid"}'


def test_a_signature_verifies_and_stripe_accepts_the_same_scheme() -> None:
    header = sign(BODY, "whsec_test")
    assert verify(BODY, header, "whsec_test") > 0
    event = stripe.Webhook.construct_event(BODY.decode(), header, "whsec_test")
    assert event["type"] == "invoice.paid"
    rotated = f"{header},v1={'0' * 64}"
    assert verify(BODY, rotated, "whsec_test")


REFUSED = {
    "missing": lambda: None,
    "empty": lambda: "",
    "no timestamp": lambda: "v1=abc",
    "another secret": lambda: sign(BODY, "whsec_other"),
    "another body": lambda: sign(BODY + b" ", "whsec_test"),
    "too old": lambda: sign(BODY, "whsec_test", timestamp=int(time.time()) - 301),
    "from the future": lambda: sign(BODY, "whsec_test", timestamp=int(time.time()) + 301),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_anything_else_is_refused(case: str) -> None:
    header = REFUSED[case]()  # signed now: the tolerance is about the time of the check
    with pytest.raises(BadSignature):
        verify(BODY, header, "whsec_test", tolerance_s=300)


def test_no_secret_configured_refuses_everything() -> None:
    with pytest.raises(BadSignature):
        verify(BODY, sign(BODY, ""), "")
