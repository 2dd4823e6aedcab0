"""The learned second stage: rows from match lists, the check by time, storage."""

from __future__ import annotations

import math
import pickle
from fractions import Fraction

import numpy as np
import pytest
import sklearn
import skops.io

from matching.rerank import (
    FEATURES,
    FORMAT_VERSION,
    Reranker,
    fit_reranker,
    list_features,
    new_model,
    training_pairs,
    training_rows,
)
from matching.types import Match
from matching.weights import COMPONENTS


def ranked(ids: list[int], chosen: set[int]) -> list[Match]:
    """An engine list, best first: the engine's score falls with the position and knows
    nothing of `shared_interests`, which only the chosen candidates have."""
    return [
        Match(
            target_id=t,
            score=1.0 - 0.05 * k,
            relation="complementary",
            components={
                "profile_similarity": 1.0 - 0.05 * k,
                "shared_interests": 1.0 if t in chosen else 0.0,
            },
        )
        for k, t in enumerate(ids)
    ]


def lists_where_interests_decide(n: int) -> tuple[list[tuple[int, list[Match]]], list[dict]]:
    """n lists of 10; the two chosen candidates stand 6th and 9th in the engine's order."""
    lists, labels = [], []
    for q in range(n):
        ids = [100 * q + k for k in range(10)]
        chosen = {ids[5], ids[8]}
        lists.append((q, ranked(ids, chosen)))
        labels.append(dict.fromkeys(chosen, 1))
    return lists, labels


def test_list_features_hold_the_components_and_the_engines_view() -> None:
    x = list_features(ranked([7, 8, 9], {9}))
    assert x.shape == (3, len(FEATURES))
    col = {name: x[:, k].tolist() for k, name in enumerate(FEATURES)}
    assert col["shared_interests"] == [0.0, 0.0, 1.0]
    assert col["profile_similarity"] == pytest.approx([1.0, 0.95, 0.9])
    assert col["engine_rank"] == pytest.approx([1.0, math.log2(3), 2.0])
    assert col["engine_score_gap"] == pytest.approx([0.0, -0.05, -0.1])
    assert col["network"] == [0.0, 0.0, 0.0]
    assert FEATURES[: len(COMPONENTS)] == COMPONENTS


def test_training_rows_take_every_unchosen_suggestion_as_a_negative() -> None:
    lists, labels = lists_where_interests_decide(2)
    # a list whose organisation acted on nothing in it says nothing about order
    lists.append((9, ranked([1, 2, 3], set())))
    labels.append({999: 1})
    x, y, g = training_rows(lists, labels)
    assert x.shape == (20, len(FEATURES))
    assert y.tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 1, 0] * 2
    assert g.tolist() == [0] * 10 + [1] * 10


def test_a_better_second_stage_is_adopted_and_puts_the_chosen_first() -> None:
    lists, labels = lists_where_interests_decide(30)
    x, y, g = training_rows(lists, labels)
    report = fit_reranker(x, y, g, times=g.astype(float), min_positives=20, min_queries=10)
    assert report.adopted is True
    assert (report.pairs, report.positives, report.queries, report.holdout_queries) == (
        300,
        60,
        30,
        9,
    )
    assert report.holdout_engine == pytest.approx(
        (1 / math.log2(7) + 1 / math.log2(10)) / (1 + 1 / math.log2(3))
    )
    assert report.holdout_fitted == pytest.approx(1.0)
    assert report.reranker is not None
    fresh = ranked([1, 2, 3, 4, 5, 6], {4, 6})
    assert [m.target_id for m in report.reranker.rerank(fresh)][:2] in ([4, 6], [6, 4])


