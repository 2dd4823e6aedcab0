"""The audit log: what a write records, who it names, and GET /api/v1/audit."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

import app.db
from app.auth.security import hash_password
from app.cli import main as cli_main
from app.main import create_app
from app.models import Competence, Organization
from app.models.audit import AuditEntry
from app.models.event import (
    EventPerson,
    MeetingRequest,
    ScheduledMeeting,
    TimeSlot,
    UnavailableSlot,
)
from app.models.taxonomy import NaceCode
from app.models.user import ApiToken, Role, User
from app.session_hooks.audit import MASK, acting
from tests.app.conftest import AccountFactory, ClientFactory
from tests.app.privacy.conftest import PrivacyWorld

AUDIT = "/api/v1/audit"


def entries(session: Session, *conditions: object) -> list[AuditEntry]:
    return list(
        session.scalars(select(AuditEntry).where(*conditions).order_by(AuditEntry.id))  # type: ignore[arg-type]
    )


def last_entry(session: Session) -> AuditEntry:
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
    return entry


def last_id(session: Session) -> int:
    """The newest entry's id, 0 on an empty log."""
    return session.scalar(select(func.max(AuditEntry.id))) or 0


def test_insert_update_delete_are_recorded_without_personal_values(db_session: Session) -> None:
    with acting("cli", request="koopmatch test"):
        org = Organization(
            name="Audit GmbH",
            visibility="public",
            cooperation_interests=[],
            contact_email="ines@audit.example",
            profile_embedding=b"\x00\x01",
            embedding_model="hashing",
            competences=[Competence(kind="core", label="Prüftechnik", embedding=b"\x02")],
        )
        db_session.add(org)
        db_session.flush()
        competence = org.competences[0]
        [insert, competence_insert] = entries(
            db_session,
            AuditEntry.entity.in_(["organizations", "competences"]),
            AuditEntry.organization_id == org.id,
        )
        assert (insert.action, insert.entity, insert.entity_id, insert.organization_id) == (
            "insert",
            "organizations",
            org.id,
            org.id,
        )
        assert (insert.source, insert.request, insert.actor_user_id) == (
            "cli",
            "koopmatch test",
            None,
        )
        assert insert.changes == {
            "name": "Audit GmbH",
            "visibility": "public",
            "cooperation_interests": [],
            "disclosure": {},
            "hide_from_competitors": False,
            "contact_email": MASK,
            "embedding_model": "hashing",
            "version": 1,
            "created_at": org.created_at.isoformat(),
            "modified_at": org.modified_at.isoformat(),
        }
        assert competence_insert.changes == {
            "organization_id": org.id,
            "kind": "core",
            "label": "Prüftechnik",
        }
        assert competence_insert.entity_id == competence.id

        org.contact_phone = "+49 30 1234"
        org.employees = 12
        db_session.flush()
        update = last_entry(db_session)
        assert (update.action, update.entity_id, update.organization_id) == (
            "update",
            org.id,
            org.id,
        )
        assert update.changes == {"contact_phone": MASK, "employees": [None, 12]}

        db_session.delete(competence)
        org.competences.remove(competence)
        db_session.flush()
        gone = last_entry(db_session)
        assert (gone.action, gone.entity, gone.entity_id, gone.organization_id) == (
            "delete",
            "competences",
            competence.id,
            org.id,
        )
        assert gone.changes == {"organization_id": org.id, "kind": "core", "label": "Prüftechnik"}


def test_event_and_request_rows_name_the_organisation(
    privacy_world: PrivacyWorld, db_session: Session
) -> None:
    w = privacy_world
    by_entity = {
        (e.entity, e.entity_id): e.organization_id
        for e in entries(db_session, AuditEntry.action == "insert")
    }
    assert by_entity[("event_people", w.erik)] == w.target
    assert by_entity[("event_people", w.frieda)] == w.other
    assert by_entity[("event_meetings", w.meeting)] == w.target  # person a is Erik
    assert by_entity[("cooperation_requests", w.received_request)] == w.other
    steps = {
        e.entity_id: e.organization_id
        for e in entries(db_session, AuditEntry.entity == "cooperation_request_events")
    }
    # three steps of the sent request (from target), one of the received one
    assert Counter(steps.values()) == {w.target: 3, w.other: 1}
    tokens = {
        e.changes["user_id"]: e.organization_id
        for e in entries(db_session, AuditEntry.entity == "api_tokens")
    }
    assert tokens == {
        w.berta.user.id: w.target,
        w.dora.user.id: w.other,
        w.curator.user.id: None,
    }

    # parents that are not in the session are looked up in the database
    db_session.expunge_all()
    db_session.add(
        MeetingRequest(
            event_id=w.event, from_person_id=w.erik, to_person_id=w.frieda, status="requested"
        )
    )
    db_session.flush()
    entry = last_entry(db_session)
    assert (entry.entity, entry.organization_id) == ("meeting_requests", w.target)


