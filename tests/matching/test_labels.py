from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from benchmarks.labels import demo_corpus
from matching import labels as labels_module
from matching.labels import LabelGroup, fold, group_labels, string_similarity


def _unit(rows: list[list[float]]) -> np.ndarray:
    x = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def _named(labels: list[str], groups: list[LabelGroup]) -> list[tuple[str, list[str]]]:
    return [(labels[g.canonical], [labels[m.index] for m in g.members]) for g in groups]


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("Kunststoff-Spritzgießen ", "kunststoff spritzgiessen"),
        ("  CNC–Fräsen/Drehen ", "cnc fraesen drehen"),
        ("Größenmessung", "groessenmessung"),
        ("Café_Übersetzung", "cafe uebersetzung"),
        ("INJECTION   Moulding!", "injection moulding"),
        ("---", ""),
    ],
)
def test_fold(label: str, key: str) -> None:
    assert fold(label) == key


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("spritzguss", "spritzguss", 1.0),
        ("cnc fraesen", "cncfraesen", 1.0),
        # a compound and its head word
        ("kunststoff spritzguss", "spritzguss", 0.95),
        ("kunststoffspritzguss", "spritzguss", 0.95),
        ("plastic injection moulding", "injection moulding", 0.95),
        # the same stem with another ending: Indel ratio 18/23
        ("spritzguss", "spritzgiessen", 0.7826),
        # head words spritzguss/spritzgiessen, x 0.95
        ("kunststoff spritzguss", "spritzgiessen", 0.7435),
        ("kunststoffspritzguss", "spritzgiessen", 0.7435),
        # the same head word only: nothing
        ("sensortechnik", "lasertechnik", 0.0),
        ("cnc fraesen", "cnc drehen", 0.0),
        # the modifier is no kind of the compound
        ("kunststoff", "kunststoff spritzguss", 0.0),
        ("praezisionsfraesen", "praezisionssensorik", 0.0),
        ("lasertechnik", "lasertechnologie", 0.7857),
        ("", "spritzguss", 0.0),
        # a phrase about a thing is no kind of it
        ("schnittstellen zu kalkulationssoftware", "kalkulationssoftware", 0.0),
        ("sea and road freight", "sea freight", 0.0),
        ("lehrlingsausbildung im verbund", "ausbildung im verbund", 0.95),
    ],
)
def test_string_similarity(a: str, b: str, expected: float) -> None:
    assert round(string_similarity(a, b), 4) == expected
    assert round(string_similarity(b, a), 4) == expected


LABELS = [
    "Spritzguss",  # 0
    "Kunststoff-Spritzguss",  # 1
    "Spritzgießen",  # 2
    "Lasertechnik",  # 3
    "Sensortechnik",  # 4
    "Kunststoff",  # 5
    "CNC-Fräsen",  # 6
    "CNC Fräsen",  # 7
    "CNC-Drehen",  # 8
    "injection moulding",  # 9
]
COUNTS = [3, 1, 1, 2, 1, 4, 1, 2, 5, 1]


def test_groups_by_spelling_only() -> None:
    groups = group_labels(LABELS, COUNTS, None, threshold=0.75)

    # members: canonical first, then by count, shorter, alphabetical
    assert _named(LABELS, groups) == [
        ("Spritzguss", ["Spritzguss", "Spritzgießen", "Kunststoff-Spritzguss"]),
        ("CNC Fräsen", ["CNC Fräsen", "CNC-Fräsen"]),
    ]
    spritzguss = groups[0]
    assert spritzguss.total_count == 5
    assert [
        (m.count, m.similarity, m.string_similarity, m.embedding_similarity, m.confidence)
        for m in spritzguss.members
    ] == [
        (3, 1.0, 1.0, None, round((0.95 + 0.782609) / 2, 4)),
        (1, 0.7826, 0.7826, None, round((0.782609 + 0.743478) / 2, 4)),
        (1, 0.95, 0.95, None, round((0.95 + 0.743478) / 2, 4)),
    ]


def test_embeddings_join_labels_across_languages() -> None:
    # the injection-moulding labels share a direction (cosine 1 / 1.09 = 0.9174 between
    # any two of them); every other label has its own
    rows = [[0.0] * 11 for _ in LABELS]
    for i in range(len(LABELS)):
        rows[i][i] = 1.0
        if i in (0, 1, 2, 9):
            rows[i][i] = 0.3
            rows[i][10] = 1.0
    groups = group_labels(LABELS, COUNTS, _unit(rows), threshold=0.75)

    assert _named(LABELS, groups) == [
        (
            "Spritzguss",
            ["Spritzguss", "Spritzgießen", "injection moulding", "Kunststoff-Spritzguss"],
        ),
        ("CNC Fräsen", ["CNC Fräsen", "CNC-Fräsen"]),
    ]
    moulding = groups[0].members[2]
    assert (moulding.similarity, moulding.string_similarity, moulding.embedding_similarity) == (
        0.9174,
        0.0,
        0.9174,
    )
    assert moulding.confidence == 0.9174
    assert groups[0].members[0].embedding_similarity == 1.0
    # the spelling is the stronger signal where it is the larger one
    assert groups[0].members[3].similarity == 0.95


