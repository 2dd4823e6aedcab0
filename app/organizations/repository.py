"""SQL for organisations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, String, cast, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.base import ExecutableOption

from app.models import Competence, KnownRelationship, Organization


def full_profile() -> list[ExecutableOption]:
    """Loader options for an organisation with everything its API representation shows."""
    return [
        selectinload(Organization.competences),
        selectinload(Organization.relationships).selectinload(
            KnownRelationship.related_organization
        ),
    ]


@dataclass(frozen=True, slots=True)
class OrganizationQuery:
    q: str | None = None
    countries: Sequence[str] = ()
    nace_prefixes: Sequence[str] = ()
    competence: str | None = None
    competence_kind: str | None = None
    cooperation_interests: Sequence[str] = ()
    visibility: Sequence[str] = field(default_factory=tuple)
    external_id: str | None = None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(query: OrganizationQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.external_id is not None:
        conditions.append(Organization.external_id == query.external_id)
    if query.q:
        pattern = _like(query.q)
        label_hit = exists().where(
            Competence.organization_id == Organization.id,
            Competence.label.ilike(pattern, escape="\\"),
        )
        conditions.append(
            or_(
                Organization.name.ilike(pattern, escape="\\"),
                Organization.description.ilike(pattern, escape="\\"),
                label_hit,
            )
        )
    if query.countries:
        conditions.append(Organization.country.in_(list(query.countries)))
    if query.nace_prefixes:
        conditions.append(
            or_(
                *(
                    Organization.nace_code.startswith(p, autoescape=True)
                    for p in query.nace_prefixes
                )
            )
        )
    if query.competence or query.competence_kind:
        competence_conditions = [Competence.organization_id == Organization.id]
        if query.competence:
            competence_conditions.append(
                Competence.label.ilike(_like(query.competence), escape="\\")
            )
        if query.competence_kind:
            competence_conditions.append(Competence.kind == query.competence_kind)
        conditions.append(exists().where(*competence_conditions))
    for interest in query.cooperation_interests:
        # JSON list stored as text on both backends; the quoted value cannot match a prefix
        conditions.append(
            cast(Organization.cooperation_interests, String).contains(f'"{interest}"')
        )
    if query.visibility:
        conditions.append(Organization.visibility.in_(list(query.visibility)))
    return conditions


def list_organizations(
    session: Session, query: OrganizationQuery, *, limit: int, offset: int
) -> tuple[list[Organization], int]:
    conditions = _conditions(query)
    total = session.scalar(select(func.count()).select_from(Organization).where(*conditions))
    rows = session.scalars(
        select(Organization)
        .where(*conditions)
        .order_by(Organization.name, Organization.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total or 0)


def get_organization(session: Session, organization_id: int) -> Organization | None:
    return session.scalars(
        select(Organization)
        .where(Organization.id == organization_id)
        .options(*full_profile())
        .execution_options(populate_existing=True)
    ).one_or_none()


def organizations_by_external_id(
    session: Session, external_ids: Iterable[str], *, with_profile: bool = False
) -> dict[str, Organization]:
    ids = list(set(external_ids))
    found: dict[str, Organization] = {}
    for start in range(0, len(ids), 500):
        stmt = select(Organization).where(Organization.external_id.in_(ids[start : start + 500]))
        if with_profile:
            stmt = stmt.options(*full_profile())
        for org in session.scalars(stmt):
            assert org.external_id is not None
            found[org.external_id] = org
    return found


def organization_ids_by_external_id(
    session: Session, external_ids: Iterable[str]
) -> dict[str, int]:
    ids = list(set(external_ids))
    found: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Organization.external_id, Organization.id).where(
                Organization.external_id.in_(ids[start : start + 500])
            )
        )
        for external_id, org_id in rows:
            if external_id is not None:
                found[external_id] = org_id
    return found
