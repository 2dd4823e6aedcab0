"""The relationships a caller may see, asked of the database, are those of
`relationship_listers` (the per-organisation rule), for every kind of caller."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.models import KnownRelationship, Organization
from app.models.cooperation import CooperationRequest
from app.models.user import Role, User
from app.organizations import repository
from app.organizations.access import relationship_listers, visible_relationships

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
