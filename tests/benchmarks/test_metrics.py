import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from benchmarks.cordis import (
    TEST_START,
    CordisData,
    Query,
    build_profiles,
    build_task,
    engine_filters,
    evaluate,
    ndcg_at_k,
    past_partner_scorer,
    popularity_scorer,
    rank_by_scores,
    recall_at_k,
    reciprocal_rank,
)
from matching.types import Filters

# --- metrics on hand cases ----------------------------------------------------------------


def test_recall_counts_positives_in_the_first_k() -> None:
    assert recall_at_k([5, 3, 9, 1], {3, 1}, k=2) == 0.5
    assert recall_at_k([5, 3, 9, 1], {3, 1}, k=4) == 1.0
    assert recall_at_k([1, 2, 3], {1, 2, 3}, k=2) == pytest.approx(2 / 3)
    assert recall_at_k([5, 9], {3}, k=10) == 0.0


def test_reciprocal_rank_uses_the_first_positive() -> None:
    assert reciprocal_rank([5, 3, 9, 1], {3, 1}) == 0.5
    assert reciprocal_rank([1, 3], {3, 1}) == 1.0
    assert reciprocal_rank([5, 9, 8, 7, 1], {1}) == 0.2
    assert reciprocal_rank([5, 9], {1}) == 0.0


