"""Identity evidence (matching.identity) against a brute-force oracle on small arrays."""

from __future__ import annotations

import numpy as np

from matching.identity import identity_evidence, title_matrix


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_title_matrix_pads_with_minus_one() -> None:
    assert title_matrix([[2, 0], [], [1]]).tolist() == [[2, 0], [-1, -1], [1, -1]]
    assert title_matrix([]).shape == (0, 1)


def test_best_title_floor_and_strength_match_a_brute_force_oracle() -> None:
    rng = np.random.default_rng(7)
    needs = _unit(rng.normal(size=(2, 8)))
    titles = _unit(rng.normal(size=(6, 8)))
    per_firm = [[0, 3], [], [5], [1, 2, 4], [3]]
    floors = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
    found = identity_evidence(needs, titles, title_matrix(per_firm), floors)
    for i, own in enumerate(per_firm):
        if not own:
            assert (found.best_cosine[i], found.title[i], found.passed[i]) == (-1.0, -1, False)
            assert found.strength[i] == 0.0
            continue
        pairs = [(float(needs[q] @ titles[t]), t) for q in range(2) for t in own]
        best, title = max(pairs)
        floor = floors[min(2 * len(own), len(floors)) - 1]
        assert found.title[i] == title
        assert np.isclose(found.best_cosine[i], best, atol=1e-6)
        assert found.floor[i] == floor
        assert found.passed[i] == (best >= floor)
        assert np.isclose(found.strength[i], min(max((best - floor) / (1 - floor), 0.0), 1.0))


def test_an_identical_title_passes_and_an_orthogonal_one_does_not() -> None:
    need = np.array([[1.0, 0.0, 0.0]], dtype=np.float32)
    titles = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32)
    found = identity_evidence(need, titles, title_matrix([[0], [1], [1, 0]]), (0.5, 0.6))
    assert found.passed.tolist() == [True, False, True]
    assert found.title.tolist() == [0, 1, 0]
    assert found.floor.tolist() == [0.5, 0.5, 0.6]
    assert found.strength.tolist() == [1.0, 0.0, 1.0]


def test_no_titles_or_no_floors_give_no_evidence() -> None:
    need = np.ones((1, 3), dtype=np.float32) / np.sqrt(3)
    empty = identity_evidence(need, np.zeros((0, 3), np.float32), title_matrix([[], []]), (0.5,))
    assert empty.passed.tolist() == [False, False]
    assert empty.best_cosine.tolist() == [-1.0, -1.0]
    none = identity_evidence(need, need, title_matrix([[0]]), ())
    assert none.passed.tolist() == [False]
