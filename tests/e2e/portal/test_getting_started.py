"""Getting started in a real browser: register an application, get a token, make a call,
revoke it, and watch the token endpoint refuse it, all from the page."""

from __future__ import annotations

import json

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.e2e.portal.conftest import DESKTOP, TABLET, PageCheck

pytestmark = pytest.mark.e2e


def state(pages: PageCheck, element_id: str, expected: str) -> str:
    pages.wait(lambda d: d.find_element(By.ID, element_id).get_attribute("data-state")
               in (expected, "refused", "failed"))
    found = pages.driver.find_element(By.ID, element_id)
    assert found.get_attribute("data-state") == expected, found.text
    return str(found.text)


def test_register_get_a_token_call_and_revoke(pages: PageCheck) -> None:
    driver = pages.driver
    pages.resize(DESKTOP)
    pages.open("/portal/getting-started")
    name = driver.find_element(By.ID, "app-name")
    name.send_keys("E2E portal app")
    for box in driver.find_elements(By.CSS_SELECTOR, "input[name=scope]:checked"):
        box.click()
    driver.find_element(By.ID, "scope-products:read").click()
    driver.find_element(By.ID, "register").click()

    pages.wait(lambda d: d.find_elements(By.ID, "credentials"))
    client_id = driver.find_element(By.ID, "new-client-id").text
    secret = driver.find_element(By.ID, "new-client-secret").text
    assert client_id.startswith("app_")
    assert len(secret) >= 40
    assert "products:read" in driver.find_element(By.ID, "credentials").text
    pages.screenshot("getting-started-registered")
    serious = pages.accessibility("getting-started-registered")
    assert serious == [], json.dumps(serious, indent=2)

    # Step 2, from the page: the token endpoint with the new credentials (prefilled).
    assert driver.find_element(By.ID, "client-id").get_attribute("value") == client_id
    driver.find_element(By.ID, "get-token").click()
    issued = state(pages, "token-result", "issued")
    assert "HTTP 200" in issued
    assert "products:read" in issued

    # Step 3: the first call with that token.
    Select(driver.find_element(By.ID, "call-path")).select_by_value("/v1/products?limit=3")
    driver.find_element(By.ID, "make-call").click()
    called = state(pages, "call-result", "ok")
    assert "HTTP 200" in called
    assert '"data"' in called
    assert "prd_" in called
    pages.screenshot("getting-started-first-call")
    serious = pages.accessibility("getting-started-first-call")
    assert serious == [], json.dumps(serious, indent=2)
    pages.resize(TABLET)
    assert not pages.overflows_horizontally()
    pages.screenshot("getting-started-first-call-tablet")
    pages.resize(DESKTOP)

    # The secret was shown once: the page does not show it again.
    pages.open("/portal/getting-started")
    assert secret not in driver.page_source
    row = driver.find_element(By.XPATH, f"//tr[td/code[text()='{client_id}']]")
    assert "E2E portal app" in row.text

    # Revoke from the page; the application leaves the list ...
    row.find_element(By.CSS_SELECTOR, "button.danger").click()
    pages.wait(lambda d: "revoked" in d.current_url)
    assert f"Application {client_id} was revoked." in driver.find_element(By.ID, "main").text
    assert not driver.find_elements(By.XPATH, f"//tr[td/code[text()='{client_id}']]")
    pages.screenshot("getting-started-revoked")

    # ... and the token endpoint refuses it, from the page and from any client.
    driver.find_element(By.ID, "client-id").send_keys(client_id)
    driver.find_element(By.ID, "client-secret").send_keys(secret)
    driver.find_element(By.ID, "get-token").click()
    refused = state(pages, "token-result", "refused")
    assert "HTTP 401" in refused
    assert "invalid_client" in refused
    again = httpx.post(pages.base + "/oauth/token", auth=(client_id, secret),
                       data={"grant_type": "client_credentials"}, timeout=10)
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_client"
    assert not pages.console_errors() or all("401" in e for e in pages.console_errors())


def test_the_form_says_what_is_wrong(pages: PageCheck) -> None:
    driver = pages.driver
    pages.open("/portal/getting-started")
    for box in driver.find_elements(By.CSS_SELECTOR, "input[name=scope]:checked"):
        box.click()
    # The browser's own required check would stop an empty name; a bad one gets through.
    driver.find_element(By.ID, "app-name").send_keys("<bad>")
    driver.find_element(By.ID, "register").click()
    pages.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".notice-error"))
    name = driver.find_element(By.ID, "app-name")
    assert name.get_attribute("aria-invalid") == "true"
    assert driver.find_element(By.ID, "app-name-error").text
    assert driver.find_element(By.ID, "scopes-error").text == "Choose at least one scope."
    pages.screenshot("getting-started-errors")
    serious = pages.accessibility("getting-started-errors")
    assert serious == [], json.dumps(serious, indent=2)


def test_a_forged_post_is_refused(pages: PageCheck) -> None:
    """A post without the portal's cookie and form token (another site's form) fails."""
    forged = httpx.post(pages.base + "/portal/apps", timeout=10,
                        data={"name": "forged", "scope": "products:read", "csrf_token": "x"})
    assert forged.status_code == 403
    assert "app_" not in forged.text
