"""The relationships a caller may see, asked of the database, are those of
`relationship_listers` (the per-organisation rule), for every kind of caller."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.models import KnownRelationship, Organization
from app.models.cooperation import CooperationRequest
from app.models.user import Role, User
from app.organizations import repository
from app.organizations.access import (
    may_order_by_counts,
    outcome_ties_scope,
    relationship_listers,
    visible_relationships,
)

# (name, visibility, stored relationships level or None for the default "partners")
ORGS = [
    ("Own", "members", None),
    ("Partner", "members", None),  # accepted request with Own: the caller sees it as partner
    ("Sender", "members", "partners"),  # sent Own a request
    ("Public", "public", "public"),
    ("Members", "members", "members"),
    ("Default", "public", None),
    ("Private", "private", "public"),
    ("PartnersOnly", "public", "partners"),
]


def _world(db_session: Session) -> dict[str, int]:
    orgs = {
        name: Organization(
            name=f"{name} GmbH",
            visibility=visibility,
            disclosure={} if level is None else {"relationships": level},
        )
        for name, visibility, level in ORGS
    }
    db_session.add_all(orgs.values())
    db_session.flush()
    ids = {name: o.id for name, o in orgs.items()}
    # every organisation names every other one
    for a in ids.values():
        for b in ids.values():
            if a != b:
                db_session.add(
                    KnownRelationship(
                        organization_id=a, type="partner", related_organization_id=b, name="x"
                    )
                )
    db_session.add_all(
        [
            CooperationRequest(
                from_organization_id=ids["Own"],
                to_organization_id=ids["Partner"],
                type="training",
                status="accepted",
            ),
            CooperationRequest(
                from_organization_id=ids["Sender"],
                to_organization_id=ids["Own"],
                type="training",
                status="pending",
            ),
        ]
    )
    db_session.flush()
    return ids


def _by_rule(db_session: Session, user: User | None) -> frozenset[tuple[int, int]]:
    listers = relationship_listers(db_session, user)
    assert listers is not None
    return frozenset((a, b) for a, b in repository.relationship_pairs(db_session) if a in listers)


def test_visible_relationships_follow_the_per_organisation_rule(db_session: Session) -> None:
    ids = _world(db_session)
    member = User(
        email="m@test.example",
        name="M",
        role=Role.member.value,
        organization_id=ids["Own"],
        is_active=True,
    )
    lone = User(
        email="l@test.example",
        name="L",
        role=Role.member.value,
        organization_id=ids["Public"],
        is_active=True,
    )
    name = {v: k for k, v in ids.items()}
    for user, listers in [
        # own list (default level), the partner's, the public and members-level ones
        (member, {"Own", "Partner", "Public", "Members"}),
        (lone, {"Public", "Members"}),
        (None, {"Public"}),
    ]:
        seen = visible_relationships(db_session, user)
        assert seen is not None
        assert seen == _by_rule(db_session, user)
        assert {name[a] for a, _ in seen} == listers
        assert len(seen) == 7 * len(listers)
    admin = User(email="a@test.example", name="A", role=Role.admin.value, is_active=True)
    assert visible_relationships(db_session, admin) is None


def _caller(role: Role, organization_id: int | None = None) -> User:
    return User(email=f"{role.value}@example.org", role=role.value, organization_id=organization_id)


def test_whose_outcomes_may_order_a_list_for_every_kind_of_caller() -> None:
    """Hub staff see every request; a member its own organisation's; an organiser, who sees
    no requests, and a member asking for another organisation none. Counts that name nobody
    order the list of any signed-in caller."""
    own, other = 7, 8
    assert outcome_ties_scope(_caller(Role.admin), own) == "all"
    assert outcome_ties_scope(_caller(Role.curator), own) == "all"
    assert outcome_ties_scope(_caller(Role.member, own), own) == "own"
    assert outcome_ties_scope(_caller(Role.member, own), other) == "none"
    assert outcome_ties_scope(_caller(Role.organizer), own) == "none"
    assert outcome_ties_scope(None, own) == "none"
    assert [may_order_by_counts(_caller(r, own)) for r in Role] == [True] * len(Role)
    assert may_order_by_counts(None) is False
