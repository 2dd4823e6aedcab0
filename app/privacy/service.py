"""The audit log, the export of one organisation, and erasure of personal data.

Services flush but never commit. Each erasure runs in a savepoint of its own as well, so a
failure part-way leaves nothing changed even when the caller goes on with the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from app.auth import repository as auth_repository
from app.auth.security import normalize_email
from app.errors import Conflict
from app.i18n import N_
from app.models.base import utcnow
from app.models.event import EventPerson
from app.models.organization import Organization
from app.models.user import Role, User
from app.organizations.access import views_of
from app.organizations.repository import organizations_by_id
from app.privacy import repository
from app.privacy.repository import AuditQuery
from app.privacy.schemas import (
    AuditEntryOut,
    AuditPage,
    ErasureReport,
    ExportCompetence,
    ExportCooperationRequest,
    ExportIncomingRelationship,
    ExportMeeting,
    ExportMeetingRequest,
    ExportMember,
    ExportMerge,
    ExportParticipation,
    ExportPerson,
    ExportPreference,
    ExportProfile,
    ExportRelationship,
    ExportRelationships,
    ExportRequestStep,
    ExportToken,
    ExportVerification,
    OrganizationExport,
)

ERASED_NAME = "Erased person"
# merged_by is required: the merge stays on record, its author does not
ERASED_AUTHOR = "erased"
CONTACT_FIELDS = ("contact_name", "contact_email", "contact_phone")
# the tables an erasure may touch, in the order of the report
ERASURE_TABLES = (
    "organizations",
    "users",
    "api_tokens",
    "event_people",
    "meeting_requests",
    "cooperation_requests",
    "cooperation_request_events",
    "organization_merges",
    "competence_synonyms",
    "audit_log",
)


def audit_page(session: Session, *, query: AuditQuery, limit: int, offset: int) -> AuditPage:
    rows, total = repository.list_audit(session, query, limit=limit, offset=offset)
    return AuditPage(
        items=[AuditEntryOut.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


# --- export ----------------------------------------------------------------------------------


def _participations(session: Session, organization_id: int) -> list[ExportParticipation]:
    found = repository.participations(session, organization_id)
    person_ids = [p.id for participant, _ in found for p in participant.people]
    unavailable: dict[int, list[int]] = {}
    for row in repository.unavailable_slots(session, person_ids):
        unavailable.setdefault(row.person_id, []).append(row.slot_id)
    preferences = repository.preferences_given(session, [p.id for p, _ in found])
    requests = repository.meeting_requests_of(session, person_ids)
    meetings = repository.meetings_of(session, person_ids)
    out = []
    for participant, event in found:
        own = {p.id for p in participant.people}
        out.append(
            ExportParticipation(
                participant_id=participant.id,
                event_id=event.id,
                event_name=event.name,
                registered_at=participant.created_at,
                people=[
                    ExportPerson(
                        id=p.id,
                        name=p.name,
                        email=p.email,
                        role=p.role,
                        no_show=p.no_show,
                        unavailable_slot_ids=unavailable.get(p.id, []),
                    )
                    for p in participant.people
                ],
                preferences=[
                    ExportPreference.model_validate(p)
                    for p in preferences
                    if p.participant_id == participant.id
                ],
                meeting_requests=[
                    ExportMeetingRequest.model_validate(r)
                    for r in requests
                    if r.from_person_id in own or r.to_person_id in own
                ],
                meetings=[
                    ExportMeeting(
                        id=m.id,
                        starts_at=slot.starts_at,
                        ends_at=slot.ends_at,
                        table=table.name,
                        person_a_id=m.person_a_id,
                        person_b_id=m.person_b_id,
                        kind=m.kind,
                        locked=m.locked,
                    )
                    for m, slot, table in meetings
                    if m.person_a_id in own or m.person_b_id in own
                ],
            )
        )
    return out


def _cooperation(session: Session, organization_id: int) -> list[ExportCooperationRequest]:
    return [
        ExportCooperationRequest(
            id=r.id,
            direction="sent" if r.from_organization_id == organization_id else "received",
            from_organization_id=r.from_organization_id,
            to_organization_id=r.to_organization_id,
            type=r.type,
            message=r.message,
            status=r.status,
            sender_user_id=r.sender_user_id,
            responder_user_id=r.responder_user_id,
            match_score=r.match_score,
            created_at=r.created_at,
            responded_at=r.responded_at,
            outcome=r.outcome,
            outcome_note=r.outcome_note,
            outcome_at=r.outcome_at,
            history=[ExportRequestStep.model_validate(step) for step in r.history],
        )
        for r in repository.cooperation_requests_of(session, organization_id)
    ]


def _incoming(
    session: Session, organization_id: int, viewer: User
) -> list[ExportIncomingRelationship]:
    """Statements of other organisations that name this one, where the viewer may read the
    stating organisation's relationships (a partners-only statement stays its own)."""
    rows = repository.incoming_relationships(session, organization_id)
    stating = organizations_by_id(session, [r.organization_id for r in rows])
    views = views_of(session, viewer, list(stating.values()))
    return [
        ExportIncomingRelationship.model_validate(r)
        for r in rows
        if r.organization_id in views and "relationships" not in views[r.organization_id].hidden
    ]


