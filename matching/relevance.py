"""Relevance floor of a typed search: when is a found organisation only a weak match?

A typed need is compared with every candidate's core competences. A search always ranks
someone first, even when nobody offers what was asked for; the floor tells such results apart.
A result is *weak* when

    best cosine(need, core) < floor   and   less than half of the need's words (IDF-weighted)
                                          occur in one core label,

over all typed needs and all of the candidate's core competences (a candidate without stated
cores offers its description vector instead, as everywhere in the engine).

The floor is a property of the encoder, not of a query: the 0.95 quantile of the cosines of
unrelated phrase pairs (phrasings of different concepts, German and English) in the phrase bank
of `benchmarks.labelled`, measured by `python -m benchmarks.encoders --floors`
(`benchmarks.encoders.unrelated_floor`). A need no closer to any core than one in twenty
unrelated phrase pairs counts as unanswered. Since the best of a firm's several cores (and of
several typed needs) is taken, a search uses the firm-level floors of FIRM_FLOORS where the
encoder has them: the floor for the number of (need, core) pairs compared, and a stricter one
(WORDLESS_FLOORS) for a candidate whose core labels share no word with the need. The price: a quarter of the cross-language
paraphrase pairs (25.2% for use-multilingual-v3) also lie below it, so a weak result is marked,
not hidden, unless the caller asks for that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matching.types import Match

# Encoder name (as recorded with stored vectors) -> relevance floor: the 0.95 quantile of the
# cosines of 63,720 unrelated pairs (60 concepts x 6 phrasings), measured 2026-11-26. Related
# cross-language pairs below it: use-multilingual-v3 25.2%, all-MiniLM-L6-v2 77.4%,
# hashing 77.6% (the last two barely match across languages at all).
RELEVANCE_FLOORS: dict[str, float] = {
    "use-multilingual-v3": 0.311,
    "all-MiniLM-L6-v2": 0.328,
    # Character n-gram hashing has no sense of meaning; its floor only says "fewer shared
    # n-grams than one in twenty unrelated pairs". Words in common are caught by the lexical
    # test anyway.
    "hashing-char-v1-1536-512": 0.150,
    # e5 puts every pair high (unrelated pairs 0.80 on average), so its floor sits high too;
    # measured 2026-12-07 on the same 63,720 pairs; related cross-language pairs below: 47.8%
    "multilingual-e5-small-q4": 0.844,
}
RELEVANCE_QUANTILE = 0.95

# Encoder name -> firm-level floors: entry c - 1 is the floor for a best cosine taken over c
# (need, core) pairs. The best of c unrelated pairs exceeds the 0.95 quantile of one pair far
# more often than one time in twenty (for a firm with four cores, one time in five; for the
# best firm of a corpus, almost always), so the floor for c pairs is the 0.95 ** (1 / c)
# quantile of the same unrelated pairs: the best of c unrelated pairs lies above it one time
# in twenty. Measured like RELEVANCE_FLOORS (63,720 unrelated pairs), 2026-12-06. The price
# grows with c: related cross-language pairs below the floor, use-multilingual-v3: 25% (1
# pair), 34% (2), 39% (3), 44% (4), 52% (8); a word of the need in a core label still makes a
# result relevant.
FIRM_FLOORS: dict[str, tuple[float, ...]] = {
    "use-multilingual-v3": (0.311, 0.359, 0.389, 0.411, 0.426, 0.440, 0.448, 0.458),
    "all-MiniLM-L6-v2": (0.328, 0.373, 0.399, 0.414, 0.427, 0.437, 0.448, 0.456),
    "hashing-char-v1-1536-512": (0.150, 0.189, 0.209, 0.225, 0.241, 0.253, 0.268, 0.281),
    "multilingual-e5-small-q4": (0.844, 0.853, 0.858, 0.862, 0.865, 0.867, 0.869, 0.871),
}
# Encoder name -> firm-level floors for a candidate whose core labels share no word with any
# typed need: entry c - 1 is the 0.99 ** (1 / c) quantile of the same unrelated pairs (the best
# of c unrelated pairs lies above it one time in a hundred). With the 0.95 floors alone, a
# corpus of 170 firms offers about eight unrelated firms above the floor to every search, and
# a search that nothing answers ("nuclear reactor decommissioning services") came first with
# one of them; without a shared word, the stricter floor decides. Measured 2026-12-06 with
# `benchmarks.encoders.unrelated_floor` (63,720 unrelated pairs). The price, judged searches
# over the demo data (`benchmarks/results/judged.md`): relevant firms among the first 10
# flagged weak 24 -> 43 of 169.
WORDLESS_FLOORS: dict[str, tuple[float, ...]] = {
    "use-multilingual-v3": (0.428, 0.475, 0.502, 0.523, 0.536, 0.550, 0.560, 0.572),
    # measured 2026-12-07 the same way
    "multilingual-e5-small-q4": (0.865, 0.875, 0.880, 0.884, 0.887, 0.889, 0.891, 0.893),
}
# A result whose core labels hold at least this IDF-weighted share of a need's words is
# relevant whatever its cosine ("OPC UA" in "OPC UA and MQTT integration"); one generic
# word ("Herstellung" in "Bergkäse-Herstellung") is not enough.
LEXICAL_SHARE = 0.5


def relevance_floor(encoder_name: str) -> float | None:
    """The floor recorded for an encoder, or None when it was never measured.

    Names are matched exactly: a hashing encoder with other widths, a hybrid, another
    sentence-transformers model or a local path has other cosines. None makes the matcher
    fall back to its own similarity floor, learned at `fit` from random competence pairs of
    the fitted profiles (`Weights.similarity_floor`): a weak result is then one that no core
    competence covers at all.
    """
    return RELEVANCE_FLOORS.get(encoder_name)


def firm_floors(encoder_name: str) -> tuple[float, ...] | None:
    """The firm-level floors recorded for an encoder (see FIRM_FLOORS), or None."""
    return FIRM_FLOORS.get(encoder_name)


def wordless_floors(encoder_name: str) -> tuple[float, ...] | None:
    """The firm-level floors for candidates sharing no word with the need (WORDLESS_FLOORS)."""
    return WORDLESS_FLOORS.get(encoder_name)


def weak_mask(
    best_cosine: np.ndarray,
    lexical: np.ndarray,
    floor: float | np.ndarray,
    wordless_floor: float | np.ndarray | None = None,
) -> np.ndarray:
    """(n,) bool: best need-core cosine (n,) below `floor` (a number or (n,)) and less than
    LEXICAL_SHARE of a need's words in one core label (lexical (n,)); with `wordless_floor`,
    a candidate that shares no word at all (lexical 0) must reach that floor instead."""
    best = np.asarray(best_cosine)
    lex = np.asarray(lexical)
    weak = (best < floor) & (lex < LEXICAL_SHARE)
    if wordless_floor is not None:
        weak |= (lex <= 0) & (best < wordless_floor)
    return weak


@dataclass(frozen=True, slots=True)
class SearchMatch(Match):
    """A typed-search result: a `Match` plus how relevant its core is to the typed needs.

    best_cosine : highest cosine between a typed need and one of the candidate's core
        competences (its description when it states none).
    lexical : highest IDF-weighted share of a need's words found in one core label (0 = none).
    weak : `weak_mask` of the two against the floor the search used.
    """

    best_cosine: float = 0.0
    lexical: float = 0.0
    weak: bool = False
