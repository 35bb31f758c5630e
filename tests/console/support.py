"""Signing in to the console the way a person does, for tests of the console's pages.

``sign_in_http`` walks the real authorization code flow over HTTP (the console's
login redirect, the built-in issuer's sign-in form, the callback) and leaves the
session cookie in the client; ``sign_in_browser`` does the same in a browser.
``sign_in_asgi`` is the in-process variant for an app behind ``httpx.ASGITransport``.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urljoin

import httpx

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class SignInRefused(AssertionError):
    """The sign-in form came back (wrong password) or the flow went elsewhere."""


def sign_in_form(page: str, username: str, password: str) -> dict[str, str]:
    """The fields the built-in issuer's sign-in page posts, filled in."""
    fields = {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}
    if "code_challenge" not in fields:
        raise SignInRefused(f"not the sign-in form: {page[:300]}")
    return {**fields, "username": username, "password": password}


def csrf_token(page: str) -> str:
    """The CSRF token of the first form on a console page."""
    found = _CSRF.search(page)
    if found is None:
        raise AssertionError(f"no csrf_token on the page: {page[:300]}")
    return html.unescape(found.group(1))


def sign_in_http(client: httpx.Client, base_url: str, username: str, password: str,
                 next_path: str = "/console") -> None:
    """Sign in through the OpenID Connect code flow; the client keeps the session."""
    form = client.get(urljoin(base_url, next_path), follow_redirects=True)
    if "/oauth/authorize" not in str(form.url):
        raise SignInRefused(f"{next_path} did not lead to the sign-in form but {form.url}")
    landed = client.post(str(form.url).split("?", 1)[0],
                         data=sign_in_form(form.text, username, password),
                         follow_redirects=True)
    if landed.status_code != 200 or "/console" not in landed.url.path:
        raise SignInRefused(f"sign-in as {username} ended at {landed.url} "
                            f"({landed.status_code})")


async def sign_in_asgi(client: httpx.AsyncClient, username: str, password: str,
                       next_path: str = "/console") -> httpx.Response:
    """``sign_in_http`` for an in-process app; returns the page it landed on."""
    form = await client.get(next_path, follow_redirects=True)
    if "/oauth/authorize" not in str(form.url):
        raise SignInRefused(f"{next_path} did not lead to the sign-in form but {form.url}")
    landed = await client.post("/oauth/authorize",
                               data=sign_in_form(form.text, username, password),
                               follow_redirects=True)
    if landed.status_code != 200 or not landed.url.path.startswith("/console"):
        raise SignInRefused(f"sign-in as {username} ended at {landed.url} "
                            f"({landed.status_code})")
    return landed


def sign_in_browser(driver: Any, base_url: str, username: str, password: str,
                    next_path: str = "/console") -> None:
    """Open ``next_path``, fill in the sign-in form and wait to be back on the console."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(urljoin(base_url, next_path))
    wait = WebDriverWait(driver, 15, poll_frequency=0.05)
    wait.until(lambda d: d.find_elements(By.ID, "username"))
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: "/oauth/authorize" not in d.current_url
               or d.find_elements(By.ID, "signin-error"))
    if "/oauth/authorize" in driver.current_url:
        raise SignInRefused(f"the sign-in form refused {username}")
