"""Error pages keep the page frame, and an unexpected error still carries the security headers."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Organization
from app.models.user import Role
from app.web.deps import PageUser
from app.web.headers import CONTENT_SECURITY_POLICY
from app.web.rendering import WebRoute
from app.web.session import SESSION_COOKIE
from tests.app.conftest import Account, AccountFactory

HTML = {"accept": "text/html", "accept-language": "en"}
SECRET_DETAIL = "database password is hunter2"


@pytest.fixture
def member(db_session: Session, make_account: AccountFactory) -> Account:
    org = Organization(name="Rahmen GmbH", cooperation_interests=[], competences=[])
    db_session.add(org)
    db_session.commit()
    return make_account(Role.member, org.id)


def _browser(app: FastAPI, account: Account | None) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    if account is not None:
        client.cookies.set(SESSION_COOKIE, account.token)
    return client


def _frame(html: str) -> dict[str, object]:
    """What the page frame shows: navigation links, the language switch, who is signed in."""
    return {
        "navigation": re.findall(r'<li><a href="(/[a-z-]+)"', html),
        "language": re.findall(r'<a href="/lang/(\w+)\?next=', html),
        "account": re.findall(r'<a href="/(?:account|login)" class="account">([^<]+)</a>', html),
        "sign_out": 'action="/logout"' in html,
    }


SIGNED_IN_FRAME = {
    "navigation": ["/dashboard", "/partners", "/search", "/requests", "/profile", "/my-data"],
    "language": ["de"],
    "account": ["Test member"],
    "sign_out": True,
}


def _assert_secured(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"


def test_a_missing_page_has_the_frame_of_the_signed_in_member(
    app: FastAPI, member: Account
) -> None:
    with _browser(app, member) as browser:
        page = browser.get("/no/such/page", headers=HTML)
    assert page.status_code == 404
    assert "<h1>Not found</h1>" in page.text
    assert _frame(page.text) == SIGNED_IN_FRAME
    _assert_secured(page)


def test_a_missing_page_offers_the_sign_in_to_a_visitor(app: FastAPI) -> None:
    with _browser(app, None) as browser:
        page = browser.get("/nowhere", headers={**HTML, "accept-language": "de"})
        api = browser.get("/api/v1/nowhere", headers=HTML)
    assert page.status_code == 404
    assert "<h1>Nicht gefunden</h1>" in page.text
    assert _frame(page.text) == {
        "navigation": [],
        "language": ["en"],
        "account": ["Anmelden"],
        "sign_out": False,
    }
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"


def test_a_forbidden_page_has_the_frame(app: FastAPI, make_account: AccountFactory) -> None:
    curator = make_account(Role.curator)
    with _browser(app, curator) as browser:
        page = browser.get("/partners", headers=HTML)
    assert page.status_code == 403
    assert "<h1>Not allowed</h1>" in page.text
    # the navigation leads only to pages the account may open: hub staff have no member pages
    assert _frame(page.text) == {
        **SIGNED_IN_FRAME,
        "navigation": ["/dashboard", "/curator"],
        "account": ["Test curator"],
    }


def _explode(user: PageUser) -> None:
    raise RuntimeError(SECRET_DETAIL)


def _explode_api() -> None:
    raise RuntimeError(SECRET_DETAIL)


def test_an_unexpected_error_is_a_framed_page_with_the_security_headers(
    app: FastAPI, member: Account
) -> None:
    app.router.add_api_route("/explode", _explode, route_class_override=WebRoute)
    app.router.add_api_route("/api/v1/explode", _explode_api)
    with _browser(app, member) as browser:
        page = browser.get("/explode", headers=HTML)
        api = browser.get("/api/v1/explode", headers=HTML)
    assert page.status_code == 500
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Something went wrong</h1>" in page.text
    assert _frame(page.text) == SIGNED_IN_FRAME
    assert SECRET_DETAIL not in page.text
    _assert_secured(page)
    assert api.status_code == 500
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["detail"] == "An unexpected error occurred; it has been logged."
    _assert_secured(api)