def test_too_little_data_and_no_gain_keep_the_engines_order() -> None:
    lists, labels = lists_where_interests_decide(5)
    x, y, g = training_rows(lists, labels)
    few = fit_reranker(x, y, g, times=g.astype(float))
    assert (few.adopted, few.reranker) == (False, None)
    assert few.reason == (
        "too little data: 10 positive pairs (at least 50) in 5 usable lists (at least 20)"
    )
    # the engine already puts the chosen first: nothing to gain
    lists = [(q, ranked([100 * q + k for k in range(10)], set())) for q in range(30)]
    labels = [{100 * q: 1, 100 * q + 1: 1} for q in range(30)]
    x, y, g = training_rows(lists, labels)
    flat = fit_reranker(x, y, g, times=g.astype(float), min_positives=20, min_queries=10)
    assert flat.adopted is False
    assert flat.holdout_engine == pytest.approx(1.0)
    assert flat.reason.endswith("not better enough (needed a gain of 0.01)")


def test_a_second_stage_in_use_that_is_worse_than_the_engine_is_dropped() -> None:
    # learned where the chosen had no shared interests and stood last ...
    lists, labels = lists_where_interests_decide(30)
    x, y, g = training_rows(lists, labels)
    in_use = fit_reranker(x, y, g, times=g.astype(float), min_positives=20, min_queries=10)
    assert in_use.reranker is not None
    # ... now the engine's first two are chosen, and the interests mark two others
    lists = [(q, ranked([100 * q + k for k in range(10)], {100 * q + 5, 100 * q + 8}))
             for q in range(30)]  # fmt: skip
    labels = [{100 * q: 1, 100 * q + 1: 1} for q in range(30)]
    x, y, g = training_rows(lists, labels)
    back = fit_reranker(
        x, y, g, times=g.astype(float), current=in_use.reranker, min_positives=20, min_queries=10
    )
    assert (back.adopted, back.reranker) == (True, None)
    assert back.reason.endswith("back to the engine's order")


def test_times_decide_what_is_held_out() -> None:
    lists, labels = lists_where_interests_decide(30)
    x, y, g = training_rows(lists, labels)
    # the newest lists by time are the first ten: the engine ranks them perfectly there
    for q in range(10):
        rows = np.flatnonzero(g == q)
        y[rows] = 0
        y[rows[:2]] = 1
    times = np.where(g < 10, 2.0, 1.0)
    report = fit_reranker(x, y, g, times=times, min_positives=20, min_queries=10)
    assert report.holdout_queries == 9
    assert report.holdout_engine == pytest.approx(1.0)
    assert report.adopted is False


def test_a_stored_reranker_reads_back_and_refuses_other_features() -> None:
    lists, labels = lists_where_interests_decide(10)
    x, y, _ = training_rows(lists, labels)
    reranker = Reranker(new_model(len(y)).fit(x, y), top_n=50, blend=0.5)
    back = Reranker.loads(reranker.dumps())
    assert back is not None
    assert (back.top_n, back.blend) == (50, 0.5)
    assert back.scores(x).tolist() == reranker.scores(x).tolist()
    other = Reranker(reranker.model, features=("a", "b"))
    assert Reranker.loads(other.dumps()) is None
    # beyond top_n the engine's order stays
    long = ranked(list(range(60)), {55})
    assert [m.target_id for m in back.rerank(long)][50:] == list(range(50, 60))


def test_known_partners_keep_their_places() -> None:
    lists, labels = lists_where_interests_decide(10)
    x, y, _ = training_rows(lists, labels)
    reranker = Reranker(new_model(len(y)).fit(x, y))
    plain = ranked([1, 2, 3, 4, 5, 6], {5, 6})
    # 2 and 4 are known partners of the asking organisation: places 2 and 4 stay theirs
    for k in (1, 3):
        plain[k] = Match(
            target_id=plain[k].target_id,
            score=plain[k].score,
            relation="complementary",
            components={**plain[k].components, "known_partner": 1.0},
        )
    order = [m.target_id for m in reranker.rerank(plain)]
    assert order[1] == 2 and order[3] == 4
    assert set(order[0:1] + order[2:3]) == {5, 6}
    assert order[4:] == [1, 3]


