"""Business rules for organisation profiles. Services flush but never commit."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.auth.roles import is_staff
from app.curation.labels import canonical_labels
from app.embeddings import Encoder, embed_organizations
from app.errors import Conflict, Invalid, NotFound, PreconditionFailed
from app.i18n import N_, Message
from app.models import Competence, KnownRelationship, Organization
from app.models.base import utcnow
from app.models.user import User
from app.organizations import repository
from app.organizations.access import may_see, views_of
from app.organizations.disclosure import (
    View,
    identifying_terms,
    levels_of,
    mask,
    name_mentions,
)
from app.organizations.repository import OrganizationQuery
from app.organizations.schemas import (
    SCALAR_FIELDS,
    CompetenceIn,
    DisclosureIn,
    OrganizationCreate,
    OrganizationFields,
    OrganizationOut,
    OrganizationPatch,
    OrganizationSummary,
    ProfileWarning,
    RelationshipIn,
    RelationshipOut,
    derived_attributes,
)
from app.organizations.views import disclosed

# fields whose change makes the stored profile vector stale
_TEXT_FIELDS = {"name", "description"}


def _text_hit(candidate: repository.TextCandidate, text: str) -> bool:
    """Whether `text` occurs in what the caller sees of a profile whose name is hidden: the
    description (if shown) and competence labels, with the name's words masked."""
    terms = identifying_terms(candidate.name, candidate.website)
    needle = text.casefold()
    shown = [*candidate.labels]
    if candidate.description_visible and candidate.description:
        shown.append(candidate.description)
    return any(needle in (mask(part, terms) or "").casefold() for part in shown)


def list_organizations(
    session: Session, *, query: OrganizationQuery, limit: int, offset: int
) -> tuple[list[Organization], int]:
    """A page of organisations; a text search by a caller who is not hub staff hits only
    what the caller sees, a hidden name masked in the text that shows (see disclosure)."""
    if not (query.q and query.restrict_text):
        return repository.list_organizations(session, query, limit=limit, offset=offset)
    ids, hidden = repository.text_candidates(session, query)
    hits = [i for i in ids if i not in hidden or _text_hit(hidden[i], query.q)]
    page = hits[offset : offset + limit]
    found = repository.organizations_by_id(session, page)
    return [found[i] for i in page], len(hits)


def get_organization(session: Session, *, organization_id: int) -> Organization:
    org = repository.get_organization(session, organization_id)
    if org is None:
        raise NotFound(N_("No organisation with id %(id)s."), values={"id": organization_id})

    return org


def set_scalars(org: Organization, values: Mapping[str, Any]) -> None:
    """Copy scalar profile fields; a changed name or description invalidates the profile vector."""
    for name in SCALAR_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if hasattr(value, "value"):  # enums are stored as their value
            value = value.value
        if getattr(org, name) != value:
            setattr(org, name, value)
            if name in _TEXT_FIELDS:
                org.profile_embedding = None


def set_interests(org: Organization, interests: Sequence[Any]) -> None:
    values = [getattr(i, "value", i) for i in interests]
    if list(org.cooperation_interests or []) != values:
        org.cooperation_interests = values


def set_disclosure(org: Organization, disclosure: DisclosureIn, *, merge: bool) -> None:
    """Store disclosure levels: replace them all, or (merge) change the groups given, where a
    null group goes back to its default."""
    stored = dict(org.disclosure or {}) if merge else {}
    for group in disclosure.model_fields_set if merge else disclosure.levels():
        level = getattr(disclosure, group)
        if level is None:
            stored.pop(group, None)
        else:
            stored[group] = level
    if stored != (org.disclosure or {}):
        org.disclosure = stored


def canonicalise(
    competences: Sequence[CompetenceIn], canonical: Mapping[str, str]
) -> list[CompetenceIn]:
    """`competences` with labels hub staff merged into a canonical one replaced by it; a
    label that becomes a repeat of the same kind goes (the first one stays)."""
    if not canonical:
        return list(competences)
    seen: set[tuple[str, str]] = set()
    out = []
    for item in competences:
        label = canonical.get(item.label, item.label)
        key = (item.kind.value, label.casefold())
        if key in seen:
            continue
        seen.add(key)
        out.append(item if label == item.label else item.model_copy(update={"label": label}))
    return out


