"""The console's pages in headless Chromium on the real quote-to-cash flow: people signed
in through the built-in OpenID provider see the exceptions of their teams, fix a
price mismatch with an edited retry, replay a dead letter, and every page is offline,
accessible (axe-core) and fits a tablet, with a screenshot kept per page."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from tests.console.support import sign_in_browser
from tests.e2e.console.conftest import ARTIFACTS
from tests.e2e.console.flow_server import PASSWORDS, RECORD_URLS, FlowGateway, flow_gateway
from tests.flow.landscape import create_quote, sap_orders
from tests.support.browser import DESKTOP, TABLET, PageCheck

pytestmark = [pytest.mark.e2e]

SAP_DOWN = json.dumps(
    {"error": {"code": "/IWFND/CM_BEC/026", "message": {"lang": "en", "value": "Maintenance"}}}
).encode()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlowGateway]:
    with flow_gateway(tmp_path_factory.mktemp("console-flow")) as served:
        yield served


@pytest.fixture(scope="module")
def pages(browser: Any, gateway: FlowGateway, axe_source: str) -> Iterator[PageCheck]:
    check = PageCheck(browser, gateway.url, axe_source, ARTIFACTS)
    yield check
    check.write_axe_summary()


@pytest.fixture(scope="module")
def stopped(gateway: FlowGateway) -> dict[str, dict[str, Any]]:
    """One price mismatch (pricing ops) and one credit hold (credit control), each a
    quote in the CRM accepted through the API and stopped by the flow's validation."""
    land = gateway.land
    price = gateway.accept(create_quote(land, price_factor="0.80"))
    credit = gateway.accept(create_quote(land, account="Litware Software GmbH"))
    found = {}
    for name, transaction in (("price", price), ("credit", credit)):
        gateway.wait(transaction, "exception")
        found[name] = gateway.exception_of(transaction)
    assert found["price"]["class"] == "price_mismatch"
    assert found["credit"]["class"] == "credit_hold"
    return found


def sign_in(pages: PageCheck, username: str, next_path: str = "/console") -> None:
    """Sign in afresh (the session's browser may hold another user's session)."""
    pages.driver.get(pages.base + "/console/signed-out")
    pages.driver.delete_all_cookies()
    sign_in_browser(pages.driver, pages.base, username, PASSWORDS[username], next_path)


def text(pages: PageCheck) -> str:
    return str(pages.driver.find_element(By.TAG_NAME, "body").text)


def test_a_pricing_operator_sees_the_price_mismatch_and_not_the_credit_hold(
    pages: PageCheck, stopped: dict[str, dict[str, Any]]
) -> None:
    sign_in(pages, "priya", "/console/exceptions")
    assert pages.driver.current_url == pages.base + "/console/exceptions"
    price, credit = stopped["price"], stopped["credit"]
    rows = pages.driver.find_elements(By.CSS_SELECTOR, "table.queue tbody tr")
    listed = " ".join(r.text for r in rows)
    assert "LINE_PRICE_MISMATCH" in listed
    assert pages.driver.find_elements(
        By.CSS_SELECTOR, f"a[href='/console/exceptions/{price['id']}']"
    )
    assert not pages.driver.find_elements(
        By.CSS_SELECTOR, f"a[href='/console/exceptions/{credit['id']}']"
    )
    assert "CREDIT_HOLD" not in text(pages)
    counts = pages.driver.find_element(By.CSS_SELECTOR, "section.counts").text
    assert "pricing-ops" in counts
    assert "credit-control" not in counts
    # Carl, in credit control, sees the other one.
    sign_in(pages, "carl", "/console/exceptions")
    assert pages.driver.find_elements(
        By.CSS_SELECTOR, f"a[href='/console/exceptions/{credit['id']}']"
    )
    assert "LINE_PRICE_MISMATCH" not in text(pages)


