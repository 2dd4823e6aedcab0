"""The outcome features of the match path are read once per process and change of the outcomes,
and are exact: an outcome written through another engine (another server process) is used by
the next match, with the same values as read afresh."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sqlalchemy import Engine, delete, event, select
from sqlalchemy.orm import Session

from app.db import make_engine
from app.matches.outcomes import current_history, outcome_history, with_outcome_ties
from app.matches.reranking import reranked
from app.models import Organization
from app.models.cooperation import CooperationRequest
from app.models.user import Role, User
from app.session_hooks.outcome_changes import current_marker
from matching.outcomes import OUTCOME_FEATURES
from matching.rerank import FEATURES, Reranker
from matching.types import Filters, Match
from tests.conftest import BACKENDS, migrated_url

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
YEAR = dt.timedelta(days=365.25)


@pytest.fixture(params=BACKENDS)
def engines(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """Two engines on one fresh database, as two server processes have."""
    url = migrated_url(request.param, request, tmp_path)
    first, second = make_engine(url), make_engine(url)
    yield first, second
    first.dispose()
    second.dispose()


class StepReads:
    """Counts the statements an engine sends that read cooperation requests."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "cooperation_requests" in statement:
            self.count += 1


def _organizations(engine: Engine) -> dict[str, int]:
    with Session(engine) as session, session.begin():
        orgs = {n: Organization(name=n, country="DE", visibility="public") for n in "ABCD"}
        session.add_all(orgs.values())
        session.flush()
        return {n: o.id for n, o in orgs.items()}


def _request(engine: Engine, a: int, b: int, status: str, at: dt.datetime) -> None:
    with Session(engine) as session, session.begin():
        session.add(
            CooperationRequest(
                from_organization_id=a,
                to_organization_id=b,
                type="training",
                status=status,
                created_at=at,
                responded_at=None if status == "pending" else at,
            )
        )


def _pair_positive_reranker() -> Reranker:
    """A fitted linear second stage that puts pairs with an accepted request first."""
    x = np.zeros((40, len(FEATURES)))
    x[:20, FEATURES.index("outcome_pair_positive")] = 1.0
    y = np.array([1] * 20 + [0] * 20)
    return Reranker(model=LogisticRegression().fit(x, y), top_n=10)


def _features(session: Session, asking: int, candidates: list[int]) -> np.ndarray:
    return current_history(session).features(asking, candidates)


def test_a_match_reads_the_outcomes_once_and_again_after_another_process_wrote_one(
    engines: tuple[Engine, Engine],
) -> None:
    first, second = engines
    ids = _organizations(first)
    a, b, c, d = ids["A"], ids["B"], ids["C"], ids["D"]
    _request(first, a, b, "accepted", T0)
    reads = StepReads(first)
    reranker = _pair_positive_reranker()
    engine_order = [
        Match(target_id=b, score=0.9, relation="complementary"),
        Match(target_id=d, score=0.8, relation="complementary"),
    ]

    def match_list() -> list[int]:
        with Session(first) as session:
            listed = reranked(reranker, engine_order, 2, session=session, asking=c, own=True)
            return [m.target_id for m in listed]

    assert match_list() == [b, d]
    assert reads.count == 1
    # the next matches of this process read the marker only
    assert match_list() == [b, d]
    assert match_list() == [b, d]
    assert reads.count == 1

    # another process: C asks D, D accepts a year after A's request was accepted by B
    with Session(second) as session:
        before = current_marker(session)
    _request(second, c, d, "pending", T0 + YEAR)
    with Session(second) as session, session.begin():
        asked = session.scalars(
            select(CooperationRequest).where(CooperationRequest.status == "pending")
        ).one()
        asked.status, asked.responded_at = "accepted", T0 + YEAR
    with Session(second) as session:
        after = current_marker(session)
    assert after[0] == before[0] + 2
    assert after[1] != before[1]

    assert match_list() == [d, b]
    assert reads.count == 2
    with Session(first) as session:
        kept = _features(session, c, [b, d])
        fresh = outcome_history(session).features(c, [b, d])
    np.testing.assert_array_equal(kept, fresh)
    # recency as read afresh: a year since B's latest accepted request, D's is the latest step
    assert kept[:, OUTCOME_FEATURES.index("outcome_recency")] == pytest.approx(
        [math.exp(-1.0), 1.0]
    )
    assert kept[:, OUTCOME_FEATURES.index("outcome_pair_positive")].tolist() == [0.0, 1.0]
    assert kept[:, OUTCOME_FEATURES.index("outcome_acceptance")] == pytest.approx(
        [2 / 3 - 0.5, 2 / 3 - 0.5]
    )
    assert reads.count == 3  # the fresh read of the comparison, not the kept one


