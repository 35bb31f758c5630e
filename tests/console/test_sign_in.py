"""Signing in to the console through the built-in issuer, in-process: the session, its
timeouts, signing out, the CSRF guard, and where the browser may be sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.console.signin import LOGIN_COOKIE, SESSION_COOKIE, safe_next
from tests.console.conftest import BASE, PROBE, Console
from tests.console.support import SignInRefused, csrf_token, sign_in_asgi, sign_in_form


async def _callback(console: Console, username: str = "priya",
                    password: str = "pricing-demo") -> str:  # noqa: S107 - a demo login
    """Where the provider sends the browser back to after a good password."""
    form = await console.client.get("/console", follow_redirects=True)
    answer = await console.client.post("/oauth/authorize",
                                       data=sign_in_form(form.text, username, password))
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


async def _audit(console: Console, tenant: str) -> list[tuple[str, str, str]]:
    entries, _ = await console.runtime.audit_store.query(
        tenant, since=datetime.now(UTC) - timedelta(hours=1), limit=100)
    return [(e.operation, e.consumer, e.outcome) for e in entries]


async def test_signing_in_lands_on_the_console_as_that_person(console: Console) -> None:
    page = await sign_in_asgi(console.client, "priya", "pricing-demo")

    assert page.url == f"{BASE}/console"
    assert "Signed in as Priya Nair (operator, tenant sandbox)" in page.text
    assert page.headers["cache-control"] == "no-store"
    # The login cookie is spent; the session cookie is the only one left.
    assert set(console.client.cookies.keys()) == {SESSION_COOKIE}
    trail = await _audit(console, "sandbox")
    assert ("idp.sign_in", "user:priya", "succeeded") in trail
    assert ("console.sign_in", "user:priya", "succeeded") in trail


async def test_the_session_cookie_is_httponly_lax_and_scoped_to_the_console(
    console: Console,
) -> None:
    callback = await console.client.get(await _callback(console, "carl", "credit-demo"))
    assert callback.status_code == 303
    assert callback.headers["location"] == "/console"
    cookie = next(v for v in callback.headers.get_list("set-cookie")
                  if v.startswith(SESSION_COOKIE + "="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "Path=/console" in cookie
    assert "SameSite=lax" in cookie
    assert "Max-Age=1800" in cookie
    assert "secure" not in attributes  # plain http on a loopback address


async def test_a_wrong_password_gets_no_code_and_no_hint_whether_the_name_exists(
    console: Console,
) -> None:
    form = await console.client.get("/console", follow_redirects=True)
    answers = []
    for username, password in (("priya", "wrong"), ("nobody", "wrong")):
        answer = await console.client.post(
            "/oauth/authorize", data=sign_in_form(form.text, username, password))
        answers.append(answer)
        assert answer.status_code == 401
        assert "location" not in answer.headers
        assert "The username or password is not right." in answer.text
        assert "code=" not in answer.text
    assert answers[0].text.replace("priya", "X") == answers[1].text.replace("nobody", "X")
    page = await console.client.get("/console")
    assert page.status_code == 303  # still not signed in
    trail = await _audit(console, "sandbox")
    assert ("idp.sign_in_failed", "user:priya", "rejected") in trail


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/console", "//evil.example/console", "/\\evil.example",
     "/portal", "/console/../portal", "javascript:alert(1)", "/console/logout"],
)
async def test_next_never_leaves_the_console(console: Console, target: str) -> None:
    assert safe_next(target) == "/console"
    answer = await console.client.get("/console/login", params={"next": target},
                                      follow_redirects=True)
    landed = await console.client.post("/oauth/authorize",
                                       data=sign_in_form(answer.text, "priya", "pricing-demo"),
                                       follow_redirects=True)
    assert landed.url == f"{BASE}/console"


async def test_next_keeps_a_console_page_and_its_query(console: Console) -> None:
    assert safe_next("/console/exceptions?team=pricing-ops") == (
        "/console/exceptions?team=pricing-ops")
    redirected = await console.client.get("/console?team=pricing-ops")
    assert redirected.status_code == 303
    assert parse_qs(urlsplit(redirected.headers["location"]).query)["next"] == [
        "/console?team=pricing-ops"]
    landed = await sign_in_asgi(console.client, "priya", "pricing-demo",
                                next_path="/console?team=pricing-ops")
    assert landed.url == f"{BASE}/console?team=pricing-ops"


async def test_a_tampered_session_cookie_is_refused(console: Console) -> None:
    await sign_in_asgi(console.client, "priya", "pricing-demo")
    value = console.client.cookies[SESSION_COOKIE]
    session_id, _, signature = value.rpartition(".")
    tampered = [
        f"{session_id}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        f"{session_id[:-1]}x.{signature}",
        session_id,
    ]
    for forged in tampered:
        async with console.browser() as other:
            other.cookies.set(SESSION_COOKIE, forged, domain="127.0.0.1", path="/console")
            answer = await other.get("/console")
            assert answer.status_code == 303, forged
            assert answer.headers["location"].startswith("/console/login")


async def test_an_idle_session_expires_and_activity_keeps_it(console: Console) -> None:
    await sign_in_asgi(console.client, "priya", "pricing-demo")
    for _ in range(3):  # 3 x 1500 s: longer than the idle timeout, never idle that long
        console.clock.advance(1500)
        page = await console.client.get("/console")
        assert page.status_code == 200
        assert "Max-Age=1800" in page.headers["set-cookie"]  # slid on
    console.clock.advance(1801)
    answer = await console.client.get("/console")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=%2Fconsole"
    forgotten = answer.headers["set-cookie"]
    assert forgotten.startswith(f"{SESSION_COOKIE}=")
    assert "Max-Age=0" in forgotten
    assert SESSION_COOKIE not in console.client.cookies


async def test_the_absolute_timeout_ends_even_a_busy_session(console: Console) -> None:
    await sign_in_asgi(console.client, "priya", "pricing-demo")
    for _ in range(28):  # 28 x 1500 s = 42000 s of steady activity
        console.clock.advance(1500)
        assert (await console.client.get("/console")).status_code == 200
    console.clock.advance(1500)  # past 43200 s since signing in
    assert (await console.client.get("/console")).status_code == 303


async def test_unsafe_requests_need_the_session_csrf_token(console: Console) -> None:
    page = await sign_in_asgi(console.client, "priya", "pricing-demo")
    token = csrf_token(page.text)

    missing = await console.client.post("/console/logout", data={"x": "1"})
    assert missing.status_code == 403
    assert "did not come from the console" in missing.text
    wrong = await console.client.post("/console/logout", data={"csrf_token": token[:-2] + "xx"})
    assert wrong.status_code == 403
    twice = await console.client.post("/console/logout",
                                      content=f"csrf_token={token}&csrf_token={token}",
                                      headers={"content-type":
                                               "application/x-www-form-urlencoded"})
    assert twice.status_code == 403
    as_json = await console.client.post("/console/logout",
                                        headers={"accept": "application/json"})
    assert as_json.status_code == 403
    assert as_json.headers["content-type"].startswith("application/problem+json")
    assert as_json.json()["code"] == "CSRF_TOKEN_INVALID"
    # None of those signed anybody out.
    assert (await console.client.get("/console")).status_code == 200

    by_header = await console.client.post("/console/logout", headers={"x-csrf-token": token})
    assert by_header.status_code == 303


async def test_another_sessions_token_is_not_this_ones(console: Console) -> None:
    await sign_in_asgi(console.client, "priya", "pricing-demo")
    async with console.browser() as other:
        theirs = csrf_token((await sign_in_asgi(other, "carl", "credit-demo")).text)
    answer = await console.client.post("/console/logout", data={"csrf_token": theirs})
    assert answer.status_code == 403


async def test_a_page_action_needs_a_session_and_its_token(console: Console) -> None:
    anonymous = await console.client.post(PROBE, data={"csrf_token": "x"})
    assert anonymous.status_code == 401
    assert "location" not in anonymous.headers
    assert "session has ended" in anonymous.text

    page = await sign_in_asgi(console.client, "carl", "credit-demo")
    assert (await console.client.post(PROBE, data={})).status_code == 403
    done = await console.client.post(PROBE, data={"csrf_token": csrf_token(page.text)})
    assert done.status_code == 200
    assert done.text == "done by carl"


async def test_signing_out_ends_the_session_and_a_copied_cookie_with_it(
    console: Console,
) -> None:
    page = await sign_in_asgi(console.client, "priya", "pricing-demo")
    copied = console.client.cookies[SESSION_COOKIE]

    answer = await console.client.post("/console/logout",
                                       data={"csrf_token": csrf_token(page.text)})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/signed-out"
    assert SESSION_COOKIE not in console.client.cookies
    assert "You have signed out" in (await console.client.get("/console/signed-out")).text

    async with console.browser() as replay:
        replay.cookies.set(SESSION_COOKIE, copied, domain="127.0.0.1", path="/console")
        again = await replay.get("/console")
        assert again.status_code == 303
        assert again.headers["location"].startswith("/console/login")
    trail = await _audit(console, "sandbox")
    assert ("console.sign_out", "user:priya", "succeeded") in trail


async def test_a_callback_without_this_browsers_sign_in_is_refused(console: Console) -> None:
    callback = await _callback(console)
    async with console.browser() as attacker:  # no login cookie: a forced sign-in
        refused = await attacker.get(callback)
        assert refused.status_code == 400
        assert "started in another browser" in refused.text
        assert SESSION_COOKIE not in attacker.cookies
    # A changed state is refused too.
    tampered = callback.replace("state=", "state=x")
    refused = await console.client.get(tampered)
    assert refused.status_code == 400
    assert "not for the sign-in this browser started" in refused.text
    trail = await _audit(console, "-")
    assert ("console.sign_in_failed", "user:-", "rejected") in trail
    # Sign-in starts again: neither refusal signed anybody in anywhere.
    assert SESSION_COOKIE not in console.client.cookies
    assert (await console.client.get("/console")).status_code == 303


async def test_a_login_cookie_older_than_ten_minutes_is_refused(console: Console) -> None:
    callback = await _callback(console)
    assert LOGIN_COOKIE in console.client.cookies
    console.clock.advance(601)
    refused = await console.client.get(callback)
    assert refused.status_code == 400


async def test_the_sign_in_helper_notices_a_refused_password(console: Console) -> None:
    with pytest.raises(SignInRefused):
        await sign_in_asgi(console.client, "vera", "not-veras")


async def test_a_signed_in_user_is_sent_on_from_the_login_page(console: Console) -> None:
    await sign_in_asgi(console.client, "vera", "viewer-demo")
    answer = await console.client.get("/console/login", params={"next": "/console/x"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/x"