def with_canonical_labels(
    session: Session, competences: Sequence[CompetenceIn]
) -> list[CompetenceIn]:
    """`canonicalise` with the synonyms stored by curation."""
    return canonicalise(competences, canonical_labels(session, [c.label for c in competences]))


def set_competences(org: Organization, competences: Sequence[CompetenceIn]) -> None:
    """Replace the competence list, keeping rows (and their vectors) that did not change."""
    wanted = [(c.kind.value, c.label, c.description) for c in competences]
    current = [(c.kind, c.label, c.description) for c in org.competences]
    if wanted == current:
        return
    existing = {(c.kind, c.label, c.description): c for c in org.competences}
    org.competences = [
        existing.pop(key)
        if key in existing
        else Competence(kind=key[0], label=key[1], description=key[2])
        for key in wanted
    ]
    org.profile_embedding = None


def set_relationships(
    org: Organization, relationships: Sequence[RelationshipIn], linked: Mapping[str, Organization]
) -> None:
    """Replace the known relationships; `linked` maps external_ids to organisations.

    A relationship given by name is linked too when the name is an external_id in `linked`.
    Targets may be new (unflushed) organisations: the rows refer to the objects.
    """
    # an entry that does not mention joint_projects or last_year (a form, a CSV column, an
    # older client) keeps what is stored for the same relationship; an explicit null clears
    stored = {(r.type, r.name): (r.joint_projects, r.last_year) for r in org.relationships}
    wanted: list[tuple[str, Organization | None, str, float | None, int | None, int | None]] = []
    for rel in relationships:
        ref = rel.external_id if rel.external_id is not None else rel.name
        assert ref is not None
        joint, last = stored.get((rel.type.value, ref), (None, None))
        given = rel.model_fields_set
        wanted.append(
            (
                rel.type.value,
                linked.get(ref),
                ref,
                rel.revenue_share,
                rel.joint_projects if "joint_projects" in given else joint,
                rel.last_year if "last_year" in given else last,
            )
        )
    current = [
        (r.type, r.related_organization_id, r.name, r.revenue_share, r.joint_projects, r.last_year)
        for r in org.relationships
    ]
    if [(k, t.id if t is not None else None, *rest) for k, t, *rest in wanted] == current:
        return
    org.modified_at = utcnow()  # a collection change alone would not bump the version
    org.relationships = [
        KnownRelationship(
            type=kind,
            related_organization=target,
            name=name,
            revenue_share=share,
            joint_projects=joint,
            last_year=last,
        )
        for kind, target, name, share, joint, last in wanted
    ]


def resolve_relationships(
    session: Session,
    relationships: Sequence[RelationshipIn],
    *,
    editor: User | None = None,
    field: str = "relationships",
    already_linked: frozenset[int] = frozenset(),
) -> dict[str, Organization]:
    """Look up referenced organisations; an unknown external_id is an error naming the field.

    With an `editor` who is not hub staff, only organisations whose external_id the editor
    may see resolve: a hidden one answers exactly as one that does not exist. Organisations in
    `already_linked` (the ids the edited profile names already) resolve too: saving a profile
    again keeps the relationships it has, and reveals nothing new.
    """
    refs = {r.external_id for r in relationships if r.external_id is not None}
    refs |= {r.name for r in relationships if r.name is not None}
    found = repository.organizations_by_external_id(session, refs)
    if editor is not None and found:
        views = views_of(session, editor, list(found.values()))
        found = {
            ref: org
            for ref, org in found.items()
            if org.id in already_linked
            or (may_see(editor, org) and "external_id" not in views[org.id].hidden)
        }
    errors = [
        {
            "field": f"{field}[{i}].external_id",
            "message": Message(
                N_("no organisation with external_id %(external_id)r"),
                external_id=rel.external_id,
            ),
        }
        for i, rel in enumerate(relationships)
        if rel.external_id is not None and rel.external_id not in found
    ]
    if errors:
        raise Invalid(N_("A relationship refers to an unknown organisation."), errors=errors)
    return found


