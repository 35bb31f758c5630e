"""Trace context from the client reaches the systems of record unchanged."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from gateway.app import create_app
from gateway.wiring import build_runtime
from sandboxes.sap_s4hana import SapSandbox
from sandboxes.sap_s4hana import create_app as sap_app
from systems.sap_s4hana.plugin import SapS4HanaSettings
from tests.conftest import bearer
from tests.support.servers import serve_in_thread
from tests.support.settings import gateway_settings

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


class HeaderRecorder:
    """An ASGI wrapper that keeps the request headers the wrapped server received."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[dict[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


async def test_client_traceparent_reaches_sap_with_the_same_trace_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = HeaderRecorder(sap_app(SapSandbox()))
    monkeypatch.setenv("TRACE_TEST_SAP_USER", "Q2C_GATEWAY")
    monkeypatch.setenv("TRACE_TEST_SAP_PASSWORD", "sandbox")
    with serve_in_thread(recorder) as sap_url:
        base = gateway_settings()
        systems = {
            **base.systems,
            "sap_s4hana": SapS4HanaSettings(
                base_url=sap_url,
                user_env="TRACE_TEST_SAP_USER",
                password_env="TRACE_TEST_SAP_PASSWORD",
            ),
        }
        runtime = build_runtime(msgspec.structs.replace(base, systems=systems))
        await runtime.start()
        try:
            app = create_app(runtime.settings, runtime)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://gw",
                headers=bearer(runtime),
            ) as api:
                response = await api.get(
                    "/v1/products",
                    params={"limit": "2"},
                    headers={
                        "traceparent": f"00-{TRACE_ID}-{CLIENT_SPAN}-01",
                        "tracestate": "vendor=abc",
                        "X-Request-Id": "req-42",
                    },
                )
                unsampled = await api.get(
                    "/v1/products", headers={"traceparent": f"00-{'a' * 32}-{CLIENT_SPAN}-00"}
                )
                bogus = await api.get(
                    "/v1/products", headers={"traceparent": f"00-{'0' * 32}-{CLIENT_SPAN}-01"}
                )
        finally:
            await runtime.close()
    assert response.status_code == 200
    assert response.headers["x-trace-id"] == TRACE_ID
    assert response.headers["x-request-id"] == "req-42"
    traced = [h for h in recorder.seen if h.get("traceparent", "").startswith(f"00-{TRACE_ID}-")]
    assert traced, recorder.seen
    for headers in traced:
        version, trace_id, parent, flags = headers["traceparent"].split("-")
        assert (version, trace_id, flags) == ("00", TRACE_ID, "01")
        assert parent != CLIENT_SPAN  # the gateway's own span is the SoR call's parent
        assert headers.get("tracestate") == "vendor=abc"
        assert headers.get("x-request-id") == "req-42"
    assert unsampled.status_code == 200
    assert unsampled.headers["x-trace-id"] == "a" * 32
    assert any(h.get("traceparent", "").endswith("-00") for h in recorder.seen)
    # An all-zero trace id is invalid: ignored, never an error; a new trace starts.
    assert bogus.status_code == 200
    assert bogus.headers["x-trace-id"] != "0" * 32