def test_ndcg_against_hand_computed_values() -> None:
    # One hit at rank 2 of 2; ideal: hits at ranks 1 and 2.
    assert ndcg_at_k([5, 3, 9, 1], {3, 1}, k=2) == pytest.approx(
        (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    )
    assert ndcg_at_k([5, 3, 9, 1], {3, 1}, k=4) == pytest.approx(
        (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    )
    # More positives than k: a full top k is perfect.
    assert ndcg_at_k([1, 2, 3], {1, 2, 3}, k=2) == 1.0
    assert ndcg_at_k([7, 8], {1}, k=2) == 0.0


def test_empty_positives_are_an_error() -> None:
    with pytest.raises(ValueError):
        recall_at_k([1], set())
    with pytest.raises(ValueError):
        ndcg_at_k([1], set())


def test_evaluate_averages_over_queries() -> None:
    queries = [Query(10, 1, frozenset({3, 1})), Query(11, 1, frozenset({7}))]
    scores = evaluate([[5, 3, 9, 1], [7, 5]], queries, k=2)
    assert scores.n == 2
    assert scores.recall == pytest.approx((0.5 + 1.0) / 2)
    assert scores.mrr == pytest.approx((0.5 + 1.0) / 2)
    assert scores.ndcg == pytest.approx(((1 / math.log2(3)) / (1 + 1 / math.log2(3)) + 1.0) / 2)


# --- the split on a hand-made miniature of the data ----------------------------------------


def _mini() -> CordisData:
    projects = pd.DataFrame(
        {
            "projectID": [1, 2, 3, 4],
            "title": ["Alpha chips", "Beta sensors", "Gamma radar", "Delta power"],
            "startDate": ["2017-03-01", "2018-06-01", "2019-02-01", "2020-01-01"],
            "topics": ["ECSEL-2016-1", "ECSEL-2017-1", "ECSEL-2018-1", "ECSEL-2019-1"],
            "objective": ["chips", "sensors", "radar", "power"],
        }
    )
    rows = [
        (1, 1, "PRC"), (1, 2, "HES"), (1, 3, "PRC"), (1, 7, "PRC"),
        (2, 1, "PRC"), (2, 4, "REC"),
        (3, 1, "PRC"), (3, 2, "HES"), (3, 4, "REC"), (3, 5, "PRC"), (3, 7, "PRC"),
        (4, 3, "PRC"), (4, 6, "PRC"),
    ]  # fmt: skip
    participants = pd.DataFrame(
        {
            "projectID": [r[0] for r in rows],
            "organisationID": [r[1] for r in rows],
            "activityType": [r[2] for r in rows],
            "name": [f"org {r[1]}" for r in rows],
            "country": ["DE"] * len(rows),
        }
    )
    h2020 = pd.DataFrame(
        {
            "rcn": [100, 100, 100, 200, 200],
            "pic": [3, 4, 99, 1, 2],
            "type": ["PRC", "REC", "PRC", "PRC", "HES"],
            "start_date": ["2016-05-01"] * 3 + ["2019-05-01"] * 2,
        }
    )
    return CordisData(projects=projects, participants=participants, h2020=h2020)


def test_split_builds_exact_queries() -> None:
    task = build_task(_mini())
    assert task.org_ids.tolist() == [1, 2, 3, 4, 7]
    # Project 3 has four members with history; project 4 only one, so it asks nothing.
    assert [(q.org_id, q.project_id, sorted(q.positives)) for q in task.plain] == [
        (1, 3, [2, 4, 7]),
        (2, 3, [1, 4, 7]),
        (4, 3, [1, 2, 7]),
        (7, 3, [1, 2, 4]),
    ]
    # Companies only; org 1 already worked with all its partners, org 7 meets org 4 anew.
    assert task.novel == [Query(7, 3, frozenset({4}), removed=frozenset({1, 2, 3}))]
    assert task.n_projects == {1: 2, 2: 1, 3: 1, 4: 1, 7: 1}
    assert dict(task.copartners[1]) == {2: 1, 3: 1, 4: 1, 7: 1}
    assert task.texts[4] == "Beta sensors. ECSEL-2017-1 sensors"


def test_h2020_history_stops_at_the_cutoff() -> None:
    task = build_task(_mini())
    assert task.h2020_projects == {3: 1, 4: 1, 99: 1}
    assert task.h2020_copartners == {3: frozenset({4}), 4: frozenset({3})}


def test_inner_split_never_reads_later_projects() -> None:
    task = build_task(
        _mini(), history_end="2018-01-01", query_start="2018-01-01", query_end="2019-01-01"
    )
    assert task.org_ids.tolist() == [1, 2, 3, 7]
    assert task.plain == []  # project 2 has one member with history
    assert "Gamma" not in " ".join(task.texts.values())


def test_baseline_rankings_drop_query_and_removed_candidates() -> None:
    task = build_task(_mini())
    assert popularity_scorer(task)(7).tolist() == [2.0, 1.0, 1.0, 1.0, 1.0]
    novel = rank_by_scores(task, popularity_scorer(task), task.novel)
    assert novel == [[4]]
    plain = rank_by_scores(task, past_partner_scorer(task), [task.plain[3]])
    # Org 7 shared one project with 1, 2 and 3; org 1 is the most popular of them; 4 is last.
    assert plain[0][0] == 1
    assert sorted(plain[0][1:3]) == [2, 3]
    assert plain[0][3] == 4
    assert np.array_equal(past_partner_scorer(task)(7) > 1, np.array([1, 1, 1, 0, 0], bool))


# --- engine inputs ------------------------------------------------------------------------


def _unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_profiles_come_from_history_projects_and_networks() -> None:
    data = _mini()
    task = build_task(data)
    vecs = {1: _unit(1, 0, 0), 2: _unit(0, 1, 0)}  # history projects only
    ecsel = build_profiles(data, task, vecs, history_end=TEST_START, network="ecsel")
    wide = build_profiles(data, task, vecs, history_end=TEST_START, network="h2020")
    assert sorted(ecsel) == [1, 2, 3, 4, 7]
    one = ecsel[1]
    assert [(c.id, c.kind, c.label) for c in one.competences] == [
        (1000, "core", "Alpha chips"),
        (1001, "core", "Beta sensors"),
    ]
    np.testing.assert_allclose(one.profile_vector, _unit(1, 1, 0), atol=1e-6)
    assert one.known_partner_ids == frozenset({2, 3, 4, 7})
    # The H2020 table adds org 4 to org 3's partners (a 2016 project), nothing from 2019.
    assert ecsel[3].known_partner_ids == frozenset({1, 2, 7})
    assert wide[3].known_partner_ids == frozenset({1, 2, 4, 7})
    assert wide[1].known_partner_ids == frozenset({2, 3, 4, 7})


def test_engine_filters_follow_the_task() -> None:
    data = _mini()
    task = build_task(data)
    vecs = {1: _unit(1, 0, 0), 2: _unit(0, 1, 0)}
    ecsel = build_profiles(data, task, vecs, history_end=TEST_START, network="ecsel")
    wide = build_profiles(data, task, vecs, history_end=TEST_START, network="h2020")
    q = task.novel[0]
    assert engine_filters(q, ecsel[7], "plain") == Filters(exclude_known=False)
    # Known partners are exactly the task's removals: the engine's own filter does it.
    assert engine_filters(q, ecsel[7], "novel") == Filters(exclude_known=True)
    wider = replace(wide[7], known_partner_ids=frozenset({1, 2, 3, 99}))
    assert engine_filters(q, wider, "novel") == Filters(
        exclude_known=False, exclude_ids=frozenset({1, 2, 3})
    )
