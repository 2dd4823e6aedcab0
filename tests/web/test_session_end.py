"""A form sent after the browser's session ended leads to the sign-in page and back to its page,
in the browser's language, and nothing of it is stored; the site's icon."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.auth.schemas import UserCreate
from app.models import Organization
from app.models.user import Role
from app.web.session import SESSION_COOKIE

TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
GERMAN = {"accept": "text/html", "accept-language": "de"}
NOTICE_DE = (
    "Ihre Sitzung ist abgelaufen, deshalb wurde nicht gespeichert, was Sie gesendet haben. "
    "Melden Sie sich wieder an und senden Sie es noch einmal."
)
NOTICE_EN = (
    "Your session has ended, so what you sent was not saved. Sign in again and send it once more."
)


def _member(db_session: Session) -> int:
    org = Organization(name="Rahmen GmbH", country="DE", cooperation_interests=[], competences=[])
    db_session.add(org)
    db_session.flush()
    auth_service.create_user(
        db_session,
        data=UserCreate(
            email="rita@rahmen.example",
            name="Rita",
            role=Role.member,
            organization_id=org.id,
            password="Zebra-Lampe-42",
        ),
    )
    db_session.commit()
    return org.id


def test_a_form_sent_after_the_session_ended_signs_in_again_and_stores_nothing(
    app: FastAPI, db_session: Session
) -> None:
    own = _member(db_session)
    with TestClient(app, raise_server_exceptions=False) as browser:
        browser.cookies.set(SESSION_COOKIE, "kmt_ended-while-the-form-was-open")
        sent = browser.post(
            "/profile",
            data={"name": "Umbenannt GmbH", "csrf_token": "0" * 64},
            headers=GERMAN,
            follow_redirects=False,
        )
        assert sent.status_code == 303
        assert sent.headers["location"] == "/login?expired=1&next=%2Fprofile"
        # a form whose own address answers POST only leads back to the page above it
        answer = browser.post("/requests/5/accept", headers=GERMAN, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?expired=1&next=%2Frequests"
        # HTMX forms (the profile's preview) are told to load the sign-in page themselves
        preview = browser.post(
            "/profile/preview", headers={**GERMAN, "hx-request": "true"}, follow_redirects=False
        )
        assert (preview.status_code, preview.headers["hx-redirect"]) == (
            204,
            "/login?expired=1&next=%2Fprofile",
        )
        db_session.expire_all()
        stored = db_session.get(Organization, own)
        assert stored is not None and stored.name == "Rahmen GmbH"

        page = browser.get(sent.headers["location"], headers=GERMAN)
        assert page.status_code == 200
        assert f'<p class="notice" role="status">{NOTICE_DE}</p>' in page.text
        assert 'name="next" value="/profile"' in page.text
        english = browser.get(sent.headers["location"], headers={"accept-language": "en"})
        assert f'<p class="notice" role="status">{NOTICE_EN}</p>' in english.text
        assert NOTICE_EN not in browser.get("/login?next=%2Fprofile").text
        fields = {"email": "rita@rahmen.example", "password": "Zebra-Lampe-42", "next": "/profile"}
        # the sign-in form keeps its own token: without it, no session
        refused = browser.post("/login", data=fields, follow_redirects=False)
        assert refused.status_code == 403
        token = TOKEN.search(page.text).group(1)  # type: ignore[union-attr]
        signed_in = browser.post(
            "/login", data={**fields, "csrf_token": token}, follow_redirects=False
        )
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/profile"
        browser.cookies.set(
            SESSION_COOKIE, signed_in.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        )
        assert browser.get("/profile", headers=GERMAN).status_code == 200
        # signed in again, a form still needs the token of the new session
        stale = browser.post(
            "/profile", data={"name": "Umbenannt GmbH", "csrf_token": token}, headers=GERMAN
        )
        assert stale.status_code == 403
        db_session.expire_all()
        stored = db_session.get(Organization, own)
        assert stored is not None and stored.name == "Rahmen GmbH"


def test_the_site_icon_is_served_and_linked(app: FastAPI) -> None:
    with TestClient(app) as browser:
        icon = browser.get("/favicon.ico")
        linked = browser.get("/static/favicon.svg")
        page = browser.get("/login")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.content.startswith(b'<svg xmlns="http://www.w3.org/2000/svg"')
    assert linked.status_code == 200 and linked.content == icon.content
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.text
