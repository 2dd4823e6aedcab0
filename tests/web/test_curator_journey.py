"""Hub staff's journey in Chromium, in German and in English, against a real server.

A curator signs in, imports a spreadsheet with a bad row (dry run, the table of row errors,
then only the valid rows, in the background with progress), merges the duplicate the file
brought in after its preview, verifies the kept profile with one click, invites a member who
sets a password through the link and signs in, and reads the competence-gap map. axe-core
checks every page on the way; the main pages are saved as screenshots.
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
from app.models import Organization
from app.models.curation import OrganizationMerge
from app.models.invitation import AccountLink
from app.models.user import Role, User
from tests.web.conftest import LiveServer, axe_violations, save_screenshot

PASSWORD = "Kuratorin-Passwort-2026"
MEMBER_PASSWORD = "Neues-Mitglied-Passwort-7"

TEXT = {
    "de": {
        "email": "E-Mail-Adresse",
        "password": "Passwort",
        "dashboard": "Übersicht",
        "curation": "Datenpflege",
        "import": "Import",
        "file": "Zu importierende Datei",
        "dry_run": "Datei prüfen (Probelauf)",
        "problems": "1 Fehler in den Zeilen",
        "not_a_number": "muss eine ganze Zahl sein, nicht 'viele'",
        "import_valid": "Die 4 gültigen Zeilen importieren",
        "finished": "Import abgeschlossen.",
        "duplicates": "Dubletten",
        "compare": "„{first}“ und „{second}“ vergleichen",
        "what_moves": "Was übernommen wird",
        "merge_now": "Jetzt zusammenführen",
        "merged": "„{name}“ wurde zusammengeführt.",
        "profiles": "Zu prüfende Profile",
        "verify": "„{name}“ bestätigen",
        "verified_by": "von {email} am",
        "onboarding": "Einladungen",
        "organisation": "Unternehmen",
        "show_accounts": "Ihre Konten anzeigen",
        "name": "Name",
        "create": "Konto und Link anlegen",
        "link": "Link (nur jetzt angezeigt)",
        "welcome": "Willkommen bei koopmatch",
        "new_password": "Neues Passwort",
        "repeat": "Passwort wiederholen",
        "set": "Passwort setzen",
        "too_common": "Dieses Passwort ist zu verbreitet.",
        "sign_in": "Anmelden",
        "gaps": "Kompetenzlücken",
        "open_needs": "Offene Bedarfe",
        "gap_chart": "Offene Bedarfe: Unternehmen ohne Kooperationspartner, von denen, die einen brauchen",
        "audit": "Änderungsprotokoll",
        "table": "Tabelle",
        "filter": "Filtern",
        "labels": "Kompetenzbezeichnungen",
    },
    "en": {
        "email": "E-mail address",
        "password": "Password",
        "dashboard": "Dashboard",
        "curation": "Curation",
        "import": "Import",
        "file": "File to import",
        "dry_run": "Check the file (dry run)",
        "problems": "1 problem in the rows",
        "not_a_number": "must be a whole number, not 'viele'",
        "import_valid": "Import the 4 valid rows",
        "finished": "Import finished.",
        "duplicates": "Duplicates",
        "compare": "Compare “{first}” and “{second}”",
        "what_moves": "What moves",
        "merge_now": "Merge now",
        "merged": "“{name}” was merged.",
        "profiles": "Profiles to review",
        "verify": "Verify “{name}”",
        "verified_by": "by {email} on",
        "onboarding": "Onboarding",
        "organisation": "Organisation",
        "show_accounts": "Show its accounts",
        "name": "Name",
        "create": "Create the account and its link",
        "link": "Link (shown only now)",
        "welcome": "Welcome to koopmatch",
        "new_password": "New password",
        "repeat": "Repeat the password",
        "set": "Set the password",
        "too_common": "This password is too common.",
        "sign_in": "Sign in",
        "gaps": "Competence gaps",
        "open_needs": "Open needs",
        "gap_chart": "Open needs: organisations left without a partner, of those that need it",
        "audit": "Audit log",
        "table": "Table",
        "filter": "Filter",
        "labels": "Competence labels",
    },
}
# per language: the kept profile, its duplicate, and a need no organisation offers
FIRMS = {
    "de": ("Quantenprüfwerk GmbH", "Quantenprüfwerk", "Quantenkryptografie-Audit"),
    "en": ("Quantum Test Works Ltd", "Quantum Test Works", "quantum cryptography audit"),
}


def _spreadsheet(lang: str) -> bytes:
    """Five rows: a profile, its duplicate (same website), two more that share its need, and
    a row whose head count is no number."""
    kept, duplicate, need = FIRMS[lang]
    site = f"https://quantum-{lang}.example"
    rows = [
        "external_id,name,country,website,employees,core,complementary",
        f"QJ-{lang}-1,{kept},DE,{site},25,Post-Quanten-Kryptografie,{need}",
        f"QJ-{lang}-2,{duplicate},DE,{site}/kontakt,25,Kryptografie-Beratung,",
        f"QJ-{lang}-3,Zweite Firma {lang},DE,,12,Kabelkonfektion,{need}",
        f"QJ-{lang}-4,Dritte Firma {lang},DE,,40,Gießereitechnik,{need}",
        f"QJ-{lang}-5,Fehlerhaft {lang} AG,DE,,viele,Nichts,",
    ]
    return ("\n".join(rows) + "\n").encode()


def _curator(server: LiveServer, lang: str) -> str:
    email = f"curator-{lang}@journey.example"
    with Session(server.engine) as session, session.begin():
        if auth_service.repository.get_user_by_email(session, email) is None:
            auth_service.create_user(
                session,
                data=UserCreate(
                    email=email, name=f"Kuratorin {lang}", role=Role.curator, password=PASSWORD
                ),
            )
    return email


def _check(page: Any, lang: str, name: str | None = None, shots: Path | None = None) -> None:
    assert axe_violations(page) == []
    if name is not None and shots is not None:
        page.evaluate("window.scrollTo(0, 0)")
        save_screenshot(page, shots, f"{lang}-curator-{name}")


def _sign_in(page: Any, server: LiveServer, t: dict[str, str], email: str, password: str) -> None:
    page.goto(server.url + "/login")
    page.get_by_label(t["email"]).fill(email)
    page.get_by_label(t["password"]).fill(password)
    page.get_by_label(t["password"]).press("Enter")
    page.wait_for_url(re.compile(r"/dashboard$"))
    assert page.get_by_role("heading", name=t["dashboard"], level=1).is_visible()


def _section(page: Any, t: dict[str, str], key: str) -> None:
    """Open a section through the curation pages' own navigation."""
    nav = page.get_by_role("navigation", name=t["curation"])
    nav.get_by_role("link", name=t[key], exact=True).click()


