"""The account page makes API keys only with the password; the my-data page lets only
organisation admins erase, after typing the organisation's name, and name other admins."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.security import hash_password
from app.models import Organization
from app.models.user import ApiToken, Role, TokenKind, User
from app.web.session import SESSION_COOKIE
from tests.app.conftest import Account, AccountFactory

PASSWORD = "Kiefer-Laterne-73"
HTML = {"accept": "text/html", "accept-language": "en"}


def _browser(app: FastAPI, account: Account) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False, headers=HTML)
    client.cookies.set(SESSION_COOKIE, account.token)
    return client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert found is not None
    return found.group(1)


def _alert(html: str) -> str:
    found = re.search(r'<p class="error" role="alert">\s*(.*?)\s*</p>', html, re.S)
    return found.group(1) if found else ""


def _keys(session: Session, user: User) -> list[tuple[str | None, bool]]:
    session.expire_all()
    return [
        (t.name, t.revoked_at is not None)
        for t in session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.kind == TokenKind.api_key.value)
            .order_by(ApiToken.id)
        )
    ]


def test_an_api_key_from_the_account_page_needs_the_password(
    app: FastAPI, make_account: AccountFactory, db_session: Session
) -> None:
    account = make_account(Role.organizer)
    account.user.password_hash = hash_password(PASSWORD)
    db_session.commit()
    with _browser(app, account) as browser:
        token = _csrf(browser.get("/account").text)
        wrong = browser.post(
            "/account/api-keys",
            data={"csrf_token": token, "name": "ERP", "current_password": "not my password"},
        )
        assert wrong.status_code == 422
        assert _alert(wrong.text) == "The current password is wrong."
        empty = browser.post("/account/api-keys", data={"csrf_token": token, "name": "ERP"})
        assert empty.status_code == 422
        assert _alert(empty.text) == "Enter your current password."
        assert _keys(db_session, account.user) == []
        made = browser.post(
            "/account/api-keys",
            data={"csrf_token": token, "name": "ERP", "current_password": PASSWORD},
        )
        assert made.status_code == 201
        secret = re.search(r'<code id="new-key">(kmk_[\w-]+)</code>', made.text)
        assert secret is not None
        assert _keys(db_session, account.user) == [("ERP", False)]
        # shown once: the page afterwards lists the key by its prefix only
        listed = browser.get("/account").text
        assert secret.group(1) not in listed
        assert f"<code>{secret.group(1)[:12]}</code>" in listed
        key_id = db_session.scalars(
            select(ApiToken.id).where(ApiToken.kind == TokenKind.api_key.value)
        ).one()
        revoked = browser.post(
            f"/account/api-keys/{key_id}/revoke",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        assert revoked.status_code == 303
    assert _keys(db_session, account.user) == [("ERP", True)]


def _colleagues(session: Session, make_account: AccountFactory) -> tuple[int, Account, Account]:
    org = Organization(name="Rahmen GmbH", cooperation_interests=[], competences=[])
    session.add(org)
    session.commit()
    first, second = make_account(Role.member, org.id), make_account(Role.member, org.id)
    first.user.organization_admin = True
    session.commit()
    return org.id, first, second


def test_only_organisation_admins_erase_on_the_my_data_page(
    app: FastAPI, make_account: AccountFactory, db_session: Session
) -> None:
    org, first, second = _colleagues(db_session, make_account)
    with _browser(app, second) as browser:
        page = browser.get("/my-data").text
        assert 'action="/my-data/erase"' not in page
        assert "organisation admins may erase its personal data." in page
        refused = browser.post(
            "/my-data/erase", data={"csrf_token": _csrf(page), "confirm": "Rahmen GmbH"}
        )
        assert refused.status_code == 403
        assert "<h1>Not allowed</h1>" in refused.text
    db_session.expire_all()
    assert db_session.get(User, second.user.id) is not None
    with _browser(app, first) as browser:
        page = browser.get("/my-data").text
        assert 'action="/my-data/erase"' in page
        # the first names the second an organisation admin, then steps back
        named = browser.post(
            f"/my-data/admins/{second.user.id}",
            data={"csrf_token": _csrf(page), "organization_admin": "yes"},
            follow_redirects=False,
        )
        assert named.status_code == 303
        back = browser.post(
            f"/my-data/admins/{first.user.id}",
            data={"csrf_token": _csrf(page), "organization_admin": "no"},
            follow_redirects=False,
        )
        assert back.status_code == 303
    db_session.expire_all()
    flags = db_session.execute(
        select(User.id, User.organization_admin).where(User.organization_id == org)
    ).all()
    assert sorted(flags) == sorted([(first.user.id, False), (second.user.id, True)])
    with _browser(app, second) as browser:
        page = browser.get("/my-data").text
        last = browser.post(
            f"/my-data/admins/{second.user.id}",
            data={"csrf_token": _csrf(page), "organization_admin": "no"},
        )
        assert last.status_code == 409
        assert _alert(last.text) == (
            "Name another organisation admin first: your organisation keeps at least one."
        )


def test_wrong_current_passwords_on_the_account_page_count_towards_the_login_limit(
    app: FastAPI, make_account: AccountFactory, db_session: Session
) -> None:
    account = make_account(Role.organizer)
    account.user.password_hash = hash_password(PASSWORD)
    db_session.commit()
    with _browser(app, account) as browser:
        token = _csrf(browser.get("/account").text)

        def change(current: str) -> tuple[int, str]:
            answer = browser.post(
                "/account/password",
                data={
                    "csrf_token": token,
                    "current_password": current,
                    "new_password": "Zebra-Lampe-42",
                },
                follow_redirects=False,
            )
            return answer.status_code, _alert(answer.text)

        wrong = [change(f"guess number {i}") for i in range(5)]
        assert wrong == [(422, "The current password is wrong.")] * 5
        # the limit holds even for the right password now: guessing cannot go on
        assert change(PASSWORD) == (429, "Too many wrong passwords. Wait a minute and try again.")
    db_session.expire_all()
    user = db_session.get(User, account.user.id)
    assert user is not None and user.password_hash is not None
    assert user.password_hash == account.user.password_hash


def test_the_language_switch_of_a_form_answer_leads_to_a_page_that_loads(
    app: FastAPI, make_account: AccountFactory, db_session: Session
) -> None:
    org = Organization(name="Schalter GmbH", cooperation_interests=[], competences=[])
    db_session.add(org)
    db_session.commit()
    member = make_account(Role.member, org.id)

    def switch(html: str) -> list[str]:
        return re.findall(r'<a href="/lang/de\?next=([^"]*)"', html)

    with _browser(app, member) as browser:
        token = _csrf(browser.get("/account").text)
        assert switch(browser.get("/my-data?x=1").text) == ["%2Fmy-data%3Fx%3D1"]
        erase = browser.post("/my-data/erase", data={"csrf_token": token, "confirm": "wrong"})
        key = browser.post("/account/api-keys", data={"csrf_token": token, "name": "k"})
        assert (erase.status_code, key.status_code) == (422, 422)
        # the answers to forms lead back to the page of the form, not to the form's address
        assert switch(erase.text) == ["%2Fmy-data"]
        assert switch(key.text) == ["%2Faccount"]
        follow = browser.get("/lang/de?next=%2Fmy-data", follow_redirects=True)
        assert (follow.status_code, follow.url.path) == (200, "/my-data")
        # before, the switch asked for the form's address, which no page answers
        assert browser.get("/my-data/erase").status_code == 405


def test_a_password_change_on_the_account_page_ends_the_session_and_the_api_keys(
    app: FastAPI, make_account: AccountFactory, db_session: Session
) -> None:
    account = make_account(Role.organizer)
    account.user.password_hash = hash_password(PASSWORD)
    db_session.commit()
    with _browser(app, account) as browser:
        token = _csrf(browser.get("/account").text)
        made = browser.post(
            "/account/api-keys",
            data={"csrf_token": token, "name": "erp", "current_password": PASSWORD},
        )
        assert made.status_code == 201
        found = re.search(r"<code[^>]*>(kmk_[^<]+)</code>", made.text)
        assert found is not None
        key = {"Authorization": f"Bearer {found.group(1)}"}
        assert browser.get("/api/v1/auth/me", headers=key).status_code == 200
        changed = browser.post(
            "/account/password",
            data={
                "csrf_token": token,
                "current_password": PASSWORD,
                "new_password": "Zebra-Lampe-42",
            },
            follow_redirects=False,
        )
        assert (changed.status_code, changed.headers["location"]) == (303, "/login?changed=1")
        # the browser's cookie is cleared; the old session's secret no longer opens a page
        browser.cookies.set(SESSION_COOKIE, account.token)
        again = browser.get("/account", follow_redirects=False)
        assert (again.status_code, again.headers["location"]) == (
            303,
            "/login?next=%2Faccount",
        )
        assert browser.get("/api/v1/auth/me", headers=key).status_code == 401
    assert _keys(db_session, account.user) == [("erp", True)]
