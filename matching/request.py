"""Scoring retrieved candidates per request, without holding the corpus.

`Matcher.fit` derives a few statistics over the whole corpus: the similarity floors, the
competitor rule's niche scale, hub damping's reference sample and centre (and from them one
value per offer vector), the largest degree of the relationship graph and the document
frequencies of core-label words. `CorpusStats.of(matcher)` reads them off a fitted matcher;
`RequestMatcher` is a `Matcher` fitted on the candidates of one query only, which takes those
statistics as given instead of estimating them from its few rows, and the relationship graph
as the bounded neighbourhood of the query that the caller loaded. Every feature, score,
competitor verdict and reason is the engine's own code (`Matcher._rank` and what it calls).

Arrays in, ids and scores out: the caller loads the rows (the web service from the database).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from matching.competitors import NicheScale
from matching.engine import (
    Matcher,
    _counted,
    _Graph,
    _mean_top_k,
    _size,
    listed_by,
    tokens_of_labels,
)
from matching.errors import NotFitted
from matching.types import ProfileVec


def vector_digest(vector: np.ndarray) -> bytes:
    """The key of a vector's hub value: SHA-256 of its float32 bytes."""
    return hashlib.sha256(np.asarray(vector, dtype=np.float32).tobytes()).digest()


@dataclass(frozen=True)
class CorpusStats:
    """What `Matcher.fit` estimates over the whole corpus, for `RequestMatcher`.

    `hub_reference`: hub damping's sample of need vectors as (distinct rows (r, d) float32,
    counts (r,) int64), `hub_centre` the median raw value it is centred on; `hub_values` the
    centred value of every offer vector (core competences and profile vectors) at the time
    the statistics were taken, by `vector_digest`.
    """

    sim_floor: float
    profile_floor: float
    description_floor: float
    niche: NicheScale
    hub_k: int
    hub_centre: float
    hub_reference: tuple[np.ndarray, np.ndarray] | None
    # the largest summed tie weight of any organisation (its degree when every tie weighs 1)
    max_degree: float
    n_core_labels: int
    core_df: Mapping[str, int]
    hub_values: Mapping[bytes, float] = field(default_factory=dict)

    @classmethod
    def of(cls, matcher: Matcher) -> CorpusStats:
        """The statistics of a fitted matcher (hub values included)."""
        if not hasattr(matcher, "profiles_"):
            raise NotFitted("call fit() first")
        w = matcher.weights_
        k = w.hub_neighbours
        values: dict[bytes, float] = {}
        reference: tuple[np.ndarray, np.ndarray] | None = None
        centre = 0.0
        if w.hub_damping:
            core_hub, prof_hub = matcher._hubness(k)
            # the sample and centre `_hubness` used: (key, core, prof, ref, centre, raw)
            cached = matcher._hub_cache
            reference, centre = cached[3], float(cached[4])
            for row, value in zip(matcher.core_mat_, core_hub.tolist(), strict=True):
                values[vector_digest(row)] = value
            for row in np.flatnonzero(matcher.has_profile_).tolist():
                values[vector_digest(matcher.profile_mat_[row])] = float(prof_hub[row])
        return cls(
            sim_floor=float(matcher.sim_floor_),
            profile_floor=float(matcher.profile_floor_),
            description_floor=float(matcher.description_floor_),
            niche=matcher._niche_scale(),
            hub_k=k,
            hub_centre=centre,
            hub_reference=reference,
            max_degree=matcher._graph().max_degree,
            n_core_labels=len(matcher.core_tokens_),
            core_df=dict(Counter(t for tokens in matcher.core_tokens_ for t in tokens)),
            hub_values=values,
        )

    @cached_property
    def idf(self) -> tuple[dict[str, float], float]:
        """(IDF by core-label word, IDF of an unseen word) as `Matcher.fit` weighs them over
        the corpus: computed once per statistics, not per request."""
        n = self.n_core_labels
        idf = {t: math.log((n + 1) / (c + 1)) + 1.0 for t, c in self.core_df.items()}
        return idf, math.log(n + 1) + 1.0

    @cached_property
    def hub_memo(self) -> _HubMemo:
        """The values `hub_of` computed for these statistics, by vector digest."""
        return _HubMemo()

    def hub_of_keyed(self, rows: Mapping[bytes, np.ndarray]) -> dict[bytes, float]:
        """`hub_of` for vectors by digest, each computed once per statistics object (while it
        stays among the last `HUB_MEMO` computed): those `hub_values` lacks."""
        memo = self.hub_memo
        out = memo.get(list(rows))
        todo = [key for key in rows if key not in out]
        if todo:
            values = self.hub_of(np.vstack([rows[key] for key in todo]))
            fresh = dict(zip(todo, values.tolist(), strict=True))
            memo.put(fresh)
            out.update(fresh)
        return out

    def hub_of(self, vectors: np.ndarray) -> np.ndarray:
        """(n,) centred hub values of offer vectors (n, d) that `hub_values` lacks, from the
        reference sample, as `Matcher._hubness` computes rows appended after its last full
        computation; zeros when the corpus states too few needs for hub damping."""
        ref = self.hub_reference
        if ref is None or not len(vectors) or _size(ref) < 2 * self.hub_k:
            return np.zeros(len(vectors))
        rows = np.asarray(vectors, dtype=np.float32)
        return _mean_top_k(rows, ref, self.hub_k) - self.hub_centre


