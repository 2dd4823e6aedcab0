"""A member's whole journey in Chromium, in German and in English, against a real server.

Member A signs in, edits the profile and watches the preview change, finds a partner whose
name is hidden from it, and sends a cooperation request; member B accepts it, and both then
see each other's name and contacts. axe-core checks every page on the way, and the main
pages are saved as screenshots for the README.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.auth.schemas import UserCreate
from app.models import Competence, KnownRelationship, Organization
from app.models.cooperation import CooperationRequest
from app.models.user import Role
from tests.web.conftest import LiveServer, axe_violations, save_screenshot

PASSWORD = "koopmatch-demo"
# the pages whose screenshots the README shows, per language
SCREENSHOT_PAGES = ("dashboard", "profile", "partners", "search", "requests")

TEXT = {
    "de": {
        "sign_in": "Anmelden",
        "email": "E-Mail-Adresse",
        "password": "Passwort",
        "dashboard": "Übersicht",
        "profile": "Unser Profil",
        "partners": "Partner für uns",
        "search": "Suche",
        "requests": "Kooperationsanfragen",
        "website_level": "Website",
        "everyone": "alle",
        "anonymous": "Ein anonymer Besucher",
        "hidden": "verborgen",
        "add_relationship": "Kunden, Lieferanten oder Partner hinzufügen",
        "name": "Name",
        "share": "Umsatzanteil (%)",
        "dependency": "Ein Kunde trägt mehr als die Hälfte Ihres Umsatzes",
        "save": "Profil speichern",
        "saved": "Gespeichert.",
        "add_core": "Kompetenz hinzufügen (Kernkompetenzen)",
        "competence": "Kompetenz",
        "looking_for": "Was suchen Sie?",
        "anonymous_profile": "Anonymes Profil",
        "ask": "Kooperation anfragen",
        "kind": "Art der Kooperation",
        "kind_option": "Produktentwicklung",
        "message": "Nachricht",
        "send": "Anfrage senden",
        "sent": "Ihre Anfrage wurde gesendet.",
        "accept": "Annehmen",
        "accepted": "angenommen",
        "sign_out": "Abmelden",
        "how": "Wie ist es gelaufen?",
        "met": "Wir haben uns getroffen, Gespräche laufen",
        "record": "Ergebnis festhalten",
    },
    "en": {
        "sign_in": "Sign in",
        "email": "E-mail address",
        "password": "Password",
        "dashboard": "Dashboard",
        "profile": "Our profile",
        "partners": "Partners for us",
        "search": "Search",
        "requests": "Cooperation requests",
        "website_level": "Website",
        "everyone": "everyone",
        "anonymous": "An anonymous visitor",
        "hidden": "hidden",
        "add_relationship": "Add a customer, supplier or partner",
        "name": "Name",
        "share": "Revenue share (%)",
        "dependency": "One customer carries more than half of your revenue",
        "save": "Save the profile",
        "saved": "Saved.",
        "add_core": "Add a competence (Core competences)",
        "competence": "Competence",
        "looking_for": "What are you looking for?",
        "anonymous_profile": "Anonymous profile",
        "ask": "Ask for a cooperation",
        "kind": "Kind of cooperation",
        "kind_option": "Product development",
        "message": "Message",
        "send": "Send the request",
        "sent": "Your request was sent.",
        "accept": "Accept",
        "accepted": "accepted",
        "sign_out": "Sign out",
        "how": "How did it go?",
        "met": "We met, talks started",
        "record": "Record the outcome",
    },
}

# per language a pair of seeded organisations: the sender, and a target whose name is kept
# for partners (the default) and whose core competences the search text names
PAIRS = {
    "de": ("KM-DE-0001", "KM-DE-0074", "Telematikboxen für Auflieger LTE-M-Funkmodule"),
    "en": ("KM-DE-0005", "KM-DE-0006", "souveränes Cloud-Hosting Managed Kubernetes"),
}


def _account(
    server: LiveServer, external_id: str, lang: str, side: str
) -> tuple[str, Organization]:
    """A member account (with a password) for a seeded organisation."""
    email = f"{side}-{lang}@journey.example"
    with Session(server.engine) as session, session.begin():
        organization = session.scalars(
            select(Organization).where(Organization.external_id == external_id)
        ).one()
        if auth_service.repository.get_user_by_email(session, email) is None:
            auth_service.create_user(
                session,
                data=UserCreate(
                    email=email,
                    name=f"{side.title()} {lang}",
                    role=Role.member,
                    organization_id=organization.id,
                    password=PASSWORD + "-journey",
                ),
            )
        session.expunge(organization)
    return email, organization


def _check(page: Any, lang: str, name: str | None = None, shots: Path | None = None) -> None:
    """axe-core on the page; optionally a screenshot for the README (SQLite run only)."""
    assert axe_violations(page) == []
    if name is not None and shots is not None:
        page.evaluate("window.scrollTo(0, 0)")
        save_screenshot(page, shots, f"{lang}-{name}")


def _sign_in(page: Any, server: LiveServer, t: dict[str, str], email: str) -> None:
    page.goto(server.url + "/")
    assert page.get_by_role("heading", name=t["sign_in"], level=1).is_visible()
    assert axe_violations(page) == []
    page.get_by_label(t["email"]).fill(email)
    page.get_by_label(t["password"]).fill(PASSWORD + "-journey")
    # the keyboard alone signs in: Enter in the password field sends the form
    page.get_by_label(t["password"]).press("Enter")
    page.wait_for_url(re.compile(r"/dashboard$"))
    assert page.get_by_role("heading", name=t["dashboard"], level=1).is_visible()


@pytest.mark.parametrize("lang", ["de", "en"])
def test_member_journey(
    live_server: LiveServer, browser: Any, lang: str, screenshot_dir: Path
) -> None:
    t = TEXT[lang]
    sender_ref, target_ref, need = PAIRS[lang]
    email_a, org_a = _account(live_server, sender_ref, lang, "sender")
    email_b, org_b = _account(live_server, target_ref, lang, "target")
    shots = screenshot_dir if live_server.backend == "sqlite" else None
    csp_errors: list[str] = []

    context_a = browser.new_context(locale=lang, viewport={"width": 1280, "height": 900})
    page = context_a.new_page()
    page.on(
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    # the login page answers in the browser's language (Accept-Language)
    _sign_in(page, live_server, t, email_a)
    _check(page, lang, "dashboard" if shots else None, shots)

    # --- the profile: the website shown to everyone, a dominant customer, a new competence
    page.get_by_role("link", name=t["profile"], exact=True).click()
    assert page.get_by_role("heading", name=t["profile"], level=1).is_visible()
    anonymous = page.get_by_role("region", name=t["anonymous"])
    website_row = anonymous.locator("dt", has_text=t["website_level"]).locator(
        "xpath=following-sibling::dd[1]"
    )
    assert website_row.inner_text() == t["hidden"]
    page.get_by_role("combobox", name=t["website_level"], exact=True).select_option("public")
    website = org_a.website
    assert website is not None
    page.get_by_role("region", name=t["anonymous"]).locator("dd", has_text=website).wait_for()
    rows = page.locator(".rel-row")
    before = rows.count()
    page.get_by_role("button", name=t["add_relationship"]).click()
    # the new row, once it is there (the last row before it may have a name field too)
    new_row = rows.nth(before)
    new_row.wait_for()
    new_row.get_by_label(t["name"]).fill("Großkunde Automotive AG")
    share = 100 - round(100 * _customer_shares(live_server, org_a.id))
    assert share > 50
    new_row.get_by_label(t["share"]).fill(str(share))
    new_row.get_by_label(t["share"]).press("Tab")
    page.get_by_role("alert").filter(has_text=t["dependency"]).wait_for()
    cores = page.locator("#rows-core .comp-row")
    before = cores.count()
    page.get_by_role("button", name=t["add_core"]).click()
    cores.nth(before).get_by_label(t["competence"], exact=True).fill(f"Journey competence {lang}")
    _check(page, lang, "profile" if shots else None, shots)
    page.get_by_role("button", name=t["save"]).click()
    page.get_by_role("status").filter(has_text=t["saved"]).wait_for()
    with Session(live_server.engine) as session:
        stored = session.get(Organization, org_a.id)
        assert stored is not None
        assert stored.disclosure["website"] == "public"
        added = session.scalars(
            select(Competence.kind).where(
                Competence.organization_id == org_a.id,
                Competence.label == f"Journey competence {lang}",
            )
        ).all()
        assert added == ["core"]
        rows = session.scalars(
            select(KnownRelationship).where(
                KnownRelationship.organization_id == org_a.id,
                KnownRelationship.name == "Großkunde Automotive AG",
            )
        ).all()
        assert [(r.type, r.revenue_share) for r in rows] == [("customer", share / 100)]

    # --- the partners page ranks matches; the search finds the target as a teaser
    page.get_by_role("link", name=t["partners"], exact=True).click()
    page.locator("ol.matches > li").first.wait_for()
    _check(page, lang, "partners" if shots else None, shots)
    page.get_by_role("link", name=t["search"], exact=True).click()
    page.get_by_label(t["looking_for"]).fill(need)
    page.get_by_role("search").get_by_role("button", name=t["search"]).click()
    card = page.locator("article.match", has=page.locator(f'a[href="/requests/new?to={org_b.id}"]'))
    card.wait_for()
    assert card.get_by_role("heading", level=3).inner_text() == t["anonymous_profile"]
    assert org_b.name not in page.content()
    _check(page, lang, "search" if shots else None, shots)
    card.get_by_role("link", name=t["ask"]).click()

    # --- the request: kind and message
    page.get_by_label(t["kind"]).select_option(label=t["kind_option"])
    page.get_by_label(t["message"]).fill(
        f"Journey {lang}: shall we build the next product together?"
    )
    _check(page, lang)
    page.get_by_role("button", name=t["send"]).click()
    page.get_by_role("status").filter(has_text=t["sent"]).wait_for()
    _check(page, lang)
    with Session(live_server.engine) as session:
        sent = session.scalars(
            select(CooperationRequest).where(
                CooperationRequest.from_organization_id == org_a.id,
                CooperationRequest.to_organization_id == org_b.id,
            )
        ).all()
        assert [(r.type, r.status) for r in sent] == [("product_development", "pending")]
        request_id = sent[0].id
    # the target's name and contacts stay hidden while the request waits
    assert org_b.name not in page.content()
    assert org_b.contact_email not in page.content()

    # --- member B accepts, and sees A's name and contacts
    context_b = browser.new_context(locale=lang, viewport={"width": 1280, "height": 900})
    page_b = context_b.new_page()
    page_b.on(
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    _sign_in(page_b, live_server, t, email_b)
    page_b.get_by_role("link", name=t["requests"], exact=True).click()
    item = page_b.locator(f"#request-{request_id}")
    assert item.get_by_role("heading", level=3).inner_text() == org_a.name
    assert org_a.contact_email not in page_b.content()
    item.get_by_role("button", name=t["accept"]).click()
    item = page_b.locator(f"#request-{request_id}")
    item.get_by_text(t["accepted"], exact=True).wait_for()
    assert item.get_by_role("link", name=org_a.contact_email).is_visible()
    _check(page_b, lang, "requests" if shots else None, shots)
    with Session(live_server.engine) as session:
        answered = session.get(CooperationRequest, request_id)
        assert answered is not None and answered.status == "accepted"

    # --- A sees B's name and contacts now
    page.reload()
    item_a = page.locator(f"#request-{request_id}")
    assert item_a.get_by_role("heading", level=3).inner_text() == org_b.name
    assert item_a.get_by_role("link", name=org_b.contact_email).is_visible()
    assert item_a.get_by_text(org_b.contact_name).is_visible()

    # --- A records how it went
    item_a.get_by_label(t["how"]).select_option(label=t["met"])
    item_a.get_by_role("button", name=t["record"]).click()
    page.locator(f"#request-{request_id}").get_by_text(t["met"]).first.wait_for()
    with Session(live_server.engine) as session:
        recorded = session.get(CooperationRequest, request_id)
        assert recorded is not None and recorded.outcome == "talks_started"

    # --- the remaining pages pass axe too: my data, the account, a page that does not exist
    for path in ("/no-such-page", "/my-data", "/account"):
        page.goto(live_server.url + path)
        assert axe_violations(page) == [], path

    # --- signing out ends the session
    page.get_by_role("button", name=t["sign_out"]).click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto(live_server.url + "/requests")
    assert page.url.startswith(live_server.url + "/login?next=")
    assert csp_errors == []
    if shots is not None:
        names = {f"{lang}-{n}.png" for n in SCREENSHOT_PAGES}
        assert names <= {p.name for p in shots.iterdir()}
    context_a.close()
    context_b.close()


def _customer_shares(server: LiveServer, organization_id: int) -> float:
    with Session(server.engine) as session:
        shares = session.scalars(
            select(KnownRelationship.revenue_share).where(
                KnownRelationship.organization_id == organization_id,
                KnownRelationship.type == "customer",
            )
        ).all()
    return sum(s or 0.0 for s in shares)
