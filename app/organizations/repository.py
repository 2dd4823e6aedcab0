"""SQL for organisations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, String, and_, cast, exists, false, func, not_, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.base import ExecutableOption

from app.models import Competence, KnownRelationship, Organization
from app.organizations import disclosure


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
    # the caller's own organisation: listed whatever its visibility
    own_id: int | None = None
    # callers who are not staff: text and external_id searches only hit what is disclosed to
    # them, else a search by name would tell who is behind an anonymous entry
    restrict_text: bool = False
    name_ids: Sequence[int] = ()  # organisations whose name the caller sees by a request
    full_ids: Sequence[int] = ()  # organisations the caller sees fully (own, partners)
    # by name for staff; by id for the others (an order by hidden names would hint at them)
    order_by_name: bool = True
    # competitors of the caller that opted out of being shown to them
    exclude_ids: Sequence[int] = ()


def _stored_level_in(group: str, levels: frozenset[str]) -> ColumnElement[bool]:
    """The effective level of `group` (stored, else the default of disclosure.DEFAULTS) is one
    of `levels`; the stored settings are JSON, matched as text on both backends."""
    text = cast(Organization.disclosure, String)
    stored = [
        text.contains(f'"{group}"{colon}"{level}"') for level in levels for colon in (": ", ":")
    ]
    conditions: list[ColumnElement[bool]] = list(stored)
    if disclosure.DEFAULTS[group] in levels:
        unset = and_(
            *(not_(text.contains(f'"{group}"{colon}"')) for colon in (": ", ":")),
        )
        conditions.append(or_(Organization.disclosure.is_(None), unset))
    return or_(*conditions) if conditions else false()


def group_visible(group: str, query: OrganizationQuery) -> ColumnElement[bool]:
    """`group` is visible to a member of another organisation (disclosure.group_shown), or the
    organisation is one the caller sees fully, or (name group) one that sent it a request."""
    ids = list(query.full_ids)
    if group in disclosure.ADDRESSEE_GROUPS:
        ids += list(query.name_ids)
    visible = _stored_level_in(group, disclosure.shown_levels("member", group))
    return or_(Organization.id.in_(ids) if ids else false(), visible)


def _name_visible(query: OrganizationQuery) -> ColumnElement[bool]:
    return group_visible("name", query)


def _description_visible(query: OrganizationQuery) -> ColumnElement[bool]:
    return group_visible("description", query)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(query: OrganizationQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.external_id is not None:
        conditions.append(Organization.external_id == query.external_id)
        if query.restrict_text:
            conditions.append(_name_visible(query))
    if query.q:
        pattern = _like(query.q)
        label_hit = exists().where(
            Competence.organization_id == Organization.id,
            Competence.label.ilike(pattern, escape="\\"),
        )
        name_hit: ColumnElement[bool] = Organization.name.ilike(pattern, escape="\\")
        description_hit: ColumnElement[bool] = Organization.description.ilike(pattern, escape="\\")
        if query.restrict_text:
            name_hit = and_(name_hit, _name_visible(query))
            description_hit = and_(description_hit, _description_visible(query))
        conditions.append(or_(name_hit, description_hit, label_hit))
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
        visible: ColumnElement[bool] = Organization.visibility.in_(list(query.visibility))
        if query.own_id is not None:
            visible = or_(visible, Organization.id == query.own_id)
        conditions.append(visible)
    if query.exclude_ids:
        conditions.append(Organization.id.not_in(list(query.exclude_ids)))
    return conditions


@dataclass(frozen=True, slots=True)
class TextCandidate:
    """A row hit by a text search whose name the caller may not see, with what masks it."""

    id: int
    name: str
    website: str | None
    description: str | None
    description_visible: bool
    labels: list[str]


def text_candidates(
    session: Session, query: OrganizationQuery
) -> tuple[list[int], dict[int, TextCandidate]]:
    """Every id hit by the query, in list order, and for those whose name the caller may not
    see, what a masked text check needs (their hit may come from the name in their text)."""
    conditions = _conditions(query)
    order = (Organization.name, Organization.id) if query.order_by_name else (Organization.id,)
    name_visible = _name_visible(query)
    rows = session.execute(
        select(
            Organization.id,
            Organization.name,
            Organization.website,
            Organization.description,
            _description_visible(query),
        )
        .where(*conditions, not_(name_visible))
        .order_by(*order)
    ).all()
    ids = list(session.scalars(select(Organization.id).where(*conditions).order_by(*order)))
    labels: dict[int, list[str]] = {row[0]: [] for row in rows}
    for start in range(0, len(rows), 500):
        chunk = [row[0] for row in rows[start : start + 500]]
        for org_id, label in session.execute(
            select(Competence.organization_id, Competence.label).where(
                Competence.organization_id.in_(chunk)
            )
        ):
            labels[org_id].append(label)
    hidden = {
        org_id: TextCandidate(
            id=org_id,
            name=name,
            website=website,
            description=description,
            description_visible=bool(shown),
            labels=labels[org_id],
        )
        for org_id, name, website, description, shown in rows
    }
    return ids, hidden


def list_organizations(
    session: Session, query: OrganizationQuery, *, limit: int, offset: int
) -> tuple[list[Organization], int]:
    conditions = _conditions(query)
    total = session.scalar(select(func.count()).select_from(Organization).where(*conditions))
    order = (Organization.name, Organization.id) if query.order_by_name else (Organization.id,)
    rows = session.scalars(
        select(Organization).where(*conditions).order_by(*order).limit(limit).offset(offset)
    ).all()
    return list(rows), int(total or 0)


def any_hidden_from_competitors(session: Session) -> bool:
    """Whether any organisation opted out of being shown to its competitors."""
    found = session.scalar(
        select(Organization.id).where(Organization.hide_from_competitors.is_(True)).limit(1)
    )
    return found is not None


def relationship_pairs(session: Session) -> list[tuple[int, int]]:
    """Every known relationship that names a registered organisation, as (stating
    organisation, named organisation)."""
    rows = session.execute(
        select(KnownRelationship.organization_id, KnownRelationship.related_organization_id)
        .where(KnownRelationship.related_organization_id.is_not(None))
        .order_by(KnownRelationship.id)
    )
    return [(a, b) for a, b in rows if b is not None]


def listed_relationship_pairs(
    session: Session, *, shown: frozenset[str], left_out: Iterable[int], also: Iterable[int]
) -> list[tuple[int, int]]:
    """The known relationships naming a registered organisation, as (stating organisation,
    named organisation), that a caller sees: stated by an organisation that is not private and
    keeps its `relationships` group at one of the levels `shown` (those of `left_out` aside),
    or by one of `also`. One query, filtered in the database."""
    generic = and_(Organization.visibility != "private", _stored_level_in("relationships", shown))
    left_out, also = list(left_out), list(also)
    if left_out:
        generic = and_(generic, Organization.id.not_in(left_out))
    condition = or_(generic, Organization.id.in_(also)) if also else generic
    # the stating organisations as a subquery, not a join: on SQLite it is answered from
    # ix_organizations_disclosure_read alone, where a join reads every stating row (migration 0023)
    listers = select(Organization.id).where(condition)
    rows = session.execute(
        select(KnownRelationship.organization_id, KnownRelationship.related_organization_id)
        .where(
            KnownRelationship.related_organization_id.is_not(None),
            KnownRelationship.organization_id.in_(listers),
        )
        .order_by(KnownRelationship.id)
    )
    return [(a, b) for a, b in rows if b is not None]


def disclosures_of(
    session: Session, ids: Iterable[int]
) -> dict[int, tuple[str, dict[str, str] | None]]:
    """The visibility and stored disclosure settings of the organisations `ids`, by id."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(Organization.id, Organization.visibility, Organization.disclosure).where(
            Organization.id.in_(wanted)
        )
    )
    return {org_id: (visibility, stored) for org_id, visibility, stored in rows}


