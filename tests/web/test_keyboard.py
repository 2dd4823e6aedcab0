"""Every form of the member's pages works with the keyboard alone, in Chromium.

On each page, Tab from the top reaches every visible link, button and form field, each with a
visible focus outline; then every form is filled and sent with keys only (typing, arrow keys
in selects, Space on check boxes, Enter on buttons), and the server is asked what it stored.
Elements are focused directly only after the Tab walk has shown they are reachable.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.auth.schemas import UserCreate
from app.models import Competence, Organization
from app.models.cooperation import CooperationRequest
from app.models.user import ApiToken, Role, TokenKind, User
from tests.web.conftest import LiveServer

PASSWORD = "Kiefer-Laterne-73-keys"
# a sender and an addressee of the demo data that no other browser test signs in for
SENDER, ADDRESSEE = "KM-DE-0003", "KM-DE-0004"

# every element a keyboard user must reach, visible and enabled, numbered in document order
_NUMBER_FOCUSABLE = """() => {
  const selector =
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  const shown = [...document.querySelectorAll(selector)].filter(e =>
    !e.disabled && e.getAttribute('tabindex') !== '-1' && e.getClientRects().length > 0
    && getComputedStyle(e).visibility !== 'hidden');
  shown.forEach((e, i) => e.setAttribute('data-kb', String(i)));
  return shown.map(e => (e.id || e.getAttribute('name') || e.textContent.trim()).slice(0, 60));
}"""
_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || !e.hasAttribute('data-kb')) return null;
  const style = getComputedStyle(e);
  return [Number(e.getAttribute('data-kb')), style.outlineStyle, style.outlineWidth];
}"""


def _tab_walk(page: Any) -> None:
    """Tab from the top of the page: every focusable element is reached, in document order,
    each with the focus outline of the style sheet."""
    names = page.evaluate(_NUMBER_FOCUSABLE)
    # start from the top: the document's body focused for a moment, as after a page load
    page.evaluate(
        "() => { const b = document.body; b.tabIndex = -1; b.focus(); b.removeAttribute('tabindex');"
        " window.scrollTo(0, 0); }"
    )
    reached: list[int] = []
    # other stops (a scrolling region Chromium makes focusable) do not count, but take a press
    for _ in range(2 * len(names) + 10):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED)
        if focused is None:
            continue
        number, outline, width = focused
        if reached and number == reached[0]:
            break  # round the page once
        assert (outline, width) == ("solid", "3px"), names[number]
        reached.append(number)
    missed = [names[i] for i in range(len(names)) if i not in reached]
    assert missed == [], page.url
    assert reached == sorted(reached), page.url  # no tabindex reorders the page


def _account(server: LiveServer, external_id: str, email: str) -> Organization:
    with Session(server.engine) as session, session.begin():
        organization = session.scalars(
            select(Organization).where(Organization.external_id == external_id)
        ).one()
        if auth_service.repository.get_user_by_email(session, email) is None:
            auth_service.create_user(
                session,
                data=UserCreate(
                    email=email,
                    name=email.split("@")[0].title(),
                    role=Role.member,
                    organization_id=organization.id,
                    password=PASSWORD,
                ),
            )
        session.expunge(organization)
    return organization


def _sign_in(page: Any, server: LiveServer, email: str) -> None:
    page.goto(server.url + "/login")
    _tab_walk(page)
    page.get_by_label("E-mail address").focus()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dashboard$"))


def _press(page: Any, locator: Any, key: str = "Enter") -> None:
    locator.focus()
    page.keyboard.press(key)


