"""Who may open which page: the access table of the web pages (a session cookie per role)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from app.models import Organization
from app.models.user import Role
from app.web.docs import DOCS_POLICY
from app.web.headers import CONTENT_SECURITY_POLICY
from tests.app.conftest import AccountFactory
from tests.web.pages import page_client

ROLES = ("anonymous", "member", "organizer", "curator", "admin")
# the page's status per role: 303 is the way to the sign-in page
PAGES = {
    "/": "303 303 303 303 303",
    "/login": "200 303 303 303 303",
    "/dashboard": "303 200 200 200 200",
    "/partners": "303 200 403 403 403",
    "/search?q=Sensorik": "303 200 403 403 403",
    "/requests": "303 200 403 403 403",
    "/requests/new?to={other}": "303 200 403 403 403",
    "/requests/new?to={private}": "303 404 403 403 403",
    "/profile": "303 200 403 403 403",
    "/profile/row/competence?kind=core": "303 200 403 403 403",
    "/profile/row/relationship": "303 200 403 403 403",
    "/profile/row/nothing": "303 404 403 403 403",
    "/my-data": "303 200 403 403 403",
    "/my-data/export": "303 200 403 403 403",
    "/account": "303 200 200 200 200",
    "/lang/de?next=/": "303 303 303 303 303",
    "/lang/xx": "404 404 404 404 404",
    "/docs": "200 200 200 200 200",
}
# forms: without the session's CSRF token every one is refused; with it, these statuses
FORMS = {
    "/logout": "303 303 303 303 303",
    "/profile/preview": "303 200 403 403 403",
    "/requests/{request}/accept": "303 403 403 403 403",
    "/requests/{request}/withdraw": "303 303 403 403 403",
    # without a name and the current password no key is made
    "/account/api-keys": "303 422 422 422 422",
    # the member is its organisation's only account: it may, once it types the name
    "/my-data/erase": "303 422 403 403 403",
    # an empty profile form is refused field by field; a request needs its addressee
    "/profile": "303 422 403 403 403",
    "/requests": "303 400 403 403 403",
    # the member sent the request: the other side declines; a pending one has no outcome
    "/requests/{request}/decline": "303 403 403 403 403",
    "/requests/{request}/outcome": "303 422 403 403 403",
    # no current password, no new one; no such key
    "/account/password": "303 422 422 422 422",
    "/account/api-keys/999999/revoke": "303 404 404 404 404",
    # the organisation has no admin yet: its only member may act (here: no change)
    "/my-data/admins/{member}": "303 303 403 403 403",
}


def _organization(session: Session, name: str, visibility: str) -> int:
    org = Organization(
        name=name, visibility=visibility, country="DE", cooperation_interests=[], competences=[]
    )
    session.add(org)
    session.flush()
    return org.id


@pytest.fixture
def world(db_session: Session, make_account: AccountFactory) -> dict[str, object]:
    from app.models.cooperation import CooperationRequest

    own = _organization(db_session, "Eigene GmbH", "members")
    other = _organization(db_session, "Andere AG", "public")
    private = _organization(db_session, "Versteckt KG", "private")
    request = CooperationRequest(
        from_organization_id=own, to_organization_id=other, type="training", status="pending"
    )
    db_session.add(request)
    db_session.commit()
    accounts = {
        "anonymous": None,
        "member": make_account(Role.member, own),
        "organizer": make_account(Role.organizer),
        "curator": make_account(Role.curator),
        "admin": make_account(Role.admin),
    }
    return {
        "accounts": accounts,
        "values": {
            "other": other,
            "private": private,
            "request": request.id,
            "member": accounts["member"].user.id,  # type: ignore[union-attr]
        },
    }


def _assert_secured(response: Any, what: str) -> None:
    """The security headers, on pages, redirects and refusals alike (Swagger UI's page
    allows inline styles, nothing more)."""
    policy = DOCS_POLICY if what.endswith(" /docs") else CONTENT_SECURITY_POLICY
    assert response.headers["content-security-policy"] == policy, what
    assert response.headers["x-content-type-options"] == "nosniff", what
    assert response.headers["x-frame-options"] == "DENY", what


@pytest.mark.parametrize("page", list(PAGES))
def test_page_access(app: FastAPI, world: dict, page: str) -> None:  # type: ignore[type-arg]
    expected = [int(s) for s in PAGES[page].split()]
    url = page.format(**world["values"])
    seen = []
    for role in ROLES:
        with page_client(app, world["accounts"][role]) as client:
            response = client.get(url, headers={"accept": "text/html"})
            seen.append(response.status_code)
            _assert_secured(response, f"{role} {url}")
    assert seen == expected


@pytest.mark.parametrize("form", list(FORMS))
def test_forms_need_the_session_token(app: FastAPI, world: dict, form: str) -> None:  # type: ignore[type-arg]
    url = form.format(**world["values"])
    without, with_token = [], []
    for role in ROLES:
        account = world["accounts"][role]
        with page_client(app, account) as client:
            refused = client.post(url, data={"csrf_token": "f" * 64})
            without.append(refused.status_code)
            _assert_secured(refused, f"{role} {url}")
            token = ""
            if account is not None:
                page = client.get("/account").text
                token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page).group(1)  # type: ignore[union-attr]
            answer = client.post(url, data={"csrf_token": token})
            with_token.append(answer.status_code)
            _assert_secured(answer, f"{role} {url}")
    # anonymous callers are sent to sign in; everyone else with a wrong token is refused
    assert without == [303, 403, 403, 403, 403]
    assert with_token == [int(s) for s in FORMS[form].split()]