def test_retry_with_a_bad_edit_changes_nothing_and_a_good_one_completes_the_transaction(
    pages: PageCheck, gateway: FlowGateway
) -> None:
    transaction = gateway.accept(create_quote(gateway.land, price_factor="1.10"))
    gateway.wait(transaction, "exception")
    item = gateway.exception_of(transaction)
    sign_in(pages, "priya", f"/console/exceptions/{item['id']}")
    driver = pages.driver

    def edit(terms: str, approve: bool) -> None:
        form = driver.find_element(By.CSS_SELECTOR, "form[data-form='retry_edit']")
        if not form.is_displayed():
            driver.find_element(By.CSS_SELECTOR, "details.edit summary").click()
        box = form.find_element(By.ID, "f-edits-accept-price-variance")
        if box.is_selected() != approve:
            box.click()
        field = form.find_element(By.ID, "f-edits-payment-terms")
        field.clear()
        field.send_keys(terms)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        pages.wait(lambda d: d.execute_script("return document.readyState") == "complete")

    edit("NET999", approve=True)  # not agreed terms: the flow's rule, as the API says
    error = pages.wait(lambda d: d.find_elements(By.ID, "f-edits-payment-terms-error"))[0]
    assert "Use one of" in error.text
    assert "NET45" in error.text
    field = driver.find_element(By.ID, "f-edits-payment-terms")
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("value") == "NET999"
    assert "f-edits-payment-terms-error" in (field.get_attribute("aria-describedby") or "")
    pages.screenshot("exception-retry-with-a-bad-edit")
    time.sleep(0.5)  # had anything been sent, the transaction would be moving by now
    assert gateway.transaction(transaction)["state"] == "exception"
    unchanged = gateway.api.get(f"/v1/ops/exceptions/{item['id']}").json()
    assert (unchanged["state"], unchanged["actions"]) == ("open", [])

    edit("NET45", approve=True)
    pages.wait(lambda d: "done=retry" in d.current_url)
    assert "Retry sent" in text(pages)
    done = gateway.wait(transaction, "awaiting_payment")
    validate = [e for e in done["timeline"] if e["step"] == "validate"]
    assert [e["status"] for e in validate] == ["failed", "succeeded"]
    assert "NET45" in validate[-1]["detail"]
    assert len(sap_orders(gateway.land, done["order_id"])) == 1
    resolved = gateway.api.get(f"/v1/ops/exceptions/{item['id']}").json()
    assert resolved["state"] == "resolved"
    assert [(a["action"], a["actor"]) for a in resolved["actions"]] == [("retry", "priya")]
    audit = gateway.api.get("/v1/ops/audit", params={"consumer": "priya"}).json()["data"]
    assert ("retryException", 202) in [(e["operation"], e["status"]) for e in audit]

    paid = gateway.api.post(
        "/v1/payments",
        json={"invoice_id": done["invoice_id"], "payment_method": "pm_card_visa"},
        headers={"Idempotency-Key": f'"pay-{transaction}"'},
    )
    assert paid.status_code == 201, paid.text
    completed = gateway.wait(transaction, "completed")

    # The transaction's page: the whole timeline, each record linked to its system.
    pages.open(f"/console/transactions/{transaction}")
    steps = [e.get_attribute("data-step")
             for e in driver.find_elements(By.CSS_SELECTOR, "ol.timeline li.step")]
    assert steps == [e["step"] for e in completed["timeline"]]
    order_number = completed["external_references"][0]["id"]
    order_link = RECORD_URLS["sap_s4hana"].replace("{id}", order_number)
    assert driver.find_elements(By.CSS_SELECTOR, f"a[href='{order_link}']")
    body = text(pages)
    for kind in ("quote.accepted", "order.accepted", "invoice.generated", "payment.received",
                 "transaction.completed"):
        assert f"com.q2c.{kind}" in body
    assert completed["trace_id"] in body
    assert "completed" in body


def test_a_viewer_has_no_action_and_a_posted_one_is_refused(
    pages: PageCheck, gateway: FlowGateway, stopped: dict[str, dict[str, Any]]
) -> None:
    item = stopped["price"]
    sign_in(pages, "vera", f"/console/exceptions/{item['id']}")
    driver = pages.driver
    assert "Why it stopped" in text(pages)
    assert not driver.find_elements(By.CSS_SELECTOR, "form[action*='/console/exceptions/']")
    assert not driver.find_elements(By.XPATH, "//button[contains(., 'Assign to me')]")
    assert "can read the queue but not act" in text(pages)
    # The page's own token does not help: the role is checked on the server.
    status = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const token = document.querySelector('input[name=csrf_token]').value;"
        "fetch(arguments[0], {method: 'POST', credentials: 'same-origin',"
        " body: new URLSearchParams({csrf_token: token})}).then(r => done(r.status));",
        f"/console/exceptions/{item['id']}/assign",
    )
    assert status == 403
    unchanged = gateway.api.get(f"/v1/ops/exceptions/{item['id']}").json()
    assert (unchanged["assignee"], unchanged["actions"]) == (None, [])


def test_the_queue_counts_refresh_without_a_reload(
    pages: PageCheck, gateway: FlowGateway, stopped: dict[str, dict[str, Any]]
) -> None:
    sign_in(pages, "priya", "/console/exceptions")
    driver = pages.driver
    counter = "section.counts .count[data-team='pricing-ops']"
    before = int(driver.find_element(By.CSS_SELECTOR, counter).text)
    driver.execute_script("window.notReloaded = true;")
    transaction = gateway.accept(create_quote(gateway.land, price_factor="0.70"))
    gateway.wait(transaction, "exception")
    pages.wait(lambda d: int(d.find_element(By.CSS_SELECTOR, counter).text) == before + 1,
               timeout=20)  # fmt: skip
    assert driver.execute_script("return window.notReloaded") is True
    assert "updated" in driver.find_element(By.CSS_SELECTOR, "[data-updated]").text