def test_a_sessions_own_uncommitted_outcome_is_used_and_not_kept(
    engines: tuple[Engine, Engine],
) -> None:
    first, _ = engines
    ids = _organizations(first)
    a, b, c = ids["A"], ids["B"], ids["C"]
    _request(first, a, b, "accepted", T0)
    with Session(first) as session:
        assert len(current_history(session)) == 1
        session.add(
            CooperationRequest(
                from_organization_id=c,
                to_organization_id=b,
                type="training",
                status="declined",
                created_at=T0 + YEAR,
                responded_at=T0 + YEAR,
            )
        )
        own = current_history(session)
        assert len(own) == 2
        # the declined request counts in B's acceptance: 1 of 2 answers accepted
        assert own.features(c, [b])[0].tolist() == pytest.approx(
            [0.0, 1.0, math.log1p(1), 2 / 4 - 0.5, math.exp(-1.0), 0.0]
        )
        session.rollback()
    with Session(first) as session:
        assert len(current_history(session)) == 1


def test_deleting_an_organisation_removes_its_outcomes_from_the_next_match(
    engines: tuple[Engine, Engine],
) -> None:
    first, second = engines
    ids = _organizations(first)
    _request(first, ids["A"], ids["B"], "accepted", T0)
    _request(first, ids["C"], ids["D"], "accepted", T0 + YEAR)
    with Session(first) as session:
        assert len(current_history(session)) == 2
    # the requests go by the database's cascade, through a bulk statement of another process
    with Session(second) as session, session.begin():
        session.execute(delete(Organization).where(Organization.id == ids["B"]))
    with Session(first) as session:
        history = current_history(session)
        assert [(a, b) for _, a, b, _ in history.steps] == [(ids["C"], ids["D"])]


def test_outcome_ties_follow_the_outcomes_another_process_writes(
    engines: tuple[Engine, Engine],
) -> None:
    first, second = engines
    ids = _organizations(first)
    a, b, c, d = ids["A"], ids["B"], ids["C"], ids["D"]
    _request(first, a, b, "accepted", T0)

    admin = User(role=Role.admin.value)

    def ties(
        filters: Filters = Filters(), user: User = admin, asking: int = a
    ) -> frozenset[tuple[int, int, int]]:
        with Session(first) as session:
            got = with_outcome_ties(session, filters, user=user, organization_id=asking)
            return got.outcome_ties

    def member(org: int) -> User:
        return User(role=Role.member.value, organization_id=org)

    kept = ties()
    assert kept == {(min(a, b), max(a, b), 2026)}
    assert ties() is kept  # one set per process while the outcomes do not change
    # another process: C declines D (nothing added), then D accepts C a year later
    _request(second, d, c, "declined", T0)
    assert ties() == kept
    _request(second, c, d, "accepted", T0 + YEAR)
    assert ties() == kept | {(min(c, d), max(c, d), 2027)}
    # a member gets its own organisation's ties alone, one set while the outcomes stay
    assert ties(user=member(c), asking=c) == {(min(c, d), max(c, d), 2027)}
    assert ties(user=member(a), asking=a) == kept
    assert ties(user=member(d), asking=d) is ties(user=member(d), asking=d)
    # a list asked for another organisation, an organiser's, or one without the graph: no
    # outcome ties
    assert ties(user=member(a), asking=c) == frozenset()
    assert ties(user=User(role=Role.organizer.value), asking=a) == frozenset()
    assert ties(Filters(use_graph=False)) == frozenset()
    # every caller's activity counts every pair (they name nobody); none without the graph
    with Session(first) as session:
        for user, asking in ((admin, a), (member(c), c), (member(a), d)):
            got = with_outcome_ties(session, Filters(), user=user, organization_id=asking)
            assert got.activity_ties == ties()
        off = with_outcome_ties(session, Filters(use_graph=False), user=admin, organization_id=a)
        assert off.activity_ties is None