def test_statements_are_recorded_row_by_row(
    privacy_world: PrivacyWorld, db_session: Session
) -> None:
    w = privacy_world
    db_session.execute(delete(UnavailableSlot).where(UnavailableSlot.person_id == w.erik))
    entry = last_entry(db_session)
    assert (entry.action, entry.entity, entry.entity_id, entry.organization_id) == (
        "delete",
        "event_unavailable_slots",
        None,
        w.target,
    )
    assert entry.changes == {"person_id": w.erik, "slot_id": w.slot}
    assert db_session.scalars(select(UnavailableSlot)).all() == []


def test_an_api_write_names_the_user_and_the_request(
    privacy_world: PrivacyWorld, client_for: ClientFactory, db_session: Session
) -> None:
    w = privacy_world
    w.berta.user.password_hash = hash_password("Bertas Passwort 1")
    db_session.commit()
    before = last_id(db_session)
    response = client_for(w.berta).post(
        "/api/v1/auth/api-keys",
        json={"name": "Export-Skript", "current_password": "Bertas Passwort 1"},
    )
    assert response.status_code == 201, response.text
    written = entries(db_session, AuditEntry.id > before)
    assert {(e.source, e.request, e.actor_user_id) for e in written} == {
        ("api", "POST /api/v1/auth/api-keys", w.berta.user.id)
    }
    new_key = response.json()["id"]
    # the key, and the last-used time of the login token the request came with
    assert sorted((e.action, e.entity, e.entity_id) for e in written) == [
        ("insert", "api_tokens", new_key),
        (
            "update",
            "api_tokens",
            db_session.scalar(
                select(ApiToken.id).where(
                    ApiToken.user_id == w.berta.user.id, ApiToken.kind == "login"
                )
            ),
        ),
    ]
    [key] = [e for e in written if e.action == "insert"]
    assert key.changes["name"] == MASK
    assert key.organization_id == w.target


def test_a_verification_statement_is_recorded_with_the_curator(
    privacy_world: PrivacyWorld, client_for: ClientFactory, db_session: Session
) -> None:
    w = privacy_world
    before = last_id(db_session)
    old = db_session.get(Organization, w.target)
    assert old is not None and old.verified_at is not None
    old_at = old.verified_at.isoformat()
    url = f"/api/v1/curation/organizations/{w.target}/verify"
    response = client_for(w.curator).post(url)
    assert response.status_code == 200, response.text
    [entry] = entries(db_session, AuditEntry.id > before, AuditEntry.entity == "organizations")
    assert (entry.action, entry.entity_id, entry.organization_id, entry.actor_user_id) == (
        "update",
        w.target,
        w.target,
        w.curator.user.id,
    )
    assert entry.request == f"POST {url}"
    # the same curator verified before: only the time changes
    new_at = response.json()["verified_at"]
    assert entry.changes == {"verified_at": [old_at, entry.changes["verified_at"][1]]}
    assert dt.datetime.fromisoformat(entry.changes["verified_at"][1]) == dt.datetime.fromisoformat(
        new_at.replace("Z", "+00:00")
    )

    response = client_for(w.curator).delete(url)
    assert response.status_code == 200, response.text
    unverified = last_entry(db_session)
    assert (unverified.entity, unverified.entity_id, unverified.request) == (
        "organizations",
        w.target,
        f"DELETE {url}",
    )
    assert unverified.changes == {
        "verified_at": [entry.changes["verified_at"][1], None],
        "verified_by": MASK,
    }