def test_a_dead_letter_is_replayed_from_its_page_into_one_order(
    pages: PageCheck, gateway: FlowGateway
) -> None:
    sap = gateway.land.proxies["sap_s4hana"]
    outage = sap.fail("POST", r"/A_SalesOrder$", status=503, body=SAP_DOWN)
    try:
        transaction = gateway.accept(create_quote(gateway.land))
        gateway.wait(transaction, "dead_lettered")
    finally:
        sap.rules.remove(outage)  # the ERP is back
    letter = gateway.exception_of(transaction)
    sign_in(pages, "ada", "/console/dead-letters")
    driver = pages.driver
    row = driver.find_element(
        By.XPATH, f"//tr[.//a[@href='/console/transactions/{transaction}']]"
    )
    row.find_element(By.TAG_NAME, "summary").click()
    history = row.find_element(By.CSS_SELECTOR, "table.history").text
    assert history.count("dependency_unavailable") == 3
    pages.screenshot("dead-letters-with-history")
    row.find_element(By.XPATH, ".//button[contains(., 'Replay')]").click()
    pages.wait(lambda d: "done=replay" in d.current_url)
    assert "Replay sent" in text(pages)
    done = gateway.wait(transaction, "awaiting_payment")
    assert [e["step"] for e in done["timeline"]].count("validate") == 1
    assert len(sap_orders(gateway.land, done["order_id"])) == 1
    replayed = gateway.api.get(f"/v1/ops/exceptions/{letter['id']}").json()
    assert [(a["action"], a["actor"], a["detail"]) for a in replayed["actions"]] == [
        ("retry", "ada", "replay")
    ]


def _page_paths(gateway: FlowGateway, stopped: dict[str, dict[str, Any]]) -> list[str]:
    item = stopped["price"]
    return [
        "/console/exceptions",
        f"/console/exceptions/{item['id']}",
        f"/console/transactions/{item['transaction_id']}",
        "/console/transactions",
        "/console/dead-letters?state=all",
        "/console/dashboards",
    ]


def artifact_name(path: str) -> str:
    return path.split("?")[0].strip("/").replace("/", "-").replace("console-", "", 1)


def test_every_page_is_offline_accessible_and_fits_a_tablet(
    pages: PageCheck, gateway: FlowGateway, stopped: dict[str, dict[str, Any]]
) -> None:
    sign_in(pages, "ada")
    failures: dict[str, Any] = {}
    for path in _page_paths(gateway, stopped):
        pages.resize(DESKTOP)
        pages.open(path)
        driver = pages.driver
        assert driver.find_element(By.TAG_NAME, "h1").text.strip(), path
        assert driver.find_elements(By.CSS_SELECTOR, "main"), path
        requested = pages.requested_urls()
        elsewhere = [u for u in requested if not u.startswith((pages.base, "data:"))]
        assert not elsewhere, f"{path} reached outside the gateway: {elsewhere}"
        assert not pages.console_errors(), path
        name = artifact_name(path) if "exceptions/" not in path else "exception"
        name = "transaction" if "transactions/" in path else name
        assert pages.screenshot(name).stat().st_size > 1000
        serious = pages.accessibility(name)
        if serious:
            failures[path] = serious
        pages.resize(TABLET)
        assert not pages.overflows_horizontally(), f"{path} scrolls sideways at {TABLET[0]} px"
        pages.screenshot(f"{name}-tablet")
    pages.resize(DESKTOP)
    assert failures == {}, json.dumps(failures, indent=2)
    shots = sorted(p.name for p in Path(ARTIFACTS).glob("*.png"))
    for name in ("exceptions", "exception", "transaction", "transactions", "dead-letters",
                 "dashboards"):
        assert f"{name}.png" in shots
        assert f"{name}-tablet.png" in shots


def test_dashboards_draw_the_flows_figures(
    pages: PageCheck, gateway: FlowGateway, stopped: dict[str, dict[str, Any]]
) -> None:
    sign_in(pages, "ada", "/console/dashboards")
    driver = pages.driver
    charts = driver.find_elements(By.CSS_SELECTOR, "figure.chart svg[role=img]")
    assert len(charts) >= 6
    for chart in charts:
        labelled = (chart.get_attribute("aria-labelledby") or "").split()
        assert len(labelled) == 2
        assert all(driver.find_elements(By.ID, ident) for ident in labelled)
    tiles = driver.find_element(By.CSS_SELECTOR, "ul.tiles").text
    sla = gateway.api.get("/v1/ops/sla").json()
    assert f"{sla['transactions']:,}" in tiles  # the same figure the API reports
    assert driver.find_element(By.ID, "sla-accepted_to_order")
    # The systems of record called by this gateway, from the governance report (admin).
    sor = driver.find_element(By.ID, "sor-error-rate").text
    assert "sap_s4hana" in sor
