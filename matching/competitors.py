"""Competitors: who has the same core in the same niche, and where they go in a ranked list.

The verdict rests on the two firms' own statements of what they offer, never on what they seek:

- niche evidence: for each core competence of one side, its best match among the other side's
  core competences or the other side's description (a description names the core again in other
  words, a second chance when two firms label the same niche differently); per side the mean
  over its cores, and the niche evidence is the mean of the two sides, so both sides' cores
  must be covered by the other's;
- cosines are measured in units of the encoder's own similarity distribution: (cos - median)
  / (99th percentile - median) of random pairs of organisations in different NACE divisions
  (core against core, core against description), which are seldom in the same niche. 1 is
  then "as close as the closest 1% of unrelated firms", under every encoder, whatever its
  cosine baseline and spread (the lower half of the distribution, which `Matcher._calibrate`
  uses for its floors, says little about the upper tail, where encoders differ most);
- the same NACE division when both sides have one; without a division on either side, a
  higher threshold (`Weights.competitor_niche_no_nace`).

Ranking: a caller who includes competitors asks for coopetition candidates, which would
otherwise sink below every complementary partner (they seldom cover each other's needs). The
competitors, ordered by niche evidence, are merged into the ranked list so that the i-th of
them stands at place `coopetition_every * (i + 1)` at the latest, within the first
`coopetition_window` places; a competitor whose own score is higher comes earlier.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass

import numpy as np

_NULL_PAIRS = 20_000
_MIN_ROWS = 10
_MIN_PAIRS = 200


@dataclass(frozen=True, slots=True)
class NicheScale:
    """Location and spread of random-pair cosines: (cos - median) / spread."""

    core_median: float
    core_spread: float
    desc_median: float
    desc_spread: float

    def core(self, cos: np.ndarray) -> np.ndarray:
        return (cos - self.core_median) / self.core_spread

    def desc(self, cos: np.ndarray) -> np.ndarray:
        return (cos - self.desc_median) / self.desc_spread


# Used while too few vectors are fitted to estimate a scale (values of the multilingual
# encoder on the labelled benchmark).
FALLBACK_SCALE = NicheScale(0.11, 0.28, 0.0, 0.18)


def _tail(
    a: np.ndarray,
    a_rows: np.ndarray,
    a_owner: np.ndarray,
    b: np.ndarray,
    b_rows: np.ndarray,
    b_owner: np.ndarray,
    division: np.ndarray,
    seed: int,
) -> tuple[float, float] | None:
    if len(a_rows) < _MIN_ROWS or len(b_rows) < _MIN_ROWS:
        return None
    rng = np.random.default_rng(seed)
    i = a_rows[rng.integers(0, len(a_rows), _NULL_PAIRS)]
    j = b_rows[rng.integers(0, len(b_rows), _NULL_PAIRS)]
    keep = a_owner[i] != b_owner[j]
    da, db = division[a_owner[i]], division[b_owner[j]]
    apart = keep & (da != "") & (db != "") & (da != db)
    if apart.sum() >= _MIN_PAIRS:
        keep = apart  # firms of different industries: seldom the same niche
    if keep.sum() < _MIN_PAIRS:
        return None
    sims = np.einsum("ij,ij->i", a[i[keep]], b[j[keep]])
    q50, q99 = np.quantile(sims, [0.5, 0.99])
    return float(q50), float(max(q99 - q50, 1e-3))


def niche_scale(
    cores: np.ndarray,
    core_rows: np.ndarray,
    core_owner: np.ndarray,
    descriptions: np.ndarray,
    desc_rows: np.ndarray,
    desc_owner: np.ndarray,
    division: np.ndarray,
) -> NicheScale:
    """The scale from the rows `core_rows` of `cores` (m, d) and `desc_rows` of
    `descriptions` (p, d); `core_owner` (m,) and `desc_owner` (p,) are row numbers into
    `division`, the owners' NACE divisions ("" where unknown). Median and 99th percentile of
    the cosines of random pairs of organisations in different divisions (of any two
    organisations while too few have a division)."""
    core = _tail(cores, core_rows, core_owner, cores, core_rows, core_owner, division, 0)
    desc = _tail(cores, core_rows, core_owner, descriptions, desc_rows, desc_owner, division, 1)
    fb = FALLBACK_SCALE
    return NicheScale(
        *(core if core is not None else (fb.core_median, fb.core_spread)),
        *(desc if desc is not None else (fb.desc_median, fb.desc_spread)),
    )


def niche_evidence(
    scale: NicheScale,
    core_cos: np.ndarray,
    mine_on_desc: np.ndarray,
    theirs_on_desc: np.ndarray,
    seg: np.ndarray,
    lengths: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate: how well my cores are covered by theirs and theirs by mine.

    core_cos (qc, m): my cores against the candidates' cores, concatenated (candidate k owns
    columns seg[k] : seg[k] + lengths[k]); mine_on_desc (qc, n): my cores against each
    candidate's description (-inf where it has none); theirs_on_desc (m,): their cores against
    my description (-inf if I have none). Returns (mine (n,), theirs (n,)) in scale units;
    -inf for a side without cores.
    """
    n = len(lengths)
    qc = core_cos.shape[0]
    mine = np.full(n, -np.inf)
    theirs = np.full(n, -np.inf)
    z = scale.core(np.asarray(core_cos, dtype=np.float64))
    has = lengths > 0
    starts = np.asarray(seg, dtype=np.int64)[has]
    if qc:
        best = scale.desc(np.asarray(mine_on_desc, dtype=np.float64))  # (qc, n)
        if len(starts) and z.shape[1]:
            best[:, has] = np.maximum(best[:, has], np.maximum.reduceat(z, starts, axis=1))
        mine = best.mean(axis=0)
    if len(starts):
        cols = scale.desc(np.asarray(theirs_on_desc, dtype=np.float64))  # (m,)
        if qc:
            cols = np.maximum(cols, z.max(axis=0))
        theirs[has] = np.add.reduceat(cols, starts) / lengths[has]
    return mine, theirs