def export_organization(
    session: Session, *, organization: Organization, viewer: User
) -> OrganizationExport:
    """Everything stored about the organisation and its people (no secrets), and what others
    state about it as far as `viewer` may read it."""
    org_id = organization.id
    members = repository.members(session, org_id)
    return OrganizationExport(
        generated_at=utcnow(),
        organization=ExportProfile.model_validate(organization),
        competences=[
            ExportCompetence.model_validate(c) for c in repository.competences(session, org_id)
        ],
        relationships=ExportRelationships(
            outgoing=[
                ExportRelationship.model_validate(r)
                for r in repository.outgoing_relationships(session, org_id)
            ],
            incoming=_incoming(session, org_id, viewer),
        ),
        members=[ExportMember.model_validate(u) for u in members],
        tokens=[
            ExportToken.model_validate(t)
            for t in sorted((t for u in members for t in u.tokens), key=lambda t: t.id)
        ],
        events=_participations(session, org_id),
        cooperation_requests=_cooperation(session, org_id),
        merges=[ExportMerge.model_validate(m) for m in repository.merges_into(session, org_id)],
        verification=ExportVerification(
            verified=organization.verified_at is not None,
            verified_at=organization.verified_at,
            verified_by=organization.verified_by,
        ),
        audit=[
            AuditEntryOut.model_validate(a)
            for a in repository.audit_of_organization(session, org_id)
        ],
    )


# --- erasure ---------------------------------------------------------------------------------


class _Counts:
    """The rows changed or deleted per table, each counted once."""

    def __init__(self) -> None:
        self.rows: dict[str, set[int]] = {table: set() for table in ERASURE_TABLES}
        self.audit_entries = 0

    def add(self, table: str, row_id: int) -> None:
        self.rows[table].add(row_id)

    def report(self) -> ErasureReport:
        counts = {table: len(ids) for table, ids in self.rows.items()}
        counts["audit_log"] += self.audit_entries
        return ErasureReport(counts=counts, total=sum(counts.values()))


def _erase_contacts(organization: Organization, counts: _Counts) -> None:
    if any(getattr(organization, f) is not None for f in CONTACT_FIELDS):
        for name in CONTACT_FIELDS:
            setattr(organization, name, None)
        counts.add("organizations", organization.id)


def _erase_accounts(
    session: Session, users: list[User], counts: _Counts, *, messages: bool
) -> None:
    """Delete the accounts with their tokens; links to them are cut first.

    With `messages`, the messages of cooperation requests they sent are blanked too.
    """
    ids = {u.id for u in users}
    if not ids:
        return
    for request in repository.cooperation_requests_linked_to(session, ids):
        if messages and request.sender_user_id in ids and request.message is not None:
            request.message = None
        if request.sender_user_id in ids:
            request.sender_user_id = None
        if request.responder_user_id in ids:
            request.responder_user_id = None
        counts.add("cooperation_requests", request.id)
    for step in repository.request_steps_by(session, ids):
        step.actor_user_id = None
        counts.add("cooperation_request_events", step.id)
    counts.audit_entries += repository.cut_audit_actors(session, ids)
    for user in users:
        for token in user.tokens:
            session.delete(token)
            counts.add("api_tokens", token.id)
        session.delete(user)
        counts.add("users", user.id)


