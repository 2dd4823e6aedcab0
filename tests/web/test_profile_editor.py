"""The profile editor: a stale form says who changed what and overwrites nothing; errors name
the field; the revenue dependency is flagged."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Competence, KnownRelationship, Organization
from app.models.user import Role
from app.organizations import service as organization_service
from app.organizations.schemas import OrganizationCreate
from app.web.session import SESSION_COOKIE
from tests.app.conftest import AccountFactory


class FormValues(HTMLParser):
    """The values a browser would send for the form with id `form_id`."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.values: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and "name" in a:
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values.append((a["name"], a.get("value") or "on"))
            else:
                self.values.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select is not None and "selected" in a:
            self.values.append((self._select, a["value"]))
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values.append((a["name"], ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            name, value = self.values.pop()
            self.values.append((name, value + data))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _form(html: str) -> dict[str, str]:
    parser = FormValues("profile-form")
    parser.feed(html)
    return dict(parser.values)


@pytest.fixture
def own(db_session: Session, encoder) -> int:  # type: ignore[no-untyped-def]
    org = organization_service.create_organization(
        db_session,
        data=OrganizationCreate.model_validate(
            {
                "name": "Formteil Müller GmbH",
                "description": "Kunststoffteile für die Fahrzeugindustrie",
                "country": "DE",
                "competences": [{"kind": "core", "label": "Kunststoffspritzguss"}],
                "relationships": [
                    {"type": "customer", "name": "Autowerk Süd AG", "revenue_share": 0.7}
                ],
            }
        ),
        encoder=encoder,
    )
    db_session.commit()
    return org.id


def _browser(app: FastAPI, token: str) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    client.cookies.set(SESSION_COOKIE, token)
    return client


def test_a_stale_form_names_the_change_and_overwrites_nothing(
    app: FastAPI, make_account: AccountFactory, own: int, db_session: Session
) -> None:
    member = make_account(Role.member, own)
    curator = make_account(Role.curator)
    with _browser(app, member.token) as browser, TestClient(app, headers=curator.headers) as api:
        page = browser.get("/profile", headers={"accept-language": "en"})
        assert page.status_code == 200
        # the dependency on one customer is flagged at once
        assert "One customer carries more than half of your revenue" in page.text
        form = _form(page.text)
        assert form["name"] == "Formteil Müller GmbH"
        version = int(form["version"])
        # hub staff change the description meanwhile
        changed = api.patch(
            f"/api/v1/organizations/{own}",
            json={"version": version, "description": "Neu: auch Zweikomponenten-Spritzguss"},
        )
        assert changed.status_code == 200
        stale = browser.post("/profile", data={**form, "name": "Formteil Müller & Söhne GmbH"})
        assert stale.status_code == 409
        assert "Someone changed the profile while you were editing" in stale.text
        assert "Test curator · description" in stale.text
        kept = _form(stale.text)
        assert kept["name"] == "Formteil Müller & Söhne GmbH"
        assert int(kept["version"]) == version + 1
        db_session.expire_all()
        stored = db_session.get(Organization, own)
        assert stored is not None
        assert (stored.name, stored.description) == (
            "Formteil Müller GmbH",
            "Neu: auch Zweikomponenten-Spritzguss",
        )
        # saving the kept form again is a deliberate choice over the new version
        again = browser.post("/profile", data=kept)
        assert again.status_code == 303
        assert again.headers["location"] == "/profile?saved=1"
        db_session.expire_all()
        stored = db_session.get(Organization, own)
        assert stored is not None
        assert stored.name == "Formteil Müller & Söhne GmbH"


def test_an_invalid_field_is_named_and_nothing_is_stored(
    app: FastAPI, make_account: AccountFactory, own: int, db_session: Session
) -> None:
    member = make_account(Role.member, own)
    with _browser(app, member.token) as browser:
        form = _form(browser.get("/profile").text)
        bad = browser.post("/profile", data={**form, "country": "Atlantis", "founded": "1200"})
        assert bad.status_code == 422
        assert 'id="e-country"' in bad.text and 'id="e-founded"' in bad.text
        assert _form(bad.text)["country"] == "Atlantis"
        db_session.expire_all()
        stored = db_session.get(Organization, own)
        assert stored is not None
        assert (stored.country, stored.founded) == ("DE", None)


def test_the_preview_follows_the_form(app: FastAPI, make_account: AccountFactory, own: int) -> None:
    member = make_account(Role.member, own)
    with _browser(app, member.token) as browser:
        page = browser.get("/profile", headers={"accept-language": "en"})
        form = _form(page.text)
        assert form["disclosure-description"] == "members"
        hidden = browser.post(
            "/profile/preview", data={**form, "disclosure-description": "partners"}
        )
        shown = browser.post("/profile/preview", data={**form, "disclosure-description": "public"})
        assert hidden.status_code == shown.status_code == 200
        description = "Kunststoffteile für die Fahrzeugindustrie"
        # partner, member, anonymous visitor: in that order
        assert hidden.text.count(description) == 1
        assert shown.text.count(description) == 3
        # no dependency once the share is below half
        rel = next(k for k in form if k.startswith("rel-") and k.endswith("-share"))
        calm = browser.post("/profile/preview", data={**form, rel: "40"})
        assert "more than half" not in calm.text


def _post(browser: TestClient, fields: list[tuple[str, str]]) -> Any:
    """The profile form sent as a browser sends it, repeated fields (interests) included."""
    return browser.post(
        "/profile",
        content=urlencode(fields),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )


def test_competences_relationships_interests_and_the_opt_out_are_edited_and_stored(
    app: FastAPI, make_account: AccountFactory, own: int, db_session: Session
) -> None:
    member = make_account(Role.member, own)

    def stored() -> tuple[list[tuple[str, str]], list[str], list[str], bool]:
        db_session.expire_all()
        org = db_session.get(Organization, own)
        assert org is not None
        competences = db_session.scalars(
            select(Competence).where(Competence.organization_id == own).order_by(Competence.label)
        ).all()
        relationships = db_session.scalars(
            select(KnownRelationship.name).where(KnownRelationship.organization_id == own)
        ).all()
        return (
            [(c.kind, c.label) for c in competences],
            list(relationships),
            sorted(org.cooperation_interests or []),
            org.hide_from_competitors,
        )

    assert stored() == (
        [("core", "Kunststoffspritzguss")],
        ["Autowerk Süd AG"],
        [],
        False,
    )
    with _browser(app, member.token) as browser:
        form = _form(browser.get("/profile").text)
        competence = next(k for k in form if k.startswith("comp-") and k.endswith("-label"))
        prefix = competence.removesuffix("-label")
        relationship = next(k for k in form if k.startswith("rel-") and k.endswith("-type"))
        edited = [
            *[(k, v) for k, v in form.items() if k != competence and k != f"{prefix}-kind"],
            (competence, "Kunststoffspritzguss in Serie"),
            (f"{prefix}-kind", "complementary"),
            ("comp-new1-label", "Werkzeugbau"),
            ("comp-new1-kind", "core"),
            (relationship.removesuffix("-type") + "-remove", "1"),
            ("interest", "product_development"),
            ("interest", "training"),
            ("hide_from_competitors", "on"),
        ]
        saved = _post(browser, edited)
        assert (saved.status_code, saved.headers["location"]) == (303, "/profile?saved=1")
        assert stored() == (
            [("complementary", "Kunststoffspritzguss in Serie"), ("core", "Werkzeugbau")],
            [],
            ["product_development", "training"],
            True,
        )
        # removing a competence, unticking the opt-out and the interests
        form = _form(browser.get("/profile").text)
        werkzeugbau = next(k for k, v in form.items() if v == "Werkzeugbau")
        again = [
            *[(k, v) for k, v in form.items() if k != "hide_from_competitors"],
            (werkzeugbau.removesuffix("-label") + "-remove", "1"),
        ]
        again = [(k, v) for k, v in again if k != "interest"]
        assert _post(browser, again).status_code == 303
        assert stored() == ([("complementary", "Kunststoffspritzguss in Serie")], [], [], False)


def test_the_editor_names_no_linked_organisation_that_hides_its_name(
    app: FastAPI, make_account: AccountFactory, db_session: Session, encoder
) -> None:  # type: ignore[no-untyped-def]
    """Hub staff linked the profile to K (name and external_id for partners only) and to S
    (name public): the editor shows S by name and K only by what the profile stated, and
    saving the form keeps both links."""
    for body in (
        {"external_id": "K-77", "name": "Kundschaft Verdeckt GmbH", "country": "DE"},
        {
            "external_id": "S-78",
            "name": "Sichtbar Zulieferer AG",
            "country": "DE",
            "disclosure": {"name": "public"},
        },
    ):
        organization_service.create_organization(
            db_session, data=OrganizationCreate.model_validate(body), encoder=encoder
        )
    own = organization_service.create_organization(
        db_session,
        data=OrganizationCreate.model_validate(
            {
                "name": "Formteil Müller GmbH",
                "country": "DE",
                "relationships": [
                    {"type": "customer", "external_id": "K-77"},
                    {"type": "supplier", "external_id": "S-78"},
                ],
            }
        ),
        encoder=encoder,
    )
    db_session.commit()
    linked = {r.name: r.related_organization_id for r in own.relationships}
    member = make_account(Role.member, own.id)
    with _browser(app, member.token) as browser:
        page = browser.get("/profile")
        assert page.status_code == 200
        assert "Kundschaft Verdeckt" not in page.text
        assert "Sichtbar Zulieferer AG" in page.text
        form = _form(page.text)

        def row_values(suffix: str) -> set[str]:
            return {v for k, v in form.items() if k.startswith("rel-") and k.endswith(suffix)}

        # K: an editable row with the stated name; S: linked, with its external_id
        assert (row_values("-name"), row_values("-external_id")) == ({"K-77"}, {"S-78"})
        saved = browser.post("/profile", data=form)
        assert saved.status_code == 303, saved.text
    db_session.expire_all()
    stored = db_session.get(Organization, own.id)
    assert stored is not None
    assert {r.name: r.related_organization_id for r in stored.relationships} == linked


def _messages(html: str) -> dict[str, str]:
    """Field -> the message shown under it (its language, its text)."""
    return {
        name: f"{lang}: {text}"
        for name, lang, text in re.findall(
            r'<p class="error" id="e-([\w.]+)">[^<]*<span lang="(\w+)">([^<]*)</span></p>', html
        )
    }


def test_validation_messages_are_in_the_pages_language(
    app: FastAPI, make_account: AccountFactory, own: int
) -> None:
    member = make_account(Role.member, own)
    bad = {
        "country": "Atlantis",
        "founded": "1200",
        "employees": "-5",
        "website": "kein Netz",
        "latitude": "viel",
    }
    year = dt.date.today().year
    with _browser(app, member.token) as browser:
        form = _form(browser.get("/profile").text)
        german = browser.post("/profile", data={**form, **bad}, headers={"accept-language": "de"})
        english = browser.post("/profile", data={**form, **bad}, headers={"accept-language": "en"})
    assert (german.status_code, english.status_code) == (422, 422)
    assert _messages(unescape(german.text)) == {
        "country": "de: muss ein Ländercode nach ISO 3166-1 alpha-2 sein, etwa DE, AT oder CH",
        "founded": f"de: muss eine Jahreszahl zwischen 1500 und {year} sein",
        "employees": "de: muss mindestens 0 sein",
        "website": "de: muss eine http(s)-Adresse sein, etwa https://www.example.de",
        "latitude": "de: muss eine Zahl sein",
    }
    assert "Bitte prüfen Sie dieses Feld." in german.text
    assert _messages(unescape(english.text)) == {
        "country": "en: must be an ISO 3166-1 alpha-2 country code such as DE, AT or CH",
        "founded": f"en: must be a year between 1500 and {year}",
        "employees": "en: must be at least 0",
        "website": "en: must be an http(s) address such as https://www.example.de",
        "latitude": "en: must be a number",
    }
