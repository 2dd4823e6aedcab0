"""SQL for the audit log, the export and the erasure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from app.models import Competence, KnownRelationship
from app.models.audit import AuditEntry
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
from app.models.organization import Organization
from app.models.user import ApiToken, User

# --- audit log -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditQuery:
    entity: str | None = None
    entity_id: int | None = None
    organization_id: int | None = None
    actor_user_id: int | None = None
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _audit_conditions(query: AuditQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.entity is not None:
        conditions.append(AuditEntry.entity == query.entity)
    if query.entity_id is not None:
        conditions.append(AuditEntry.entity_id == query.entity_id)
    if query.organization_id is not None:
        conditions.append(AuditEntry.organization_id == query.organization_id)
    if query.actor_user_id is not None:
        conditions.append(AuditEntry.actor_user_id == query.actor_user_id)
    if query.action is not None:
        conditions.append(AuditEntry.action == query.action)
    if query.since is not None:
        conditions.append(AuditEntry.at >= query.since)
    if query.until is not None:
        conditions.append(AuditEntry.at < query.until)
    return conditions


def list_audit(
    session: Session, query: AuditQuery, *, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    """Matching entries, newest first (ties: the later id first), and their number."""
    conditions = _audit_conditions(query)
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions))
    rows = session.scalars(
        select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total or 0)


def audit_of_organization(session: Session, organization_id: int) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.organization_id == organization_id)
            .order_by(AuditEntry.id)
        )
    )


def cut_audit_actors(session: Session, user_ids: Collection[int]) -> int:
    """Detach audit entries from these accounts; the number of entries changed."""
    if not user_ids:
        return 0
    result = session.execute(
        update(AuditEntry)
        .where(AuditEntry.actor_user_id.in_(user_ids))
        .values(actor_user_id=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- the organisation's rows -----------------------------------------------------------------


def competences(session: Session, organization_id: int) -> list[Competence]:
    return list(
        session.scalars(
            select(Competence)
            .where(Competence.organization_id == organization_id)
            .order_by(Competence.id)
        )
    )


def outgoing_relationships(session: Session, organization_id: int) -> list[KnownRelationship]:
    return list(
        session.scalars(
            select(KnownRelationship)
            .where(KnownRelationship.organization_id == organization_id)
            .order_by(KnownRelationship.id)
        )
    )


def incoming_relationships(session: Session, organization_id: int) -> list[KnownRelationship]:
    return list(
        session.scalars(
            select(KnownRelationship)
            .where(
                KnownRelationship.related_organization_id == organization_id,
                KnownRelationship.organization_id != organization_id,
            )
            .order_by(KnownRelationship.id)
        )
    )


def members(session: Session, organization_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.organization_id == organization_id)
            .options(selectinload(User.tokens))
            .order_by(User.id)
        )
    )


def tokens_of(session: Session, user_ids: Collection[int]) -> list[ApiToken]:
    if not user_ids:
        return []
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id.in_(user_ids)).order_by(ApiToken.id)
        )
    )


def users_by_email(session: Session, email: str) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(func.lower(User.email) == email)
            .options(selectinload(User.tokens))
            .order_by(User.id)
        )
    )


def participations(session: Session, organization_id: int) -> list[tuple[Participant, Event]]:
    rows = session.execute(
        select(Participant, Event)
        .join(Event, Event.id == Participant.event_id)
        .where(Participant.organization_id == organization_id)
        .options(selectinload(Participant.people))
        .order_by(Participant.id)
    )
    return [(participant, event) for participant, event in rows]


def people_of_organization(session: Session, organization_id: int) -> list[EventPerson]:
    return list(
        session.scalars(
            select(EventPerson)
            .join(Participant, Participant.id == EventPerson.participant_id)
            .where(Participant.organization_id == organization_id)
            .order_by(EventPerson.id)
        )
    )


def people_by_email(session: Session, email: str) -> list[EventPerson]:
    return list(
        session.scalars(
            select(EventPerson)
            .where(func.lower(EventPerson.email) == email)
            .order_by(EventPerson.id)
        )
    )


def unavailable_slots(session: Session, person_ids: Collection[int]) -> list[UnavailableSlot]:
    if not person_ids:
        return []
    return list(
        session.scalars(
            select(UnavailableSlot)
            .where(UnavailableSlot.person_id.in_(person_ids))
            .order_by(UnavailableSlot.person_id, UnavailableSlot.slot_id)
        )
    )


def preferences_given(session: Session, participant_ids: Collection[int]) -> list[Preference]:
    if not participant_ids:
        return []
    return list(
        session.scalars(
            select(Preference)
            .where(Preference.participant_id.in_(participant_ids))
            .order_by(Preference.id)
        )
    )


def meeting_requests_of(session: Session, person_ids: Collection[int]) -> list[MeetingRequest]:
    """Meeting requests sent or received by these people."""
    if not person_ids:
        return []
    return list(
        session.scalars(
            select(MeetingRequest)
            .where(
                or_(
                    MeetingRequest.from_person_id.in_(person_ids),
                    MeetingRequest.to_person_id.in_(person_ids),
                )
            )
            .order_by(MeetingRequest.id)
        )
    )


def meeting_requests_sent_by(session: Session, person_ids: Collection[int]) -> list[MeetingRequest]:
    if not person_ids:
        return []
    return list(
        session.scalars(
            select(MeetingRequest)
            .where(MeetingRequest.from_person_id.in_(person_ids))
            .order_by(MeetingRequest.id)
        )
    )


def meetings_of(
    session: Session, person_ids: Collection[int]
) -> list[tuple[ScheduledMeeting, TimeSlot, EventTable]]:
    if not person_ids:
        return []
    rows = session.execute(
        select(ScheduledMeeting, TimeSlot, EventTable)
        .join(TimeSlot, TimeSlot.id == ScheduledMeeting.slot_id)
        .join(EventTable, EventTable.id == ScheduledMeeting.table_id)
        .where(
            or_(
                ScheduledMeeting.person_a_id.in_(person_ids),
                ScheduledMeeting.person_b_id.in_(person_ids),
            )
        )
        .order_by(TimeSlot.starts_at, ScheduledMeeting.id)
    )
    return [(meeting, slot, table) for meeting, slot, table in rows]


def cooperation_requests_of(session: Session, organization_id: int) -> list[CooperationRequest]:
    """Requests sent or received, with their history."""
    return list(
        session.scalars(
            select(CooperationRequest)
            .where(
                or_(
                    CooperationRequest.from_organization_id == organization_id,
                    CooperationRequest.to_organization_id == organization_id,
                )
            )
            .options(selectinload(CooperationRequest.history))
            .order_by(CooperationRequest.id)
        )
    )


def cooperation_requests_linked_to(
    session: Session, user_ids: Collection[int]
) -> list[CooperationRequest]:
    if not user_ids:
        return []
    return list(
        session.scalars(
            select(CooperationRequest)
            .where(
                or_(
                    CooperationRequest.sender_user_id.in_(user_ids),
                    CooperationRequest.responder_user_id.in_(user_ids),
                )
            )
            .order_by(CooperationRequest.id)
        )
    )


def request_steps_by(session: Session, user_ids: Collection[int]) -> list[CooperationRequestEvent]:
    if not user_ids:
        return []
    return list(
        session.scalars(
            select(CooperationRequestEvent)
            .where(CooperationRequestEvent.actor_user_id.in_(user_ids))
            .order_by(CooperationRequestEvent.id)
        )
    )


def merges_into(session: Session, organization_id: int) -> list[OrganizationMerge]:
    return list(
        session.scalars(
            select(OrganizationMerge)
            .where(OrganizationMerge.kept_organization_id == organization_id)
            .order_by(OrganizationMerge.id)
        )
    )


def all_merges(session: Session) -> Sequence[OrganizationMerge]:
    # merges are rare curation steps: few enough to check in Python (JSON snapshots included)
    return session.scalars(select(OrganizationMerge).order_by(OrganizationMerge.id)).all()


def organizations_with_contact(session: Session, email: str) -> list[Organization]:
    return list(
        session.scalars(
            select(Organization)
            .where(func.lower(Organization.contact_email) == email)
            .order_by(Organization.id)
        )
    )


def unverify_by(session: Session, email: str) -> list[int]:
    """Forget the verifier's address (the profile stays verified and unmodified); the ids."""
    ids = list(
        session.scalars(
            select(Organization.id)
            .where(func.lower(Organization.verified_by) == email)
            .order_by(Organization.id)
        )
    )
    if ids:
        session.execute(
            update(Organization)
            .where(Organization.id.in_(ids))
            .values(verified_by=None, modified_at=Organization.modified_at)
            .execution_options(synchronize_session="fetch")
        )
    return ids


def synonyms_by(session: Session, email: str) -> list[CompetenceSynonym]:
    return list(
        session.scalars(
            select(CompetenceSynonym)
            .where(func.lower(CompetenceSynonym.created_by) == email)
            .order_by(CompetenceSynonym.id)
        )
    )