def verdict(
    niche: np.ndarray,
    same_division: np.ndarray,
    known_division: np.ndarray,
    threshold: float,
    threshold_no_nace: float,
) -> np.ndarray:
    """(n,) bool: same division and niche >= threshold; without a division on either side,
    niche >= threshold_no_nace."""
    return np.where(
        known_division, same_division & (niche >= threshold), niche >= threshold_no_nace
    )


# decimals of a score as lists show it (the API rounds to these); also the ranking's precision
SHOWN_DECIMALS = 6


def coopetition_order(
    scores: np.ndarray,
    competitor: np.ndarray,
    niche: np.ndarray,
    ids: np.ndarray,
    every: int,
    window: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The order of candidates with competitors merged in, and the scores shown for them.

    Complementary candidates keep their order (score to SHOWN_DECIMALS, then id). A
    competitor whose own score beats the next complementary candidate's comes first; otherwise, once i competitors are
    placed, the next by niche evidence (then score, id) takes place every * (i + 1) (1-based)
    while that place lies within `window`. Beyond the window both lists merge by score. A
    competitor placed ahead of its own score is shown with the score of the candidate after it,
    so shown scores never rise down the list. Returns (order (n,), shown scores (n,)).
    """
    n = len(scores)
    shown = scores.astype(np.float64).copy()
    # the order reads scores at the precision a list shows them (SHOWN_DECIMALS): two scores
    # that differ only by float rounding (a sum taken in another order, a product over other
    # shapes: the in-process engine against the per-request one) are equal, and id decides
    scores = np.round(shown, SHOWN_DECIMALS)
    comp = np.flatnonzero(competitor)
    other = np.flatnonzero(~competitor)
    other = other[np.lexsort((ids[other], -scores[other]))]
    comp = comp[np.lexsort((ids[comp], -scores[comp], -niche[comp]))]
    if every <= 0 or not len(comp):
        order = np.lexsort((ids, -scores))
        return order, shown
    out: list[int] = []
    # the waiting competitors twice: in order of niche evidence, and as a heap by (score
    # descending, id) for the best of them; a placed one is dropped from either lazily
    # (each step costs log n, not a pass over all that wait)
    by_niche = deque(int(c) for c in comp)
    by_score = [(-scores[c], ids[c], c) for c in by_niche]
    heapq.heapify(by_score)
    placed: set[int] = set()
    left = len(comp)
    j = 0
    while left or j < len(other):
        place = len(out) + 1
        if not left:
            out.extend(int(o) for o in other[j:])
            break
        if j >= len(other):
            rest = [c for c in by_niche if c not in placed]
            out.extend(sorted(rest, key=lambda c: (-scores[c], ids[c])))
            break
        o = int(other[j])
        # a competitor whose own score beats the next partner's comes first anyway
        while by_score[0][2] in placed:
            heapq.heappop(by_score)
        top = by_score[0][2]
        if scores[top] > scores[o] or (scores[top] == scores[o] and ids[top] < ids[o]):
            out.append(top)
            placed.add(top)
            left -= 1
        elif place <= window and place >= every * (len(comp) - left + 1):
            while by_niche[0] in placed:
                by_niche.popleft()
            first = by_niche.popleft()
            out.append(first)
            placed.add(first)
            left -= 1
        else:
            out.append(o)
            j += 1
    order = np.array(out, dtype=np.int64)
    # shown scores must not rise: a promoted competitor takes the score of what follows it
    ordered = shown[order]
    for k in range(n - 2, -1, -1):
        if ordered[k] < ordered[k + 1]:
            ordered[k] = ordered[k + 1]
    shown[order] = ordered
    return order, shown
