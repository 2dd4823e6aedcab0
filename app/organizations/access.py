"""Whether a caller may know an organisation exists, read its profile, or change it, and the
caller's View of organisations.

Which of its fields a caller at a given level sees is `app.organizations.disclosure` (pure);
this module reads what that needs to know of the caller: its organisation's cooperation
requests (the query is app.cooperation.repository.request_relations).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from sqlalchemy.orm import Session

from app.auth.roles import is_staff, member_organization
from app.cooperation.repository import request_relations
from app.models.organization import Organization
from app.models.user import User
from app.organizations import repository
from app.organizations.disclosure import (
    View,
    caller_level,
    group_shown,
    shown_levels,
    stored_levels,
    view_for_levels,
)


def is_own_organization(user: User | None, organization_id: int) -> bool:
    return member_organization(user) == organization_id


def may_see(user: User | None, organization: Organization) -> bool:
    """Whether the caller may know the organisation exists (private ones are hidden)."""
    if organization.visibility != "private":
        return True
    return is_staff(user) or is_own_organization(user, organization.id)


def may_read_full(user: User | None, organization: Organization) -> bool:
    """Whether the caller may read the full profile (anonymous callers get teasers)."""
    if user is None:
        return organization.visibility == "public"
    return may_see(user, organization)


def may_edit(user: User | None, organization: Organization) -> bool:
    return is_staff(user) or is_own_organization(user, organization.id)


def outcome_ties_scope(user: User | None, organization_id: int) -> Literal["all", "own", "none"]:
    """Whose recorded outcomes (accepted requests, meetings held, agreements) may order
    `organization_id`'s match list for the caller, as ties of its graph and as the pair's own
    history in a re-ranker (they only order, never shown): "all" for hub staff, who see every
    request; "own" for a member asking its own organisation's list: that organisation's own
    requests and their answers, which it sees anyway (whom other firms asked and how they
    answered is theirs); "none" for everyone else (a list asked for another organisation,
    an organiser, who sees no requests)."""
    if is_staff(user):
        return "all"
    if user is not None and is_own_organization(user, organization_id):
        return "own"
    return "none"


def may_order_by_counts(user: User | None) -> bool:
    """Whether counts that name nobody may order the caller's match lists: with how many
    organisations a candidate had positive outcomes (accepted requests, meetings held,
    agreements), counted over every organisation's outcomes and added to its `activity`
    (`matching.types.Filters.activity_ties`), like the number of past projects a profile
    states. Any signed-in caller. Stated relationships still count only where the caller may
    see them (`visible_relationships`): a hidden list moves no degree. The value itself is
    shown only with the relationships (`app.matches.service.to_out`)."""
    return user is not None


def caller_relations(session: Session, user: User | None) -> tuple[set[int], set[int]]:
    """(partners, senders) of the caller's organisation; empty for all but members."""
    own = member_organization(user)
    if own is None:
        return set(), set()
    return request_relations(session, own)


def partner_ids(session: Session, organization_id: int) -> set[int]:
    """Organisations with an accepted cooperation request with this one, either direction."""
    return request_relations(session, organization_id)[0]


def views_of(
    session: Session,
    user: User | None,
    organizations: Sequence[Organization],
    *,
    relations: tuple[set[int], set[int]] | None = None,
) -> dict[int, View]:
    """The caller's view of each organisation, by id; one query for the request relations
    (none when the caller already has them from `caller_relations`)."""
    stored = {o.id: o.disclosure for o in organizations}
    return views_by_disclosure(session, user, stored, relations=relations)


def views_by_disclosure(
    session: Session,
    user: User | None,
    stored: Mapping[int, Mapping[str, Any] | None],
    *,
    relations: tuple[set[int], set[int]] | None = None,
) -> dict[int, View]:
    """`views_of` for organisations given as their id and stored `disclosure` value (what
    a view depends on; `repository.disclosures_by_id` reads it without loading the rows)."""
    partners: set[int] = set()
    senders: set[int] = set()
    own = member_organization(user)
    if relations is not None:
        partners, senders = relations
    elif own is not None and any(org_id != own for org_id in stored):
        partners, senders = request_relations(session, own)
    return {
        org_id: view_for_levels(
            caller_level(user, org_id, partners, senders), stored_levels(disclosure)
        )
        for org_id, disclosure in stored.items()
    }


def view_of(session: Session, user: User | None, organization: Organization) -> View:
    """The caller's view of one organisation."""
    return views_of(session, user, [organization])[organization.id]


def relationship_listers(session: Session, user: User | None) -> frozenset[int] | None:
    """The organisations whose relationships the caller may see (its own among them); None
    for hub staff, who see every one. One query for the settings, one for the relations."""
    if is_staff(user):
        return None
    relations = caller_relations(session, user)
    own = member_organization(user)
    return frozenset(
        org_id
        for org_id, (visibility, stored) in repository.disclosures(session).items()
        if (visibility != "private" or org_id == own)
        and group_shown(
            caller_level(user, org_id, *relations),
            "relationships",
            stored_levels(stored)["relationships"],
        )
    )


def visible_relationships(session: Session, user: User | None) -> frozenset[tuple[int, int]] | None:
    """The known relationships the caller may see, as (stating organisation, named
    organisation): those stated by the organisations of `relationship_listers`. None for hub
    staff, who see every one."""
    if is_staff(user):
        return None
    # The rule of `relationship_listers`, asked of the database: every organisation but the
    # caller's own and those it has requests with gets the same caller level, so for them
    # the rule is one condition on the stored level; those few are decided here one by one.
    relations = caller_relations(session, user)
    own = member_organization(user)
    special = relations[0] | relations[1] | ({own} if own is not None else set())
    also = [
        org_id
        for org_id, (visibility, stored) in repository.disclosures_of(session, special).items()
        if (visibility != "private" or org_id == own)
        and group_shown(
            caller_level(user, org_id, *relations),
            "relationships",
            stored_levels(stored)["relationships"],
        )
    ]
    others = caller_level(user, _NO_ORGANIZATION, set(), set())
    pairs = repository.listed_relationship_pairs(
        session,
        shown=shown_levels(others, "relationships"),
        left_out=special,
        also=also,
    )
    return frozenset(pairs)


# an id no organisation has: the caller level of an organisation the caller has no relation to
_NO_ORGANIZATION = -1
