"""Partner ranking: retrieval by nearest neighbours, complementarity-aware scoring, explanations.

Arrays in, ids and scores out. The matcher never sees an encoder: every vector it handles was
computed when a profile was written, and free-text needs arrive already encoded.

Retrieval: the query's needs against all core competences, its cores against all cores and all
needs, and its profile vector against all profile vectors (exact matrix products, or faiss HNSW
above `ann_threshold` rows). When no more organisations than `candidate_pool` pass the filters,
all of them are scored instead, so small or heavily filtered sets are ranked exactly.

Scoring: the components of `matching.weights.COMPONENTS`, combined as described there.
Similarities are calibrated before they count: c = clip((cos - floor) / (1 - floor), 0, 1), where
`floor` sits just above the cosines of random pairs of competences (learned at `fit`), so that
encoders with different baselines (hashing, USE, MiniLM) give comparable component values.
A profile without core competences offers its description (profile vector) instead; a need that
only the other side's description answers counts with `Weights.description_offer`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, cast

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix, vstack

from matching import competitors as _competitors
from matching.distinct import Distinct
from matching.errors import DimensionMismatch, InvalidFilter, MatchingError, NotFitted
from matching.geo import haversine_km
from matching.relevance import SearchMatch, weak_mask
from matching.types import (
    CompetenceKind,
    CompetenceVec,
    Filters,
    Match,
    ProfileVec,
    Reason,
    Relation,
    coopetition_kinds,
)
from matching.weights import COMPONENTS, Weights

_COL = {name: i for i, name in enumerate(COMPONENTS)}
_DEFAULT_WEIGHTS = Weights()  # frozen: one instance serves every matcher without weights
# Columns of `Matcher.competitor_features` (see matching.competitors).
COMPETITOR_FEATURES: tuple[str, ...] = ("niche", "mine_covered", "theirs_covered")
_NEED_KINDS = ("complementary", "peripheral")
# Components that link a particular pair; a candidate needs one of them above zero.
_EVIDENCE = (
    "need_coverage",
    "reciprocal_coverage",
    "profile_similarity",
    "core_overlap",
    "network",
    "proximity",
    "known_partner",
)
# Components read from the known-relationship graph.
_GRAPH = ("network", "activity", "proximity", "known_partner")
# need rows that hub damping compares every offer with (an even sample of the corpus's needs)
_HUB_REFERENCE = 2000
# hub values are computed afresh after an update while that takes at most this many cosines
_HUB_EXACT_BUDGET = 20_000_000
# A floor estimated from a handful of vectors is noise; below these sizes the fixed
# `Weights.fallback_floor` is used instead.
_MIN_CALIBRATION_ROWS = 40
_MIN_CALIBRATION_OWNERS = 5
_CALIBRATION_PAIRS = 4000


def nace_division(code: str | None) -> str | None:
    """The two-digit NACE division of a code ("26.51" -> "26"), None if unknown or a letter."""
    if not code:
        return None
    digits = code.strip().replace(" ", "")
    if len(digits) >= 2 and digits[:2].isdigit():
        return digits[:2]
    return None


def nace_matches(code: str | None, prefixes: Sequence[str]) -> bool:
    """True if `code` starts with one of `prefixes` (dots and spaces ignored, "62.1" ~ "621")."""
    if not code:
        return False
    norm = _nace_key(code)
    return any(norm.startswith(_nace_key(p)) for p in prefixes if _nace_key(p))


def _nace_key(code: str) -> str:
    return code.strip().replace(".", "").replace(" ", "").upper()


_WORD = re.compile(r"[^\W_]+")
# words that carry no subject in a typed need, German and English
_STOPWORDS = frozenset(
    [
        "und",
        "oder",
        "für",
        "fuer",
        "der",
        "die",
        "das",
        "den",
        "dem",
        "des",
        "ein",
        "eine",
        "einen",
        "einer",
        "mit",
        "von",
        "vom",
        "zur",
        "zum",
        "im",
        "in",
        "an",
        "auf",
        "aus",
        "bei",
        "als",
        "bis",
        "wir",
        "ich",
        "suchen",
        "suche",
        "jemanden",
        "partner",
        "partnerin",
        "unternehmen",
        "firma",
        "and",
        "or",
        "for",
        "the",
        "of",
        "to",
        "on",
        "with",
        "a",
        "an",
        "by",
        "from",
        "we",
        "our",
        "looking",
        "search",
        "someone",
        "company",
        "partners",
    ]
)


@lru_cache(maxsize=65_536)
def lexical_tokens(text: str | None) -> frozenset[str]:
    """The words of a phrase, case-folded, without stop words and one-letter tokens.

    Hyphens and punctuation split words, so "OPC-UA-Anbindung" gives {"opc", "ua", "anbindung"}.
    Kept for the last 65,536 distinct phrases: labels repeat across organisations, and a
    per-request fit tokenises its candidates' need labels again on every match.
    """
    if not text:
        return frozenset()
    return frozenset(
        t for t in _WORD.findall(text.casefold()) if len(t) > 1 and t not in _STOPWORDS
    )


def tokens_of_labels(labels: Iterable[str | None]) -> list[frozenset[str]]:
    """`lexical_tokens` of each label, equal labels sharing one set: labels repeat across
    organisations (about a thousand distinct ones among 300,000 core rows), so the sets are
    held, and written to a saved index and read back, once per distinct label."""
    seen: dict[str | None, frozenset[str]] = {}
    out = []
    for label in labels:
        tokens = seen.get(label)
        if tokens is None:
            tokens = seen[label] = lexical_tokens(label)
        out.append(tokens)
    return out


def harmonic_with_floor(a: np.ndarray, b: np.ndarray, floor: float) -> np.ndarray:
    """(1 - floor) * harmonic mean + floor * arithmetic mean, elementwise on (n,) arrays.

    The harmonic mean is 0 when one side is 0 (RECON's reciprocity); the floor keeps one-sided
    matches visible, below two-sided ones of the same total.
    """
    s = a + b
    h = np.divide(2.0 * a * b, s, out=np.zeros_like(s), where=s > 0)
    return (1.0 - floor) * h + floor * s / 2.0


@dataclass
class _Side:
    """One organisation's arrays: cores (incl. a pseudo core from the profile vector), needs."""

    id: int | None
    core: np.ndarray  # (nc, d)
    core_ids: list[int | None]  # None marks the pseudo core (profile vector)
    core_labels: list[str | None]
    need: np.ndarray  # (nn, d)
    need_w: np.ndarray  # (nn,)
    need_ids: list[int | None]
    need_labels: list[str]
    need_kinds: list[CompetenceKind]
    profile: np.ndarray | None  # (d,)
    division: str | None
    interests: frozenset[str]
    neighbours: frozenset[int]
    profile_offers: bool = True  # False for a typed search: its text states needs, not offers
    need_tokens: list[frozenset[str]] | None = None  # typed search: words of each need


# placeholders of a side's arrays until they are set (`Matcher._side_rows`)
_NO_ROWS = np.zeros((0, 0), dtype=np.float32)
_NO_WEIGHTS = np.zeros(0, dtype=np.float64)


class Matcher:
    """Ranks fitted organisations as cooperation partners for a query organisation or need.

    Parameters
    ----------
    weights : score weights and shaping parameters (defaults: `Weights()`).
    candidate_pool : nearest neighbours retrieved per source (needs->cores, cores->cores,
        cores->needs, profile->profiles), split evenly over the query's vectors; when no more
        organisations than this pass the filters, all of them are scored.
    ann_threshold : above this many rows a vector set is searched with a faiss HNSW index
        instead of an exact matrix product.
    """

    def __init__(
        self,
        weights: Weights | None = None,
        *,
        candidate_pool: int = 300,
        ann_threshold: int = 50_000,
        hnsw_m: int = 16,
        hnsw_ef_search: int = 128,
        hnsw_ef_construction: int = 40,
    ) -> None:
        self.weights = weights
        self.candidate_pool = candidate_pool
        self.ann_threshold = ann_threshold
        self.hnsw_m = hnsw_m
        self.hnsw_ef_search = hnsw_ef_search
        self.hnsw_ef_construction = hnsw_ef_construction

    # ------------------------------------------------------------------ fitting
    @property
    def weights_(self) -> Weights:
        """The weights in use."""
        return self.weights if self.weights is not None else _DEFAULT_WEIGHTS

    def fit(self, profiles: Sequence[ProfileVec]) -> Matcher:
        """Index the organisations that can be returned as matches."""
        w = self.weights_
        self.profiles_: list[ProfileVec] = list(profiles)
        self.row_of_id_: dict[int, int] = {}
        for row, p in enumerate(self.profiles_):
            if p.id in self.row_of_id_:
                raise MatchingError(f"duplicate profile id {p.id}")
            self.row_of_id_[p.id] = row
        self.dim_: int | None = None
        for p in self.profiles_:
            for v in [c.vector for c in p.competences] + [p.profile_vector]:
                self._check_dim(v)

        # Symmetric known-relationship graph over all ids (partners may be unfitted ids).
        adj: dict[int, set[int]] = {}
        for p in self.profiles_:
            for q in p.known_partner_ids:
                if q == p.id:
                    continue
                adj.setdefault(p.id, set()).add(q)
                adj.setdefault(q, set()).add(p.id)
        self.adjacency_: dict[int, frozenset[int]] = {k: frozenset(v) for k, v in adj.items()}

        # every organisation's core and need vectors go into one array each, built from one
        # list (not an array per organisation stacked afterwards: a per-request fit builds
        # them for ~1,000 candidates on every match)
        parts = [self._side_rows(p) for p in self.profiles_]
        sides = [side for side, _, _ in parts]
        self.sides_: list[_Side] = sides
        d = self.dim_ or 1
        self.core_start_ = np.zeros(len(sides) + 1, dtype=np.int64)
        self.need_start_ = np.zeros(len(sides) + 1, dtype=np.int64)
        np.cumsum([len(core) for _, core, _ in parts], out=self.core_start_[1:])
        np.cumsum([len(needs) for _, _, needs in parts], out=self.need_start_[1:])
        # labels repeat: each distinct vector object is converted and fingerprinted once
        # (`Distinct.stacked`), and exact retrieval runs over the distinct rows
        self.core_mat_, self.core_distinct_ = Distinct.stacked(
            [v for _, core, _ in parts for v in core], d
        )
        self.need_mat_, self.need_distinct_ = Distinct.stacked(
            [c.vector for _, _, needs in parts for c in needs], d
        )
        self.need_w_ = np.array(
            [w.need_weight(c.kind) for _, _, needs in parts for c in needs], dtype=np.float64
        )
        for i, s in enumerate(sides):
            # Views into the stacked matrices, so every vector is held once.
            s.core = self.core_mat_[self.core_start_[i] : self.core_start_[i + 1]]
            s.need = self.need_mat_[self.need_start_[i] : self.need_start_[i + 1]]
            s.need_w = self.need_w_[self.need_start_[i] : self.need_start_[i + 1]]
        self.core_owner_ = np.repeat(np.arange(len(sides)), np.diff(self.core_start_))
        self._fit_words()
        self.need_owner_ = np.repeat(np.arange(len(sides)), np.diff(self.need_start_))
        self.has_profile_ = np.array([s.profile is not None for s in sides], dtype=bool)
        self.profile_mat_ = np.zeros((len(sides), d), dtype=np.float32)
        for i, s in enumerate(sides):
            if s.profile is not None:
                self.profile_mat_[i] = s.profile
        self.profile_rows_ = np.flatnonzero(self.has_profile_)

        self.sim_floor_, self.profile_floor_, self.description_floor_ = self._calibrate(w)

        self.core_index_ = self._build_index(self.core_mat_, self.core_distinct_)
        self.need_index_ = self._build_index(self.need_mat_, self.need_distinct_)
        self.profile_search_mat_ = np.ascontiguousarray(self.profile_mat_[self.profile_rows_])
        self.profile_index_ = self._build_index(self.profile_search_mat_)

        # Metadata as arrays, for vectorised filters.
        n = len(sides)
        self.lat_ = np.full(n, np.nan)
        self.lon_ = np.full(n, np.nan)
        self.employees_ = np.full(n, np.nan)
        for i, p in enumerate(self.profiles_):
            if p.latitude is not None and p.longitude is not None:
                self.lat_[i], self.lon_[i] = p.latitude, p.longitude
            if p.employees is not None:
                self.employees_[i] = p.employees
        self.country_ = np.array([(p.country or "").upper() for p in self.profiles_], dtype=str)
        self.nace_key_ = np.array([_nace_key(p.nace_code or "") for p in self.profiles_], dtype=str)
        self._fit_listed_by()
        self._precompute()
        return self

    def _fit_words(self) -> None:
        """Words of every core label, with their IDF, for typed searches: acronyms and
        standards ("OPC UA", "ISO 13485") are exact evidence that sentence encoders blur."""
        self.core_tokens_ = tokens_of_labels(label for s in self.sides_ for label in s.core_labels)
        df = Counter(t for tokens in self.core_tokens_ for t in tokens)
        n_labels = len(self.core_tokens_)
        self.idf_ = {t: math.log((n_labels + 1) / (c + 1)) + 1.0 for t, c in df.items()}
        self.idf_unseen_ = math.log(n_labels + 1) + 1.0

    def _fit_listed_by(self) -> None:
        """Who lists whom: "exclude_known" also drops candidates that list the query."""
        self.listed_by_: Mapping[int, np.ndarray] = listed_by(self.profiles_)

    def _precompute(self) -> None:
        """Per-corpus statistics the queries read, computed here rather than by the first
        query: hub damping's values, the per-row metadata arrays and the words of every
        stated need (a saved index keeps them, so a restart does not tokenise them again)."""
        w = self.weights_
        if w.hub_damping:
            self._hubness(w.hub_neighbours)
        self._row_meta()
        self._need_words()

    def _check_dim(self, v: np.ndarray | None) -> None:
        if v is None:
            return
        v = np.asarray(v)
        if v.ndim != 1:
            raise DimensionMismatch(f"expected a 1-d vector, got shape {v.shape}")
        if self.dim_ is None:
            self.dim_ = int(v.shape[0])
        elif v.shape[0] != self.dim_:
            raise DimensionMismatch(f"vector of dimension {v.shape[0]}, index has {self.dim_}")

    def _side(self, p: ProfileVec) -> _Side:
        w = self.weights_
        d = self.dim_ or 1
        side, core_vecs, needs = self._side_rows(p)
        side.core = _rows(core_vecs, d)
        side.need = _rows([c.vector for c in needs], d)
        side.need_w = np.array([w.need_weight(c.kind) for c in needs], dtype=np.float64)
        return side

    def _side_rows(self, p: ProfileVec) -> tuple[_Side, list[np.ndarray], list[CompetenceVec]]:
        """`_side` without its arrays (core, need, need_w empty): the side, its core vectors
        (the profile vector standing in when it states no core) and its need competences."""
        cores = [c for c in p.competences if c.kind == "core"]
        needs = [c for c in p.competences if c.kind in _NEED_KINDS]
        core_vecs = [c.vector for c in cores]
        core_ids: list[int | None] = [c.id for c in cores]
        core_labels: list[str | None] = [c.label for c in cores]
        profile = None if p.profile_vector is None else np.asarray(p.profile_vector, np.float32)
        if not cores and profile is not None:
            # Without stated core competences the description says what the firm offers.
            core_vecs, core_ids, core_labels = [profile], [None], [None]
        neighbours = set(p.known_partner_ids) | set(self.adjacency_.get(p.id, frozenset()))
        neighbours.discard(p.id)
        side = _Side(
            id=p.id,
            core=_NO_ROWS,
            core_ids=core_ids,
            core_labels=core_labels,
            need=_NO_ROWS,
            need_w=_NO_WEIGHTS,
            need_ids=[c.id for c in needs],
            need_labels=[c.label for c in needs],
            need_kinds=[c.kind for c in needs],
            profile=profile,
            division=nace_division(p.nace_code),
            interests=frozenset(p.cooperation_interests),
            neighbours=frozenset(neighbours),
        )
        return side, core_vecs, needs

    def _calibrate(self, w: Weights) -> tuple[float, float, float]:
        """Cosine floors from the cosines between random rows of different profiles."""
        rng = np.random.default_rng(0)

        def floor(
            mat: np.ndarray, owner: np.ndarray, spread: float, kind: np.ndarray | None = None
        ) -> float | None:
            if len(mat) < _MIN_CALIBRATION_ROWS or len(np.unique(owner)) < _MIN_CALIBRATION_OWNERS:
                return None
            i = rng.integers(0, len(mat), _CALIBRATION_PAIRS)
            j = rng.integers(0, len(mat), _CALIBRATION_PAIRS)
            keep = owner[i] != owner[j]
            if kind is not None:
                keep &= kind[i] != kind[j]
            if not keep.any():
                return None
            sims = np.einsum("ij,ij->i", mat[i[keep]], mat[j[keep]])
            q16, q50 = np.quantile(sims, [0.16, 0.5])
            return float(np.clip(q50 + spread * (q50 - q16), -1.0, 0.9))

        real = np.array([cid is not None for s in self.sides_ for cid in s.core_ids], dtype=bool)
        comp = np.vstack([self.core_mat_[real], self.need_mat_])
        owner = np.concatenate([self.core_owner_[real], self.need_owner_])
        sim_floor = w.similarity_floor
        if sim_floor is None:
            sim_floor = floor(comp, owner, w.floor_spread)
        prof_floor = w.profile_floor
        rows = self.profile_rows_
        if prof_floor is None:
            prof_floor = floor(self.profile_mat_[rows], rows, w.profile_floor_spread)
        desc_floor = w.description_floor
        if desc_floor is None and len(rows):
            # Competence phrases against descriptions: stack both and keep mixed pairs only.
            mixed = np.vstack([comp, self.profile_mat_[rows]])
            kind = np.concatenate([np.zeros(len(comp), bool), np.ones(len(rows), bool)])
            desc_floor = floor(mixed, np.concatenate([owner, rows]), w.floor_spread, kind)
        return (
            sim_floor if sim_floor is not None else w.fallback_floor,
            prof_floor if prof_floor is not None else w.fallback_floor,
            desc_floor if desc_floor is not None else w.fallback_floor,
        )

    def _build_index(self, mat: np.ndarray, distinct: Distinct | None = None) -> Any:
        """A faiss HNSW index over `mat`, or None when an exact product is cheap enough: at
        most `ann_threshold` rows, or that many distinct ones."""
        size = len(mat) if distinct is None else distinct.n_distinct
        if size <= self.ann_threshold or len(mat) == 0:
            return None
        import faiss

        index = faiss.IndexHNSWFlat(mat.shape[1], self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = self.hnsw_ef_construction
        index.hnsw.efSearch = self.hnsw_ef_search
        index.add(np.ascontiguousarray(mat, dtype=np.float32))
        return index

    def _check_fitted(self) -> None:
        if not hasattr(self, "profiles_"):
            raise NotFitted("call fit() first")

    # ------------------------------------------------------------------ public API
    def match(
        self, query: ProfileVec, *, filters: Filters = Filters(), limit: int = 10
    ) -> list[Match]:
        """The best `limit` partners for `query` (fitted or not; never itself)."""
        self._check_fitted()
        filters = filters if filters is not None else Filters()  # tolerate None from callers
        if self.dim_ is None:
            # nothing fitted carries a vector, so text cannot be compared; partners still can
            query = replace(query, competences=(), profile_vector=None)
        for v in [c.vector for c in query.competences] + [query.profile_vector]:
            self._check_dim(v)
        side = self._side(query)
        origin = filters.origin
        if origin is None and query.latitude is not None and query.longitude is not None:
            origin = (query.latitude, query.longitude)
        return self._rank(side, query, filters, origin, limit)

    def search(
        self,
        need_vectors: np.ndarray,
        need_labels: Sequence[str],
        *,
        filters: Filters = Filters(),
        limit: int = 10,
        relevance_floor: float | None = None,
        exclude_weak: bool = False,
        firm_floors: Sequence[float] | None = None,
        wordless_floors: Sequence[float] | None = None,
    ) -> list[SearchMatch]:
        """Organisations whose core covers free-text needs; `need_vectors` is (q, d) unit rows.

        Every result carries `weak` (see `matching.relevance`): no typed need comes within
        `relevance_floor` cosine of its core competences and none of the need's words occurs in
        their labels. `relevance_floor` is the encoder's (`matching.relevance.relevance_floor`);
        None uses the fitted similarity floor `sim_floor_`. `firm_floors` (the encoder's
        `matching.relevance.firm_floors`) raise the floor with the number of (need, core)
        pairs a candidate's best cosine is taken over, never below `relevance_floor`;
        `wordless_floors` (`matching.relevance.wordless_floors`) replace them for a candidate
        whose core labels share no word with any typed need.
        `exclude_weak` leaves weak results out before `limit` is applied.
        """
        self._check_fitted()
        filters = filters if filters is not None else Filters()  # tolerate None from callers
        vecs = np.atleast_2d(np.asarray(need_vectors, dtype=np.float32))
        if len(vecs) != len(need_labels):
            raise MatchingError("need_vectors and need_labels differ in length")
        if self.dim_ is None:
            return []  # no fitted vector to compare a typed need with
        for v in vecs:
            self._check_dim(v)
        d = self.dim_ or vecs.shape[1]
        mean = vecs.mean(axis=0) if len(vecs) else np.zeros(d, np.float32)
        norm = float(np.linalg.norm(mean))
        side = _Side(
            id=None,
            core=np.zeros((0, d), np.float32),
            core_ids=[],
            core_labels=[],
            need=vecs.reshape(-1, d),
            need_w=np.full(len(vecs), self.weights_.complementary_need),
            need_ids=[None] * len(vecs),
            need_labels=list(need_labels),
            need_kinds=["complementary"] * len(vecs),
            profile=(mean / norm).astype(np.float32) if norm > 0 else None,
            division=None,
            interests=frozenset(),
            neighbours=frozenset(),
            profile_offers=False,
            need_tokens=[lexical_tokens(label) for label in need_labels],
        )
        floor = self.sim_floor_ if relevance_floor is None else float(relevance_floor)
        found = self._rank(
            side,
            None,
            filters,
            filters.origin,
            limit,
            floor,
            exclude_weak,
            firm_floors,
            wordless_floors,
        )
        return [m for m in found if isinstance(m, SearchMatch)]

    def admitted(self, filters: Filters, ids: Sequence[int]) -> list[int]:
        """The fitted organisations among `ids` that pass every filter (as a typed search
        applies them, competitors aside), in the order given."""
        self._check_fitted()
        d = self.dim_ or 0
        side = _Side(
            id=None,
            core=np.zeros((0, d), np.float32),
            core_ids=[],
            core_labels=[],
            need=np.zeros((0, d), np.float32),
            need_w=np.zeros(0),
            need_ids=[],
            need_labels=[],
            need_kinds=[],
            profile=None,
            division=None,
            interests=frozenset(),
            neighbours=frozenset(),
        )
        allowed = self._allowed(side, None, filters, filters.origin)
        return [i for i in ids if i in self.row_of_id_ and allowed[self.row_of_id_[i]]]

    def seekers(
        self,
        need_vectors: np.ndarray,
        need_labels: Sequence[str],
        *,
        filters: Filters = Filters(),
        limit: int = 10,
        relevance_floor: float | None = None,
        firm_floors: Sequence[float] | None = None,
        wordless_floors: Sequence[float] | None = None,
    ) -> list[Match]:
        """Organisations that *seek* what the typed needs ask for: partners for joint
        purchasing, a shared training programme or a joint bid rather than suppliers.

        A candidate qualifies when one of its stated needs comes within `relevance_floor`
        cosine of a typed need (None: the fitted similarity floor) or shares the need's rarer
        words; it is ranked by that best cosine (lexical matches count as the floor plus their
        IDF-weighted share). `firm_floors` (see `search`) raise the floor with the number of
        (typed need, stated need) pairs the candidate's best is taken over, `wordless_floors`
        where the pair shares no word. Each carries one "shared_need" reason and the component
        `shared_need` (the calibrated similarity, in [0, 1])."""
        self._check_fitted()
        vecs = np.atleast_2d(np.asarray(need_vectors, dtype=np.float32))
        if len(vecs) != len(need_labels):
            raise MatchingError("need_vectors and need_labels differ in length")
        if self.dim_ is None or not len(self.need_mat_) or limit <= 0:
            return []
        for v in vecs:
            self._check_dim(v)
        floor = self.sim_floor_ if relevance_floor is None else float(relevance_floor)
        d = self.dim_
        side = _Side(
            id=None,
            core=np.zeros((0, d), np.float32),
            core_ids=[],
            core_labels=[],
            need=vecs,
            need_w=np.ones(len(vecs)),
            need_ids=[None] * len(vecs),
            need_labels=list(need_labels),
            need_kinds=["complementary"] * len(vecs),
            profile=None,
            division=None,
            interests=frozenset(),
            neighbours=frozenset(),
            profile_offers=False,
        )
        allowed = self._allowed(side, None, filters, filters.origin)
        distinct = getattr(self, "need_distinct_", None)
        # (q, u): one product over the distinct need vectors where they are kept, else (q, m)
        sims = vecs @ (self.need_mat_ if distinct is None else distinct.rows).T
        vocabulary, words = self._need_words()
        # Only the (typed need, need row) pairs that can pass are looked at: those within the
        # floor by cosine (the rows of the distinct vectors that are) and those sharing at
        # least half the need's IDF weight of words (a lexical match reaches the floor).
        # Listed per typed need in ascending rows: the order of a scan of every pair.
        pair_q: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        pair_k: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        pair_cos: list[np.ndarray] = [np.zeros(0, dtype=sims.dtype)]
        pair_lex: list[np.ndarray] = [np.zeros(0, dtype=np.float64)]
        for i, label in enumerate(need_labels):
            weight = {t: self.idf_.get(t, self.idf_unseen_) for t in lexical_tokens(label)}
            total = sum(weight.values())
            shared = [t for t in weight if t in vocabulary]
            lex_rows = np.zeros(0, dtype=np.int64)
            lex_vals = np.zeros(0, dtype=np.float64)
            if total > 0 and shared:
                # the IDF weight of the words each need row shares with this one, summed over
                # the rows that hold one of them (a row holds each of its words once)
                sub = words[:, [vocabulary[t] for t in shared]]
                per_entry = np.repeat(np.array([weight[t] for t in shared]), np.diff(sub.indptr))
                lex_rows, where = np.unique(sub.indices.astype(np.int64), return_inverse=True)
                lex_vals = np.bincount(where, weights=per_entry, minlength=len(lex_rows)) / total
            close = np.flatnonzero(sims[i] >= floor)
            if distinct is not None:
                by_vec, first, count = distinct._grouped()
                close = by_vec[_ranges(first[close], count[close])]
            rows = _sorted_union(close, lex_rows[lex_vals >= 0.5], len(self.need_mat_))
            lexical = np.zeros(len(rows), dtype=np.float64)
            at = np.searchsorted(rows, lex_rows)
            hit = at < len(rows)
            hit[hit] = rows[at[hit]] == lex_rows[hit]
            lexical[at[hit]] = lex_vals[hit]
            cos = sims[i, rows if distinct is None else distinct.inverse[rows]]
            pair_q.append(np.full(len(rows), i, dtype=np.int64))
            pair_k.append(rows)
            pair_cos.append(cos)
            pair_lex.append(lexical)
        qi, ki = np.concatenate(pair_q), np.concatenate(pair_k)
        cosines, lexical = np.concatenate(pair_cos), np.concatenate(pair_lex)
        strength = np.where(
            lexical >= 0.5, np.maximum(cosines, floor + lexical * (1 - floor) / 2), cosines
        )
        passing = strength >= floor
        qi, ki, cosines, lexical, strength = (
            qi[passing],
            ki[passing],
            cosines[passing],
            lexical[passing],
            strength[passing],
        )
        owner = self.need_owner_[ki]
        ok = allowed[owner]
        if firm_floors:
            # the best of (typed needs x their needs) pairs lies above one pair's floor by
            # chance far more often: the floor for that many pairs (matching.relevance)
            table = np.asarray(firm_floors, dtype=np.float64)
            pairs = np.maximum(_lengths(self.need_start_, owner), 1) * len(vecs)
            need_floor = np.maximum(table[np.minimum(pairs, len(table)) - 1], floor)
            if wordless_floors:
                strict = np.asarray(wordless_floors, dtype=np.float64)
                wordless = lexical <= 0
                need_floor = np.where(
                    wordless,
                    np.maximum(strict[np.minimum(pairs, len(strict)) - 1], need_floor),
                    need_floor,
                )
            ok &= strength >= need_floor
        qi, ki, owner, cosines = qi[ok], ki[ok], owner[ok], cosines[ok]
        values = strength[ok]
        # per candidate row, its strongest (need, their need) pair; ties: the first in
        # (typed need, their need) order
        first = np.lexsort((np.arange(len(values)), -values, owner))
        head = np.ones(len(first), dtype=bool)
        head[1:] = owner[first][1:] != owner[first][:-1]
        top = first[head]
        # the best `limit` by value, then id: only those become Python objects
        top = top[np.lexsort((self._row_meta()[0][owner[top]], -values[top]))[:limit]]
        out: list[Match] = []
        for j in top.tolist():
            row, value, i, k = int(owner[j]), float(values[j]), int(qi[j]), int(ki[j])
            cos = float(cosines[j])
            cand = self.sides_[row]
            j = k - int(self.need_start_[row])
            out.append(
                Match(
                    target_id=self.profiles_[row].id,
                    score=value,
                    relation="complementary",
                    components={"shared_need": float(self._calib(np.array(value), floor))},
                    reasons=(
                        Reason(
                            direction="shared_need",
                            query_competence_id=None,
                            query_label=side.need_labels[i],
                            target_competence_id=cand.need_ids[j],
                            target_label=cand.need_labels[j],
                            need_kind=cand.need_kinds[j],
                            similarity=cos,
                        ),
                    ),
                )
            )
        return out

    def _need_words(self) -> tuple[dict[str, int], csc_matrix]:
        """The words of every need row's label: a vocabulary and a (need rows x words) 0/1
        matrix in columns, so a typed need reads only the rows that share one of its words.

        Built at a fit (`need_words_`, saved with the index), extended by the rows an update
        appends (need rows are append-only between fits), never changed in place."""
        cached = getattr(self, "need_words_", None)
        n = len(self.need_mat_)
        if cached is not None and cached[1].shape[0] == n:
            return cached
        vocabulary: dict[str, int] = dict(cached[0]) if cached is not None else {}
        start = cached[1].shape[0] if cached is not None else 0
        columns: list[int] = []
        indptr = [0]
        of_label: dict[str, list[int]] = {}  # labels repeat: each distinct one tokenised once
        for k in range(start, n):
            row = int(self.need_owner_[k])
            label = self.sides_[row].need_labels[k - int(self.need_start_[row])]
            words = of_label.get(label)
            if words is None:
                words = of_label[label] = [
                    vocabulary.setdefault(t, len(vocabulary)) for t in sorted(lexical_tokens(label))
                ]
            columns.extend(words)
            indptr.append(len(columns))
        shape = (n - start, len(vocabulary))
        added = csr_matrix(
            (np.ones(len(columns)), np.asarray(columns, dtype=np.int64), indptr), shape=shape
        )
        if cached is None:
            words = added.tocsc()
        else:
            before = cached[1].copy()
            before.resize((start, len(vocabulary)))
            words = vstack([before, added], format="csc")
        self.need_words_ = (vocabulary, words)
        return vocabulary, words

    def pair_features(self, query: ProfileVec, candidate_ids: Sequence[int]) -> np.ndarray:
        """(len(candidate_ids), n_components) raw components in `Weights.component_names()` order.

        Candidates must be fitted profiles. No filter is applied, so weights can be learned from
        labelled pairs: `Weights().from_vector(LogisticRegression().fit(X, y).coef_[0])`.
        """
        self._check_fitted()
        for v in [c.vector for c in query.competences] + [query.profile_vector]:
            self._check_dim(v)
        try:
            rows = np.array([self.row_of_id_[i] for i in candidate_ids], dtype=np.int64)
        except KeyError as exc:
            raise MatchingError(f"unknown candidate id {exc.args[0]}") from exc
        side = self._side(query)
        feats = self._features(side, rows)
        return feats

    def competitor_features(
        self, query: ProfileVec, candidate_ids: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The competitor rule's inputs and verdict for fitted candidates, without filters.

        Returns (features (len(candidate_ids), 3) with the columns `COMPETITOR_FEATURES`, in
        the units of `matching.competitors.NicheScale` (-inf for a side without stated cores),
        competitor (len(candidate_ids),) bool: the `relation` that `match` would give).
        """
        self._check_fitted()
        if self.dim_ is None:
            query = replace(query, competences=(), profile_vector=None)
        for v in [c.vector for c in query.competences] + [query.profile_vector]:
            self._check_dim(v)
        try:
            rows = np.array([self.row_of_id_[i] for i in candidate_ids], dtype=np.int64)
        except KeyError as exc:
            raise MatchingError(f"unknown candidate id {exc.args[0]}") from exc
        side = self._side(query)
        competitor, niche, mine, theirs = self._competitor_rule(side, rows)
        return np.column_stack([niche, mine, theirs]), competitor

    def competitors(self, query: ProfileVec, candidate_ids: Sequence[int]) -> np.ndarray:
        """(len(candidate_ids),) bool: which fitted candidates `match` labels competitors."""
        return self.competitor_features(query, candidate_ids)[1]

    # ------------------------------------------------------------------ ranking
    def _rank(
        self,
        side: _Side,
        query: ProfileVec | None,
        filters: Filters,
        origin: tuple[float, float] | None,
        limit: int,
        relevance_floor: float | None = None,
        exclude_weak: bool = False,
        firm_floors: Sequence[float] | None = None,
        wordless_floors: Sequence[float] | None = None,
    ) -> list[Match]:
        """Ranked matches; a typed search (`relevance_floor` set) gets `SearchMatch`es."""
        w = self.weights_
        if limit <= 0 or not self.profiles_:
            return []
        allowed = self._allowed(side, query, filters, origin)
        if filters.only_ids is not None or allowed.sum() <= self.candidate_pool:
            # only_ids: candidates a retriever chose (matching.retrieval), all of them scored
            rows = np.flatnonzero(allowed)
        else:
            rows = self._retrieve(side)
            rows = rows[allowed[rows]]
        if len(rows) == 0:
            return []
        # the candidates' description vectors, gathered once for both
        prof_rows = self.profile_mat_[rows]
        feats = self._features(side, rows, prof_rows)
        overlap_ok, niche, _, _ = self._competitor_rule(side, rows, prof_rows)
        if filters.use_graph and filters.visible_relationships is not None:
            self._visible_graph_features(side, rows, filters.visible_relationships, feats)
        if filters.use_graph and filters.outcome_ties and w.outcome_tie > 0:
            self._outcome_graph_features(side, rows, filters, feats)
        if filters.use_graph and filters.activity_ties is not None:
            feats[:, _COL["activity"]] = self._aggregate_activity(
                self._row_meta()[0][rows], filters.activity_ties, filters.visible_relationships
            )
        if not filters.use_graph:
            feats[:, [_COL[c] for c in _GRAPH]] = 0.0
        relation = np.where(overlap_ok, "competitor", "complementary")
        # Shared interests and activity alone say nothing about this pair: a firm linked by no
        # competence, text or partner is not offered as a match.
        keep = feats[:, [_COL[c] for c in _EVIDENCE]].max(axis=1) > 0
        if side.id is not None:
            opted_out = self._row_flags()[0][rows]
            keep &= ~(overlap_ok & (opted_out | (not filters.include_competitors)))
        rows, feats, relation, niche = rows[keep], feats[keep], relation[keep], niche[keep]
        best_cos = lexical = np.zeros(len(rows))
        weak = np.zeros(len(rows), dtype=bool)
        if relevance_floor is not None:
            best_cos, lexical = self._need_relevance(side, rows)
            floor: float | np.ndarray = relevance_floor
            if firm_floors:
                # the best cosine is the best of (typed needs x cores) pairs: its floor
                pairs = np.maximum(_lengths(self.core_start_, rows), 1) * max(len(side.need), 1)
                table = np.asarray(firm_floors, dtype=np.float64)
                floor = np.maximum(table[np.minimum(pairs, len(table)) - 1], relevance_floor)
            strict: np.ndarray | None = None
            if wordless_floors:
                pairs = np.maximum(_lengths(self.core_start_, rows), 1) * max(len(side.need), 1)
                table = np.asarray(wordless_floors, dtype=np.float64)
                strict = np.maximum(table[np.minimum(pairs, len(table)) - 1], floor)
            weak = weak_mask(best_cos, lexical, floor, strict)
            if exclude_weak:
                rows, feats, relation = rows[~weak], feats[~weak], relation[~weak]
                niche = niche[~weak]
                best_cos, lexical, weak = best_cos[~weak], lexical[~weak], weak[~weak]
        # What the caller asks for comes first: a query that states needs lets the graph
        # components count only as much as `graph_with_needs`; without needs (nothing but a
        # profile) proven cooperation structure is the best evidence there is.
        graph_scale = w.graph_with_needs if len(side.need) else 1.0
        scores = self._scores(feats, relation == "competitor", w, graph_scale)
        order, scores = _competitors.coopetition_order(
            scores,
            relation == "competitor",
            niche,
            self._row_meta()[0][rows],
            w.coopetition_every,
            w.coopetition_window,
        )
        order = order[:limit]
        out: list[Match] = []
        for k in order:
            r = int(rows[k])
            rel: Relation = "competitor" if relation[k] == "competitor" else "complementary"
            cand = self.profiles_[r]
            shared = tuple(sorted(side.interests & cand.cooperation_interests))
            fields: dict[str, Any] = dict(
                target_id=cand.id,
                score=float(scores[k]),
                relation=rel,
                components={n: float(feats[k, i]) for i, n in enumerate(COMPONENTS)},
                reasons=self._reasons(side, r, rel, feats[k, _COL["profile_similarity"]]),
                shared_interests=shared,
                cooperation_kinds=coopetition_kinds(set(shared)) if rel == "competitor" else (),
            )
            if relevance_floor is None:
                out.append(Match(**fields))
            else:
                out.append(
                    SearchMatch(
                        **fields,
                        best_cosine=float(best_cos[k]),
                        lexical=float(lexical[k]),
                        weak=bool(weak[k]),
                    )
                )
        return out

    def _need_relevance(self, side: _Side, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per candidate row: best raw cosine of a typed need with one of its cores, and the
        best lexical share of a need's words in one core label. Returns ((n,), (n,))."""
        n = len(rows)
        c_start, c_len = self.core_start_[rows], _lengths(self.core_start_, rows)
        core_idx = _ranges(c_start, c_len)
        if not len(side.need) or not len(core_idx):
            return np.full(n, -1.0), np.zeros(n)
        seg = _seg_starts(c_len)
        sims = self._against_cores(side.need, core_idx)  # (qn, m)
        # A candidate without cores cannot reach the floor: -1 is below every cosine.
        best = np.where(c_len > 0, _segment_max(sims, seg, c_len).max(axis=0), -1.0)
        lexical = _segment_max(self._lexical(side.need_tokens or [], core_idx), seg, c_len)
        return best, lexical.max(axis=0)

    @staticmethod
    def _scores(
        feats: np.ndarray, competitor: np.ndarray, w: Weights, graph_scale: float = 1.0
    ) -> np.ndarray:
        """(n,) scores from (n, n_components) features; see matching.weights for the formula.
        `graph_scale` multiplies the weights of the graph components (`_GRAPH`)."""
        vec = w.vector()
        for name in _GRAPH:
            vec[_COL[name]] *= graph_scale
        coop = _COL["coopetition"]
        base_w = vec.copy()
        base_w[coop] = 0.0
        base = feats @ base_w
        # Cooperation already seen in the relationship graph is evidence that the pair works
        # together although it competes: only the other components are discounted.
        graph_w = np.zeros_like(vec)
        for name in _GRAPH:
            graph_w[_COL[name]] = vec[_COL[name]]
        graph = feats @ graph_w
        comp = w.competitor_factor * (base - graph + vec[coop] * feats[:, coop]) + graph
        return np.where(competitor, comp, base)

    def _allowed(
        self,
        side: _Side,
        query: ProfileVec | None,
        filters: Filters,
        origin: tuple[float, float] | None,
    ) -> np.ndarray:
        """(n_profiles,) bool mask of candidates that pass every filter except competitors."""
        n = len(self.profiles_)
        ok = np.ones(n, dtype=bool)
        # rows replaced or removed by matching.incremental.updated stay out
        alive = getattr(self, "alive_", None)
        if alive is not None:
            ok &= alive
        if side.id is not None and side.id in self.row_of_id_:
            ok[self.row_of_id_[side.id]] = False
        for pid in filters.exclude_ids:
            if pid in self.row_of_id_:
                ok[self.row_of_id_[pid]] = False
        if filters.only_ids is not None:
            only = np.zeros(n, dtype=bool)
            # one lookup per id, as an array: ~1,000 retrieved candidates per request
            found = [r for r in map(self.row_of_id_.get, filters.only_ids) if r is not None]
            only[np.array(found, dtype=np.int64)] = True
            ok &= only
        if (
            filters.exclude_known
            and query is not None
            and filters.visible_relationships is not None
        ):
            for a, b in filters.visible_relationships:
                other = b if a == query.id else a if b == query.id else None
                if other is not None and other in self.row_of_id_:
                    ok[self.row_of_id_[other]] = False
        elif filters.exclude_known and query is not None:
            for pid in query.known_partner_ids:
                if pid in self.row_of_id_:
                    ok[self.row_of_id_[pid]] = False
            ok[self.listed_by_.get(query.id, np.zeros(0, dtype=np.int64))] = False
        if filters.max_distance_km is not None:
            if filters.max_distance_km < 0:
                raise InvalidFilter("max_distance_km must not be negative")
            if origin is None:
                raise InvalidFilter("max_distance_km needs query coordinates or an origin")
            has = ~np.isnan(self.lat_)
            dist = np.full(n, np.inf)
            dist[has] = haversine_km(origin[0], origin[1], self.lat_[has], self.lon_[has])
            ok &= dist <= filters.max_distance_km
        if (
            filters.min_employees is not None
            and filters.max_employees is not None
            and filters.min_employees > filters.max_employees
        ):
            raise InvalidFilter("min_employees is greater than max_employees")
        if filters.min_employees is not None:
            ok &= ~np.isnan(self.employees_) & (self.employees_ >= filters.min_employees)
        if filters.max_employees is not None:
            ok &= ~np.isnan(self.employees_) & (self.employees_ <= filters.max_employees)
        if filters.countries:
            ok &= np.isin(self.country_, [c.upper() for c in filters.countries])
        if filters.nace_include:
            ok &= self._nace_mask(filters.nace_include)
        if filters.nace_exclude:
            ok &= ~self._nace_mask(filters.nace_exclude)
        if filters.cooperation_interests:
            wanted = filters.cooperation_interests
            rows = np.flatnonzero(ok)
            ok[rows] = [bool(wanted & self.profiles_[r].cooperation_interests) for r in rows]
        return ok

    def _nace_mask(self, prefixes: Sequence[str]) -> np.ndarray:
        """(n_profiles,) bool: the NACE code starts with one of the prefixes."""
        mask = np.zeros(len(self.profiles_), dtype=bool)
        for p in prefixes:
            key = _nace_key(p)
            if key:
                mask |= np.char.startswith(self.nace_key_, key) & (self.nace_key_ != "")
        return mask

    def _retrieve(self, side: _Side) -> np.ndarray:
        """Unique profile rows near the query: needs->cores, cores->cores, cores->needs, profile.

        Each source contributes about `candidate_pool` rows, split evenly over the query's
        vectors, so a profile with many competences does not widen the net.
        """
        pool = self.candidate_pool
        found: list[np.ndarray] = []
        groups = [(g, max(1, -(-pool // len(g)))) for g in (side.need, side.core) if len(g)]
        if groups and len(self.core_mat_):
            for hits in _topk_groups(
                self.core_index_, self.core_mat_, groups, getattr(self, "core_distinct_", None)
            ):
                found.append(self.core_owner_[hits])
        if len(side.core) and len(self.need_mat_):
            k = max(1, -(-pool // len(side.core)))
            for hits in _topk_groups(
                self.need_index_,
                self.need_mat_,
                [(side.core, k)],
                getattr(self, "need_distinct_", None),
            ):
                found.append(self.need_owner_[hits])
        if side.profile is not None and len(self.profile_rows_):
            groups = [(side.profile[None, :], pool)]
            for hits in _topk_groups(self.profile_index_, self.profile_search_mat_, groups):
                found.append(self.profile_rows_[hits])
        if not found:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate([f.ravel() for f in found]))

    def _lexical(
        self, need_tokens: Sequence[frozenset[str]], core_rows: Sequence[int] | np.ndarray
    ) -> np.ndarray:
        """(len(need_tokens), len(core_rows)): IDF-weighted share of a need's words in a core label."""
        out = np.zeros((len(need_tokens), len(core_rows)))
        for i, tokens in enumerate(need_tokens):
            weight = {t: self.idf_.get(t, self.idf_unseen_) for t in tokens}
            total = sum(weight.values())
            if total <= 0:
                continue
            for k, r in enumerate(core_rows):
                shared = tokens & self.core_tokens_[r]
                if shared:
                    out[i, k] = sum(weight[t] for t in shared) / total
        return out

    def _calib(self, sims: np.ndarray, floor: float) -> np.ndarray:
        return np.clip((sims - floor) / (1.0 - floor), 0.0, 1.0)

    def _against_cores(self, queries: np.ndarray, core_idx: np.ndarray) -> np.ndarray:
        """(q, len(core_idx)): `queries` (q, d) against the core rows `core_idx`, through the
        distinct core vectors (matching.distinct) when there are fewer of them than rows."""
        distinct = getattr(self, "core_distinct_", None)
        if distinct is not None and distinct.n_distinct < len(core_idx):
            return np.asarray((queries @ distinct.rows.T)[:, distinct.inverse[core_idx]])
        return np.asarray(queries @ self.core_mat_[core_idx].T)

    def _against_needs(self, queries: np.ndarray, need_idx: np.ndarray) -> np.ndarray:
        """(q, len(need_idx)): as `_against_cores`, for the need rows `need_idx`."""
        distinct = getattr(self, "need_distinct_", None)
        if distinct is not None and distinct.n_distinct < len(need_idx):
            return np.asarray((queries @ distinct.rows.T)[:, distinct.inverse[need_idx]])
        return np.asarray(queries @ self.need_mat_[need_idx].T)

    def _features(
        self, side: _Side, rows: np.ndarray, prof_rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Raw components for candidate rows: (n, n_components). The competitor verdict is
        `_competitor_rule`'s (matching.competitors). `prof_rows`: `profile_mat_[rows]` when
        the caller has it already (n, d)."""
        if prof_rows is None:
            prof_rows = self.profile_mat_[rows]
        w = self.weights_
        n = len(rows)
        feats = np.zeros((n, len(COMPONENTS)), dtype=np.float64)
        tau = w.softmax_temperature

        c_start, c_len = self.core_start_[rows], _lengths(self.core_start_, rows)
        n_start, n_len = self.need_start_[rows], _lengths(self.need_start_, rows)
        core_idx = _ranges(c_start, c_len)
        need_idx = _ranges(n_start, n_len)
        core_seg = _seg_starts(c_len)
        need_seg = _seg_starts(n_len)

        # My needs and my cores against all their cores: one gather, one matrix product.
        qn = len(side.need)
        mine = np.vstack([side.need, side.core])  # (qn + qc, d)
        cal_all = np.zeros((len(mine), len(core_idx)))
        if len(mine) and len(core_idx):
            cos_all = self._against_cores(mine, core_idx)
            if qn and w.hub_damping:
                core_hub, _ = self._hubness(w.hub_neighbours)
                cos_all[:qn] -= w.hub_damping * core_hub[core_idx]
            cal_all = self._calib(cos_all, self.sim_floor_)
            if side.need_tokens is not None and qn:
                lexical = w.lexical_match * self._lexical(side.need_tokens, core_idx)
                cal_all[:qn] = np.maximum(cal_all[:qn], lexical)
        # need_coverage: their core covers my needs.
        a = np.zeros(n)
        a_defined = np.full(n, qn > 0)
        offer = w.description_offer
        if qn:
            soft = np.zeros((qn, n))
            if len(core_idx):
                soft = _segment_softmax_mean(cal_all[:qn], core_seg, c_len, tau)  # (qn, n)
            if offer > 0:
                # A need the description answers counts too, discounted against stated cores.
                cos = side.need @ prof_rows.T
                if w.hub_damping:
                    cos -= w.hub_damping * self._hubness(w.hub_neighbours)[1][rows]
                d = self._calib(cos, self.description_floor_)
                soft = np.maximum(soft, offer * d * self.has_profile_[rows])
            a = (side.need_w @ soft) / side.need_w.sum()
        # reciprocal_coverage: my core covers their needs.
        b = np.zeros(n)
        b_defined = n_len > 0
        if len(need_idx):
            per_need = np.zeros(len(need_idx))
            if len(side.core):
                cal = self._calib(self._against_needs(side.core, need_idx).T, self.sim_floor_)
                per_need = _softmax_mean(cal, tau)  # (m,)
            if offer > 0 and side.profile is not None and side.profile_offers:
                their = self._against_needs(side.profile[None, :], need_idx)[0]
                d = self._calib(their, self.description_floor_)
                per_need = np.maximum(per_need, offer * d)
            nw = self.need_w_[need_idx]
            num = _segment_sum(per_need * nw, need_seg, n_len)
            den = _segment_sum(nw, need_seg, n_len)
            b = np.divide(num, den, out=np.zeros(n), where=den > 0)
        prior = w.missing_side_prior
        mutual = harmonic_with_floor(
            np.where(a_defined, a, prior), np.where(b_defined, b, prior), w.one_sided_floor
        )

        # core_overlap: F1-like agreement of the two core sets (competitor signal).
        overlap = np.zeros(n)
        if len(side.core) and len(core_idx):
            cal = cal_all[qn:]  # (qc, m)
            best_q = _segment_max(cal, core_seg, c_len)  # (qc, n): best cand core per q core
            prec = best_q.mean(axis=0)
            rec = _segment_sum(cal.max(axis=0), core_seg, c_len) / np.maximum(c_len, 1)
            overlap = np.divide(2 * prec * rec, prec + rec, out=np.zeros(n), where=(prec + rec) > 0)

        prof = np.zeros(n)
        if side.profile is not None:
            sims = prof_rows @ side.profile
            prof = np.where(self.has_profile_[rows], self._calib(sims, self.profile_floor_), 0.0)

        # per-row metadata as arrays: no loop over the candidates
        ids, divisions, masks, vocab = self._row_meta()
        if side.division is not None:
            known_div = divisions[rows] != ""
            same_div = known_div & (divisions[rows] == side.division)
        else:
            known_div = same_div = np.zeros(n, dtype=bool)
        interests, coop = self._interest_features(side.interests, masks[rows], vocab)
        cand_ids = ids[rows]
        graph = self._graph()
        known = self._known_grade(side.id, side.neighbours, cand_ids, graph)
        proximity = self._proximity(side, rows, graph)
        activity = self._activity(cand_ids, graph)
        network = self._network(side, cand_ids)
        cross = np.where(known_div & ~same_div, a, 0.0)

        feats[:, _COL["need_coverage"]] = a
        feats[:, _COL["reciprocal_coverage"]] = b
        feats[:, _COL["mutual"]] = mutual
        feats[:, _COL["profile_similarity"]] = prof
        feats[:, _COL["core_overlap"]] = overlap
        feats[:, _COL["cross_industry"]] = cross
        feats[:, _COL["shared_interests"]] = interests
        feats[:, _COL["network"]] = network
        feats[:, _COL["activity"]] = activity
        feats[:, _COL["coopetition"]] = coop
        feats[:, _COL["proximity"]] = proximity
        feats[:, _COL["known_partner"]] = known

        return feats

    def _niche_scale(self) -> _competitors.NicheScale:
        """The encoder's random-pair cosine scale for the competitor rule, computed once per
        fitted corpus and again once updates have changed its size by more than
        `_NICHE_DRIFT` (a statistic of 20,000 random pairs moves by less than its own sampling
        noise with one write; recomputing it after each one cost seconds at 100,000
        organisations, on the next match after every write)."""
        fixed = self.weights_.niche_scale
        if fixed is not None:
            return _competitors.NicheScale(*fixed)
        alive = getattr(self, "alive_", None)
        n_core, n_prof = len(self.core_mat_), len(self.profile_mat_)
        key = (n_core, n_prof, -1 if alive is None else int(alive.sum()))
        cached = getattr(self, "_niche_cache", None)
        if cached is not None and _within_drift(cached[0], key):
            return cast(_competitors.NicheScale, cached[1])
        owner = self.core_owner_[:n_core]
        live = np.arange(n_core) if alive is None else np.flatnonzero(alive[owner])
        prof = self.profile_rows_[self.profile_rows_ < n_prof]
        if alive is not None:
            prof = prof[alive[prof]]
        division = np.array([s.division or "" for s in self.sides_], dtype=str)
        scale = _competitors.niche_scale(
            self.core_mat_,
            live,
            owner,
            self.profile_mat_,
            prof,
            np.arange(n_prof),
            division,
        )
        self._niche_cache = (key, scale)
        return scale

    def _competitor_rule(
        self, side: _Side, rows: np.ndarray, prof_rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Competitor verdict and niche evidence for candidate rows (matching.competitors);
        `prof_rows`: `profile_mat_[rows]` when the caller has it already (n, d).

        Returns (competitor (n,) bool, niche (n,), mine covered (n,), theirs covered (n,)).
        """
        w = self.weights_
        n = len(rows)
        c_start, c_len = self.core_start_[rows], _lengths(self.core_start_, rows)
        core_idx = _ranges(c_start, c_len)
        # stated cores only: a description standing in as pseudo core would count twice
        stated = np.array([cid is not None for cid in side.core_ids], dtype=bool)
        mine_core = side.core[stated] if len(side.core) else side.core
        d = self.dim_ or 1
        core_cos = np.zeros((len(mine_core), len(core_idx)))
        if len(mine_core) and len(core_idx):
            core_cos = self._against_cores(mine_core, core_idx)
        mine_on_desc = np.full((len(mine_core), n), -np.inf)
        if len(mine_core):
            cos = mine_core @ (self.profile_mat_[rows] if prof_rows is None else prof_rows).T
            mine_on_desc = np.where(self.has_profile_[rows][None, :], cos, -np.inf)
        theirs_on_desc = np.full(len(core_idx), -np.inf)
        if side.profile is not None and len(core_idx):
            distinct = getattr(self, "core_distinct_", None)
            if distinct is not None and distinct.n_distinct < len(core_idx):
                # one product per distinct vector, not a gather of every candidate core row
                theirs_on_desc = (distinct.rows @ side.profile.reshape(d))[
                    distinct.inverse[core_idx]
                ]
            else:
                theirs_on_desc = self.core_mat_[core_idx] @ side.profile.reshape(d)
        mine, theirs = _competitors.niche_evidence(
            self._niche_scale(),
            core_cos,
            mine_on_desc,
            theirs_on_desc,
            _seg_starts(c_len),
            c_len,
        )
        # a firm that states no core competence (its description stands in) is never called
        # a competitor: the rule compares what both sides say they offer
        stated_c = self._row_flags()[1][rows] & (c_len > 0)
        finite = np.isfinite(mine) & np.isfinite(theirs) & stated_c
        niche = np.where(finite, (mine + theirs) / 2, -np.inf)
        if side.division is not None:
            divisions = self._row_meta()[1][rows]  # "" where unknown
            known = divisions != ""
            same = known & (divisions == side.division)
        else:
            known = same = np.zeros(n, dtype=bool)
        competitor = _competitors.verdict(
            niche, same, known, w.competitor_niche, w.competitor_niche_no_nace
        )
        if side.id is None:
            competitor[:] = False
        return competitor, niche, mine, theirs

    def _graph(self) -> _Graph:
        """The known-relationship graph for walks (its largest degree), rebuilt when the
        adjacency changed."""
        # an incremental update (matching.incremental) gives the copy new row and adjacency
        # maps while the cache attribute is shared: the maps' identities are part of the key
        # (the cache holds the maps themselves, so an identity cannot be that of a freed map;
        # both are replaced, never changed in place, once fitted)
        key = (id(self.adjacency_), id(self.row_of_id_), len(self.row_of_id_),
               len(self.adjacency_), len(self.profiles_))  # fmt: skip
        cached: _Graph | None = getattr(self, "_graph_cache", None)
        if (
            cached is not None
            and cached.key == key
            and cached.maps[0] is self.adjacency_
            and cached.maps[1] is self.row_of_id_
        ):
            return cached
        changes = getattr(self, "_graph_changes", None)
        if (
            cached is not None
            and changes is not None
            and cached.maps[0] is changes[0]
            and self.weights_.tie_half_life <= 0
        ):
            # the graph of the generation this one was updated from: patch the changed nodes
            graph = self._patched_graph(cached, changes[1], key)
        else:
            graph = self._walk_graph(self.adjacency_, key)
        self._graph_cache = graph
        return graph

    def _patched_graph(self, base: _Graph, changed: frozenset[int], key: tuple[int, ...]) -> _Graph:
        """`base` (the graph before an incremental update) with the ties of `changed` nodes
        (replaced, removed, or with a partner added or lost: `matching.incremental.updated`) and
        of their neighbours weighed again; equal to `_walk_graph` of the new adjacency while
        ties do not age (`tie_half_life` 0: a weight then depends on its two ends alone)."""
        adjacency = self.adjacency_
        old_adjacency = base.maps[0]
        redo = set(changed)
        for u in changed:
            redo.update(adjacency.get(u, ()))
            redo.update(old_adjacency.get(u, ()))
        ties = dict(base.ties)
        strength = dict(base.strength)
        for u in redo:
            partners = adjacency.get(u)
            if not partners:
                ties.pop(u, None)
                strength.pop(u, None)
                continue
            mine = {v: self._tie_weight(u, v) for v in partners}
            ties[u] = mine
            strength[u] = sum(mine.values())
        max_strength = max(strength.values(), default=0.0)
        return _Graph(key, max_strength, (adjacency, self.row_of_id_), ties, strength)

    def _tie_weight(self, a: int, b: int) -> float:
        """The weight of the tie a-b as `_tie_weights` gives it when ties do not age."""
        return float(self._tie(a, b)[0]) ** self.weights_.tie_strength

    def _tie(
        self, a: int, b: int, statements: frozenset[tuple[int, int]] | None = None
    ) -> tuple[int, int | None]:
        """(joint projects, last year) of the tie a-b: the larger joint_projects (1 when not
        stated) and the later last_year either live side states (`ProfileVec.partner_ties`);
        with `statements`, only those (stating, named) relationships count."""
        alive = getattr(self, "alive_", None)
        joint, last = 1, None
        for x, y in ((a, b), (b, a)):
            row = self.row_of_id_.get(x)
            if row is None or (alive is not None and not alive[row]):
                continue
            if statements is not None and (x, y) not in statements:
                continue  # a statement the caller may not read weighs nothing
            j, year = self.profiles_[row].partner_ties.get(y, (None, None))
            joint = max(joint, j or 1)
            if year is not None and (last is None or year > last):
                last = year
        return joint, last

    def _walk_graph(
        self,
        adjacency: dict[int, frozenset[int]],
        key: tuple[int, ...],
        statements: frozenset[tuple[int, int]] | None = None,
        outcomes: dict[tuple[int, int], int] | None = None,
        stated: dict[int, frozenset[int]] | None = None,
    ) -> _Graph:
        """The graph of `adjacency` for walks, with the weight of every edge (`_tie_weights`)
        and each node's summed weight. The walk itself runs over the adjacency from the query
        outwards (`_proximity`), so building costs one pass over the edges. With
        `statements`, only those (stating, named) relationships lend their strength and year;
        with `outcomes` ((smaller id, larger id) -> year), those edges add an outcome tie's
        weight, and only the edges of `stated` weigh as relationships."""
        ties = self._tie_weights(adjacency, statements, outcomes, stated)
        strength = {u: sum(ws.values()) for u, ws in ties.items()}
        max_strength = max(strength.values(), default=0.0)
        return _Graph(key, max_strength, (adjacency, self.row_of_id_), ties, strength)

    def _tie_weights(
        self,
        adjacency: dict[int, frozenset[int]],
        statements: frozenset[tuple[int, int]] | None = None,
        outcomes: dict[tuple[int, int], int] | None = None,
        stated: dict[int, frozenset[int]] | None = None,
    ) -> dict[int, dict[int, float]]:
        """Weight of every edge of `adjacency`, both directions alike: the larger
        joint_projects and the later last_year either side states (`ProfileVec.partner_ties`),
        as `Weights.tie_strength` and `Weights.tie_half_life` turn them into a weight; the
        newest last_year in the graph is "now", so the weights do not age with the clock.

        With `outcomes`, an edge that is one of them adds `Weights.outcome_tie`, aged from
        its year like a stated last_year; an edge that is not in `stated` (None: every edge
        is) is an outcome tie alone and weighs that only."""
        w = self.weights_
        if statements is None and outcomes is None and stated is None and w.tie_half_life <= 0:
            return self._unaged_tie_weights(adjacency)
        raw: dict[tuple[int, int], tuple[int, int | None]] = {}
        newest: int | None = None
        row_of_id = self.row_of_id_
        # a tie between two organisations that are not fitted states nothing: (1, None)
        unstated = (1, None)
        # an edge no relationship states (an outcome tie alone): no stated weight
        none = (0, None)
        for a, partners in adjacency.items():
            a_fitted = a in row_of_id
            mine = stated.get(a, ()) if stated is not None else ()
            for b in partners:
                if b < a and a in adjacency.get(b, ()):
                    continue  # each undirected edge once
                if stated is not None and b not in mine:
                    raw[(a, b)] = none
                    continue
                if not a_fitted and b not in row_of_id:
                    raw[(a, b)] = unstated
                    continue
                _, last = raw[(a, b)] = self._tie(a, b, statements)
                if last is not None and (newest is None or last > newest):
                    newest = last
        if outcomes:
            newest = max(max(outcomes.values()), newest if newest is not None else -(10**9))
        out: dict[int, dict[int, float]] = {}
        for (a, b), tie in raw.items():
            joint, last = tie
            # 1 ** strength is 1 whatever the strength
            if tie is none:
                weight = 0.0
            else:
                weight = 1.0 if tie is unstated else float(joint) ** w.tie_strength
                if w.tie_half_life > 0 and last is not None and newest is not None:
                    weight *= 0.5 ** ((newest - last) / w.tie_half_life)
            year = outcomes.get((a, b) if a < b else (b, a)) if outcomes else None
            if year is not None:
                extra = w.outcome_tie
                if w.tie_half_life > 0 and newest is not None:
                    extra *= 0.5 ** ((newest - year) / w.tie_half_life)
                weight += extra
            out.setdefault(a, {})[b] = weight
            out.setdefault(b, {})[a] = weight
        return out

    def _unaged_tie_weights(
        self, adjacency: dict[int, frozenset[int]]
    ) -> dict[int, dict[int, float]]:
        """`_tie_weights` of every stated tie while ties do not age (`tie_half_life` 0): a
        weight depends on its two ends alone, so each edge is weighed and written as it is
        met, in the same order (the walk's sums follow it), without the list of every edge
        that the newest year needs (the neighbourhood of one request holds up to 20,000
        organisations)."""
        strength = self.weights_.tie_strength
        row_of_id = self.row_of_id_
        out: dict[int, dict[int, float]] = {}
        empty: frozenset[int] = frozenset()
        for a, partners in adjacency.items():
            a_fitted = a in row_of_id
            for b in partners:
                if b < a and a in adjacency.get(b, empty):
                    continue  # each undirected edge once
                if a_fitted or b in row_of_id:
                    weight = float(self._tie(a, b)[0]) ** strength
                else:
                    weight = 1.0  # a tie between two organisations not fitted states nothing
                out.setdefault(a, {})[b] = weight
                out.setdefault(b, {})[a] = weight
        return out

    @staticmethod
    def _known_grade(
        query_id: int | None, neighbours: frozenset[int], cand_ids: np.ndarray, graph: _Graph
    ) -> np.ndarray:
        """(n,) known_partner: the tie's weight over the query's strongest tie for a known
        partner (1 where all ties weigh the same), 0 for anyone else."""
        known = np.isin(cand_ids, np.fromiter(neighbours, np.int64)).astype(float)
        mine = graph.ties.get(query_id, {}) if query_id is not None else {}
        if not mine or not known.any():
            return known
        top = max(mine.values())
        grade = np.array([mine.get(i, top) / top for i in cand_ids.tolist()])
        return known * grade

    @staticmethod
    def _activity(cand_ids: np.ndarray, graph: _Graph) -> np.ndarray:
        """(n,) log1p(summed tie weight) / log1p(largest summed tie weight)."""
        if graph.max_degree <= 0:
            return np.zeros(len(cand_ids))
        summed = graph.strengths(np.asarray(cand_ids, dtype=np.int64))
        return np.log1p(summed) / math.log1p(graph.max_degree)

    def _aggregate_activity(
        self,
        cand_ids: np.ndarray,
        ties: frozenset[tuple[int, int, int]],
        visible: frozenset[tuple[int, int]] | None,
    ) -> np.ndarray:
        """(n,) `activity` over the stated relationships the caller's list uses (every one,
        or `visible`) with the outcome `ties` added (`Filters.activity_ties`): log1p(a
        candidate's summed stated tie strength plus `Weights.outcome_tie` per organisation it
        had a positive outcome with) over log1p(the largest summed stated strength plus
        `outcome_tie` times the most such organisations any one has), so a value stays in
        [0, 1] and depends only on the candidate, that graph's largest strength and the ties,
        as the per-request path has them too. Outcome ties count unaged."""
        base = self._graph() if visible is None else self._visible_graph(visible)[1]
        extra = self.weights_.outcome_tie
        if not ties or extra <= 0:
            return self._activity(cand_ids, base)
        cached = getattr(self, "_outcome_count_cache", None)
        if cached is not None and cached[0] is ties:
            counts, most = cached[1], cached[2]
        else:
            pairs = {(a, b) if a < b else (b, a) for a, b, _ in ties if a != b}
            found: Counter[int] = Counter()
            for a, b in pairs:
                found[a] += 1
                found[b] += 1
            counts, most = dict(found), max(found.values(), default=0)
            self._outcome_count_cache = (ties, counts, most)
        top = base.max_degree + extra * most
        if top <= 0:
            return np.zeros(len(cand_ids))
        ids = np.asarray(cand_ids, dtype=np.int64)
        outcome = np.fromiter((counts.get(i, 0) for i in ids.tolist()), float, len(ids))
        summed = base.strengths(ids) + extra * outcome
        return np.log1p(summed) / math.log1p(top)

    def _visible_graph_features(
        self,
        side: _Side,
        rows: np.ndarray,
        edges: frozenset[tuple[int, int]],
        feats: np.ndarray,
    ) -> None:
        """Recompute the graph components of `feats` over the relationships a caller may see
        (`edges`, both directions): no walk, shared partner or degree passes through an edge
        that only a hidden list states."""
        adjacency, graph = self._visible_graph(edges)
        empty: frozenset[int] = frozenset()
        neighbours = adjacency.get(side.id, empty) if side.id is not None else empty
        for k, r in enumerate(rows):
            cand = self.profiles_[r].id
            theirs = adjacency.get(cand, empty)
            total = 0.0
            for z in neighbours & theirs:
                partners = adjacency.get(z, empty)
                total += 1.0 / math.log(max(len(partners) + (side.id not in partners), 2))
            feats[k, _COL["network"]] = total / (1.0 + total)
        cand_ids = self._row_meta()[0][rows]
        feats[:, _COL["activity"]] = self._activity(cand_ids, graph)
        feats[:, _COL["known_partner"]] = self._known_grade(side.id, neighbours, cand_ids, graph)
        feats[:, _COL["proximity"]] = self._proximity(side, rows, graph, neighbours)

    def _visible_graph(
        self, edges: frozenset[tuple[int, int]]
    ) -> tuple[dict[int, frozenset[int]], _Graph]:
        """The adjacency and walk graph of the relationships `edges` (both directions),
        kept while the same edges are asked for."""
        key = (id(self.row_of_id_), len(self.row_of_id_), hash(edges), len(edges))
        cached = getattr(self, "_visible_graph_cache", None)
        if cached is not None and cached[0] == key and cached[1] == edges:
            return cached[2], cached[3]
        adj: dict[int, set[int]] = {}
        for a, b in edges:
            if a != b:
                adj.setdefault(a, set()).add(b)
                adj.setdefault(b, set()).add(a)
        adjacency = {k: frozenset(v) for k, v in adj.items()}
        graph = self._walk_graph(adjacency, key, edges)
        self._visible_graph_cache = (key, edges, adjacency, graph)
        return adjacency, graph

    def _outcome_graph_features(
        self, side: _Side, rows: np.ndarray, filters: Filters, feats: np.ndarray
    ) -> None:
        """Recompute `network` and `proximity` of `feats` over the relationship graph the
        caller's list uses (every relationship, or `filters.visible_relationships`) with the
        outcome ties of `filters` added (`Weights.outcome_tie`): the walk and the shared
        partners also pass through the organisations the query and others had positive
        outcomes with. `activity` and `known_partner` stay those of the stated relationships,
        so an outcome tie is no known partner and adds no stated activity."""
        empty: frozenset[int] = frozenset()
        edges = filters.visible_relationships
        if edges is None:
            stated, statements, base = self.adjacency_, None, self._graph()
            mine = side.neighbours
        else:
            stated, base = self._visible_graph(edges)
            statements = edges
            mine = stated.get(side.id, empty) if side.id is not None else empty
        adjacency, graph = self._with_outcomes(stated, statements, filters.outcome_ties, base)
        ours = adjacency.get(side.id, empty) if side.id is not None else empty
        neighbours = frozenset((mine | ours) - {side.id})
        cand_ids = self._row_meta()[0][rows]
        feats[:, _COL["network"]] = _adamic_adar(side.id, neighbours, adjacency, cand_ids)
        feats[:, _COL["proximity"]] = self._proximity(side, rows, graph, neighbours)

    def _with_outcomes(
        self,
        stated: dict[int, frozenset[int]],
        statements: frozenset[tuple[int, int]] | None,
        ties: frozenset[tuple[int, int, int]],
        base: _Graph,
    ) -> tuple[dict[int, frozenset[int]], _Graph]:
        """The adjacency `stated` with the outcome `ties` added, and its walk graph; kept
        while the same stated adjacency and the same ties (by identity) are asked for.

        While ties do not age (`tie_half_life` 0) a weight depends on its two ends alone, so
        the graph is `base` (the walk graph of `stated`) with the ends of the outcome ties
        weighed again: a member's list adds its own few ties to a graph of 100,000
        organisations without weighing every edge again."""
        w = self.weights_
        params = (w.outcome_tie, w.tie_strength, w.tie_half_life)
        cached = getattr(self, "_outcome_graph_cache", None)
        if (
            cached is not None
            and cached[0] is stated
            and cached[1] is ties
            and cached[2] == params
            and cached[3] is self.row_of_id_
        ):
            return cached[4], cached[5]
        years: dict[tuple[int, int], int] = {}
        added: dict[int, set[int]] = {}
        for a, b, year in ties:
            if a == b:
                continue
            pair = (a, b) if a < b else (b, a)
            years[pair] = max(years.get(pair, year), year)
            added.setdefault(a, set()).add(b)
            added.setdefault(b, set()).add(a)
        adjacency = dict(stated)
        for node, others in added.items():
            adjacency[node] = stated.get(node, frozenset()) | others
        key = (id(stated), id(ties), len(adjacency))
        # (its max_degree counts outcome ties too; activity does not read this graph)
        if w.tie_half_life > 0:
            # an outcome's year may be the graph's newest: every stated weight ages anew
            graph = self._walk_graph(adjacency, key, statements, years, stated)
        else:
            graph = self._graph_with_outcomes(base, adjacency, key, years)
        self._outcome_graph_cache = (stated, ties, params, self.row_of_id_, adjacency, graph)
        return adjacency, graph

    def _graph_with_outcomes(
        self,
        base: _Graph,
        adjacency: dict[int, frozenset[int]],
        key: tuple[int, ...],
        years: dict[tuple[int, int], int],
    ) -> _Graph:
        """`base` with `Weights.outcome_tie` added to the edge of every outcome pair of
        `years` (an edge no relationship states weighs that alone); equal to `_walk_graph`
        of the stated and outcome edges while ties do not age."""
        extra = self.weights_.outcome_tie
        ties = dict(base.ties)
        strength = dict(base.strength)
        for a, b in years:
            for u, v in ((a, b), (b, a)):
                mine = ties.get(u)
                if mine is None or mine is base.ties.get(u):
                    mine = ties[u] = dict(mine or {})
                mine[v] = mine.get(v, 0.0) + extra
        for u in {u for pair in years for u in pair}:
            strength[u] = sum(ties[u].values())
        max_strength = max(strength.values(), default=0.0)
        return _Graph(key, max_strength, (adjacency, self.row_of_id_), ties, strength)

    def _hubness(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """How near each offer is to every need: ((n_core_rows,), (n_profile_rows,)).

        Per core competence row and per profile row: the mean cosine with its `k` nearest
        stated needs of the corpus (an even sample of at most `_HUB_REFERENCE` live need
        rows), minus the median of that over the live core rows (cross-domain similarity
        local scaling). Zeros when the corpus states fewer than 2k needs.

        After an update (matching.incremental) the values are computed again, as a fresh fit
        would, while that costs at most `_HUB_EXACT_BUDGET` cosines; above it only the
        appended rows are computed, against the sample and median of the last full
        computation, until the next full fit."""
        alive = getattr(self, "alive_", None)
        n_core, n_need, n_prof = len(self.core_mat_), len(self.need_mat_), len(self.profile_mat_)
        key = (k, n_core, n_need, n_prof, -1 if alive is None else int(alive.sum()))
        cached = getattr(self, "_hub_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        live_core = np.ones(n_core, bool) if alive is None else alive[self.core_owner_[:n_core]]
        if cached is None or n_core * min(n_need, _HUB_REFERENCE) <= _HUB_EXACT_BUDGET:
            live_need = np.ones(n_need, bool) if alive is None else alive[self.need_owner_[:n_need]]
            need = self.need_mat_[live_need]
            ref = _counted(need[:: max(1, math.ceil(len(need) / _HUB_REFERENCE))])
            if _size(ref) < 2 * k:
                core, prof, centre = np.zeros(n_core), np.zeros(n_prof), 0.0
            else:
                distinct = getattr(self, "core_distinct_", None)
                if distinct is not None:  # one value per distinct core vector
                    core = _mean_top_k(distinct.rows, ref, k)[distinct.inverse[:n_core]]
                else:
                    core = _mean_top_k(self.core_mat_, ref, k)
                prof = _mean_top_k(self.profile_mat_, ref, k)
                centre = float(np.median(core[live_core])) if live_core.any() else 0.0
        else:
            _, _, _, ref, centre, old_raw = cached
            core, prof = old_raw
            if _size(ref) >= 2 * k:
                core = np.concatenate([core, _mean_top_k(self.core_mat_[len(core) :], ref, k)])
                prof = np.concatenate([prof, _mean_top_k(self.profile_mat_[len(prof) :], ref, k)])
            else:
                core = np.concatenate([core, np.zeros(n_core - len(core))])
                prof = np.concatenate([prof, np.zeros(n_prof - len(prof))])
        raw = (core, prof)
        if _size(ref) < 2 * k:
            core_hub, prof_hub = np.zeros(n_core), np.zeros(n_prof)
        else:
            core_hub = core - centre
            # a profile row without a vector is zeros: its cosine is 0 whatever the damping
            prof_hub = np.where(self.has_profile_[:n_prof], prof - centre, 0.0)
        self._hub_cache = (key, core_hub, prof_hub, ref, centre, raw)
        return core_hub, prof_hub

    def _proximity(
        self,
        side: _Side,
        rows: np.ndarray,
        graph: _Graph,
        neighbours: frozenset[int] | None = None,
    ) -> np.ndarray:
        """(len(rows),) personalised PageRank of each candidate row from the query, truncated
        after `walk_steps` steps and divided by the highest value over all organisations.

        The walk starts at the query, which steps to one of its known partners; each further
        step continues to a random partner of the current organisation with probability
        1 - `walk_restart`. Partners of partners with many shared partners get much of the
        mass, hubs some of it by their many links (an activity prior the walk earns)."""
        w = self.weights_
        if neighbours is None:
            neighbours = side.neighbours
        adjacency, row_of_id = graph.maps
        # every fitted organisation and every listed partner is a node of the walk
        start = [q for q in neighbours if q in row_of_id or q in adjacency]
        if not start or w.walk_steps <= 0:
            return np.zeros(len(rows))
        # the walk over the nodes it reaches only: its work grows with the query's
        # neighbourhood within `walk_steps`, not with the number of organisations.
        # Each step follows a tie with a probability proportional to its weight.
        ties, strength = graph.ties, graph.strength
        mine = ties.get(side.id, {}) if side.id is not None else {}
        first = [mine.get(q, 1.0) for q in start]
        x = {q: f / sum(first) for q, f in zip(start, first, strict=True)}
        total = dict(x)
        keep = 1.0 - w.walk_restart
        empty: dict[int, float] = {}
        for _ in range(w.walk_steps - 1):
            nxt: dict[int, float] = {}
            for u, mass in x.items():
                partners = ties.get(u, empty)
                if partners:
                    share = keep * mass / strength[u]
                    for v, weight in partners.items():
                        nxt[v] = nxt.get(v, 0.0) + share * weight
            x = nxt
            for v, mass in x.items():
                total[v] = total.get(v, 0.0) + mass
        if side.id is not None and side.id in total:
            total[side.id] = 0.0  # the walk's way back to the query is no partner
        top = max(total.values())
        if top <= 0:
            return np.zeros(len(rows))
        ids = self._row_meta()[0][rows]
        return np.array([total.get(i, 0.0) for i in ids.tolist()]) / top

    def _row_meta(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
        """Per fitted row: id (n,) int64, NACE division (n,) str ("" unknown), cooperation
        interests as bits (n,) uint64, and the bit of each interest. Rows are append-only
        between fits (matching.incremental), so a generation extends the arrays it inherited
        and never changes them in place."""
        cached = getattr(self, "_row_meta_cache", None)
        n = len(self.profiles_)
        if cached is not None and len(cached[0]) == n:
            return cached
        start = 0 if cached is None else len(cached[0])
        vocab: dict[str, int] = {} if cached is None else dict(cached[3])
        new = self.profiles_[start:]
        for p in new:
            for i in p.cooperation_interests:
                vocab.setdefault(i, len(vocab))
        if len(vocab) > 64:
            raise MatchingError("more than 64 distinct cooperation interests")
        masks = np.array(
            [sum(1 << vocab[i] for i in p.cooperation_interests) for p in new], dtype=np.uint64
        )
        part = (
            np.array([p.id for p in new], dtype=np.int64),
            np.array([self.sides_[start + k].division or "" for k in range(len(new))], dtype=str),
            masks,
        )
        if cached is not None:
            part = (
                np.concatenate([cached[0], part[0]]),
                np.concatenate([cached[1], part[1]]),
                np.concatenate([cached[2], part[2]]),
            )
        out = (*part, vocab)
        self._row_meta_cache = out
        return out

    def _row_flags(self) -> tuple[np.ndarray, np.ndarray]:
        """Per fitted row, (n,) bool each: opted out of being shown to competitors, and states
        a core competence of its own (its first core is not the description standing in).
        Extended per generation like `_row_meta` (rows are append-only between fits)."""
        cached: tuple[np.ndarray, np.ndarray] | None = getattr(self, "_row_flags_cache", None)
        n = len(self.profiles_)
        if cached is not None and len(cached[0]) == n:
            return cached
        start = 0 if cached is None else len(cached[0])
        opted = np.fromiter(
            (p.exclude_from_competitors for p in self.profiles_[start:]), bool, n - start
        )
        stated = np.fromiter(
            (self.sides_[r].core_ids[:1] != [None] for r in range(start, n)), bool, n - start
        )
        if cached is not None:
            opted = np.concatenate([cached[0], opted])
            stated = np.concatenate([cached[1], stated])
        self._row_flags_cache = (opted, stated)
        return opted, stated

    def _interest_features(
        self, mine: frozenset[str], theirs: np.ndarray, vocab: dict[str, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(shared_interests, coopetition) for candidates with interest bits `theirs` (n,):
        Jaccard of the two interest sets, and the coopetition weights' share of the shared."""
        coop_w = self.weights_.coopetition_interest_weights()
        n = len(theirs)
        mask = np.uint64(sum(1 << vocab[i] for i in mine if i in vocab))
        union_n = np.full(n, float(len([i for i in mine if i not in vocab])))
        shared_n = np.zeros(n)
        den = np.full(n, float(sum(coop_w.get(i, 0.0) for i in mine if i not in vocab)))
        num = np.zeros(n)
        for name, bit in vocab.items():
            has = ((theirs >> np.uint64(bit)) & np.uint64(1)).astype(bool)
            in_mine = bool((int(mask) >> bit) & 1)
            in_union = has | in_mine
            union_n += in_union
            wt = coop_w.get(name, 0.0)
            den += wt * in_union
            if in_mine:
                shared_n += has
                num += wt * has
        interests = np.divide(shared_n, union_n, out=np.zeros(n), where=union_n > 0)
        coop = np.divide(num, den, out=np.zeros(n), where=den > 0)
        return interests, coop

    def _network(self, side: _Side, cand_ids: np.ndarray) -> np.ndarray:
        """(n,) squashed Adamic-Adar index of the query with each candidate id, from the
        query's known partners outwards (the work grows with the query's neighbourhood, not
        with the candidates): a fitted candidate's partners are its adjacency."""
        return _adamic_adar(side.id, side.neighbours, self.adjacency_, cand_ids)

    def _adamic_adar(self, side: _Side, cand: _Side) -> float:
        """Squashed Adamic-Adar index: common known partners, rarer ones count more."""
        common = side.neighbours & cand.neighbours
        if not common:
            return 0.0
        total = 0.0
        empty: frozenset[int] = frozenset()
        for z in common:
            # z's degree, counting the query even when it is not part of the fitted graph
            partners = self.adjacency_.get(z, empty)
            deg = len(partners) + (side.id not in partners)
            total += 1.0 / math.log(max(deg, 2))
        return total / (1.0 + total)

    # ------------------------------------------------------------------ explanations
    def _covers(
        self,
        needs: np.ndarray,
        cores: np.ndarray,
        profile: np.ndarray | None,
        lexical: np.ndarray | None = None,
    ) -> list[tuple[int, int | None, float, float]]:
        """Per need (q, d) that `cores` (c, d) or `profile` (d,) cover: (need index, best core
        index or None = the description, strength, cosine). `lexical` (q, c): the lexical
        strength of each pair, taken where it is higher. All needs in one product and one
        argmax: elementwise the same arithmetic as one need at a time."""
        w = self.weights_
        out: list[tuple[int, int | None, float, float]] = []
        if not len(needs):
            return out
        core_sims = needs @ cores.T if len(cores) else np.zeros((len(needs), 0))
        desc_sims = needs @ profile if profile is not None else None
        at: list[int | None] = [None] * len(needs)
        best_s, best_c = [0.0] * len(needs), [0.0] * len(needs)
        if core_sims.shape[1]:
            strength = self._calib(core_sims, self.sim_floor_)
            if lexical is not None:
                strength = np.maximum(strength, lexical)
            j = strength.argmax(axis=1)
            pick = np.arange(len(needs))
            at = list(j.tolist())
            best_s = strength[pick, j].tolist()
            best_c = core_sims[pick, j].tolist()
        desc_cal: list[float] = []
        if desc_sims is not None and w.description_offer > 0:
            desc_cal = self._calib(desc_sims, self.description_floor_).tolist()
        for i in range(len(needs)):
            best: tuple[int | None, float, float] = (at[i], best_s[i], best_c[i])
            if desc_cal:
                c = w.description_offer * desc_cal[i]
                if c > best[1]:
                    best = (None, c, float(desc_sims[i]))  # type: ignore[index]
            if best[1] > 0:
                out.append((i, best[0], best[1], best[2]))
        return out

    def _reasons(
        self, side: _Side, row: int, relation: Relation, prof_sim: float
    ) -> tuple[Reason, ...]:
        """Pairs behind a match, strongest first (by calibrated contribution), at most
        `max_reasons`. A need answered by a description rather than a competence has None as
        the id and label of that side."""
        w = self.weights_
        cand = self.sides_[row]
        found: list[tuple[float, Reason]] = []

        lexical = None
        if side.need_tokens is not None and len(cand.core):
            rows = range(int(self.core_start_[row]), int(self.core_start_[row + 1]))
            lexical = w.lexical_match * self._lexical(side.need_tokens, list(rows))
        for i, j, strength, cos in self._covers(side.need, cand.core, cand.profile, lexical):
            found.append(
                (
                    strength,
                    Reason(
                        direction="they_cover_my_need",
                        query_competence_id=side.need_ids[i],
                        query_label=side.need_labels[i],
                        target_competence_id=cand.core_ids[j] if j is not None else None,
                        target_label=cand.core_labels[j] if j is not None else None,
                        need_kind=side.need_kinds[i],
                        similarity=cos,
                    ),
                )
            )
        my_offer = side.profile if side.profile_offers else None
        for i, j, strength, cos in self._covers(cand.need, side.core, my_offer):
            found.append(
                (
                    strength,
                    Reason(
                        direction="i_cover_their_need",
                        query_competence_id=side.core_ids[j] if j is not None else None,
                        query_label=side.core_labels[j] if j is not None else None,
                        target_competence_id=cand.need_ids[i],
                        target_label=cand.need_labels[i],
                        need_kind=cand.need_kinds[i],
                        similarity=cos,
                    ),
                )
            )
        if (relation == "competitor" or not found) and len(side.core) and len(cand.core):
            sims = side.core @ cand.core.T
            for i, j in enumerate(sims.argmax(axis=1)):
                strength = float(self._calib(sims[i, j], self.sim_floor_))
                # Both sides must be stated competences: a description is not a "core".
                if strength > 0 and side.core_ids[i] is not None and cand.core_ids[j] is not None:
                    found.append(
                        (
                            strength,
                            Reason(
                                direction="shared_core",
                                query_competence_id=side.core_ids[i],
                                query_label=side.core_labels[i],
                                target_competence_id=cand.core_ids[j],
                                target_label=cand.core_labels[j],
                                need_kind=None,
                                similarity=float(sims[i, j]),
                            ),
                        )
                    )
        if not found and prof_sim > 0 and side.profile is not None and cand.profile is not None:
            found.append(
                (
                    prof_sim,
                    Reason(
                        direction="similar_profile",
                        query_competence_id=None,
                        query_label=None,
                        target_competence_id=None,
                        target_label=None,
                        need_kind=None,
                        similarity=float(side.profile @ cand.profile),
                    ),
                )
            )
        found.sort(key=lambda x: -x[0])
        return tuple(r for _, r in found[: w.max_reasons])


@dataclass(frozen=True)
class _Graph:
    """The known-relationship graph for random walks: the adjacency, each edge's weight, each
    node's summed weight and the largest of those (`max_degree`: the degree when every tie
    weighs 1)."""

    key: tuple[int, ...]
    max_degree: float
    maps: tuple[Any, Any] = ((), ())  # the adjacency and row maps it was built from
    ties: dict[int, dict[int, float]] = field(default_factory=dict)
    strength: dict[int, float] = field(default_factory=dict)
    # `strength` as (sorted ids, their weights), built at the first `strengths` call (a
    # graph's maps are never changed once built)
    _sorted: list[tuple[np.ndarray, np.ndarray]] = field(
        default_factory=list, repr=False, compare=False
    )

    def strengths(self, ids: np.ndarray) -> np.ndarray:
        """(n,) float64: the summed tie weight of each of `ids` ((n,) int64), 0 for a node
        without ties. One sorted lookup for all of them, not a dict lookup per id."""
        # (a graph unpickled from before the field existed has none yet)
        built = self.__dict__.setdefault("_sorted", [])
        if not built:
            keys = np.fromiter(self.strength, np.int64, len(self.strength))
            vals = np.fromiter(self.strength.values(), np.float64, len(self.strength))
            order = np.argsort(keys, kind="stable")
            built.append((keys[order], vals[order]))
        keys, vals = built[0]
        out = np.zeros(len(ids))
        if len(keys) and len(ids):
            pos = np.minimum(np.searchsorted(keys, ids), len(keys) - 1)
            hit = keys[pos] == ids
            out[hit] = vals[pos[hit]]
        return out


def _adamic_adar(
    query_id: int | None,
    neighbours: Iterable[int],
    adjacency: dict[int, frozenset[int]],
    cand_ids: np.ndarray,
) -> np.ndarray:
    """(n,) squashed Adamic-Adar index of the query with each of `cand_ids` ((n,) int64) over
    `adjacency`, from the query's `neighbours` outwards."""
    empty: frozenset[int] = frozenset()
    total: dict[int, float] = {}
    for z in neighbours:
        partners = adjacency.get(z, empty)
        if not partners:
            continue
        # z's degree, counting the query even when it is not part of the fitted graph
        weight = 1.0 / math.log(max(len(partners) + (query_id not in partners), 2))
        for c in partners:
            total[c] = total.get(c, 0.0) + weight
    out = np.zeros(len(cand_ids))
    if total:
        keys = np.fromiter(total, np.int64, len(total))
        vals = np.fromiter(total.values(), np.float64, len(total))
        order = np.argsort(keys)
        keys, vals = keys[order], vals[order]
        pos = np.clip(np.searchsorted(keys, cand_ids), 0, len(keys) - 1)
        hit = keys[pos] == cand_ids
        out[hit] = vals[pos[hit]]
    return out / (1.0 + out)


# ---------------------------------------------------------------------- array helpers
def _counted(ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of `ref` (in order of first appearance) and how often each occurs."""
    first: dict[bytes, int] = {}
    counts_of: Counter[int] = Counter()
    for j in range(len(ref)):
        counts_of[first.setdefault(ref[j].tobytes(), j)] += 1
    uniq = np.ascontiguousarray(ref[list(counts_of)], dtype=np.float32).reshape(-1, ref.shape[1])
    return uniq, np.fromiter(counts_of.values(), np.int64, len(counts_of))


def _size(ref: tuple[np.ndarray, np.ndarray]) -> int:
    """Rows of a `_counted` reference, repeats included."""
    return int(ref[1].sum())


def _mean_top_k(
    rows: np.ndarray, ref: tuple[np.ndarray, np.ndarray], k: int, chunk: int = 2048
) -> np.ndarray:
    """(len(rows),) mean of the k largest cosines of each row with the rows of a reference
    given as `_counted` (distinct rows, counts): rows that repeat (needs many organisations
    share) are multiplied once and counted as often as they occur."""
    out = np.zeros(len(rows))
    if not len(rows):
        return out
    uniq, counts = ref
    t = min(k, len(uniq))  # every distinct row occurs at least once
    for start in range(0, len(rows), chunk):
        sims = rows[start : start + chunk] @ uniq.T
        top = np.argpartition(-sims, t - 1, axis=1)[:, :t] if t < len(uniq) else None
        vals = sims if top is None else np.take_along_axis(sims, top, axis=1)
        cnt = counts[np.arange(len(uniq))[None, :] if top is None else top]
        cnt = np.broadcast_to(cnt, vals.shape)
        order = np.argsort(-vals, axis=1, kind="stable")
        vals = np.take_along_axis(vals, order, axis=1)
        cnt = np.take_along_axis(cnt, order, axis=1)
        take = np.clip(k - (np.cumsum(cnt, axis=1) - cnt), 0, cnt)
        out[start : start + chunk] = (vals * take).sum(axis=1) / k
    return out


def _rows(vectors: Sequence[np.ndarray], d: int) -> np.ndarray:
    """Vectors (d,) as the rows of one (n, d) float32 array; (0, d) if there are none. One
    array built from the list, not a stack of n one-row blocks (a fit builds two per
    organisation)."""
    if not vectors:
        return np.zeros((0, d), dtype=np.float32)
    return np.array(vectors, dtype=np.float32).reshape(len(vectors), -1)


# Relative change of the corpus size (core rows, description rows, live organisations) after
# which the competitor rule's niche scale is estimated again; a smaller corpus (under 100 of
# each) is estimated again after every change.
_NICHE_DRIFT = 0.01


def _within_drift(old: tuple[int, ...], new: tuple[int, ...]) -> bool:
    """Whether every count of `new` lies within `_NICHE_DRIFT` of `old`'s (equal when small)."""
    return all(abs(n - o) <= _NICHE_DRIFT * o for o, n in zip(old, new, strict=True))


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of range(s, s + l) for each pair; (sum lengths,) int64."""
    if len(lengths) == 0 or lengths.sum() == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - _seg_starts(lengths), lengths)
    return np.arange(int(lengths.sum()), dtype=np.int64) + offsets


def listed_by(profiles: Sequence[ProfileVec]) -> dict[int, np.ndarray]:
    """Per organisation id, the rows ((k,) int64, ascending) of the profiles whose known
    partners include it."""
    rows_of: dict[int, list[int]] = {}
    for row, p in enumerate(profiles):
        for pid in p.known_partner_ids:
            rows_of.setdefault(pid, []).append(row)
    return {k: np.array(v, dtype=np.int64) for k, v in rows_of.items()}


def _lengths(starts: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """`np.diff(starts)[rows]` for the rows asked for only: (len(rows),) int64. A request's
    ~1,000 candidates need not pay for a difference over every fitted row."""
    rows = np.asarray(rows, dtype=np.int64)
    return np.asarray(starts[rows + 1] - starts[rows], dtype=np.int64)


def _sorted_union(a: np.ndarray, b: np.ndarray, size: int) -> np.ndarray:
    """`np.union1d(a, b)` as int64 for indices in [0, size): where they are many, marked in a
    (size,) mask and read back in order, which costs a pass over `size` rather than a sort
    (a common need's rows within the floor are tens of thousands at 100,000 organisations)."""
    if 32 * (len(a) + len(b)) < size:
        return np.union1d(a, b).astype(np.int64)
    size = max(size, *(int(x.max()) + 1 for x in (a, b) if len(x)))
    mask = np.zeros(size, dtype=bool)
    mask[a] = True
    mask[b] = True
    return np.flatnonzero(mask).astype(np.int64)


def _seg_starts(lengths: np.ndarray) -> np.ndarray:
    """Start of each segment in the concatenation: (n,) int64."""
    return np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)


def _segment_sum(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Sum of each segment of the last axis; empty segments give 0. (..., m) -> (..., n)."""
    out = np.zeros((*values.shape[:-1], len(lengths)), dtype=np.float64)
    nz = lengths > 0
    if nz.any():
        out[..., nz] = np.add.reduceat(values, starts[nz], axis=-1)
    return out


def _segment_max(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Max of each segment of the last axis; empty segments give 0. (..., m) -> (..., n)."""
    out = np.zeros((*values.shape[:-1], len(lengths)), dtype=np.float64)
    nz = lengths > 0
    if nz.any():
        out[..., nz] = np.maximum.reduceat(values, starts[nz], axis=-1)
    return out


def _segment_softmax_mean(
    values: np.ndarray, starts: np.ndarray, lengths: np.ndarray, tau: float
) -> np.ndarray:
    """Softmax-weighted mean per segment of the last axis: a soft max that never exceeds the
    max, so more competences on the other side do not inflate coverage. (q, m) -> (q, n)."""
    e = np.exp((values - 1.0) / tau)  # values lie in [0, 1]; shifting by 1 avoids overflow
    num = _segment_sum(values * e, starts, lengths)
    den = _segment_sum(e, starts, lengths)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _softmax_mean(values: np.ndarray, tau: float) -> np.ndarray:
    """Softmax-weighted mean along the last axis. (m, k) -> (m,)."""
    e = np.exp((values - 1.0) / tau)
    return np.asarray((values * e).sum(axis=-1) / e.sum(axis=-1))


def _topk_groups(
    index: Any,
    mat: np.ndarray,
    groups: Sequence[tuple[np.ndarray, int]],
    distinct: Distinct | None = None,
) -> list[np.ndarray]:
    """For each group (queries (q, d), k): row indices of the k nearest rows of `mat` (n, d) for
    every query, flattened to (q * k,). All groups share one pass over `mat` (one matrix
    product, or one faiss search); `distinct` (the distinct rows of `mat`) makes the product
    one over those."""
    queries = np.ascontiguousarray(np.vstack([g for g, _ in groups]), dtype=np.float32)
    bounds = np.cumsum([0] + [len(g) for g, _ in groups])
    out = []
    if index is not None:
        k_max = min(max(k for _, k in groups), len(mat))
        index.hnsw.efSearch = max(index.hnsw.efSearch, k_max)  # faiss searches max(ef, k)
        _, ids = index.search(queries, k_max)  # sorted by similarity
        for (_, k), lo, hi in zip(groups, bounds[:-1], bounds[1:], strict=True):
            part = ids[lo:hi, : min(k, k_max)]
            out.append(np.asarray(part[part >= 0], dtype=np.int64))
        return out
    if distinct is not None:
        # top-k over the distinct vectors, then their rows (matching.distinct)
        return [distinct.nearest_rows(queries[lo:hi], k) for (_, k), lo, hi in
                zip(groups, bounds[:-1], bounds[1:], strict=True)]  # fmt: skip
    sims = queries @ mat.T
    for (_, k), lo, hi in zip(groups, bounds[:-1], bounds[1:], strict=True):
        if k >= len(mat):
            out.append(np.tile(np.arange(len(mat)), hi - lo))
        else:
            out.append(np.argpartition(-sims[lo:hi], k - 1, axis=1)[:, :k].ravel())
    return out