def _organization(server: LiveServer, external_id: str) -> Organization | None:
    with Session(server.engine) as session:
        found = session.scalars(
            select(Organization).where(Organization.external_id == external_id)
        ).one_or_none()
        if found is not None:
            session.expunge(found)
        return found


@pytest.mark.parametrize("lang", ["de", "en"])
def test_curator_journey(
    live_server: LiveServer, browser: Any, lang: str, screenshot_dir: Path
) -> None:
    t = TEXT[lang]
    kept, duplicate, need = FIRMS[lang]
    email = _curator(live_server, lang)
    shots = screenshot_dir if live_server.backend == "sqlite" else None
    csp_errors: list[str] = []
    context = browser.new_context(locale=lang, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on(
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    _sign_in(page, live_server, t, email, PASSWORD)
    page.get_by_role("link", name=t["curation"], exact=True).click()
    page.wait_for_url(re.compile(r"/curator$"))
    _check(page, lang)

    # --- import: the dry run lists the bad row, then only the valid rows are written
    _section(page, t, "import")
    page.get_by_label(t["file"]).set_input_files(
        {"name": f"cluster-{lang}.csv", "mimeType": "text/csv", "buffer": _spreadsheet(lang)}
    )
    page.get_by_role("button", name=t["dry_run"]).click()
    problems = page.get_by_role("table", name=t["problems"])
    problems.wait_for()
    cells = problems.get_by_role("row").nth(1).get_by_role("cell").all_inner_texts()
    assert cells == ["6", f"QJ-{lang}-5", "employees", t["not_a_number"]]
    assert _organization(live_server, f"QJ-{lang}-1") is None  # a dry run writes nothing
    _check(page, lang, "import", shots)
    page.get_by_role("button", name=t["import_valid"]).click()
    page.get_by_role("status").filter(has_text=t["finished"]).wait_for()
    assert page.locator("#job dd").all_inner_texts()[:2] == ["5", "4"]  # rows, created
    _check(page, lang)
    for n in (1, 2, 3, 4):
        assert _organization(live_server, f"QJ-{lang}-{n}") is not None
    assert _organization(live_server, f"QJ-{lang}-5") is None
    kept_org = _organization(live_server, f"QJ-{lang}-1")
    duplicate_org = _organization(live_server, f"QJ-{lang}-2")
    assert kept_org is not None and duplicate_org is not None

    # --- duplicates: the pair with its signals, the preview of what moves, the merge
    _section(page, t, "duplicates")
    compare = page.get_by_role("link", name=t["compare"].format(first=kept, second=duplicate))
    pair_row = page.get_by_role("row").filter(has=compare)
    assert f"quantum-{lang}.example" in pair_row.inner_text()  # the shared website
    _check(page, lang)
    compare.click()
    moves = page.get_by_role("region", name=t["what_moves"])
    assert "Kryptografie-Beratung" in moves.inner_text()
    _check(page, lang, "merge", shots)
    moves.get_by_role("button", name=t["merge_now"]).click()
    page.get_by_role("status").filter(has_text=t["merged"].format(name=duplicate)).wait_for()
    assert _organization(live_server, f"QJ-{lang}-2") is None
    with Session(live_server.engine) as session:
        history = session.scalars(
            select(OrganizationMerge).where(OrganizationMerge.merged_external_id == f"QJ-{lang}-2")
        ).one()
        assert (history.kept_organization_id, history.merged_by) == (kept_org.id, email)

    # --- verification with one click
    _section(page, t, "profiles")
    page.get_by_role("button", name=t["verify"].format(name=kept)).click()
    row = page.locator(f"#profile-{kept_org.id}").first
    row.get_by_text(t["verified_by"].format(email=email)).wait_for()
    _check(page, lang)
    verified = _organization(live_server, f"QJ-{lang}-1")
    assert verified is not None and verified.verified_by == email

    # --- onboarding: a member account, its link, a password set through it, a sign-in
    _section(page, t, "onboarding")
    page.get_by_label(t["organisation"], exact=True).select_option(label=kept)
    page.get_by_role("button", name=t["show_accounts"]).click()
    member_email = f"nora-{lang}@quantum.example"
    page.get_by_label(t["name"], exact=True).fill(f"Nora {lang}")
    page.get_by_label(t["email"], exact=True).fill(member_email)
    page.get_by_role("button", name=t["create"]).click()
    link = page.get_by_label(t["link"]).input_value()
    assert link.startswith(live_server.url + "/welcome/kml_")
    _check(page, lang, "onboarding", shots)
    with Session(live_server.engine) as session:
        member = session.scalars(select(User).where(User.email == member_email)).one()
        assert (member.role, member.organization_id, member.password_hash) == (
            "member",
            kept_org.id,
            None,
        )
        stored = session.scalars(select(AccountLink).where(AccountLink.user_id == member.id)).one()
        assert link.rsplit("/", 1)[1] not in stored.token_hash

    newcomer = browser.new_context(locale=lang, viewport={"width": 1280, "height": 900})
    welcome = newcomer.new_page()
    welcome.goto(link)
    assert welcome.get_by_role("heading", name=t["welcome"], level=1).is_visible()
    _check(welcome, lang)
    welcome.get_by_label(t["new_password"], exact=True).fill("password123")
    welcome.get_by_label(t["repeat"], exact=True).fill("password123")
    welcome.get_by_role("button", name=t["set"]).click()
    welcome.get_by_role("alert").filter(has_text=t["too_common"]).wait_for()
    welcome.get_by_label(t["new_password"], exact=True).fill(MEMBER_PASSWORD)
    welcome.get_by_label(t["repeat"], exact=True).fill(MEMBER_PASSWORD)
    welcome.get_by_role("button", name=t["set"]).click()
    welcome.wait_for_url(re.compile(r"/login\?welcome=1$"))
    _sign_in(welcome, live_server, t, member_email, MEMBER_PASSWORD)
    welcome.goto(link)  # the link is used up
    assert welcome.get_by_role("heading", level=1).inner_text() != t["welcome"]
    newcomer.close()

    # --- the competence-gap map: the need the three firms share and nobody offers
    _section(page, t, "gaps")
    assert page.get_by_role("img", name=t["gap_chart"]).is_visible()
    table = page.get_by_role("table", name=t["open_needs"])
    need_row = table.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=need, exact=True)
    )
    assert need_row.get_by_role("cell").all_inner_texts()[1:3] == ["3", "3"]
    _check(page, lang, "gaps", shots)

    # --- the remaining pages pass axe too
    _section(page, t, "audit")
    page.get_by_label(t["table"], exact=True).select_option("organizations")
    page.get_by_role("button", name=t["filter"]).click()
    page.wait_for_url(re.compile(r"entity=organizations"))
    _check(page, lang)
    _section(page, t, "labels")
    _check(page, lang)
    assert csp_errors == []
    context.close()
