"""Relevance floor of a typed search: when is a found organisation only a weak match?

A typed need is compared with every candidate's core competences. A search always ranks
someone first, even when nobody offers what was asked for; the floor tells such results apart.
A result is *weak* when

    best cosine(need, core) < floor   and   no word of the need occurs in a core label,

over all typed needs and all of the candidate's core competences (a candidate without stated
cores offers its description vector instead, as everywhere in the engine).

The floor is a property of the encoder, not of a query: the 0.95 quantile of the cosines of
unrelated phrase pairs (phrasings of different concepts, German and English) in the phrase bank
of `benchmarks.labelled`, measured by `python -m benchmarks.encoders --floors`
(`benchmarks.encoders.unrelated_floor`). A need no closer to any core than one in twenty
unrelated phrase pairs counts as unanswered. The price: a quarter of the cross-language
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
}
RELEVANCE_QUANTILE = 0.95


def relevance_floor(encoder_name: str) -> float | None:
    """The floor recorded for an encoder, or None when it was never measured.

    Names are matched exactly: a hashing encoder with other widths, a hybrid, another
    sentence-transformers model or a local path has other cosines. None makes the matcher
    fall back to its own similarity floor, learned at `fit` from random competence pairs of
    the fitted profiles (`Weights.similarity_floor`): a weak result is then one that no core
    competence covers at all.
    """
    return RELEVANCE_FLOORS.get(encoder_name)


def weak_mask(best_cosine: np.ndarray, lexical: np.ndarray, floor: float) -> np.ndarray:
    """(n,) bool: best need-core cosine (n,) below `floor` and no shared word (lexical (n,) == 0)."""
    return (np.asarray(best_cosine) < floor) & (np.asarray(lexical) <= 0.0)


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