def _check_external_id_free(
    session: Session, external_id: str | None, *, own_id: int | None = None
) -> None:
    if external_id is None:
        return
    other = repository.organization_ids_by_external_id(session, [external_id]).get(external_id)
    if other is not None and other != own_id:
        raise Conflict(
            N_("external_id %(external_id)r is already used by organisation %(other)s."),
            values={"external_id": external_id, "other": other},
            errors=[{"field": "external_id", "message": N_("already in use")}],
        )


def _check_self_reference(org: Organization) -> None:
    for i, rel in enumerate(org.relationships):
        if rel.related_organization is org:
            raise Invalid(
                N_("An organisation cannot be its own customer, supplier or partner."),
                errors=[{"field": f"relationships[{i}]", "message": N_("refers to itself")}],
            )


def apply_fields(
    org: Organization,
    data: OrganizationFields,
    linked: Mapping[str, Organization],
    *,
    fields: set[str],
) -> None:
    values = {name: getattr(data, name) for name in fields}
    set_scalars(org, values)
    if "cooperation_interests" in fields:
        set_interests(org, data.cooperation_interests)
    if "competences" in fields:
        set_competences(org, data.competences)
    if "relationships" in fields:
        set_relationships(org, data.relationships, linked)
    if "disclosure" in fields:
        set_disclosure(org, data.disclosure, merge=False)


def create_organization(
    session: Session, *, data: OrganizationCreate, encoder: Encoder | None
) -> Organization:
    _check_external_id_free(session, data.external_id)
    linked = resolve_relationships(session, data.relationships)
    data = data.model_copy(update={"competences": with_canonical_labels(session, data.competences)})
    org = Organization(
        external_id=data.external_id,
        competences=[],
        relationships=[],
        cooperation_interests=[],
        disclosure={},
    )
    apply_fields(org, data, linked, fields=set(OrganizationFields.model_fields))
    if encoder is not None:
        embed_organizations([org], encoder)
    session.add(org)
    session.flush()
    return org


_ETAG = re.compile(r'^(?:W/)?"?(\d+)"?$')


def parse_if_match(header: str | None) -> int | None:
    """The version in an If-Match header (`"3"`, `W/"3"` or `3`); `*` means any version."""
    if header is None or header.strip() == "*":
        return None
    match = _ETAG.match(header.strip())
    if match is None:
        raise PreconditionFailed(
            N_('If-Match must carry the ETag you read, for example "3".'),
            errors=[{"field": "If-Match", "message": "not an ETag of this API"}],
        )
    return int(match.group(1))


def update_organization(
    session: Session,
    *,
    organization: Organization,
    patch: OrganizationPatch,
    if_match: int | None,
    encoder: Encoder | None,
    editor: User | None,
) -> Organization:
    """Apply a patch; relationship targets resolve as `editor` may see them (None: all)."""
    if if_match is not None and if_match != organization.version:
        raise PreconditionFailed(
            N_("The organisation is at version %(version)s, not %(if_match)s."),
            values={"version": organization.version, "if_match": if_match},
            current_version=organization.version,
        )
    if patch.version is not None and patch.version != organization.version:
        raise Conflict(
            N_(
                "The organisation was changed meanwhile: version %(version)s, you sent "
                "%(sent)s. Read it again and reapply your change."
            ),
            values={"version": organization.version, "sent": patch.version},
            errors=[{"field": "version", "message": N_("stale")}],
            current_version=organization.version,
        )
    fields = set(patch.model_fields_set) - {"version"}
    if "external_id" in fields and patch.external_id != organization.external_id:
        _check_external_id_free(session, patch.external_id, own_id=organization.id)
        organization.external_id = patch.external_id
    latitude = patch.latitude if "latitude" in fields else organization.latitude
    longitude = patch.longitude if "longitude" in fields else organization.longitude
    if (latitude is None) != (longitude is None):
        raise Invalid(
            N_("latitude and longitude go together: give both or neither."),
            errors=[
                {
                    "field": "latitude" if latitude is None else "longitude",
                    "message": N_("missing"),
                }
            ],
        )
    linked: dict[str, Organization] = {}
    if patch.relationships is not None:
        linked = resolve_relationships(
            session,
            patch.relationships,
            editor=editor,
            already_linked=frozenset(
                r.related_organization_id
                for r in organization.relationships
                if r.related_organization_id is not None
            ),
        )
    # None in a list field means "not given"; the schema forbids null for name and visibility
    fields -= {
        f
        for f in ("competences", "relationships", "cooperation_interests")
        if getattr(patch, f) is None
    }
    set_scalars(organization, {name: getattr(patch, name) for name in fields & set(SCALAR_FIELDS)})
    if patch.cooperation_interests is not None:
        set_interests(organization, patch.cooperation_interests)
    if patch.competences is not None:
        set_competences(organization, with_canonical_labels(session, patch.competences))
    if patch.relationships is not None:
        set_relationships(organization, patch.relationships, linked)
    if patch.disclosure is not None:
        set_disclosure(organization, patch.disclosure, merge=True)
    _check_self_reference(organization)
    if encoder is not None:
        embed_organizations([organization], encoder)
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(N_("The organisation was changed by someone else meanwhile.")) from exc
    return organization


