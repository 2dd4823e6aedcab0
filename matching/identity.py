"""What a firm *is*, as a second source of evidence for a typed search.

A search for a kind of organisation ("Lebensmittelhersteller", "research institutes for joint
projects", "Bauunternehmen") names what a firm is. Core competences name activities
("Bergkäse-Herstellung", "Bauausführung nach BIM-Modell"); what a firm is lives in its NACE
code. Each firm's identity texts are the titles of its NACE class, group and division in
English and of its division in German (the caller supplies them: the engine knows no code
list). A typed need is compared with them, and the best cosine is held to a floor of its
own, calibrated as the core evidence is (`matching.relevance`): the quantile of unrelated
phrase-pair cosines for the number of (need, title) pairs compared, so that an unrelated
search clears it for about one firm in a hundred.

Arrays in, arrays out: the title vectors are encoded once per encoder by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class IdentityEvidence:
    """Per firm (n,): how near a typed need comes to what the firm is.

    best_cosine : best cosine of a typed need with one of the firm's identity titles (-1
        without a title).
    title : index of that title in the caller's title list (-1 without one).
    floor : the floor for the number of (need, title) pairs compared.
    passed : best_cosine reaches the floor.
    strength : (best_cosine - floor) / (1 - floor), clipped to [0, 1].
    """

    best_cosine: np.ndarray
    title: np.ndarray
    floor: np.ndarray
    passed: np.ndarray
    strength: np.ndarray


def title_matrix(titles: Sequence[Sequence[int]]) -> np.ndarray:
    """(n, k) int: each firm's title indices, padded with -1 to the longest list."""
    k = max((len(t) for t in titles), default=0)
    out = np.full((len(titles), max(k, 1)), -1, dtype=np.int64)
    for i, row in enumerate(titles):
        out[i, : len(row)] = row
    return out


def identity_evidence(
    need_vectors: np.ndarray,
    title_vectors: np.ndarray,
    firm_titles: np.ndarray,
    floors: Sequence[float],
) -> IdentityEvidence:
    """Identity evidence for n firms.

    need_vectors : (q, d) unit rows, the typed needs.
    title_vectors : (t, d) unit rows, the distinct identity titles.
    firm_titles : (n, k) int, each firm's title indices into `title_vectors`, -1 = none.
    floors : entry c - 1 is the floor for a best cosine taken over c pairs; the last entry
        serves any larger c.
    """
    needs = np.atleast_2d(np.asarray(need_vectors, dtype=np.float32))
    n = len(firm_titles)
    if not len(title_vectors) or not len(needs) or not n or not len(floors):
        empty = np.zeros(n)
        return IdentityEvidence(
            np.full(n, -1.0), np.full(n, -1, np.int64), empty, np.zeros(n, bool), empty
        )
    per_title = needs @ np.asarray(title_vectors, dtype=np.float32).T  # (q, t)
    best_title = per_title.max(axis=0)  # (t,): the best need for each title
    has = firm_titles >= 0
    cos = np.where(has, best_title[np.where(has, firm_titles, 0)], -np.inf)  # (n, k)
    j = cos.argmax(axis=1)
    best = cos[np.arange(n), j]
    any_title = has.any(axis=1)
    best = np.where(any_title, best, -1.0).astype(np.float64)
    title = np.where(any_title, firm_titles[np.arange(n), j], -1)
    table = np.asarray(floors, dtype=np.float64)
    pairs = np.maximum(has.sum(axis=1), 1) * len(needs)
    floor = table[np.minimum(pairs, len(table)) - 1]
    passed = any_title & (best >= floor)
    strength = np.clip((best - floor) / (1.0 - floor), 0.0, 1.0)
    return IdentityEvidence(best, title, floor, passed, np.where(any_title, strength, 0.0))
