"""What hub staff review: unverified profiles, the organisations to choose from, and what a
merge of two duplicates would move."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.curation import service
from app.curation.schemas import CurationStatus, MergeOut
from app.errors import Conflict
from app.i18n import Message
from app.models import Organization
from app.models.event import Participant
from app.models.user import User


def unverified_organizations(
    session: Session, *, limit: int, offset: int
) -> tuple[list[CurationStatus], int]:
    """Profiles no hub staff has verified yet, the latest changed (or imported) first."""
    condition = Organization.verified_at.is_(None)
    total = session.scalar(select(func.count()).select_from(Organization).where(condition))
    rows = session.scalars(
        select(Organization)
        .where(condition)
        .order_by(Organization.modified_at.desc(), Organization.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [service.curation_status(o) for o in rows], int(total or 0)


def organization_choices(session: Session) -> list[tuple[int, str]]:
    """(id, name) of every organisation, by name: for hub staff's pickers."""
    return [
        (i, n)
        for i, n in session.execute(
            select(Organization.id, Organization.name).order_by(Organization.name, Organization.id)
        )
    ]


@dataclass(frozen=True)
class Side:
    """One organisation of a pair, as the merge preview shows it."""

    id: int
    name: str
    external_id: str | None
    website: str | None
    place: str
    verified_by: str | None
    competences: list[tuple[str, str]]  # (kind, label)
    relationships: int
    accounts: int
    events: int


@dataclass(frozen=True)
class MergePreview:
    keep: Side
    merge: Side
    moving_competences: list[tuple[str, str]]
    skipped_competences: list[tuple[str, str]]
    result: MergeOut | None  # the counts of the merge as it would run now
    conflict: Message | None  # why it cannot run


def _side(session: Session, organization: Organization) -> Side:
    accounts = session.scalar(
        select(func.count()).select_from(User).where(User.organization_id == organization.id)
    )
    events = session.scalar(
        select(func.count())
        .select_from(Participant)
        .where(Participant.organization_id == organization.id)
    )
    return Side(
        id=organization.id,
        name=organization.name,
        external_id=organization.external_id,
        website=organization.website,
        place=" ".join(p for p in (organization.postal_code, organization.city) if p),
        verified_by=organization.verified_by,
        competences=sorted((c.kind, c.label) for c in organization.competences),
        relationships=len(organization.relationships),
        accounts=int(accounts or 0),
        events=int(events or 0),
    )


def merge_preview(session: Session, *, keep_id: int, merge_id: int, user: User) -> MergePreview:
    """What merging `merge_id` into `keep_id` would move: the merge itself runs inside a
    savepoint that is rolled back, so the counts are those of the real rules; nothing stays."""
    keep, merged = service.merge_pair(session, keep_id=keep_id, merge_id=merge_id)
    keep_side, merge_side = _side(session, keep), _side(session, merged)
    have = {(kind, label.casefold()) for kind, label in keep_side.competences}
    moving: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    for kind, label in merge_side.competences:
        if (kind, label.casefold()) in have:
            skipped.append((kind, label))
        else:
            have.add((kind, label.casefold()))
            moving.append((kind, label))
    result, conflict = None, None
    savepoint = session.begin_nested()
    try:
        result = service.merge_organizations(
            session, keep_id=keep_id, merge_id=merge_id, user=user, encoder=None
        )
    except Conflict as exc:
        conflict = exc.message
    finally:
        savepoint.rollback()
        session.expire_all()
    return MergePreview(
        keep=keep_side,
        merge=merge_side,
        moving_competences=moving,
        skipped_competences=skipped,
        result=result,
        conflict=conflict,
    )