def test_every_member_form_works_with_the_keyboard(live_server: LiveServer, browser: Any) -> None:
    sender = _account(live_server, SENDER, "keys-sender@journey.example")
    addressee = _account(live_server, ADDRESSEE, "keys-addressee@journey.example")
    context = browser.new_context(locale="en", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _sign_in(page, live_server, "keys-sender@journey.example")
    _tab_walk(page)

    # --- partners: a size chosen with the arrow keys, the filter sent with Enter
    page.goto(live_server.url + "/partners")
    _tab_walk(page)
    size = page.get_by_label("Size", exact=True)
    size.focus()
    page.keyboard.press("ArrowDown")  # any size -> micro
    page.keyboard.press("ArrowDown")  # -> small
    assert size.input_value() == "small"
    _press(page, page.get_by_role("button", name="Show partners"))
    page.wait_for_url(re.compile(r"/partners\?.*size=small"))

    # --- search: typed, sent with Enter
    page.goto(live_server.url + "/search")
    _tab_walk(page)
    page.get_by_label("What are you looking for?").focus()
    page.keyboard.type("Leiterplatten")
    page.keyboard.press("Enter")
    page.locator("#search-results").get_by_text("Answer:").wait_for()
    _tab_walk(page)

    # --- a request: from the addressee's card, kind by arrow key, message typed, Enter
    page.goto(f"{live_server.url}/requests/new?to={addressee.id}")
    _tab_walk(page)
    page.get_by_label("Kind of cooperation").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    page.keyboard.type("Sent with the keyboard alone.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.get_by_role("status").filter(has_text="Your request was sent.").wait_for()
    _tab_walk(page)
    with Session(live_server.engine) as session:
        sent = session.scalars(
            select(CooperationRequest).where(
                CooperationRequest.from_organization_id == sender.id,
                CooperationRequest.to_organization_id == addressee.id,
            )
        ).all()
        assert [(r.status, r.message) for r in sent] == [
            ("pending", "Sent with the keyboard alone.")
        ]
        request_id = sent[0].id

    # --- the profile: a competence added with Enter (focus moves into the new row), a
    # relationship added and removed with Space, the preview follows a select, Enter saves
    page.goto(live_server.url + "/profile")
    _tab_walk(page)
    _press(page, page.get_by_role("button", name="Add a competence (Core competences)"))
    new_label = page.locator("#rows-core .comp-row").last.get_by_label("Competence", exact=True)
    expect(new_label).to_be_focused()
    page.keyboard.type("Keyboard-made competence")
    _press(page, page.get_by_role("button", name="Add a customer, supplier or partner"))
    new_relationship = page.locator(".rel-row").last
    expect(new_relationship.get_by_label("Relationship", exact=True)).to_be_focused()
    _press(page, new_relationship.get_by_label("Remove"), " ")
    assert new_relationship.get_by_label("Remove").is_checked()
    anonymous = page.get_by_role("region", name="An anonymous visitor")
    website_row = anonymous.locator("dt", has_text="Website").locator(
        "xpath=following-sibling::dd[1]"
    )
    level = page.get_by_role("combobox", name="Website", exact=True)
    level.focus()
    for _ in range(4):  # the levels, widest first: up to "everyone"
        page.keyboard.press("ArrowUp")
    assert level.input_value() == "public"
    website_row.filter(has_not_text="hidden").wait_for()
    _tab_walk(page)
    _press(page, page.get_by_role("button", name="Save the profile"))
    page.get_by_role("status").filter(has_text="Saved.").wait_for()
    with Session(live_server.engine) as session:
        stored = session.get(Organization, sender.id)
        assert stored is not None and stored.disclosure["website"] == "public"
        assert session.scalars(
            select(Competence.kind).where(
                Competence.organization_id == sender.id,
                Competence.label == "Keyboard-made competence",
            )
        ).all() == ["core"]

    # --- the account: an API key named, the password typed, Enter
    page.goto(live_server.url + "/account")
    _tab_walk(page)
    page.get_by_label("Name of the key").focus()
    page.keyboard.type("keyboard key")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_text("keyboard key").first.wait_for()
    with Session(live_server.engine) as session:
        user = session.scalars(
            select(User).where(User.email == "keys-sender@journey.example")
        ).one()
        assert session.scalars(
            select(ApiToken.name).where(
                ApiToken.user_id == user.id, ApiToken.kind == TokenKind.api_key.value
            )
        ).all() == ["keyboard key"]

    # --- my data: the export by Enter on its link; the erasure refused for a wrong name
    page.goto(live_server.url + "/my-data")
    _tab_walk(page)
    with page.expect_download() as download:
        _press(page, page.get_by_role("link", name="Download the export"))
    assert download.value.suggested_filename == f"koopmatch-organization-{sender.id}.json"
    page.get_by_label(re.compile("To confirm, type the name of your organisation")).focus()
    page.keyboard.type("not our name")
    page.keyboard.press("Enter")
    page.get_by_role("alert").wait_for()
    _tab_walk(page)

    # --- the language switch and signing out, by Enter
    _press(page, page.get_by_role("link", name="Deutsch"))
    page.get_by_role("heading", name="Meine Daten", level=1).wait_for()
    _press(page, page.get_by_role("link", name="English"))
    page.get_by_role("heading", name="My data", level=1).wait_for()
    _press(page, page.get_by_role("button", name="Sign out"))
    page.wait_for_url(re.compile(r"/login$"))

    # --- the addressee accepts by Enter and records the outcome with keys
    other = browser.new_context(locale="en", viewport={"width": 1280, "height": 900})
    page_b = other.new_page()
    _sign_in(page_b, live_server, "keys-addressee@journey.example")
    page_b.goto(live_server.url + "/requests")
    _tab_walk(page_b)
    item = page_b.locator(f"#request-{request_id}")
    _press(page_b, item.get_by_role("button", name="Accept"))
    item = page_b.locator(f"#request-{request_id}")
    item.get_by_text("accepted", exact=True).wait_for()
    _tab_walk(page_b)
    item.get_by_label("How did it go?").focus()
    page_b.keyboard.press("ArrowDown")  # talks started -> agreement reached
    page_b.keyboard.press("Tab")
    page_b.keyboard.type("Agreed by keyboard.")
    page_b.keyboard.press("Enter")
    page_b.locator(f"#request-{request_id}").get_by_text("Agreed by keyboard.").wait_for()
    with Session(live_server.engine) as session:
        answered = session.get(CooperationRequest, request_id)
        assert answered is not None
        assert (answered.status, answered.outcome, answered.outcome_note) == (
            "accepted",
            "agreement_reached",
            "Agreed by keyboard.",
        )
    context.close()
    other.close()