def delete_organization(
    session: Session, *, organization: Organization, if_match: int | None
) -> None:
    if if_match is not None and if_match != organization.version:
        raise PreconditionFailed(
            N_("The organisation is at version %(version)s, not %(if_match)s."),
            values={"version": organization.version, "if_match": if_match},
            current_version=organization.version,
        )
    session.delete(organization)
    session.flush()


def name_warnings(org: Organization) -> list[ProfileWarning]:
    """Where the profile's text gives away a name it does not show to everyone."""
    return [ProfileWarning.model_validate(w) for w in name_mentions(org)]


# --- what a caller sees ----------------------------------------------------------------------

_OUT_FIELDS = tuple(OrganizationOut.model_fields)
_SUMMARY_FIELDS = tuple(OrganizationSummary.model_fields)


def _shown_values(org: Organization, view: View, names: Sequence[str]) -> dict[str, Any]:
    values = {name: getattr(org, name) for name in names if hasattr(org, name)}
    values.update(derived_attributes(org))
    owner = view.level == "owner"
    values["disclosure"] = levels_of(org) if owner else None
    values["hide_from_competitors"] = org.hide_from_competitors if owner else None
    return disclosed(values, view)


def shown_relationships(
    org: Organization, user: User | None, views: dict[int, View]
) -> list[RelationshipOut]:
    """The known relationships. A linked organisation the caller may not see, or whose name is
    hidden from the caller, stays anonymous (no id, no external_id): the link would disclose
    the other's identity. The organisation's own members keep the name they stated (their own
    statement); to others it is hidden too. Hub staff see every link."""
    own = views[org.id].level == "owner"
    out = []
    for rel in org.relationships:
        shown = RelationshipOut.model_validate(rel)
        related = rel.related_organization
        if (
            not is_staff(user)
            and related is not None
            and (not may_see(user, related) or "name" in views[related.id].hidden)
        ):
            update: dict[str, Any] = {"related_organization_id": None, "external_id": None}
            if not own:
                update["name"] = None
            shown = shown.model_copy(update=update)
        out.append(shown)
    return out


def related_organizations(organizations: Sequence[Organization]) -> list[Organization]:
    return [
        rel.related_organization
        for org in organizations
        for rel in org.relationships
        if rel.related_organization is not None
    ]


def organization_view(
    session: Session, *, user: User | None, organization: Organization
) -> OrganizationOut:
    """The full profile (relationships loaded) as the caller may see it."""
    views = views_of(session, user, [organization, *related_organizations([organization])])
    view = views[organization.id]
    values = _shown_values(organization, view, _OUT_FIELDS)
    if "relationships" not in view.hidden:
        values["relationships"] = shown_relationships(organization, user, views)
    return OrganizationOut.model_validate(values)


def organization_summaries(
    session: Session,
    *,
    user: User | None,
    organizations: Sequence[Organization],
    relations: tuple[set[int], set[int]] | None = None,
) -> list[OrganizationSummary]:
    """List entries as the caller may see them; one query for the whole page, none when the
    caller's request relations are given."""
    views = views_of(session, user, organizations, relations=relations)
    return [
        OrganizationSummary.model_validate(_shown_values(o, views[o.id], _SUMMARY_FIELDS))
        for o in organizations
    ]
