"""Erasure of an organisation's personal data and of one person: counts, effects, atomicity."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Organization
from app.models.audit import AuditEntry
from app.models.cooperation import CooperationRequest, CooperationRequestEvent
from app.models.curation import CompetenceSynonym, OrganizationMerge
from app.models.event import EventPerson, MeetingRequest, ScheduledMeeting
from app.models.user import ApiToken, User
from app.privacy import repository, service
from app.privacy.service import ERASED_NAME, ERASURE_TABLES
from tests.app.conftest import ClientFactory
from tests.app.privacy.conftest import CURATOR_EMAIL, TARGET_PERSONAL, PrivacyWorld

ERASE_PERSON = "/api/v1/privacy/erase-person"


def erase_url(organization_id: int) -> str:
    return f"/api/v1/organizations/{organization_id}/erase-personal-data"


def report(**counts: int) -> dict[str, object]:
    full = dict.fromkeys(ERASURE_TABLES, 0) | counts
    return {"counts": full, "total": sum(full.values())}


def audit_text(session: Session) -> str:
    session.expire_all()
    return json.dumps(
        [
            [e.changes, e.request, e.entity, e.source]
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ],
        ensure_ascii=False,
    )


def test_an_organisation_erases_its_people(
    privacy_world: PrivacyWorld, client: TestClient, db_session: Session
) -> None:
    w = privacy_world
    response = client.post(erase_url(w.target))
    assert response.status_code == 200, response.text
    assert response.json() == report(
        organizations=1,  # the contact person
        users=2,  # Berta and Carl
        api_tokens=2,  # Berta's login token and API key
        event_people=2,  # Erik and Anna
        meeting_requests=1,  # Erik's message
        cooperation_requests=1,  # the sent request: message, note, sender
        cooperation_request_events=2,  # Berta's steps
        organization_merges=1,  # the contact in the merged profile
        audit_log=1,  # Berta's edit
    )
    db_session.expire_all()
    target = db_session.get(Organization, w.target)
    assert target is not None
    assert (target.name, target.city, target.contact_name, target.contact_email) == (
        "Target GmbH",
        "Stuttgart",
        None,
        None,
    )
    assert target.contact_phone is None
    members = db_session.scalars(select(User.id).where(User.organization_id == w.target)).all()
    assert members == []
    assert db_session.scalars(select(ApiToken.user_id).order_by(ApiToken.user_id)).all() == [
        w.dora.user.id,
        w.curator.user.id,
        *[db_session.scalar(select(User.id).where(User.role == "admin"))],
    ]
    people = db_session.scalars(select(EventPerson).order_by(EventPerson.id)).all()
    assert [(p.id, p.name, p.email, p.role) for p in people] == [
        (w.erik, ERASED_NAME, None, None),
        (w.anna_person, ERASED_NAME, None, None),
        (w.frieda, "Frieda Gast", "frieda@other.example", None),
    ]
    # meetings stay countable; the other side's message to Anna stays theirs
    assert db_session.scalar(select(ScheduledMeeting.id)) == w.meeting
    messages = db_session.scalars(select(MeetingRequest.message).order_by(MeetingRequest.id))
    assert messages.all() == [None, "Gerne am Nachmittag"]
    sent = db_session.get(CooperationRequest, w.sent_request)
    received = db_session.get(CooperationRequest, w.received_request)
    assert sent is not None and received is not None
    assert (sent.message, sent.outcome_note, sent.sender_user_id, sent.responder_user_id) == (
        None,
        None,
        None,
        w.dora.user.id,
    )
    assert (sent.status, sent.outcome) == ("accepted", "talks_started")
    assert (received.message, received.sender_user_id) == (
        "Schulung gewuenscht?",
        w.dora.user.id,
    )
    actors = db_session.scalars(
        select(CooperationRequestEvent.actor_user_id).order_by(CooperationRequestEvent.id)
    ).all()
    assert actors == [None, w.dora.user.id, None, w.dora.user.id]
    merge = db_session.get(OrganizationMerge, w.merge)
    assert merge is not None
    assert merge.snapshot == {
        "name": "Target Alt GmbH",
        "contact_name": None,
        "contact_email": None,
        "contact_phone": None,
        "verified_by": CURATOR_EMAIL,
    }

    text = audit_text(db_session)
    assert [value for value in TARGET_PERSONAL if value in text] == []
    assert "Target GmbH" in text  # the company is no personal datum

    # idempotent: nothing left to erase
    again = client.post(erase_url(w.target))
    assert again.status_code == 200
    assert again.json() == report()


def test_members_erase_their_own_organisation_and_their_account(
    privacy_world: PrivacyWorld, client_for: ClientFactory, db_session: Session
) -> None:
    w = privacy_world
    berta = client_for(w.berta)
    response = berta.post(erase_url(w.target), json={"confirm": "Target GmbH"})
    assert response.status_code == 200, response.text
    assert response.json()["counts"]["users"] == 2
    db_session.expire_all()
    assert db_session.get(User, w.berta.user.id) is None
    # the erasure itself is on record, without a link to the erased account
    erasure = db_session.scalars(
        select(AuditEntry).where(AuditEntry.request == f"POST {erase_url(w.target)}")
    ).all()
    assert {(e.entity, e.action) for e in erasure} >= {("users", "delete")}
    assert {e.actor_user_id for e in erasure} == {None}
    assert berta.get("/api/v1/auth/me").status_code == 401
    # the other side's members cannot erase it
    assert (
        client_for(w.dora).post(erase_url(w.target), json={"confirm": "Target GmbH"}).status_code
        == 403
    )


def test_a_person_is_erased_everywhere(
    privacy_world: PrivacyWorld, client: TestClient, db_session: Session
) -> None:
    w = privacy_world
    response = client.post(ERASE_PERSON, json={"email": "  Anna.Kontakt@Target.example "})
    assert response.status_code == 200, response.text
    assert response.json() == report(organizations=1, event_people=1, organization_merges=1)
    db_session.expire_all()
    target = db_session.get(Organization, w.target)
    anna = db_session.get(EventPerson, w.anna_person)
    erik = db_session.get(EventPerson, w.erik)
    assert target is not None and anna is not None and erik is not None
    assert (target.contact_name, target.contact_email, target.contact_phone) == (None, None, None)
    assert (anna.name, anna.email) == (ERASED_NAME, None)
    assert (erik.name, erik.email) == ("Erik Person", "erik.person@target.example")
    assert client.post(ERASE_PERSON, json={"email": "anna.kontakt@target.example"}).json() == (
        report()
    )


def test_a_member_is_erased_with_the_messages_they_sent(
    privacy_world: PrivacyWorld, client: TestClient, db_session: Session
) -> None:
    w = privacy_world
    response = client.post(ERASE_PERSON, json={"email": "berta@target.example"})
    assert response.json() == report(
        users=1, api_tokens=2, cooperation_requests=1, cooperation_request_events=2, audit_log=1
    )
    db_session.expire_all()
    sent = db_session.get(CooperationRequest, w.sent_request)
    assert sent is not None
    # her message goes; the note belongs to the conversation and stays until its side erases
    assert (sent.message, sent.sender_user_id, sent.outcome_note) == (
        None,
        None,
        "Telefonat mit Berta",
    )
    assert db_session.get(User, w.carl) is not None


def test_a_curator_is_erased_from_verifications_merges_and_synonyms(
    privacy_world: PrivacyWorld, client: TestClient, db_session: Session
) -> None:
    w = privacy_world
    response = client.post(ERASE_PERSON, json={"email": CURATOR_EMAIL})
    assert response.json() == report(
        organizations=1,
        users=1,
        api_tokens=1,
        organization_merges=1,
        competence_synonyms=1,
        audit_log=1,
    )
    db_session.expire_all()
    target = db_session.get(Organization, w.target)
    merge = db_session.get(OrganizationMerge, w.merge)
    synonym = db_session.get(CompetenceSynonym, w.synonym)
    assert target is not None and merge is not None and synonym is not None
    # still verified, and the profile counts as unmodified (staleness)
    assert target.verified_at is not None and target.verified_by is None
    assert target.version == 3
    assert (merge.merged_by, merge.snapshot["verified_by"]) == ("erased", None)
    assert merge.snapshot["contact_email"] == "anna.kontakt@target.example"
    assert synonym.created_by is None
    text = audit_text(db_session)
    assert [v for v in (CURATOR_EMAIL, "Kurt Kurator") if v in text] == []
    assert client.post(ERASE_PERSON, json={"email": CURATOR_EMAIL}).json() == report()


def test_the_last_admin_is_not_erased(
    privacy_world: PrivacyWorld, client: TestClient, db_session: Session
) -> None:
    admin_email = db_session.scalar(select(User.email).where(User.role == "admin"))
    response = client.post(ERASE_PERSON, json={"email": admin_email})
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_erase_person_needs_an_admin_and_an_address(
    privacy_world: PrivacyWorld, client_for: ClientFactory, client: TestClient
) -> None:
    w = privacy_world
    body = {"email": "berta@target.example"}
    assert client_for(None).post(ERASE_PERSON, json=body).status_code == 401
    assert client_for(w.curator).post(ERASE_PERSON, json=body).status_code == 403
    assert client_for(w.berta).post(ERASE_PERSON, json=body).status_code == 403
    invalid = client.post(ERASE_PERSON, json={"email": "not an address"})
    assert invalid.status_code == 422
    assert [e["field"] for e in invalid.json()["errors"]] == ["email"]


def test_a_failure_part_way_changes_nothing(
    privacy_world: PrivacyWorld,
    client: TestClient,
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = privacy_world

    def broken(session: Session, email: str) -> list[CompetenceSynonym]:
        raise RuntimeError("disk full")

    # the last step fails: accounts, people and contacts were changed before it
    monkeypatch.setattr(repository, "synonyms_by", broken)
    before = db_session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    with pytest.raises(RuntimeError):
        service.erase_person(db_session, email=CURATOR_EMAIL)
    db_session.expire_all()
    assert db_session.get(User, w.curator.user.id) is not None
    target = db_session.get(Organization, w.target)
    assert target is not None and target.verified_by == CURATOR_EMAIL
    merge = db_session.get(OrganizationMerge, w.merge)
    assert merge is not None and merge.merged_by == CURATOR_EMAIL
    after = db_session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    assert after == before

    # through the API: a 500, and the organisation's data is all there
    monkeypatch.setattr(
        repository, "meeting_requests_sent_by", lambda session, ids: broken(session, "")
    )
    response = client.post(erase_url(w.target))
    assert response.status_code == 500
    db_session.expire_all()
    target = db_session.get(Organization, w.target)
    assert target is not None and target.contact_email == "anna.kontakt@target.example"
    assert db_session.get(User, w.berta.user.id) is not None
    assert db_session.get(EventPerson, w.erik) is not None
    erik = db_session.get(EventPerson, w.erik)
    assert erik is not None and erik.name == "Erik Person"
