"""A small world with personal data in every place the export and the erasure reach."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.models import Competence, KnownRelationship, Organization
from app.models.cooperation import CooperationRequest, CooperationRequestEvent
from app.models.curation import CompetenceSynonym, OrganizationMerge
from app.models.event import (
    Event,
    EventPerson,
    EventTable,
    MeetingRequest,
    Participant,
    Preference,
    ScheduledMeeting,
    TimeSlot,
    UnavailableSlot,
)
from app.models.user import Role, TokenKind, User
from app.session_hooks.audit import acting
from tests.app.conftest import Account

UTC = dt.UTC
CURATOR_EMAIL = "kurt.kurator@hub.example"
# every personal value of the target organisation's people, as stored
TARGET_PERSONAL = (
    "Anna Kontakt",
    "anna.kontakt@target.example",
    "+49 711 555 0101",
    "Berta Mitglied",
    "berta@target.example",
    "Carl Zweiter",
    "carl@target.example",
    "Erik Person",
    "erik.person@target.example",
    "Leiter Einkauf",
    "Gruss von Erik",
    "Hallo, hier schreibt Berta",
    "Telefonat mit Berta",
    "Bertas Schluessel",
)


@dataclass
class PrivacyWorld:
    target: int
    other: int
    berta: Account  # member of target, with an API key as well
    carl: int  # member of target (user id)
    dora: Account  # member of other
    curator: Account
    erik: int  # target's event person
    anna_person: int  # target's contact, registered for the event too
    frieda: int  # other's event person
    event: int
    slot: int
    sent_request: int  # cooperation request target -> other, accepted, with outcome
    received_request: int  # other -> target, pending
    merge: int
    synonym: int
    meeting: int


def _org(session: Session, name: str, visibility: str, **fields: object) -> Organization:
    org = Organization(
        name=name,
        visibility=visibility,
        country="DE",
        nace_code="26.51",
        cooperation_interests=["data_sharing"],
        competences=[Competence(kind="core", label=f"{name} Kernkompetenz")],
        **fields,
    )
    session.add(org)
    session.flush()
    return org


def _account(session: Session, email: str, name: str, role: Role, org: int | None) -> Account:
    user = User(email=email, name=name, role=role.value, organization_id=org, is_active=True)
    session.add(user)
    session.flush()
    _, secret = auth_service.issue_token(
        session, user=user, kind=TokenKind.login, lifetime=dt.timedelta(hours=1)
    )
    return Account(user=user, token=secret)


@pytest.fixture
def privacy_world(db_session: Session) -> PrivacyWorld:
    s = db_session
    target = _org(
        s,
        "Target GmbH",
        "members",
        contact_name="Anna Kontakt",
        contact_email="anna.kontakt@target.example",
        contact_phone="+49 711 555 0101",
        verified_at=dt.datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
        verified_by=CURATOR_EMAIL,
        disclosure={"contacts": "members"},
    )
    other = _org(
        s,
        "Other AG",
        "public",
        contact_name="Otto Fremd",
        contact_email="otto.fremd@other.example",
    )
    s.add_all(
        [
            KnownRelationship(
                organization_id=target.id,
                type="supplier",
                related_organization_id=other.id,
                name="Other AG",
                revenue_share=0.25,
            ),
            KnownRelationship(
                organization_id=other.id,
                type="customer",
                related_organization_id=target.id,
                name="Target GmbH",
            ),
        ]
    )
    berta = _account(s, "berta@target.example", "Berta Mitglied", Role.member, target.id)
    # the organisation's first member account: its organisation admin (erases it)
    berta.user.organization_admin = True
    auth_service.issue_token(
        s,
        user=berta.user,
        kind=TokenKind.api_key,
        name="Bertas Schluessel",
        lifetime=dt.timedelta(days=30),
    )
    carl = User(
        email="carl@target.example",
        name="Carl Zweiter",
        role=Role.member.value,
        organization_id=target.id,
        is_active=True,
    )
    s.add(carl)
    dora = _account(s, "dora@other.example", "Dora Anders", Role.member, other.id)
    curator = _account(s, CURATOR_EMAIL, "Kurt Kurator", Role.curator, None)

    event = Event(
        name="Sensorik-Treffen",
        timezone="Europe/Berlin",
        max_meetings=3,
        min_meetings=1,
        allow_competitors=True,
        registration_open=True,
    )
    s.add(event)
    s.flush()
    slot = TimeSlot(
        event_id=event.id,
        day=dt.date(2026, 3, 10),
        starts_at=dt.datetime(2026, 3, 10, 8, 0, tzinfo=UTC),
        ends_at=dt.datetime(2026, 3, 10, 8, 20, tzinfo=UTC),
        position=0,
    )
    table = EventTable(event_id=event.id, name="Tisch 1", position=0)
    erik = EventPerson(
        name="Erik Person", email="erik.person@target.example", role="Leiter Einkauf"
    )
    anna = EventPerson(name="Anna Kontakt", email="anna.kontakt@target.example")
    frieda = EventPerson(name="Frieda Gast", email="frieda@other.example")
    own = Participant(event_id=event.id, organization_id=target.id, people=[erik, anna])
    theirs = Participant(event_id=event.id, organization_id=other.id, people=[frieda])
    s.add_all([slot, table, own, theirs])
    s.flush()
    s.add_all(
        [
            UnavailableSlot(person_id=erik.id, slot_id=slot.id),
            MeetingRequest(
                event_id=event.id,
                from_person_id=erik.id,
                to_person_id=frieda.id,
                message="Gruss von Erik",
                status="accepted",
            ),
            MeetingRequest(
                event_id=event.id,
                from_person_id=frieda.id,
                to_person_id=anna.id,
                message="Gerne am Nachmittag",
                status="requested",
            ),
            Preference(participant_id=own.id, target_participant_id=theirs.id, kind="must_meet"),
        ]
    )
    a, b = sorted((erik.id, frieda.id))
    meeting = ScheduledMeeting(
        event_id=event.id,
        slot_id=slot.id,
        table_id=table.id,
        person_a_id=a,
        person_b_id=b,
        kind="manual",
        locked=False,
    )
    s.add(meeting)

    sent = CooperationRequest(
        from_organization_id=target.id,
        to_organization_id=other.id,
        type="data_sharing",
        message="Hallo, hier schreibt Berta",
        status="accepted",
        sender_user_id=berta.user.id,
        responder_user_id=dora.user.id,
        match_score=0.82,
        responded_at=dt.datetime(2026, 11, 3, tzinfo=UTC),
        outcome="talks_started",
        outcome_note="Telefonat mit Berta",
        outcome_at=dt.datetime(2026, 11, 10, tzinfo=UTC),
        history=[
            CooperationRequestEvent(action="sent", status="pending", actor_user_id=berta.user.id),
            CooperationRequestEvent(
                action="accepted", status="accepted", actor_user_id=dora.user.id
            ),
            CooperationRequestEvent(
                action="outcome",
                status="accepted",
                outcome="talks_started",
                actor_user_id=berta.user.id,
            ),
        ],
    )
    received = CooperationRequest(
        from_organization_id=other.id,
        to_organization_id=target.id,
        type="training",
        message="Schulung gewuenscht?",
        status="pending",
        sender_user_id=dora.user.id,
        history=[
            CooperationRequestEvent(action="sent", status="pending", actor_user_id=dora.user.id)
        ],
    )
    merge = OrganizationMerge(
        kept_organization_id=target.id,
        merged_organization_id=99_999,
        merged_external_id="ALT-1",
        merged_name="Target Alt GmbH",
        snapshot={
            "name": "Target Alt GmbH",
            "contact_name": "Anna Kontakt",
            "contact_email": "anna.kontakt@target.example",
            "contact_phone": None,
            "verified_by": CURATOR_EMAIL,
        },
        merged_by=CURATOR_EMAIL,
    )
    synonym = CompetenceSynonym(
        key="fuellstand", label="Füllstand", canonical="Füllstandsensorik", created_by=CURATOR_EMAIL
    )
    s.add_all([sent, received, merge, synonym])
    s.flush()
    # one write each by Berta and by the curator, through the API's audit context
    with acting("api", request="PATCH /test", user_id=berta.user.id):
        target.city = "Stuttgart"
        s.flush()
    with acting("api", request="POST /test", user_id=curator.user.id):
        target.description = "Sensoren für Füllstand"
        s.flush()
    s.commit()
    return PrivacyWorld(
        target=target.id,
        other=other.id,
        berta=berta,
        carl=carl.id,
        dora=dora,
        curator=curator,
        erik=erik.id,
        anna_person=anna.id,
        frieda=frieda.id,
        event=event.id,
        slot=slot.id,
        sent_request=sent.id,
        received_request=received.id,
        merge=merge.id,
        synonym=synonym.id,
        meeting=meeting.id,
    )
