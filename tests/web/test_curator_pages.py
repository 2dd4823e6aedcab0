"""Hub staff's pages in-process: who opens them, the audit log's tables, the import's steps,
the merge preview that writes nothing, verification, and the link page."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth import invitations
from app.auth.security import verify_password
from app.models import Organization
from app.models.curation import OrganizationMerge
from app.models.invitation import LinkPurpose
from app.models.user import Role
from app.web.curator_imports import ImportJobs
from tests.app.conftest import Account, AccountFactory
from tests.web.pages import CSRF, csrf_token, page_client

ROLES = ("anonymous", "member", "organizer", "curator", "admin")
PAGES = (
    "/curator",
    "/curator/import",
    "/curator/duplicates",
    "/curator/labels",
    "/curator/labels/suggestions",
    "/curator/profiles",
    "/curator/audit",
    "/curator/onboarding",
    "/curator/gaps",
)


def _org(session: Session, name: str, **fields: object) -> int:
    org = Organization(name=name, country="DE", **fields)
    session.add(org)
    session.flush()
    return org.id


@pytest.fixture
def accounts(db_session: Session, make_account: AccountFactory) -> dict[str, Account | None]:
    own = _org(db_session, "Eigene GmbH")
    db_session.commit()
    return {
        "anonymous": None,
        "member": make_account(Role.member, own),
        "organizer": make_account(Role.organizer),
        "curator": make_account(Role.curator),
        "admin": make_account(Role.admin),
    }


def test_only_hub_staff_open_the_pages(app: FastAPI, accounts: dict[str, Account | None]) -> None:
    seen: dict[str, list[int]] = {page: [] for page in PAGES}
    for role in ROLES:
        with page_client(app, accounts[role]) as client:
            for page in PAGES:
                seen[page].append(client.get(page, headers={"accept": "text/html"}).status_code)
    assert seen == {page: [303, 403, 403, 200, 200] for page in PAGES}


def test_curators_read_the_curation_tables_of_the_audit_log(
    app: FastAPI, accounts: dict[str, Account | None]
) -> None:
    with page_client(app, accounts["curator"]) as curator:
        assert curator.get("/curator/audit?entity=users").status_code == 404
        page = curator.get("/curator/audit").text
        assert '<option value="users"' not in page
        assert '<option value="organizations"' in page
        # the accounts made for this test are in the log, but not shown to a curator
        assert "<td>users</td>" not in page
    with page_client(app, accounts["admin"]) as admin:
        listed = admin.get("/curator/audit?entity=users")
        assert listed.status_code == 200
        assert "<td>users</td>" in listed.text


CSV = (
    b"external_id,name,country,employees,core\n"
    b"WEB-1,Webimport Eins GmbH,DE,12,Laserschneiden\n"
    b"WEB-2,Webimport Zwei GmbH,DE,viele,Kantenbiegen\n"
)


def test_dry_run_then_partial_import(
    app: FastAPI, accounts: dict[str, Account | None], db_session: Session
) -> None:
    app.state.curator_imports = ImportJobs(
        background=False, write_session=lambda: db_session, read_session=None
    )
    with page_client(app, accounts["curator"]) as curator:
        token = csrf_token(curator, "/curator/import")
        checked = curator.post(
            "/curator/import",
            data={"csrf_token": token},
            files={"file": ("firms.csv", CSV, "text/csv")},
        )
        assert checked.status_code == 200
        html = checked.text
        assert "<td>3</td><td>WEB-2</td><td>employees</td>" in html
        assert db_session.scalar(select(func.count()).select_from(Organization)) == 1
        upload = re.search(r'action="/curator/import/([\w-]+)/run"', html)
        assert upload is not None
        assert 'name="mode" value="partial"' in html
        assert 'name="mode" value="atomic"' not in html
        started = curator.post(
            f"/curator/import/{upload.group(1)}/run",
            data={"csrf_token": token, "mode": "partial"},
        )
        assert started.status_code == 303
        job = curator.get(started.headers["location"])
        assert "Import finished." in job.text
        # the upload is used up
        again = curator.post(
            f"/curator/import/{upload.group(1)}/run",
            data={"csrf_token": token, "mode": "partial"},
        )
        assert again.status_code == 404
    names = db_session.scalars(
        select(Organization.name).where(Organization.external_id.is_not(None))
    ).all()
    assert names == ["Webimport Eins GmbH"]
    # another account cannot follow the job
    with page_client(app, accounts["admin"]) as admin:
        assert admin.get(started.headers["location"]).status_code == 404


def _workbook(rows: list[tuple[object, ...]]) -> bytes:
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ("external_id", "name", "country", "employees", "core")


def test_a_spreadsheet_lists_every_bad_row_and_a_valid_one_imports_atomically(
    app: FastAPI, accounts: dict[str, Account | None], db_session: Session
) -> None:
    app.state.curator_imports = ImportJobs(
        background=False, write_session=lambda: db_session, read_session=None
    )
    bad = _workbook(
        [
            HEADER,
            ("XL-1", "Tabelle Eins GmbH", "DE", 12, "Laserschneiden"),
            ("XL-2", "Tabelle Zwei GmbH", "DE", "viele", "Kantenbiegen"),
            ("XL-3", None, "DE", 5, "Kantenbiegen"),
        ]
    )
    good = _workbook(
        [
            HEADER,
            ("XL-1", "Tabelle Eins GmbH", "DE", 12, "Laserschneiden"),
            ("XL-4", "Tabelle Vier GmbH", "AT", 30, "Kantenbiegen"),
        ]
    )
    with page_client(app, accounts["curator"]) as curator:
        token = csrf_token(curator, "/curator/import")
        checked = curator.post(
            "/curator/import",
            data={"csrf_token": token},
            files={"file": ("firms.xlsx", bad, XLSX)},
        )
        assert checked.status_code == 200
        rows = re.findall(
            r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td><td>[^<]*</td></tr>",
            checked.text,
        )
        assert rows == [("3", "XL-2", "employees"), ("4", "XL-3", "name")]
        assert 'name="mode" value="atomic"' not in checked.text
        checked = curator.post(
            "/curator/import",
            data={"csrf_token": token},
            files={"file": ("firms.xlsx", good, XLSX)},
        )
        assert checked.status_code == 200
        assert "<tbody><tr><td>" not in checked.text  # no row errors
        upload = re.search(r'action="/curator/import/([\w-]+)/run"', checked.text)
        assert upload is not None
        assert 'name="mode" value="atomic"' in checked.text
        assert db_session.scalar(select(func.count()).select_from(Organization)) == 1
        started = curator.post(
            f"/curator/import/{upload.group(1)}/run",
            data={"csrf_token": token, "mode": "atomic"},
        )
        assert started.status_code == 303
        assert "Import finished." in curator.get(started.headers["location"]).text
    names = db_session.scalars(
        select(Organization.name)
        .where(Organization.external_id.is_not(None))
        .order_by(Organization.external_id)
    ).all()
    assert names == ["Tabelle Eins GmbH", "Tabelle Vier GmbH"]


def test_a_file_that_cannot_be_read_is_named(
    app: FastAPI, accounts: dict[str, Account | None]
) -> None:
    with page_client(app, accounts["curator"]) as curator:
        token = csrf_token(curator, "/curator/import")
        refused = curator.post(
            "/curator/import",
            data={"csrf_token": token},
            files={"file": ("firms.xlsx", b"no workbook", "application/octet-stream")},
        )
        assert refused.status_code == 422
        assert 'role="alert"' in refused.text


def test_merge_preview_writes_nothing_and_the_merge_does(
    app: FastAPI, accounts: dict[str, Account | None], db_session: Session
) -> None:
    from app.models import Competence, KnownRelationship

    keep = _org(
        db_session,
        "Doppel GmbH",
        competences=[Competence(kind="core", label="Fräsen")],
    )
    merge = _org(
        db_session,
        "Doppel",
        competences=[
            Competence(kind="core", label="fräsen"),
            Competence(kind="core", label="Drehen"),
        ],
    )
    # the two are linked: loading one refreshes the other
    db_session.add_all(
        [
            KnownRelationship(
                organization_id=keep, type="partner", name="Doppel", related_organization_id=merge
            ),
            KnownRelationship(
                organization_id=merge,
                type="partner",
                name="Doppel GmbH",
                related_organization_id=keep,
            ),
        ]
    )
    db_session.commit()
    db_session.expire_all()
    with page_client(app, accounts["curator"]) as curator:
        preview = curator.get(f"/curator/duplicates/merge?keep={keep}&merge={merge}")
        assert preview.status_code == 200
        assert "1 competence moves: Drehen" in preview.text
        assert "1 competence is already there and is dropped: fräsen" in preview.text
        assert "2 relationships are dropped as repeats" in preview.text
        assert db_session.get(Organization, merge) is not None
        assert db_session.scalar(select(func.count()).select_from(OrganizationMerge)) == 0
        assert curator.get(f"/curator/duplicates/merge?keep={keep}&merge={keep}").status_code == 409
        token = csrf_token(curator, "/curator")
        done = curator.post(
            "/curator/duplicates/merge", data={"csrf_token": token, "keep": keep, "merge": merge}
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/curator/duplicates?merged=Doppel"
    db_session.expire_all()
    assert db_session.get(Organization, merge) is None
    labels = db_session.scalars(
        select(Competence.label)
        .where(Competence.organization_id == keep)
        .order_by(Competence.label)
    ).all()
    assert labels == ["Drehen", "Fräsen"]


def test_verify_with_one_click(
    app: FastAPI, accounts: dict[str, Account | None], db_session: Session
) -> None:
    org = _org(db_session, "Ungeprüft KG")
    db_session.commit()
    curator_account = accounts["curator"]
    assert curator_account is not None
    with page_client(app, curator_account) as curator:
        token = csrf_token(curator, "/curator")
        row = curator.post(
            f"/curator/profiles/{org}/verify",
            data={"csrf_token": token},
            headers={"hx-request": "true"},
        )
        assert row.status_code == 200
        assert row.text.startswith(f'<tr id="profile-{org}">')
        assert f"by {curator_account.user.email} on" in row.text
    db_session.expire_all()
    verified = db_session.get(Organization, org)
    assert verified is not None and verified.verified_by == curator_account.user.email


def test_the_link_page_sets_the_password(
    app: FastAPI, accounts: dict[str, Account | None], db_session: Session
) -> None:
    member = accounts["member"]
    curator = accounts["curator"]
    assert member is not None and curator is not None
    _link, secret = invitations.issue_link(
        db_session, user=member.user, purpose=LinkPurpose.reset, issuer=curator.user
    )
    db_session.commit()
    with page_client(app, None) as browser:
        page = browser.get(f"/welcome/{secret}")
        assert page.status_code == 200
        assert page.headers["referrer-policy"] == "no-referrer"
        token = CSRF.search(page.text)
        assert token is not None
        form = {"csrf_token": token.group(1), "password": "Ganz-Neues-Passwort-1"}
        assert (
            browser.post(f"/welcome/{secret}", data={**form, "csrf_token": "0" * 64}).status_code
            == 403
        )
        differ = browser.post(f"/welcome/{secret}", data={**form, "repeat": "anders-als-oben-1"})
        assert differ.status_code == 422
        done = browser.post(f"/welcome/{secret}", data={**form, "repeat": form["password"]})
        assert done.status_code == 303
        assert done.headers["location"] == "/login?welcome=1"
        assert browser.get(f"/welcome/{secret}").status_code == 404
        assert browser.get("/welcome/kml_unknown").status_code == 404
    db_session.refresh(member.user)
    assert member.user.password_hash is not None
    assert verify_password(member.user.password_hash, "Ganz-Neues-Passwort-1")


def test_rename_and_merge_labels(
    app: FastAPI, accounts: dict[str, Account | None], db_session: Session
) -> None:
    from app.models import Competence
    from app.models.curation import CompetenceSynonym

    first = _org(db_session, "Eins GmbH", competences=[Competence(kind="core", label="CNC-Fräsen")])
    second = _org(
        db_session, "Zwei GmbH", competences=[Competence(kind="core", label="CNC Fraesen")]
    )
    db_session.commit()
    with page_client(app, accounts["curator"]) as curator:
        listed = curator.get("/curator/labels?q=fr").text
        assert '<th scope="row">CNC-Fräsen</th>' in listed
        token = csrf_token(curator, "/curator")
        renamed = curator.post(
            "/curator/labels/rename",
            data={"csrf_token": token, "label": "CNC Fraesen", "new_label": "CNC-Fräsen"},
        )
        assert renamed.status_code == 303
        assert renamed.headers["location"] == "/curator/labels?done=CNC-Fr%C3%A4sen%7C1%7C1"
        merged = curator.post(
            "/curator/labels/merge",
            data={"csrf_token": token, "canonical": "Fräsen", "label": ["CNC-Fräsen"]},
        )
        assert merged.status_code == 303
        assert (
            curator.post(
                "/curator/labels/merge", data={"csrf_token": token, "canonical": "", "label": []}
            ).status_code
            == 422
        )
    db_session.expire_all()
    labels = db_session.scalars(
        select(Competence.label)
        .where(Competence.organization_id.in_([first, second]))
        .order_by(Competence.organization_id)
    ).all()
    assert labels == ["Fräsen", "Fräsen"]
    # both spellings fold to one key, which now leads to the canonical label
    synonyms = db_session.execute(select(CompetenceSynonym.key, CompetenceSynonym.canonical)).all()
    assert [tuple(s) for s in synonyms] == [("cnc fraesen", "Fräsen")]
