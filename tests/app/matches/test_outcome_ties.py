"""Positive outcomes as ties of the engine's graph (`Weights.outcome_tie`), on both backends
and both match paths (the in-process engine and, on PostgreSQL, the per-request one): an
accepted request between A and B lifts B's partner C in A's list; a declined request
changes nothing; weight 0 gives the list without outcome ties; the tie is never shown."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.embeddings import embed_organizations
from app.matches import service
from app.matches.index import IndexCache
from app.matches.schemas import MatchOut
from app.models import Competence, KnownRelationship, Organization
from app.models.cooperation import CooperationRequest
from app.models.user import Role
from matching.encoders import Encoder
from matching.types import Filters
from matching.weights import Weights
from tests.app.conftest import AccountFactory

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
NEED = "Leiterplattenbestückung"
OFFER = "Leiterplattenbestückung und Baugruppenfertigung"


@pytest.fixture
def state() -> Iterator[object]:
    settings = get_settings()
    before = settings.match_state
    yield settings
    settings.match_state = before


def _org(name: str, label: str, kind: str = "core") -> Organization:
    o = Organization(name=name, country="DE", visibility="public")
    o.competences = [Competence(kind=kind, label=label)]
    o.relationships = []
    return o


@pytest.fixture
def world(db_session: Session, encoder: Encoder) -> dict[str, int]:
    """A seeks what C and D offer in the same words; B states C as its partner, E states D:
    C and D are alike in text and in stated ties, and A has no tie to anyone."""
    orgs = {
        "A": _org("Alpha Sensorik GmbH", NEED, "complementary"),
        "B": _org("Beta Gehäusebau GmbH", "Gehäuse aus Aluminium-Druckguss"),
        "C": _org("Gamma Elektronik GmbH", OFFER),
        "D": _org("Delta Elektronik GmbH", OFFER),
        "E": _org("Epsilon Gehäusebau GmbH", "Gehäuse aus Aluminium-Druckguss"),
    }
    db_session.add_all(orgs.values())
    db_session.flush()
    for stating, named in (("B", "C"), ("E", "D")):
        orgs[stating].relationships.append(
            KnownRelationship(
                type="partner",
                name=orgs[named].name,
                related_organization_id=orgs[named].id,
            )
        )
    embed_organizations(list(orgs.values()), encoder)
    db_session.commit()
    return {k: o.id for k, o in orgs.items()}


def _request(session: Session, a: int, b: int, status: str, days: int = 0) -> None:
    session.add(
        CooperationRequest(
            from_organization_id=a,
            to_organization_id=b,
            type="research",
            status=status,
            created_at=T0,
            responded_at=T0 + dt.timedelta(days=days),
        )
    )
    session.commit()


def _list(
    session: Session,
    state: object,
    mode: str,
    cache: IndexCache,
    encoder: Encoder,
    user: object,
    asking: int,
    exclude_known: bool = False,
) -> list[MatchOut]:
    state.match_state = mode  # type: ignore[attr-defined]
    return service.matches_for(
        session,
        user=user,  # type: ignore[arg-type]
        organization_id=asking,
        filters=Filters(exclude_known=exclude_known),
        limit=10,
        cache=cache,
        encoder=encoder,
    )


def _scores(items: list[MatchOut]) -> dict[int, float]:
    return {m.organization.id: m.score for m in items}


@pytest.mark.parametrize("mode", ["memory", "database"])
def test_an_accepted_request_lifts_the_partners_of_the_other_side(
    db_session: Session,
    encoder: Encoder,
    world: dict[str, int],
    make_account: AccountFactory,
    state: object,
    mode: str,
) -> None:
    admin = make_account(Role.admin).user
    a, b, c, d, e = (world[k] for k in "ABCDE")
    cache = IndexCache()
    off = IndexCache(matcher_params={"weights": Weights(outcome_tie=0.0)})

    before = _list(db_session, state, mode, cache, encoder, admin, a)
    scores = _scores(before)
    # C and D are alike in everything the engine sees: the same score
    assert scores[c] == pytest.approx(scores[d], abs=1e-9)
    assert b not in scores  # nothing links A to B yet

    # a declined request (A to E, D's partner) changes nothing
    _request(db_session, a, e, "declined")
    declined = _list(db_session, state, mode, cache, encoder, admin, a)
    assert [(m.organization.id, m.score) for m in declined] == [
        (m.organization.id, m.score) for m in before
    ]

    # an accepted request (A to B): B's partner C now ranks above D
    _request(db_session, a, b, "accepted", days=1)
    after = _list(db_session, state, mode, cache, encoder, admin, a)
    ids = [m.organization.id for m in after]
    new = _scores(after)
    assert ids.index(c) < ids.index(d)
    assert new[c] > scores[c]
    shown = {m.organization.id: m for m in after}
    earlier = {m.organization.id: m for m in before}
    # D's walk and shared partners are untouched; its activity only shares the scale with the
    # outcome partners A and B now count in (one each: log1p(1 + 1) over log1p(1 + 1))
    for name, value in earlier[d].components.items():
        if name != "activity":
            assert shown[d].components[name] == pytest.approx(value, abs=1e-9)
    assert earlier[d].components["activity"] == pytest.approx(1.0, abs=1e-9)
    assert shown[d].components["activity"] == pytest.approx(
        math.log1p(1.0) / math.log1p(2.0), abs=1e-6
    )
    assert shown[c].components["activity"] == pytest.approx(
        shown[d].components["activity"], abs=1e-9
    )
    # B itself is reached through the tie, but the tie is never a known partner; its
    # activity counts its stated partner C and its outcome partner A
    assert b in shown
    assert shown[b].components["activity"] == pytest.approx(1.0, abs=1e-6)
    for m in shown.values():
        assert m.components["known_partner"] == 0.0
    # nothing is written into the stated relationships
    stated = db_session.scalar(
        select(func.count())
        .select_from(KnownRelationship)
        .where(KnownRelationship.organization_id.in_([a, b]))
    )
    assert stated == 1  # B's own statement about C

    # a later declined request between the same two removes nothing
    _request(db_session, b, a, "declined", days=2)
    again = _list(db_session, state, mode, cache, encoder, admin, a)
    assert [(m.organization.id, m.score) for m in again] == [
        (m.organization.id, m.score) for m in after
    ]

    # with exclude_known, B (an outcome, not a known partner) stays in the list
    novel = _list(db_session, state, mode, cache, encoder, admin, a, exclude_known=True)
    assert b in {m.organization.id for m in novel}

    # weight 0: the list before any outcome, score for score
    without = _list(db_session, state, mode, off, encoder, admin, a)
    assert [(m.organization.id, m.score) for m in without] == [
        (m.organization.id, m.score) for m in before
    ]


def test_both_match_paths_give_the_same_list_with_outcome_ties(
    db_session: Session,
    encoder: Encoder,
    world: dict[str, int],
    make_account: AccountFactory,
    state: object,
) -> None:
    admin = make_account(Role.admin).user
    a, b, c = world["A"], world["B"], world["C"]
    _request(db_session, b, a, "accepted")
    cache = IndexCache()
    memory = _list(db_session, state, "memory", cache, encoder, admin, a)
    per_request = _list(db_session, state, "database", cache, encoder, admin, a)
    assert [m.organization.id for m in per_request] == [m.organization.id for m in memory]
    for x, y in zip(memory, per_request, strict=True):
        assert y.score == pytest.approx(x.score, abs=1e-5)
        assert y.components == pytest.approx(x.components, abs=1e-5)
    # the request went from B to A: the tie is the pair's, whoever asked
    assert _scores(memory)[c] > _scores(memory)[world["D"]]
    assert b in _scores(memory)


@pytest.mark.parametrize("mode", ["memory", "database"])
def test_a_member_s_list_uses_its_own_outcomes_only(
    db_session: Session,
    encoder: Encoder,
    world: dict[str, int],
    make_account: AccountFactory,
    state: object,
    mode: str,
) -> None:
    """Whom other firms asked and how they answered is theirs: an accepted request between B
    and D lifts D in A's list for an administrator, who sees every request; in a member of
    A's list it counts only in D's and B's activity (with how many organisations each had a
    positive outcome: a count that names nobody), so without the activity component the
    member's list is what A's own accepted request alone gives."""
    admin = make_account(Role.admin).user
    a, b, c, d = world["A"], world["B"], world["C"], world["D"]
    member = make_account(Role.member, a).user
    cache = IndexCache()
    no_activity = IndexCache(matcher_params={"weights": Weights(activity=0.0)})
    nothing = _scores(_list(db_session, state, mode, cache, encoder, member, a))
    _request(db_session, a, b, "accepted")
    own_only = _scores(_list(db_session, state, mode, cache, encoder, member, a))
    own_only_graph = _scores(_list(db_session, state, mode, no_activity, encoder, member, a))
    # A's own accepted request is used for its member: B's partner C is lifted
    assert own_only[c] > nothing[c]
    admin_before = _scores(_list(db_session, state, mode, cache, encoder, admin, a))

    _request(db_session, b, d, "accepted", days=1)
    admin_after = _scores(_list(db_session, state, mode, cache, encoder, admin, a))
    assert admin_after[d] > admin_before[d]
    member_after = _scores(_list(db_session, state, mode, cache, encoder, member, a))
    # D's count rose from 0 to 1: its activity (and score) rises in the member's list too
    assert member_after[d] > own_only[d]
    # the walk and the shared partners did not pass through the B-D tie
    graph_after = _scores(_list(db_session, state, mode, no_activity, encoder, member, a))
    assert graph_after == pytest.approx(own_only_graph, abs=1e-9)
