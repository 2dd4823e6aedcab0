"""Every shape in which an organisation is shown, built through one function.

`disclosed(values, view)` takes the attributes of an organisation and the caller's View (from
`app.organizations.disclosure`) and blanks what the view hides; the teaser, list entry, full
profile, match target (app.matches.service.to_out), cooperation party and event participant
are all built from it. `view` is always required: there is no default disclosure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.auth import repository as auth_repository
from app.models import Competence, KnownRelationship, Organization
from app.organizations import access, disclosure
from app.organizations import repository as organization_repository
from app.organizations.derived import industry_of
from app.organizations.schemas import CompetenceTeaser, PublicTeaser, RelationshipOut


def disclosed(values: Mapping[str, Any], view: disclosure.View) -> dict[str, Any]:
    """`values` as the caller with `view` may see them (see disclosure.redact)."""
    return disclosure.redact(values, view)


def teasers(session: Session, organizations: Sequence[Organization]) -> list[PublicTeaser]:
    """Teasers of public profiles: competences loaded in one query, and the relationships of
    those that made them public in another."""
    competences = auth_repository.competences_by_organization(
        session, [o.id for o in organizations]
    )
    views = access.views_of(session, None, organizations)
    shared = [o.id for o in organizations if "relationships" not in views[o.id].hidden]
    relationships = (
        organization_repository.relationships_by_organization(session, shared) if shared else {}
    )
    related = [
        rel.related_organization
        for rels in relationships.values()
        for rel in rels
        if rel.related_organization is not None
    ]
    related_views = access.views_of(session, None, related)
    return [
        teaser(
            o,
            competences[o.id],
            views[o.id],
            relationships=_anonymous_relationships(relationships.get(o.id, []), related_views),
        )
        for o in organizations
    ]


def _anonymous_relationships(
    relationships: Sequence[KnownRelationship], views: dict[int, disclosure.View]
) -> list[RelationshipOut]:
    out = []
    for rel in relationships:
        shown = RelationshipOut.model_validate(rel)
        related = rel.related_organization
        if related is not None and (
            related.visibility != "public" or "name" in views[related.id].hidden
        ):
            shown = shown.model_copy(
                update={"related_organization_id": None, "external_id": None, "name": None}
            )
        out.append(shown)
    return out


def teaser(
    organization: Organization,
    competences: Sequence[Competence],
    view: disclosure.View,
    *,
    relationships: Sequence[RelationshipOut] = (),
) -> PublicTeaser:
    """What anonymous callers see: the always-shown attributes and the public groups only."""
    values: dict[str, Any] = {
        name: getattr(organization, name)
        for name in PublicTeaser.model_fields
        if name not in {"competences", "relationships"} and hasattr(organization, name)
    }
    values.update(
        industry=industry_of(organization.nace_code),
        region=disclosure.region(organization.country, organization.postal_code),
        size_class=disclosure.size_class(organization.employees),
        verified=organization.verified_at is not None,
        competences=[CompetenceTeaser(kind=c.kind, label=c.label) for c in competences],
        cooperation_interests=list(organization.cooperation_interests or []),
        relationships=list(relationships),
    )
    return PublicTeaser.model_validate(disclosed(values, view))


def attendee_name(organization: Organization) -> str:
    """The name under which an organisation registered for an event is listed to the event's
    attendees and managers (the policy's "attendee" view: registering is the consent)."""
    view = disclosure.view_for_levels("attendee", disclosure.levels_of(organization))
    return str(disclosed({"name": organization.name}, view)["name"])
