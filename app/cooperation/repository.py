"""The SQL of cooperation requests."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from app.models import Organization
from app.models.cooperation import CooperationRequest, CooperationRequestEvent
from app.models.user import User

_WITH_PARTIES = (
    selectinload(CooperationRequest.from_organization),
    selectinload(CooperationRequest.to_organization),
)


def request_relations(session: Session, organization_id: int) -> tuple[set[int], set[int]]:
    """(partners, senders): organisations with an accepted request either way, and those that
    sent this organisation a request that is not withdrawn. One query."""
    rows = session.execute(
        select(
            CooperationRequest.from_organization_id,
            CooperationRequest.to_organization_id,
            CooperationRequest.status,
        ).where(
            or_(
                CooperationRequest.from_organization_id == organization_id,
                CooperationRequest.to_organization_id == organization_id,
            ),
            CooperationRequest.status != "withdrawn",
        )
    ).all()
    partners: set[int] = set()
    senders: set[int] = set()
    for from_id, to_id, status in rows:
        other = to_id if from_id == organization_id else from_id
        if status == "accepted":
            partners.add(other)
        if to_id == organization_id:
            senders.add(from_id)
    return partners, senders


def get_organization(
    session: Session, organization_id: int, *, lock: bool = False
) -> Organization | None:
    """An organisation; `lock` holds its row (PostgreSQL) until the transaction ends."""
    if not lock:
        return session.get(Organization, organization_id)
    return session.scalars(
        select(Organization)
        .where(Organization.id == organization_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def get_request(
    session: Session, request_id: int, *, lock: bool = False
) -> CooperationRequest | None:
    """A request with both organisations; `lock` holds its row (PostgreSQL) for a step."""
    query = (
        select(CooperationRequest)
        .where(CooperationRequest.id == request_id)
        .options(*_WITH_PARTIES)
        # an object already in the session still gets its organisations loaded
        .execution_options(populate_existing=True)
    )
    if lock:
        query = query.with_for_update(of=CooperationRequest)
    return session.scalars(query).one_or_none()


def pending_request(
    session: Session, from_id: int, to_id: int, type_: str
) -> CooperationRequest | None:
    """The open request of this kind from one organisation to another, if any."""
    return session.scalars(
        select(CooperationRequest)
        .where(
            CooperationRequest.from_organization_id == from_id,
            CooperationRequest.to_organization_id == to_id,
            CooperationRequest.type == type_,
            CooperationRequest.status == "pending",
        )
        .order_by(CooperationRequest.id)
        .limit(1)
    ).one_or_none()


def _filters(
    *,
    organization_id: int | None,
    direction: str | None,
    status: str | None,
    type_: str | None,
    outcome: str | None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if organization_id is not None:
        sent = CooperationRequest.from_organization_id == organization_id
        received = CooperationRequest.to_organization_id == organization_id
        where.append(
            sent
            if direction == "sent"
            else received
            if direction == "received"
            else or_(sent, received)
        )
    if status is not None:
        where.append(CooperationRequest.status == status)
    if type_ is not None:
        where.append(CooperationRequest.type == type_)
    if outcome is not None:
        where.append(CooperationRequest.outcome == outcome)
    return where


def list_requests(
    session: Session,
    *,
    organization_id: int | None,
    direction: str | None,
    status: str | None,
    type_: str | None,
    outcome: str | None,
    limit: int,
    offset: int,
) -> tuple[list[CooperationRequest], int]:
    """A page of requests, newest first, with both organisations loaded; and the total."""
    where = _filters(
        organization_id=organization_id,
        direction=direction,
        status=status,
        type_=type_,
        outcome=outcome,
    )
    total = session.scalar(select(func.count()).select_from(CooperationRequest).where(*where))
    items = session.scalars(
        select(CooperationRequest)
        .where(*where)
        .options(*_WITH_PARTIES)
        .execution_options(populate_existing=True)
        .order_by(CooperationRequest.created_at.desc(), CooperationRequest.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(items), total or 0


def history(session: Session, request_id: int) -> list[CooperationRequestEvent]:
    return list(
        session.scalars(
            select(CooperationRequestEvent)
            .where(CooperationRequestEvent.request_id == request_id)
            .order_by(CooperationRequestEvent.id)
        )
    )


def users_by_id(session: Session, user_ids: set[int]) -> dict[int, User]:
    if not user_ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))}


def outcome_rows(
    session: Session,
    *,
    status: str | None,
    type_: str | None,
    outcome: str | None,
    limit: int | None,
    offset: int,
) -> tuple[list[tuple[CooperationRequest, str | None, str | None]], int]:
    """(request, sender's NACE code, recipient's NACE code) in id order; and the total."""
    where = _filters(
        organization_id=None, direction=None, status=status, type_=type_, outcome=outcome
    )
    sender = aliased(Organization)
    recipient = aliased(Organization)
    total = session.scalar(select(func.count()).select_from(CooperationRequest).where(*where))
    query = (
        select(CooperationRequest, sender.nace_code, recipient.nace_code)
        .join(sender, sender.id == CooperationRequest.from_organization_id)
        .join(recipient, recipient.id == CooperationRequest.to_organization_id)
        .where(*where)
        .order_by(CooperationRequest.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = [(r, a, b) for r, a, b in session.execute(query)]
    return rows, total or 0