@pytest.fixture
def production_sessions(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app's own get_session (no override), on the test's connection."""
    maker = sessionmaker(
        bind=db_session.connection(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    monkeypatch.setattr(app.db, "get_sessionmaker", lambda **_: maker)
    yield


def test_a_login_is_an_anonymous_api_write(
    production_sessions: None, db_session: Session, encoder: object
) -> None:
    user = User(
        email="lena@login.example",
        name="Lena Login",
        role=Role.organizer.value,
        password_hash=hash_password("a long password 1"),
        is_active=True,
    )
    db_session.add(user)
    db_session.commit()
    before = last_id(db_session)
    with TestClient(create_app(encoder=encoder)) as client:  # type: ignore[arg-type]
        response = client.post(
            "/api/v1/auth/token",
            json={"email": "lena@login.example", "password": "a long password 1"},
        )
    assert response.status_code == 200, response.text
    written = entries(db_session, AuditEntry.id > before)
    assert sorted((e.action, e.entity) for e in written) == [
        ("insert", "api_tokens"),
        ("update", "users"),
    ]
    assert {(e.source, e.request, e.actor_user_id) for e in written} == {
        ("api", "POST /api/v1/auth/token", None)
    }
    [login] = [e for e in written if e.entity == "users"]
    assert set(login.changes) == {"last_login_at"}


def test_command_line_writes_are_marked(production_sessions: None, db_session: Session) -> None:
    before = last_id(db_session)
    code = cli_main(
        ["create-user", "--email", "olaf@cli.example", "--role", "organizer", "--no-password"]
    )
    assert code == 0
    [entry] = entries(db_session, AuditEntry.id > before)
    assert (entry.source, entry.request, entry.actor_user_id) == (
        "cli",
        "koopmatch create-user",
        None,
    )
    assert (entry.action, entry.entity) == ("insert", "users")
    assert entry.changes["email"] == MASK


# --- GET /api/v1/audit -------------------------------------------------------------------------


def test_only_admins_read_the_log(
    privacy_world: PrivacyWorld, client_for: ClientFactory, make_account: AccountFactory
) -> None:
    w = privacy_world
    statuses = [
        client_for(account).get(AUDIT).status_code
        for account in (None, w.berta, w.curator, make_account(Role.organizer))
    ]
    assert statuses == [401, 403, 403, 403]


def test_filters_and_pages(
    privacy_world: PrivacyWorld, client: TestClient, db_session: Session
) -> None:
    w = privacy_world
    trail = entries(
        db_session, AuditEntry.entity == "organizations", AuditEntry.entity_id == w.target
    )
    insert, by_berta, by_curator = trail
    assert [e.action for e in trail] == ["insert", "update", "update"]

    page = client.get(AUDIT, params={"entity": "organizations", "entity_id": w.target}).json()
    assert [i["id"] for i in page["items"]] == [by_curator.id, by_berta.id, insert.id]
    assert (page["total"], page["limit"], page["offset"]) == (3, 50, 0)
    assert page["items"][0]["changes"] == {"description": [None, "Sensoren für Füllstand"]}

    second = client.get(
        AUDIT,
        params={"entity": "organizations", "entity_id": w.target, "limit": 1, "offset": 1},
    ).json()
    assert ([i["id"] for i in second["items"]], second["total"]) == ([by_berta.id], 3)

    def ids(**params: str | int) -> list[int]:
        response = client.get(AUDIT, params=params)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    assert ids(actor_user_id=w.berta.user.id) == [by_berta.id]
    assert ids(actor_user_id=w.curator.user.id, action="update") == [by_curator.id]
    members = entries(
        db_session,
        AuditEntry.entity == "users",
        AuditEntry.action == "insert",
        AuditEntry.organization_id == w.target,
    )
    assert [e.entity_id for e in members] == [w.berta.user.id, w.carl]
    assert ids(entity="users", action="insert", organization_id=w.target) == [
        members[1].id,
        members[0].id,
    ]
    assert ids(
        entity="organizations", since=by_berta.at.isoformat(), until=by_curator.at.isoformat()
    ) == [by_berta.id]
    naive = by_curator.at.astimezone(dt.UTC).replace(tzinfo=None).isoformat()
    assert ids(entity="organizations", organization_id=w.target, since=naive) == [by_curator.id]
    # times at the ends of the range, beyond them once moved to UTC
    edges = {"since": "0001-01-01T00:00:00+05:00", "until": "9999-12-31T23:59:59-05:00"}
    wide = client.get(AUDIT, params={**edges, "entity": "organizations", "entity_id": w.target})
    assert (wide.status_code, wide.json()["total"]) == (200, 3)
    assert client.get(AUDIT, params={"action": "merge"}).status_code == 422
    assert client.get(AUDIT, params={"limit": 0}).status_code == 422


def test_tokens_and_people_are_never_in_the_log(
    privacy_world: PrivacyWorld, db_session: Session
) -> None:
    token_hashes = db_session.scalars(select(ApiToken.token_hash)).all()
    people = db_session.scalars(select(EventPerson.email)).all()
    text = " ".join(str((e.changes, e.request)) for e in entries(db_session))
    assert len(token_hashes) == 4 and len(people) == 3
    assert [v for v in [*token_hashes, *people] if v in text] == []


def test_a_row_deleted_unloaded_is_recorded_by_its_id(
    privacy_world: PrivacyWorld, db_session: Session
) -> None:
    w = privacy_world
    slot = db_session.get(TimeSlot, w.slot)
    assert slot is not None
    db_session.execute(delete(UnavailableSlot))
    db_session.execute(delete(ScheduledMeeting))
    db_session.commit()
    db_session.expire(slot)
    db_session.delete(slot)
    db_session.flush()
    entry = last_entry(db_session)
    assert (entry.action, entry.entity, entry.entity_id) == ("delete", "time_slots", w.slot)


def test_the_nace_reference_table_is_not_logged(db_session: Session) -> None:
    before = last_id(db_session)
    code = db_session.get(NaceCode, "26.51")
    assert code is not None
    code.label_de = "Herstellung von Mess-, Kontroll- und Navigationsinstrumenten"
    db_session.flush()
    assert last_id(db_session) == before
