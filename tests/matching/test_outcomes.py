"""Outcome features of a re-ranker: what they count, and a refit on a synthetic installation
where the outcomes say who is chosen (adopted) and where they are noise (the engine stays)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matching.outcomes import OUTCOME_FEATURES, OutcomeHistory
from matching.rerank import FEATURES, Reranker, fit_reranker, training_pairs, training_rows
from matching.types import Match

# (time, asking, other, label)
STEPS = [
    (10.0, 1, 2, 1),
    (11.0, 3, 2, 1),
    (12.0, 1, 3, 1),
    (13.0, 4, 2, 0),
    (14.0, 1, 4, 1),
    (15.0, 4, 1, 0),  # the latest step of the pair 1-4 is a decline
    (16.0, 5, 2, 1),
    (17.0, 5, 3, 1),
]


def column(x: np.ndarray, name: str) -> list[float]:
    return [round(float(v), 6) for v in x[:, OUTCOME_FEATURES.index(name)]]


def test_outcome_features_count_only_the_steps_before_the_list() -> None:
    history = OutcomeHistory(STEPS)
    x = history.features(1, [2, 3, 4, 6], before=16.0)
    assert column(x, "outcome_pair_positive") == [1.0, 1.0, 0.0, 0.0]
    assert column(x, "outcome_pair_negative") == [0.0, 0.0, 1.0, 0.0]
    # 2 has positive steps with 1 and 3 before t=16 (4 declined); 5's steps come later
    assert column(x, "outcome_partners") == [
        round(math.log(3), 6),
        round(math.log(3), 6),
        0.0,
        0.0,
    ]
    # 2 answered 1, 3 (yes) and 4 (no): (2 + 1) / (3 + 2) - 1/2; 3 and 4 accepted the one
    # request each received: (1 + 1) / (1 + 2) - 1/2; 6 was never asked: 0
    assert column(x, "outcome_acceptance") == [0.1, round(1 / 6, 6), round(1 / 6, 6), 0.0]
    # 2 and 3 are partners of each other, and 1's two partners: one shared each, below two
    assert column(x, "outcome_shared_partners") == [0.0, 0.0, 0.0, 0.0]
    later = OutcomeHistory(STEPS).features(1, [2], before=math.inf)
    assert column(later, "outcome_partners") == [round(math.log(4), 6)]


def test_shared_partners_count_from_two_and_never_for_another_organisations_list() -> None:
    history = OutcomeHistory(STEPS)
    # 5's partners 2 and 3; 1's partners are 2 and 3 as well
    x = history.features(5, [1], before=math.inf)
    assert column(x, "outcome_shared_partners") == [round(math.log(3), 6)]
    assert column(x, "outcome_pair_positive") == [0.0]
    hidden = history.features(5, [1, 2], before=math.inf, own=False)
    assert column(hidden, "outcome_shared_partners") == [0.0, 0.0]
    assert column(hidden, "outcome_pair_positive") == [0.0, 0.0]
    # the candidates' aggregates stay
    assert column(hidden, "outcome_partners") == [round(math.log(3), 6), round(math.log(4), 6)]


def installation(planted: bool, n: int = 60, seed: int = 3) -> tuple:
    """n asking organisations with a list of 20 each and two chosen candidates.

    planted: the chosen stand anywhere from 6th to 20th in the engine's order, and each has
    three accepted requests from other organisations before the asking one acts (its outcome
    history says it is sought); the engine's components know nothing of them.
    Noise: the chosen stand among the engine's first five, and the accepted requests before
    went to two candidates drawn at random."""
    rng = np.random.default_rng(seed)
    steps: list[tuple[float, int, int, int]] = []
    lists, labels, when = [], [], []
    for q in range(n):
        ids = [1000 * (q + 1) + k for k in range(20)]
        slots = rng.choice(np.arange(5, 20) if planted else np.arange(5), 2, replace=False)
        chosen = {ids[int(s)] for s in slots}
        sought = chosen if planted else {ids[int(s)] for s in rng.choice(20, 2, replace=False)}
        for c in sorted(sought):
            steps += [(float(q), 10**6 + 10 * q + j, c, 1) for j in range(3)]
        lists.append(
            (
                q,
                [
                    Match(
                        target_id=t,
                        score=1.0 - 0.04 * k,
                        relation="complementary",
                        components={"profile_similarity": 1.0 - 0.04 * k},
                    )
                    for k, t in enumerate(ids)
                ],
            )
        )
        labels.append(dict.fromkeys(chosen, 1))
        when.append(100.0 + q)
    history = OutcomeHistory(steps)
    feats = [
        history.features(q, [m.target_id for m in found], before=when[q]) for q, found in lists
    ]
    x, y, g = training_rows(lists, labels, feats)
    times = np.array([when[k] for k in g])
    return x, y, g, times, training_pairs(lists, labels), history, lists


def test_a_refit_learns_a_planted_outcome_signal() -> None:
    x, y, g, times, pairs, history, lists = installation(planted=True)
    assert x.shape == (1200, len(FEATURES))
    report = fit_reranker(x, y, g, times, pairs=pairs)
    assert report.adopted and report.reranker is not None
    assert "(linear, blend 1.0;" in report.reason
    assert report.holdout_queries == 18
    assert report.holdout_engine is not None and report.holdout_engine < 0.5
    assert report.holdout_fitted == pytest.approx(1.0)
    # in use: the asking organisation's list from the stored outcomes puts the chosen first
    q, found = lists[-1]
    order = report.reranker.rerank(found, history, q)
    assert {m.target_id for m in order[:2]} == {t for t, y_ in zip_labels(found, y, g, q) if y_}


def zip_labels(found: list[Match], y: np.ndarray, g: np.ndarray, q: int) -> list:
    return list(zip([m.target_id for m in found], y[g == q].tolist(), strict=True))


def test_a_refit_on_outcomes_that_are_noise_keeps_the_engine() -> None:
    x, y, g, times, pairs, _, _ = installation(planted=False)
    report = fit_reranker(x, y, g, times, pairs=pairs)
    assert (report.adopted, report.reranker) == (False, None)
    assert report.reason.endswith("not better enough (needed a gain of 0.01)")
    assert report.holdout_fitted is not None and report.holdout_engine is not None
    assert report.holdout_fitted < report.holdout_engine + 0.01


def test_a_stored_linear_reranker_reads_back() -> None:
    x, y, g, times, pairs, history, lists = installation(planted=True)
    report = fit_reranker(x, y, g, times, pairs=pairs, kinds=("linear",))
    assert report.reranker is not None
    back = Reranker.loads(report.reranker.dumps())
    assert back is not None
    q, found = lists[0]
    assert [m.target_id for m in back.rerank(found, history, q)] == [
        m.target_id for m in report.reranker.rerank(found, history, q)
    ]


def test_ties_are_the_pairs_with_a_positive_step_before_a_time() -> None:
    y = 1970  # the steps' times are seconds after 1970-01-01 UTC
    history = OutcomeHistory(STEPS)
    # the decline of 4 to 1 after 1's accepted request removes nothing; 4-2 never was positive
    everything = {(1, 2, y), (2, 3, y), (1, 3, y), (1, 4, y), (2, 5, y), (3, 5, y)}
    assert history.ties() == everything
    assert history.ties() is history.ties()  # one set while the history lives
    assert history.ties(before=12.0) == {(1, 2, y), (2, 3, y)}
    assert history.ties(before=10.0) == frozenset()
    # the year is that of the pair's latest positive step
    later = OutcomeHistory([*STEPS, (365.25 * 24 * 3600 * 9.5, 2, 1, 1)])  # mid-1979
    assert (1, 2, 1979) in later.ties() and (1, 2, y) not in later.ties()


def test_ties_of_are_the_ties_an_organisation_is_one_end_of() -> None:
    y = 1970
    history = OutcomeHistory(STEPS).prepare()
    assert history.ties_of(1) == {(1, 2, y), (1, 3, y), (1, 4, y)}
    assert history.ties_of(5) == {(2, 5, y), (3, 5, y)}
    assert history.ties_of(4) == {(1, 4, y)}  # 4's declines add nothing
    assert history.ties_of(99) == frozenset()
