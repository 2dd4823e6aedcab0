"""Candidate retrieval: which organisations the engine scores for one query.

The engine ranks a few hundred candidates; finding them among all organisations is the job of a
`Retriever`, so that the vectors can be searched where they are kept. A retriever takes the
query's vectors (`QueryVectors`: its needs, its cores, its profile vector), the number of
nearest rows per source and the `Filters`, and answers `Candidates`: organisation ids with the
best cosine similarity that brought each in. The sources are those of `Matcher` (needs ->
others' cores, cores -> others' cores, cores -> others' needs, profile -> others' profiles),
`k` split evenly over a source's query vectors.

Two implementations: `InProcessRetriever` here, over a fitted `Matcher`'s own matrices and
indexes (SQLite, tests, benchmarks), and the PostgreSQL one with pgvector in the web service
(`app.matches.pgvector`), which applies the filters inside the index scan. The engine then
scores only the candidates: `narrowed(filters, candidates)` is `filters` with `only_ids` set,
and `Matcher` scores every organisation `only_ids` lets through without a search of its own.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from matching.engine import Matcher, _ranges, _Side
from matching.types import CompetenceVec, Filters, ProfileVec


@dataclass(frozen=True, slots=True)
class QueryVectors:
    """A query as retrieval sees it: unit rows `needs` (q, d), `cores` (c, d), `profile` (d,)."""

    needs: np.ndarray
    cores: np.ndarray
    profile: np.ndarray | None
    asking_id: int | None = None  # never a candidate of itself

    @property
    def dim(self) -> int | None:
        for block in (self.needs, self.cores):
            if len(block):
                return int(block.shape[1])
        return None if self.profile is None else int(self.profile.shape[0])

    @classmethod
    def of_profile(cls, profile: ProfileVec) -> QueryVectors:
        """An organisation's needs (complementary and peripheral) and cores; without stated
        cores its profile vector stands for them, as in `Matcher`."""

        def stack(items: list[CompetenceVec]) -> np.ndarray:
            if not items:
                return np.zeros((0, 0), dtype=np.float32)
            return np.vstack([np.asarray(c.vector, dtype=np.float32) for c in items])

        needs = stack([c for c in profile.competences if c.kind != "core"])
        cores = stack([c for c in profile.competences if c.kind == "core"])
        vector = profile.profile_vector
        if vector is not None and not len(cores):
            cores = np.asarray(vector, dtype=np.float32)[None, :]
        return cls(needs, cores, vector, profile.id)

    @classmethod
    def of_search(cls, need_vectors: np.ndarray) -> QueryVectors:
        """Typed needs: the needs, no cores, and their normalised mean as the profile."""
        needs = np.atleast_2d(np.asarray(need_vectors, dtype=np.float32))
        mean = needs.mean(axis=0) if len(needs) else None
        norm = 0.0 if mean is None else float(np.linalg.norm(mean))
        profile = (mean / norm).astype(np.float32) if mean is not None and norm > 0 else None
        return cls(needs, np.zeros((0, needs.shape[1]), dtype=np.float32), profile, None)


@dataclass(frozen=True, slots=True)
class Candidates:
    """Organisation ids (ascending) and, per id, the best cosine similarity that found it."""

    ids: np.ndarray  # (n,) int64
    similarity: np.ndarray  # (n,) float64

    @classmethod
    def of(cls, best: dict[int, float]) -> Candidates:
        ids = np.array(sorted(best), dtype=np.int64)
        return cls(ids, np.array([best[i] for i in ids.tolist()], dtype=np.float64))

    def as_dict(self) -> dict[int, float]:
        return dict(zip(self.ids.tolist(), self.similarity.tolist(), strict=True))


class Retriever(Protocol):
    """Finds the candidates of a query among the organisations that pass `filters`."""

    def candidates(self, query: QueryVectors, k: int, filters: Filters) -> Candidates:
        """Up to `k` nearest rows per source (split over the source's query vectors), as the
        organisations that own them; every one passes the filters it can check (country,
        NACE, employees, cooperation interests, `exclude_ids`, `only_ids`, visibility)."""
        ...

    def candidate_ids(self, query: QueryVectors, k: int, filters: Filters) -> np.ndarray:
        """The ids `candidates` answers (ascending, int64): all that narrowing a request's
        filters needs (`narrowed_to`); a retriever may skip the cosines that found them."""
        ...


def narrowed(filters: Filters, found: Candidates) -> Filters:
    """`filters` that let only the retrieved candidates through (within `only_ids` if set)."""
    return narrowed_to(filters, found.ids)


def narrowed_to(filters: Filters, ids_found: np.ndarray) -> Filters:
    """`narrowed` for the candidates' ids alone."""
    ids = frozenset(ids_found.tolist())
    if filters.only_ids is not None:
        ids &= filters.only_ids
    return replace(filters, only_ids=ids)


def per_vector(k: int, n: int) -> int:
    """Rows per query vector when `k` are split over `n` of them (at least one)."""
    return max(1, -(-k // max(n, 1)))


class InProcessRetriever:
    """Retrieval over a fitted `Matcher` (exact over distinct vectors, or its faiss HNSW
    indexes above `ann_threshold`): the candidates `Matcher` itself would score. When no more
    organisations than `k` pass the filters, all of them are candidates."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher

    def candidates(self, query: QueryVectors, k: int, filters: Filters) -> Candidates:
        rows = self._rows(query, k, filters)
        return Candidates.of(_best_cosines(self.matcher, query, rows))

    def candidate_ids(self, query: QueryVectors, k: int, filters: Filters) -> np.ndarray:
        """The ids `candidates` answers, without the cosines that found them."""
        rows = self._rows(query, k, filters)
        return np.unique(self.matcher._row_meta()[0][rows])

    def _rows(self, query: QueryVectors, k: int, filters: Filters) -> np.ndarray:
        """The fitted rows of the candidates (unique)."""
        m = self.matcher
        m._check_fitted()
        if not m.profiles_ or m.dim_ is None:
            return np.zeros(0, dtype=np.int64)
        side = _search_side(m, query)
        # distance is the engine's to check (it knows the origin); the rest is checked here
        plain = replace(filters, max_distance_km=None, origin=None)
        allowed = m._allowed(side, None, plain, None)
        if query.asking_id is not None and query.asking_id in m.row_of_id_:
            allowed[m.row_of_id_[query.asking_id]] = False
        if allowed.sum() <= k:
            return np.flatnonzero(allowed)
        # another pool on a shallow copy: the fitted matcher is shared between threads
        sized = m if k == m.candidate_pool else copy.copy(m)
        sized.candidate_pool = k
        rows = sized._retrieve(side)
        return rows[allowed[rows]]


def _search_side(m: Matcher, query: QueryVectors) -> _Side:
    d = m.dim_ or 1
    return _Side(
        id=None,
        core=query.cores.reshape(-1, d) if len(query.cores) else np.zeros((0, d), np.float32),
        core_ids=[],
        core_labels=[],
        need=query.needs.reshape(-1, d) if len(query.needs) else np.zeros((0, d), np.float32),
        need_w=np.ones(len(query.needs)),
        need_ids=[],
        need_labels=[],
        need_kinds=[],
        profile=query.profile,
        division=None,
        interests=frozenset(),
        neighbours=frozenset(),
        profile_offers=False,
    )


def _best_cosines(m: Matcher, query: QueryVectors, rows: np.ndarray) -> dict[int, float]:
    """Per candidate row: the best cosine of a query vector with one of its cores, needs or
    its profile vector."""
    if not len(rows):
        return {}
    d = m.dim_ or 1
    mine = [b.reshape(-1, d) for b in (query.needs, query.cores) if len(b)]
    if query.profile is not None:
        mine.append(query.profile.reshape(1, d))
    queries = np.vstack(mine) if mine else np.zeros((0, d), np.float32)
    best = np.full(len(rows), -1.0)
    if not len(queries):
        return {m.profiles_[r].id: -1.0 for r in rows.tolist()}
    # through the distinct vectors where rows share them (Matcher._against_cores): no
    # gather of every candidate row's vector
    for start, against in ((m.core_start_, m._against_cores), (m.need_start_, m._against_needs)):
        lengths = start[rows + 1] - start[rows]
        some = lengths > 0
        if not some.any():
            continue
        idx = _ranges(start[rows][some], lengths[some])
        sims = against(queries, idx).max(axis=0)
        seg = np.concatenate([[0], np.cumsum(lengths[some])[:-1]])
        best[some] = np.maximum(best[some], np.maximum.reduceat(sims, seg))
    has = m.has_profile_[rows]
    if has.any():
        sims = (queries @ m.profile_mat_[rows[has]].T).max(axis=0)
        best[has] = np.maximum(best[has], sims)
    return {m.profiles_[r].id: float(s) for r, s in zip(rows.tolist(), best.tolist(), strict=True)}
