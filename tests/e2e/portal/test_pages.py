"""Every portal page in a real browser: offline, accessible (axe-core), usable on a tablet,
with a screenshot kept per page; and the catalog against the OpenAPI documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By

from gateway.portal.problem_types import PROBLEM_TYPES
from policies.rate_limit import RateLimitConfig
from tests.e2e.portal.conftest import DESKTOP, REPO, TABLET, PageCheck

pytestmark = pytest.mark.e2e

OPENAPI = REPO / "openapi"


def documents() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(OPENAPI.glob("v*.json"))}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def api_pages() -> list[str]:
    """/portal/apis/<version>/<api> for every first tag of every versioned operation, and
    the unversioned operations under "platform"."""
    found = set()
    for version, document in documents().items():
        for _, path, op in operations(document):
            where = version if path.startswith(f"/{version}/") else "platform"
            found.add(f"/portal/apis/{where}/{op['tags'][0]}")
    return sorted(found)


PAGES = [
    "/portal",
    "/portal/catalog",
    "/portal/reference",
    "/portal/getting-started",
    "/portal/problems",
    "/portal/changelog",
    "/portal/deprecations",
    *api_pages(),
    *(f"/portal/problems/{p.kind}" for p in PROBLEM_TYPES),
]


def artifact_name(path: str) -> str:
    return path.strip("/").replace("/", "-") or "root"


def assert_offline_and_clean(pages: PageCheck) -> None:
    requested = pages.requested_urls()
    assert requested, "the page made no request at all"
    elsewhere = [u for u in requested if not u.startswith((pages.base, "data:", "blob:"))]
    assert not elsewhere, f"requests outside the gateway: {elsewhere}"
    assert not pages.console_errors()


@pytest.mark.parametrize("path", PAGES)
def test_page_is_offline_accessible_and_fits_a_tablet(pages: PageCheck, path: str) -> None:
    pages.resize(DESKTOP)
    pages.open(path)
    assert pages.driver.find_element(By.TAG_NAME, "h1").text.strip()
    assert pages.driver.find_elements(By.CSS_SELECTOR, "main, [role=main]")
    assert_offline_and_clean(pages)
    name = artifact_name(path)
    assert pages.screenshot(name).stat().st_size > 1000
    serious = pages.accessibility(name)
    assert serious == [], json.dumps(serious, indent=2)

    pages.resize(TABLET)
    assert not pages.overflows_horizontally(), f"{path} scrolls sideways at {TABLET[0]} px"
    pages.screenshot(f"{name}-tablet")
    pages.resize(DESKTOP)


def test_root_redirects_to_the_portal(pages: PageCheck) -> None:
    pages.open("/")
    assert pages.driver.current_url == pages.base + "/portal"


def test_skip_link_is_the_first_stop_and_moves_focus_to_main(pages: PageCheck) -> None:
    from selenium.webdriver.common.keys import Keys

    pages.resize(DESKTOP)
    pages.open("/portal/catalog")
    body = pages.driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    focused = pages.driver.switch_to.active_element
    assert focused.text == "Skip to main content"
    assert focused.is_displayed()  # visible once focused
    focused.send_keys(Keys.ENTER)
    assert pages.driver.switch_to.active_element.get_attribute("id") == "main"


def test_catalog_lists_every_operation_of_every_document(pages: PageCheck) -> None:
    pages.open("/portal/catalog")
    shown = {
        e.get_attribute("data-operation-id")
        for e in pages.driver.find_elements(By.CSS_SELECTOR, "[data-operation-id]")
    }
    expected = {op["operationId"] for d in documents().values() for _, _, op in operations(d)}
    assert expected, "no operations in the committed documents"
    assert shown == expected

    summary = pages.driver.find_element(By.CSS_SELECTOR, "table.catalog")
    rows = {
        (cells[0].text, cells[1].text): [c.text for c in cells]
        for cells in (
            r.find_elements(By.CSS_SELECTOR, "th, td")
            for r in summary.find_elements(By.CSS_SELECTOR, "tbody tr")
        )
    }
    for version, document in documents().items():
        for _, path, op in operations(document):
            where = version if path.startswith(f"/{version}/") else "unversioned"
            row = rows[(op["tags"][0], where)]
            for requirement in op.get("security", []):
                for scope in requirement.get("bearerAuth", []):
                    assert scope in row[5], (op["operationId"], scope)
    # Lifecycle from the configuration: v2 is beta, v1 GA, listOrders deprecated.
    assert rows[("orders", "v2")][2] == "Beta"
    assert rows[("orders", "v1")][2] == "GA 1 operation(s) deprecated"
    deprecated = pages.driver.find_element(
        By.XPATH, "//code[@data-operation-id='listOrders']/ancestor::tr"
    )
    assert "Deprecated" in deprecated.text
    # Systems of record per legal entity from the ownership map, owning teams from config.
    assert "ACME-UK: netsuite" in rows[("orders", "v1")][4]
    assert "salesforce" in rows[("customers", "v1")][4]
    assert rows[("invoices", "v1")][3] == "Billing integration"

    plans = pages.driver.find_element(By.XPATH, "//table[caption='Rate-limit plans']")
    text = plans.text
    for name, plan in RateLimitConfig().plans.items():
        assert name in text
        assert str(plan.quota) in text


def test_reference_pages_render_operations_without_network(pages: PageCheck) -> None:
    for version, document in documents().items():
        pages.resize(DESKTOP)
        pages.open(f"/portal/reference/{version}",
                   ready=lambda d: d.find_element(By.ID, "swagger-ui").get_attribute(
                       "data-state") == "rendered")
        pages.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"))
        shown = {
            e.get_attribute("id")
            for e in pages.driver.find_elements(By.CSS_SELECTOR, ".opblock[id]")
        }
        for _, _, op in operations(document):
            assert any(op["operationId"] in s for s in shown), (version, op["operationId"])
        assert_offline_and_clean(pages)
        name = f"reference-{version}"
        pages.screenshot(name)
        serious = pages.accessibility(name)
        assert serious == [], json.dumps(serious, indent=2)


def test_reference_stays_accessible_while_used(pages: PageCheck) -> None:
    """Axe again with operations expanded in try-it mode and the Authorize dialog open."""
    pages.resize(DESKTOP)
    pages.open("/portal/reference/v1",
               ready=lambda d: d.find_element(By.ID, "swagger-ui").get_attribute(
                   "data-state") == "rendered")
    for operation in ("createOrder", "listProducts", "updateCustomer"):
        block = pages.driver.find_element(By.CSS_SELECTOR, f".opblock[id$='-{operation}']")
        block.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
        pages.wait(lambda d, b=block: b.find_elements(By.CSS_SELECTOR, "button.try-out__btn"))
        block.find_element(By.CSS_SELECTOR, "button.try-out__btn").click()
    pages.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "button.execute")) == 3)
    # The collapsed page is checked whole elsewhere; here what expanding added.
    serious = pages.accessibility("reference-v1-expanded", within=".opblock.is-open")
    pages.screenshot("reference-v1-expanded")
    assert serious == [], json.dumps(serious, indent=2)

    pages.driver.find_element(By.CSS_SELECTOR, "button.authorize").click()
    pages.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".dialog-ux .modal-ux"))
    serious = pages.accessibility("reference-v1-authorize", within=".dialog-ux")
    pages.screenshot("reference-v1-authorize")
    assert serious == [], json.dumps(serious, indent=2)
    assert_offline_and_clean(pages)


def test_schema_serves_the_same_offline_viewer(pages: PageCheck) -> None:
    pages.open("/schema", ready=lambda d: d.find_element(By.ID, "swagger-ui").get_attribute(
        "data-state") == "rendered")
    pages.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"))
    assert pages.driver.find_element(By.CSS_SELECTOR, ".opblock[id$='listCustomers']")
    assert_offline_and_clean(pages)
    pages.screenshot("schema")
    serious = pages.accessibility("schema")
    assert serious == [], json.dumps(serious, indent=2)
    document = httpx.get(pages.base + "/schema/openapi.json", timeout=10)
    assert document.status_code == 200
    assert document.json()["openapi"].startswith("3.1")


def test_try_it_out_calls_the_gateway_with_a_token(pages: PageCheck) -> None:
    token = httpx.post(
        pages.base + "/oauth/token",
        auth=("sandbox-client", "sandbox-secret"),
        data={"grant_type": "client_credentials", "scope": "products:read"},
        timeout=10,
    ).json()["access_token"]
    pages.open("/portal/reference/v1#/products/listProducts",
               ready=lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock.is-open"))
    pages.driver.execute_script(
        "window.q2cReference.preauthorizeApiKey('bearerAuth', arguments[0])", token
    )
    block = pages.driver.find_element(By.CSS_SELECTOR, ".opblock.is-open")
    block.find_element(By.CSS_SELECTOR, "button.try-out__btn").click()
    block.find_element(By.CSS_SELECTOR, "button.execute").click()
    status = pages.wait(lambda d: d.find_elements(
        By.CSS_SELECTOR, ".opblock.is-open .live-responses-table .response .response-col_status"))
    assert status[0].text.strip().startswith("200")
    body = pages.driver.find_element(
        By.CSS_SELECTOR, ".opblock.is-open .live-responses-table .response-col_description pre"
    ).text
    assert '"data"' in body
    curl = pages.driver.find_element(By.CSS_SELECTOR, ".opblock.is-open .curl-command").text
    assert "Authorization: Bearer" in curl
    assert_offline_and_clean(pages)
    pages.screenshot("reference-v1-try-it")


def test_problem_type_pages_resolve_from_their_type_uris(pages: PageCheck) -> None:
    for problem in PROBLEM_TYPES:
        kind = problem.type_uri.rsplit("/", 1)[1]
        pages.open(f"/problems/{kind}")  # the path of the type URI, on the gateway
        assert pages.driver.current_url == f"{pages.base}/portal/problems/{kind}"
        headings = [h.text for h in pages.driver.find_elements(By.TAG_NAME, "h2")]
        assert headings[:3] == ["What it means", "Common causes", "How to fix it"], kind
        example = json.loads(pages.driver.find_element(By.CSS_SELECTOR, "pre code").text)
        assert example["type"] == problem.type_uri
        assert example["status"] in problem.statuses


def test_deprecations_page_shows_the_configured_sunset(pages: PageCheck) -> None:
    pages.open("/portal/deprecations")
    text = pages.driver.find_element(By.ID, "main").text
    assert "GET /v1/orders (listOrders)" in text
    assert "2099-06-30" in text
    assert "GET /v2/orders" in text


def test_copy_paste_python_example_runs(pages: PageCheck, tmp_path: Path) -> None:
    """The listProducts example from the orders page... copied and run as it is."""
    import subprocess
    import sys

    pages.open("/portal/apis/v1/products")
    code = pages.driver.find_element(
        By.XPATH, "//figure[figcaption[starts-with(., 'listProducts with Python')]]//code"
    ).text
    script = tmp_path / "example.py"
    script.write_text(code)
    token = httpx.post(
        pages.base + "/oauth/token", auth=("sandbox-client", "sandbox-secret"),
        data={"grant_type": "client_credentials"}, timeout=10,
    ).json()["access_token"]
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60,
        env={"TOKEN": token, "Q2C_URL": pages.base, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert "'data'" in done.stdout
    assert "prd_" in done.stdout


def test_the_accessibility_check_can_fail(pages: PageCheck) -> None:
    """The same axe run on a page with known faults reports them as serious or critical."""
    pages.driver.get("data:text/html,<html><body><img src='x.png'><button></button>"
                     "<input type='text'></body></html>")
    found = {v["id"] for v in pages.accessibility("known-faults")}
    assert {"image-alt", "button-name", "label", "html-has-lang"} <= found
    pages.axe_results.pop("known-faults")


def test_try_it_gets_its_own_token_with_client_credentials(pages: PageCheck) -> None:
    """The Authorize dialog's OAuth 2.0 client-credentials flow, against /oauth/token."""
    pages.resize(DESKTOP)
    pages.open("/portal/reference/v1#/products/listProducts",
               ready=lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock.is-open"))
    pages.driver.find_element(By.CSS_SELECTOR, "button.authorize").click()
    dialog = pages.wait(lambda d: d.find_element(By.CSS_SELECTOR, ".dialog-ux .modal-ux"))
    oauth = next(c for c in dialog.find_elements(By.CSS_SELECTOR, ".auth-container")
                 if "clientCredentials" in c.text or "client_id" in c.text)
    oauth.find_element(By.CSS_SELECTOR, "input[id^='client_id']").send_keys("sandbox-client")
    oauth.find_element(By.CSS_SELECTOR, "input[id^='client_secret']").send_keys(
        "sandbox-secret")
    oauth.find_element(By.CSS_SELECTOR, "button.authorize").click()
    pages.wait(lambda d: any(b.text == "Logout" for b in d.find_elements(
        By.CSS_SELECTOR, ".dialog-ux button")))
    pages.driver.find_element(By.CSS_SELECTOR, ".dialog-ux button.close-modal").click()
    block = pages.driver.find_element(By.CSS_SELECTOR, ".opblock.is-open")
    block.find_element(By.CSS_SELECTOR, "button.try-out__btn").click()
    block.find_element(By.CSS_SELECTOR, "button.execute").click()
    status = pages.wait(lambda d: d.find_elements(
        By.CSS_SELECTOR, ".opblock.is-open .live-responses-table .response .response-col_status"))
    assert status[0].text.strip().startswith("200")
    requested = pages.requested_urls()
    assert pages.base + "/oauth/token" in requested
    assert all(u.startswith((pages.base, "data:", "blob:")) for u in requested)