def test_average_linkage_does_not_glue_a_chain() -> None:
    # A~B and B~C at 0.8, A and C orthogonal: connected components would join all three
    labels = ["Alpha", "Beta", "Gamma"]
    vectors = _unit([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.8 * 0.8, 0.6 * 0.8, 0.6]])
    assert round(float(vectors[0] @ vectors[1]), 4) == 0.8
    assert round(float(vectors[1] @ vectors[2]), 4) == 0.8
    assert round(float(vectors[0] @ vectors[2]), 4) == 0.64
    groups = group_labels(labels, [1, 3, 2], vectors, threshold=0.75)
    # B-C and A-B tie at 0.8; the mean of A-C and A-B (0.72) stays below the cut
    assert len(groups) == 1
    assert sorted(labels[m.index] for m in groups[0].members) in (
        ["Alpha", "Beta"],
        ["Beta", "Gamma"],
    )
    assert labels[groups[0].canonical] == "Beta"
    assert group_labels(labels, [1, 3, 2], vectors, threshold=0.7) != []
    assert [len(g.members) for g in group_labels(labels, [1, 3, 2], vectors, threshold=0.7)] == [3]


def test_labels_without_a_vector_use_spelling() -> None:
    labels = ["Spritzguss", "Kunststoffspritzguss"]
    groups = group_labels(labels, [1, 1], _unit([[1.0, 0.0], [0.0, 0.0]]), threshold=0.75)
    assert _named(labels, groups) == [("Spritzguss", ["Spritzguss", "Kunststoffspritzguss"])]
    member = groups[0].members[1]
    assert (member.similarity, member.string_similarity, member.embedding_similarity) == (
        0.95,
        0.95,
        None,
    )
    # a missing vector is no evidence: with a third label that only the vectors join, the
    # label without one is on average too far from the group (0.95 and 0 -> 0.475)
    labels.append("Molding")
    vectors = _unit([[1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    groups = group_labels(labels, [1, 1, 1], vectors, threshold=0.75)
    assert _named(labels, groups) == [("Molding", ["Molding", "Spritzguss"])]


def test_canonical_ties_go_to_the_shorter_then_alphabetical() -> None:
    labels = ["CNC-Fräsen", "CNC Fräsen", "cnc fräsen", "CNC  Fräsen"]
    groups = group_labels(labels, [2, 2, 2, 1], None)
    assert _named(labels, groups) == [
        ("CNC Fräsen", ["CNC Fräsen", "CNC-Fräsen", "cnc fräsen", "CNC  Fräsen"])
    ]


def test_min_group_and_threshold() -> None:
    assert _named(LABELS, group_labels(LABELS, COUNTS, None, threshold=0.9, min_group=3)) == []
    assert _named(LABELS, group_labels(LABELS, COUNTS, None, threshold=0.9)) == [
        ("Spritzguss", ["Spritzguss", "Kunststoff-Spritzguss"]),
        ("CNC Fräsen", ["CNC Fräsen", "CNC-Fräsen"]),
    ]


def test_input_errors_and_trivial_inputs() -> None:
    with pytest.raises(ValueError, match="2 labels but 1 counts"):
        group_labels(["a", "b"], [1], None)
    with pytest.raises(ValueError, match=r"embeddings must be \(2, d\)"):
        group_labels(["a", "b"], [1, 1], np.zeros((3, 4), dtype=np.float32))
    assert group_labels([], [], None) == []
    assert group_labels(["Spritzguss"], [4], None) == []
    assert group_labels(["-", "?"], [1, 1], None) == []


def test_neighbour_blocking_finds_what_all_pairs_find() -> None:
    """With few neighbours, the groups equal those found when every pair is a candidate."""
    rng = np.random.default_rng(7)
    stems = ["spritzguss", "lasertechnik", "fraesen", "sensorik", "montage", "beschichtung"]
    prefixes = ["", "kunststoff", "cnc ", "metall", "präzisions-", "auftrags"]
    labels = sorted({f"{p}{s}" for p in prefixes for s in stems})
    counts = rng.integers(1, 9, size=len(labels)).tolist()
    centres = _unit(rng.normal(size=(len(stems), 16)).tolist())
    vectors = _unit(
        [
            (
                centres[next(k for k, s in enumerate(stems) if label.endswith(s))]
                + rng.normal(scale=0.35, size=16)
            ).tolist()
            for label in labels
        ]
    )
    blocked = group_labels(labels, counts, vectors, threshold=0.75, neighbours=5)
    brute = group_labels(labels, counts, vectors, threshold=0.75, neighbours=len(labels))
    assert _named(labels, blocked) == _named(labels, brute)
    assert [len(g.members) for g in blocked] == [3, 3, 2, 2, 3, 2]


def _per_pair(self: labels_module._Pairs, pairs: list[tuple[int, int]]) -> np.ndarray:
    """The pair scoring as it was: one `combined` call per candidate pair."""
    return np.asarray([self.combined(i, j) for i, j in pairs], dtype=np.float64)


def test_batch_scoring_gives_the_groups_of_per_pair_scoring(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On the demo data's 1,052 labels (hashed vectors, mostly zeros: the sparse neighbour
    search), the groups equal those of dense neighbours and one pair at a time."""
    labels, counts, vectors = demo_corpus("hashing")
    assert len(labels) == 1052
    assert np.count_nonzero(vectors) < labels_module._SPARSE_SHARE * vectors.size
    batch = [dataclasses.astuple(g) for g in group_labels(labels, counts, vectors)]
    with monkeypatch.context() as patch:
        patch.setattr(labels_module, "_SPARSE_SHARE", 0.0)  # dense products
        patch.setattr(labels_module._Pairs, "combined_many", _per_pair)
        per_pair = [dataclasses.astuple(g) for g in group_labels(labels, counts, vectors)]
    assert len(batch) == 34
    assert batch == per_pair
    # and every pair value equals its scalar one exactly
    pairs = labels_module._Pairs([fold(x) for x in labels], vectors, vectors.any(axis=1))
    sample = [(i, j) for i in range(0, 1052, 97) for j in range(i + 1, 1052, 89)]
    scalar = [pairs.combined(i, j) for i, j in sample]
    assert pairs.combined_many(sample).tolist() == scalar