def hidden_from_competitors_ids(session: Session, *, other_than: int) -> list[int]:
    """The organisations (not private) that opted out of being shown to their competitors,
    other than `other_than`."""
    return list(
        session.scalars(
            select(Organization.id)
            .where(
                Organization.hide_from_competitors.is_(True),
                Organization.visibility != "private",
                Organization.id != other_than,
            )
            .order_by(Organization.id)
        )
    )


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


def relationships_by_organization(
    session: Session, organization_ids: Iterable[int]
) -> dict[int, list[KnownRelationship]]:
    """The known relationships of each organisation (linked organisations loaded), by id."""
    ids = list(set(organization_ids))
    found: dict[int, list[KnownRelationship]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        rows = session.scalars(
            select(KnownRelationship)
            .where(KnownRelationship.organization_id.in_(ids[start : start + 500]))
            .options(selectinload(KnownRelationship.related_organization))
            .order_by(KnownRelationship.id)
        )
        for rel in rows:
            found[rel.organization_id].append(rel)
    return found


def organizations_by_id(
    session: Session, organization_ids: Iterable[int], *, with_profile: bool = False
) -> dict[int, Organization]:
    """Organisations by id (profile collections only `with_profile`); missing ids left out."""
    ids = list(set(organization_ids))
    found: dict[int, Organization] = {}
    for start in range(0, len(ids), 500):
        stmt = select(Organization).where(Organization.id.in_(ids[start : start + 500]))
        if with_profile:
            stmt = stmt.options(*full_profile())
        for org in session.scalars(stmt):
            found[org.id] = org
    return found


def disclosures_by_id(
    session: Session, organization_ids: Iterable[int]
) -> dict[int, dict[str, str] | None]:
    """The stored disclosure settings of organisations by id; missing ids left out. Two
    columns, not whole rows: what a match list needs to decide each result's view."""
    ids = list(set(organization_ids))
    found: dict[int, dict[str, str] | None] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Organization.id, Organization.disclosure).where(
                Organization.id.in_(ids[start : start + 500])
            )
        )
        found.update({org_id: stored for org_id, stored in rows})
    return found


def located_disclosures(session: Session) -> dict[int, dict[str, str] | None]:
    """The stored disclosure settings of every organisation with coordinates, by id."""
    rows = session.execute(
        select(Organization.id, Organization.disclosure).where(Organization.latitude.is_not(None))
    )
    return {org_id: stored for org_id, stored in rows}


def disclosures(session: Session) -> dict[int, tuple[str, dict[str, str] | None]]:
    """The visibility and stored disclosure settings of every organisation, by id."""
    rows = session.execute(
        select(Organization.id, Organization.visibility, Organization.disclosure)
    )
    return {org_id: (visibility, stored) for org_id, visibility, stored in rows}