# centred hub values computed from the reference sample that a statistics object keeps, by
# vector digest (about 200 bytes each, 20 MB when full): a candidate's description that the
# last refresh did not sample (half of them at 100,000 organisations, nineteen in twenty at
# 1,000,000) is otherwise computed again on every match it is retrieved for
HUB_MEMO = 100_000


class _HubMemo:
    """Hub values computed for one statistics object, the least recently used dropped (a
    value depends only on the vector and the statistics). Not pickled: it is refilled."""

    def __init__(self, size: int = HUB_MEMO) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._values: OrderedDict[bytes, float] = OrderedDict()

    def __reduce__(self) -> tuple[type[_HubMemo], tuple[int]]:
        return (_HubMemo, (self.size,))

    def get(self, keys: Sequence[bytes]) -> dict[bytes, float]:
        out: dict[bytes, float] = {}
        with self._lock:
            for key in keys:
                value = self._values.get(key)
                if value is not None:
                    self._values.move_to_end(key)
                    out[key] = value
        return out

    def put(self, values: Mapping[bytes, float]) -> None:
        with self._lock:
            self._values.update(values)
            while len(self._values) > self.size:
                self._values.popitem(last=False)


def reference_arrays(
    ref: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """A hub reference as stored (any row order and dtype) in the form `_mean_top_k` reads."""
    if ref is None:
        return None
    rows, counts = ref
    return np.ascontiguousarray(rows, dtype=np.float32), np.asarray(counts, dtype=np.int64)


def counted_reference(needs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Need vectors (n, d) as a hub reference (distinct rows, counts)."""
    return _counted(np.asarray(needs, dtype=np.float32))


class _ListedBy(Mapping[int, np.ndarray]):
    """`Matcher.listed_by_` of fitted profiles, one id at a time: (rows,) int64, ascending,
    of the profiles whose known partners include the id."""

    def __init__(self, profiles: Sequence[ProfileVec]) -> None:
        self._profiles = profiles
        self._found: dict[int, np.ndarray] = {}
        self._all: dict[int, np.ndarray] | None = None

    def _rows(self, key: int) -> np.ndarray:
        rows = self._found.get(key)
        if rows is None:
            found = [r for r, p in enumerate(self._profiles) if key in p.known_partner_ids]
            rows = self._found[key] = np.array(found, dtype=np.int64)
        return rows

    def __getitem__(self, key: int) -> np.ndarray:
        rows = self._rows(key)
        if not len(rows):
            raise KeyError(key)
        return rows

    def _whole(self) -> dict[int, np.ndarray]:
        if self._all is None:
            self._all = listed_by(self._profiles)
        return self._all

    def __iter__(self) -> Iterator[int]:
        return iter(self._whole())

    def __len__(self) -> int:
        return len(self._whole())


class RequestMatcher(Matcher):
    """A `Matcher` fitted on one query's candidates, scoring them with corpus statistics
    estimated elsewhere (`CorpusStats`).

    `fit_candidates(candidates, stats, adjacency)`: `candidates` are the organisations that may
    be returned (in the order the full engine would hold them: ascending id);
    `adjacency` is the known-relationship graph around the query (symmetric, partner ids by
    organisation id) that the graph components read: the query's partners and their
    partners for `network`, the candidates' partners for `activity`, and as many hops as the
    proximity walk takes. An organisation missing from it is a dead end of the walk.
    Parameters are those of `Matcher`; `candidate_pool` does not limit anything here: all
    candidates are scored (`Filters.only_ids`).
    """

    def fit_candidates(
        self,
        candidates: Sequence[ProfileVec],
        stats: CorpusStats,
        adjacency: Mapping[int, frozenset[int]],
    ) -> RequestMatcher:
        self.stats_ = stats
        # the caller's frozensets as they are (20,000 nodes at the walk's bound)
        self.graph_adjacency_ = {
            k: v if isinstance(v, frozenset) else frozenset(v) for k, v in adjacency.items()
        }
        # no index is ever built over a request's few rows
        self.ann_threshold = max(self.ann_threshold, len(candidates) * 64 + 1)
        self.fit(candidates)
        # the walk, the shared partners and the degrees read the loaded neighbourhood
        self.adjacency_ = self.graph_adjacency_
        for side in self.sides_:
            if side.id is not None:
                theirs = self.adjacency_.get(side.id, frozenset())
                side.neighbours = frozenset((side.neighbours | theirs) - {side.id})
        self.idf_, self.idf_unseen_ = stats.idf
        return self

    # What a full fit builds for other kinds of request is built here when first read: the
    # words of every core label (typed searches; the IDF comes from the statistics), the
    # words of every need (`seekers`) and who lists whom (read for one query id only).
    def _fit_words(self) -> None:
        self.__dict__.pop("_core_tokens", None)

    @property
    def core_tokens_(self) -> list[frozenset[str]]:
        tokens: list[frozenset[str]] | None = self.__dict__.get("_core_tokens")
        if tokens is None:
            tokens = tokens_of_labels(label for s in self.sides_ for label in s.core_labels)
            self.__dict__["_core_tokens"] = tokens
        return tokens

    @core_tokens_.setter
    def core_tokens_(self, value: list[frozenset[str]]) -> None:
        self.__dict__["_core_tokens"] = value

    def _fit_listed_by(self) -> None:
        self.__dict__.pop("_listed_by", None)

    @property
    def listed_by_(self) -> Mapping[int, np.ndarray]:
        """The rows whose known partners name an id, found when asked for (`_allowed` asks
        for the query's id only)."""
        listed: _ListedBy | None = self.__dict__.get("_listed_by")
        if listed is None:
            listed = self.__dict__["_listed_by"] = _ListedBy(self.profiles_)
        return listed

    @listed_by_.setter
    def listed_by_(self, value: Mapping[int, np.ndarray]) -> None:
        self.__dict__["_listed_by"] = value

    def _precompute(self) -> None:
        # hub values are read by every match; metadata and need words when first read
        w = self.weights_
        if w.hub_damping:
            self._hubness(w.hub_neighbours)

    def _calibrate(self, w: object) -> tuple[float, float, float]:
        s = self.stats_
        return s.sim_floor, s.profile_floor, s.description_floor

    def _niche_scale(self) -> NicheScale:
        fixed = self.weights_.niche_scale
        return NicheScale(*fixed) if fixed is not None else self.stats_.niche

    def _graph(self) -> _Graph:
        """The loaded neighbourhood's graph with its tie weights, scaled by the corpus's
        largest summed weight (not the neighbourhood's)."""
        graph = self._walk_graph(self.adjacency_, (id(self),))
        return replace(graph, max_degree=self.stats_.max_degree)

    def _hubness(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(core rows,), (profile rows,) centred hub values: the stored ones, the others
        computed from the stored reference sample."""
        cached = getattr(self, "_request_hub", None)
        if cached is not None:
            return cached
        s = self.stats_
        n_core, n_prof = len(self.core_mat_), len(self.profile_mat_)
        core = np.zeros(n_core)
        prof = np.zeros(n_prof)
        if k != s.hub_k:
            raise ValueError(f"hub statistics were taken for k={s.hub_k}, not {k}")
        # one digest per distinct core vector: labels repeat across candidates
        distinct = self.core_distinct_
        if distinct is not None:
            unique = [vector_digest(v) for v in distinct.rows]
            keys = [unique[i] for i in distinct.inverse[:n_core].tolist()]
        else:
            keys = [vector_digest(v) for v in self.core_mat_]
        prof_rows = np.flatnonzero(self.has_profile_).tolist()
        prof_keys = [vector_digest(self.profile_mat_[r]) for r in prof_rows]
        missing: dict[bytes, np.ndarray] = {}
        for key, row in zip(keys, self.core_mat_, strict=True):
            if key not in s.hub_values:
                missing.setdefault(key, row)
        for key, r in zip(prof_keys, prof_rows, strict=True):
            if key not in s.hub_values:
                missing.setdefault(key, self.profile_mat_[r])
        computed = s.hub_of_keyed(missing) if missing else {}
        for i, key in enumerate(keys):
            core[i] = s.hub_values.get(key, computed.get(key, 0.0))
        for key, r in zip(prof_keys, prof_rows, strict=True):
            prof[r] = s.hub_values.get(key, computed.get(key, 0.0))
        self._request_hub = (core, prof)
        return core, prof
