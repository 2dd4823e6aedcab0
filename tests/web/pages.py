"""Helpers of the page tests: a client signed in as an account, a page's CSRF token, the
headers of a German or an English browser, and a page's error alerts."""

from __future__ import annotations

import re
from html import unescape

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.web.session import SESSION_COOKIE
from tests.app.conftest import Account

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
GERMAN = {"accept": "text/html", "accept-language": "de"}
ENGLISH = {"accept": "text/html", "accept-language": "en"}


def page_client(app: FastAPI, account: Account | None) -> TestClient:
    """A browser's view of `app`: no redirects followed, server errors as answers, signed in
    as `account` (None: anonymous)."""
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    if account is not None:
        client.cookies.set(SESSION_COOKIE, account.token)
    return client


def csrf_token(client: TestClient, path: str = "/account") -> str:
    """The CSRF token of the form on the page at `path`."""
    match = CSRF.search(client.get(path).text)
    assert match is not None
    return match.group(1)


def alerts(html: str) -> list[str]:
    """The texts of a page's error alerts, unescaped."""
    found = re.findall(r'<p class="error" role="alert">(.*?)</p>', html, re.S)
    return [unescape(text).strip() for text in found]