def _anonymise_people(session: Session, people: list[EventPerson], counts: _Counts) -> None:
    """People keep their place in the event (meetings stay countable), not their identity."""
    for person in people:
        if (person.name, person.email, person.role) != (ERASED_NAME, None, None):
            person.name, person.email, person.role = ERASED_NAME, None, None
            counts.add("event_people", person.id)
    for request in repository.meeting_requests_sent_by(session, [p.id for p in people]):
        if request.message is not None:
            request.message = None
            counts.add("meeting_requests", request.id)


def _blank_snapshot(snapshot: dict[str, Any], fields: Iterable[str]) -> dict[str, Any] | None:
    """A copy of the snapshot with these fields empty, or None when they are empty already."""
    if all(snapshot.get(f) is None for f in fields):
        return None
    return {**snapshot, **dict.fromkeys(fields)}


def erase_organization(session: Session, *, organization: Organization) -> ErasureReport:
    """Remove the personal data of the organisation's people; the company profile stays."""
    counts = _Counts()
    org_id = organization.id
    with session.begin_nested():
        _erase_contacts(organization, counts)
        for merge in repository.merges_into(session, org_id):
            blanked = _blank_snapshot(merge.snapshot, CONTACT_FIELDS)
            if blanked is not None:
                merge.snapshot = blanked
                counts.add("organization_merges", merge.id)
        _erase_accounts(session, repository.members(session, org_id), counts, messages=False)
        _anonymise_people(session, repository.people_of_organization(session, org_id), counts)
        for request in repository.cooperation_requests_of(session, org_id):
            changed = False
            if request.from_organization_id == org_id and request.message is not None:
                request.message = None
                changed = True
            # the note may be written by either side: it goes with either side's erasure
            if request.outcome_note is not None:
                request.outcome_note = None
                changed = True
            if changed:
                counts.add("cooperation_requests", request.id)
        session.flush()
    return counts.report()


def _keep_an_admin(session: Session, users: list[User]) -> None:
    admins = [u for u in users if u.role == Role.admin.value and u.is_active]
    if admins and auth_repository.count_active_admins(session) <= len(admins):
        raise Conflict(N_("This is the last active admin; make another admin first."))


def erase_person(session: Session, *, email: str) -> ErasureReport:
    """Remove one person everywhere: account, event registrations, contacts, authorships."""
    email = normalize_email(email)
    counts = _Counts()
    with session.begin_nested():
        users = repository.users_by_email(session, email)
        _keep_an_admin(session, users)
        _erase_accounts(session, users, counts, messages=True)
        _anonymise_people(session, repository.people_by_email(session, email), counts)
        for organization in repository.organizations_with_contact(session, email):
            _erase_contacts(organization, counts)
        for organization_id in repository.unverify_by(session, email):
            counts.add("organizations", organization_id)
        for merge in repository.all_merges(session):
            changed = False
            if merge.merged_by.lower() == email:
                merge.merged_by = ERASED_AUTHOR
                changed = True
            snapshot = merge.snapshot
            if str(snapshot.get("contact_email") or "").lower() == email:
                snapshot = _blank_snapshot(snapshot, CONTACT_FIELDS) or snapshot
            if str(snapshot.get("verified_by") or "").lower() == email:
                snapshot = {**snapshot, "verified_by": None}
            if snapshot is not merge.snapshot:
                merge.snapshot = snapshot
                changed = True
            if changed:
                counts.add("organization_merges", merge.id)
        for synonym in repository.synonyms_by(session, email):
            synonym.created_by = None
            counts.add("competence_synonyms", synonym.id)
        session.flush()
    return counts.report()
