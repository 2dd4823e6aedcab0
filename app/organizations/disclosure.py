"""Who sees which part of an organisation's profile: per-group levels and staged disclosure.

Each field group has a level: "public" (whoever may see the profile at all, anonymous callers
included for public profiles), "members" (any signed-in account) or "partners" (organisations
with an accepted cooperation request with this one, either direction). Hub staff and the
organisation's own members always see everything. Sending a request is the sender's opt-in:
members of the addressee see the sender's name group while the request is not withdrawn.

Whether the caller may see the profile at all (private profiles) is decided elsewhere
(app.auth.service.may_see); a View only says which attributes to blank out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.auth.schemas import size_class as size_class  # part of this module's API
from app.models.cooperation import CooperationRequest
from app.models.organization import Organization
from app.models.user import Role, User

LEVELS = ("public", "members", "partners")

GROUPS: dict[str, tuple[str, ...]] = {
    "name": ("name", "external_id"),
    "website": ("website",),
    "contacts": ("contact_name", "contact_email", "contact_phone"),
    "employees": ("employees",),
    "address": ("city", "postal_code", "latitude", "longitude"),
    "description": ("description",),
    "relationships": ("relationships",),
    "founded": ("founded",),
}

DEFAULTS: dict[str, str] = {
    "name": "partners",
    "website": "partners",
    "contacts": "partners",
    "employees": "partners",
    "address": "members",
    "description": "members",
    "relationships": "partners",
    "founded": "public",
}

# attributes that are lists: hidden ones become [] rather than null
LIST_ATTRIBUTES = frozenset({"relationships"})
# the group a sender reveals to the addressee of its request
ADDRESSEE_GROUPS = frozenset({"name"})
_STAFF = frozenset({Role.admin.value, Role.curator.value})
_GROUP_OF = {attribute: group for group, attributes in GROUPS.items() for attribute in attributes}


@dataclass(frozen=True)
class View:
    """What one caller sees of one organisation.

    level: "owner" (own members and hub staff), "partner" (accepted request either way),
    "addressee" (the organisation sent the caller's organisation a request), "member" (any
    other signed-in account) or "anonymous".
    """

    level: str
    hidden: frozenset[str]

    @property
    def full(self) -> bool:
        return not self.hidden

    @property
    def hidden_groups(self) -> list[str]:
        """The names of the hidden groups, sorted (the `hidden_fields` of API output)."""
        return sorted({_GROUP_OF[attribute] for attribute in self.hidden})


FULL = View(level="owner", hidden=frozenset())


def levels_of(organization: Organization) -> dict[str, str]:
    """The effective level of every group: the stored settings over the defaults."""
    stored = organization.disclosure or {}
    return {
        group: stored[group] if stored.get(group) in LEVELS else default
        for group, default in DEFAULTS.items()
    }


def _hide(
    organization: Organization,
    shown_levels: frozenset[str],
    shown_groups: frozenset[str] = frozenset(),
) -> frozenset[str]:
    return frozenset(
        attribute
        for group, level in levels_of(organization).items()
        if level not in shown_levels and group not in shown_groups
        for attribute in GROUPS[group]
    )


def _view(level: str, organization: Organization) -> View:
    if level == "owner" or level == "partner":
        return View(level=level, hidden=frozenset())
    if level == "anonymous":
        return View(level=level, hidden=_hide(organization, frozenset({"public"})))
    shown_groups = ADDRESSEE_GROUPS if level == "addressee" else frozenset()
    return View(
        level=level,
        hidden=_hide(organization, frozenset({"public", "members"}), shown_groups),
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


def partner_ids(session: Session, organization_id: int) -> set[int]:
    """Organisations with an accepted cooperation request with this one, either direction."""
    return request_relations(session, organization_id)[0]


def _level(user: User | None, organization_id: int, partners: set[int], senders: set[int]) -> str:
    if user is None:
        return "anonymous"
    if user.role in _STAFF:
        return "owner"
    if user.role != Role.member.value or user.organization_id is None:
        return "member"
    if user.organization_id == organization_id:
        return "owner"
    if organization_id in partners:
        return "partner"
    if organization_id in senders:
        return "addressee"
    return "member"


def views_of(
    session: Session,
    user: User | None,
    organizations: Sequence[Organization],
    *,
    relations: tuple[set[int], set[int]] | None = None,
) -> dict[int, View]:
    """The caller's view of each organisation, by id; one query for the request relations
    (none when the caller already has them from `request_relations`)."""
    partners: set[int] = set()
    senders: set[int] = set()
    if relations is not None:
        partners, senders = relations
    elif (
        user is not None
        and user.role == Role.member.value
        and user.organization_id is not None
        and any(o.id != user.organization_id for o in organizations)
    ):
        partners, senders = request_relations(session, user.organization_id)
    return {o.id: _view(_level(user, o.id, partners, senders), o) for o in organizations}


def view_of(session: Session, user: User | None, organization: Organization) -> View:
    """The caller's view of one organisation."""
    return views_of(session, user, [organization])[organization.id]


def redact(values: Mapping[str, Any], view: View) -> dict[str, Any]:
    """A copy of an organisation's attributes with hidden ones blanked (null, [] for lists),
    plus `hidden_fields` and `disclosure_level`."""
    out = dict(values)
    for attribute in view.hidden:
        if attribute in out:
            out[attribute] = [] if attribute in LIST_ATTRIBUTES else None
    out["hidden_fields"] = view.hidden_groups
    out["disclosure_level"] = view.level
    return out


# countries whose postal codes start with a digit that names a region
_POSTAL_REGIONS = frozenset({"DE", "AT", "CH"})


def region(country: str | None, postal_code: str | None) -> str | None:
    """Country plus the first postal-code digit for DE/AT/CH ("DE-7"), else the country."""
    if country is None:
        return None
    code = (postal_code or "").strip()
    if country in _POSTAL_REGIONS and code[:1].isdigit():
        return f"{country}-{code[0]}"
    return country