def test_a_reranker_fitted_with_known_partners_moves_them_too() -> None:
    lists, labels = lists_where_interests_decide(10)
    x, y, _ = training_rows(lists, labels)
    reranker = Reranker(new_model(len(y)).fit(x, y), keep_known=False)
    plain = ranked([1, 2, 3], {3})
    plain[0] = Match(
        target_id=1,
        score=plain[0].score,
        relation="complementary",
        components={**plain[0].components, "known_partner": 1.0},
    )
    assert reranker.rerank(plain)[0].target_id == 3
    back = Reranker.loads(reranker.dumps())
    assert back is not None and back.keep_known is False


class _RunsCode:
    """A pickle that would run code when loaded: what a crafted `ranking_fits` row could hold."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("loaded",))


def test_a_stored_blob_is_never_unpickled(capsys: pytest.CaptureFixture[str]) -> None:
    # an old-format (pickled) re-ranker, and a pickle that runs code: both refused, nothing runs
    assert Reranker.loads(pickle.dumps({"format": 1, "model": _RunsCode()})) is None
    assert capsys.readouterr().out == ""


def test_a_stored_reranker_with_an_untrusted_type_is_refused() -> None:
    lists, labels = lists_where_interests_decide(10)
    x, y, _ = training_rows(lists, labels)
    model = new_model(len(y)).fit(x, y)
    blob = skops.io.dumps(
        {
            "format": FORMAT_VERSION,
            "sklearn": sklearn.__version__,
            "features": list(FEATURES),
            "top_n": 100,
            "blend": 1.0,
            "keep_known": True,
            # a type outside the trusted list, where the model should be
            "model": Fraction(1, 3),
        }
    )
    assert skops.io.get_untrusted_types(data=blob) == ["fractions.Fraction"]
    assert Reranker.loads(blob) is None
    # the same dictionary with the model loads
    good = Reranker(model).dumps()
    assert Reranker.loads(good) is not None


def test_a_cooperation_recorded_from_both_sides_is_not_learned_from_its_own_check() -> None:
    # Lists 0-20 (older) each chose two of the organisations 21-29, whose lists (newest, held
    # out) chose them back: the same cooperations, recorded from both sides.
    chosen = {t: {21 + t % 9, 21 + (t + 3) % 9} for t in range(21)}
    lists: list[tuple[int, list[Match]]] = []
    labels: list[dict[int, int]] = []
    for t in range(21):
        ids = [1000 * t + k for k in range(10)]
        ids[5], ids[8] = sorted(chosen[t])
        lists.append((t, ranked(ids, chosen[t])))
        labels.append(dict.fromkeys(chosen[t], 1))
    for h in range(21, 30):
        back = [t for t in range(21) if h in chosen[t]]
        ids = [1000 * h + k for k in range(10 - len(back))] + back
        lists.append((h, ranked(ids, set(back))))
        labels.append(dict.fromkeys(back, 1))
    x, y, g = training_rows(lists, labels)
    pairs = training_pairs(lists, labels)
    assert pairs.shape == (300, 2)
    assert pairs[:10].tolist() == [[0, t] for t in (0, 1, 2, 3, 4, 21, 6, 7, 24, 9)]
    times = np.where(g >= 21, 2.0, 1.0)
    # without the pairs the check rewards having seen the same cooperations
    leaky = fit_reranker(x, y, g, times=times, min_positives=20, min_queries=10)
    assert leaky.adopted is True
    assert leaky.holdout_fitted == pytest.approx(1.0)
    honest = fit_reranker(x, y, g, times=times, min_positives=20, min_queries=10, pairs=pairs)
    assert (honest.adopted, honest.reranker, honest.holdout_queries) == (False, None, 9)
    assert honest.reason == (
        "nothing to learn from: every positive of the training lists is a cooperation the "
        "held-out lists also record"
    )
