"""Signing in to the console in a real browser: the OpenID Connect flow against the
built-in issuer, the CSRF guard seen from a page's own script, and signing out."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.console.support import SignInRefused, sign_in_browser
from tests.e2e.console.conftest import ARTIFACTS
from tests.support.browser import TABLET, PageCheck, screenshot

pytestmark = [pytest.mark.e2e]


def _wait(driver: Any, condition: Any) -> Any:
    return WebDriverWait(driver, 15, poll_frequency=0.05).until(condition)


@pytest.fixture
def driver(browser: Any, console_server: str) -> Any:
    """The session's browser with no console cookies left from an earlier test."""
    browser.get(console_server + "/console/signed-out")
    browser.delete_all_cookies()
    return browser


def test_priya_signs_in_through_the_provider_and_lands_on_the_console(
    driver: Any, console_server: str
) -> None:
    driver.get(console_server + "/console")
    _wait(driver, lambda d: d.find_elements(By.ID, "username"))
    assert driver.current_url.startswith(console_server + "/oauth/authorize?")
    assert driver.find_element(By.CSS_SELECTOR, "label[for=username]").text == "Username"
    assert "to continue to the Q2C operations console" in driver.find_element(
        By.TAG_NAME, "main").text
    screenshot(driver, ARTIFACTS / "sign-in.png")

    sign_in_browser(driver, console_server, "priya", "pricing-demo")

    assert driver.current_url == console_server + "/console"
    assert "Signed in as Priya Nair" in driver.find_element(By.TAG_NAME, "body").text
    cookie = driver.get_cookie("q2c_console_session")
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/console"
    # The page's own script cannot read the session (HttpOnly).
    assert "q2c_console_session" not in driver.execute_script("return document.cookie")
    screenshot(driver, ARTIFACTS / "home.png")


def test_a_wrong_password_shows_the_form_again_with_a_generic_error(
    driver: Any, console_server: str
) -> None:
    with pytest.raises(SignInRefused):
        sign_in_browser(driver, console_server, "priya", "not-her-password")
    error = driver.find_element(By.ID, "signin-error")
    assert error.get_attribute("role") == "alert"
    assert error.text == "The username or password is not right."
    assert driver.find_element(By.ID, "password").get_attribute("aria-invalid") == "true"
    assert driver.get_cookie("q2c_console_session") is None
    screenshot(driver, ARTIFACTS / "sign-in-error.png")


def test_a_post_without_the_csrf_token_is_refused_with_403(
    driver: Any, console_server: str
) -> None:
    sign_in_browser(driver, console_server, "priya", "pricing-demo")
    driver.set_script_timeout(15)
    status = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/console/logout', {method: 'POST', credentials: 'same-origin',"
        " headers: {'content-type': 'application/x-www-form-urlencoded'}, body: 'x=1'})"
        ".then(r => done(r.status), e => done(String(e)));"
    )
    assert status == 403
    # Still signed in: the forged sign-out did nothing.
    driver.get(console_server + "/console")
    assert "Signed in as Priya Nair" in driver.find_element(By.TAG_NAME, "body").text


def test_signing_out_ends_the_session_for_back_and_reload(
    driver: Any, console_server: str
) -> None:
    sign_in_browser(driver, console_server, "priya", "pricing-demo")
    driver.find_element(By.CSS_SELECTOR, "form[action='/console/logout'] button").click()
    _wait(driver, lambda d: d.current_url.endswith("/console/signed-out"))
    assert "You have signed out" in driver.find_element(By.TAG_NAME, "body").text
    assert driver.get_cookie("q2c_console_session") is None
    screenshot(driver, ARTIFACTS / "signed-out.png")

    driver.back()  # to the console page: not from a cache, and without a session
    _wait(driver, lambda d: d.find_elements(By.ID, "username"))
    assert "/oauth/authorize" in driver.current_url
    driver.get(console_server + "/console")
    _wait(driver, lambda d: d.find_elements(By.ID, "username"))
    assert "/oauth/authorize" in driver.current_url


def test_the_sign_in_pages_have_no_serious_accessibility_violations(
    driver: Any, console_server: str, axe_source: str
) -> None:
    pages = PageCheck(driver, console_server, axe_source, ARTIFACTS)
    pages.open("/console", ready=lambda d: d.find_elements(By.ID, "username"))
    assert pages.accessibility("sign-in") == []
    with pytest.raises(SignInRefused):
        sign_in_browser(driver, console_server, "nobody", "wrong")
    assert pages.accessibility("sign-in-error") == []
    pages.resize(TABLET)
    assert not pages.overflows_horizontally()
    screenshot(driver, ARTIFACTS / "sign-in-tablet.png")
    pages.resize((1280, 900))
    pages.open("/console/signed-out")
    assert pages.accessibility("signed-out") == []
    # Nothing was fetched from anywhere but the gateway.
    assert all(url.startswith(console_server) for url in pages.requested_urls())
