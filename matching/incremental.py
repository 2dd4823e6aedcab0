"""Updating a fitted Matcher in place of refitting it: a write changes only its own rows.

`updated(matcher, upserts, removed)` returns a new Matcher that shares the big arrays with the
old one; the old one stays valid and unchanged, so readers holding it keep answering while the
update is applied (copy-on-write: vectors go into append-only buffers with spare capacity, the
per-row lists and dicts are copied, which is O(n) pointer work, not a refit).

A replaced or removed organisation's rows stay in the matrices and the HNSW indexes as dead
rows (`alive_` is False there; `Matcher._allowed` leaves them out), so retrieval may spend a
few of its `candidate_pool` slots on them; `needs_refit` says when a full fit is due (too many
dead rows, or a matrix grew past `ann_threshold` without an HNSW index), which the caller
runs off the request path. The similarity floors learned at `fit` are kept.

Call `prepare(matcher)` once after `fit` and before the matcher is shared with readers: it
puts the HNSW indexes behind a lock (faiss does not allow adds during searches).
"""

from __future__ import annotations

import copy
import math
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, cast

import numpy as np

from matching.engine import Matcher, _nace_key, tokens_of_labels
from matching.errors import MatchingError
from matching.types import ProfileVec

# spare rows allocated when a buffer is (re)allocated, as a share of its used rows
_GROWTH = 0.25
_MIN_SPARE = 1024
# share of dead rows above which a full refit is due
DEAD_SHARE_REFIT = 0.2
MIN_DEAD_REFIT = 2000


class SharedHNSW:
    """A faiss index shared by several generations of a matcher; each sees its first `n` rows.

    Searches and adds take the same lock; hits beyond `n` (rows added for a newer generation)
    come back as -1, which `matching.engine._topk_groups` drops.
    """

    def __init__(self, index: Any, lock: threading.Lock, n: int) -> None:
        self.index = index
        self.lock = lock
        self.n = n

    @property
    def hnsw(self) -> Any:
        return self.index.hnsw

    @property
    def ntotal(self) -> int:
        return self.n

    def __getstate__(self) -> dict[str, Any]:
        import faiss

        with self.lock:
            return {"index": faiss.serialize_index(self.index), "n": self.n}

    def __setstate__(self, state: dict[str, Any]) -> None:
        import faiss

        self.index = faiss.deserialize_index(state["index"])
        self.lock = threading.Lock()
        self.n = int(state["n"])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        with self.lock:
            dist, ids = self.index.search(queries, k)
        ids[ids >= self.n] = -1
        return dist, ids

    def add(self, rows: np.ndarray) -> SharedHNSW:
        """A view one generation newer, with `rows` (k, d) appended."""
        with self.lock:
            if self.index.ntotal != self.n:
                raise MatchingError("HNSW index was extended by another generation")
            if len(rows):
                self.index.add(np.ascontiguousarray(rows, dtype=np.float32))
            return SharedHNSW(self.index, self.lock, int(self.index.ntotal))


class _Buffer:
    """Append-only (capacity, d) float32 storage; `view(n)` is the first n rows."""

    def __init__(self, rows: np.ndarray) -> None:
        n, d = rows.shape
        self.data = np.zeros((n + max(_MIN_SPARE, int(n * _GROWTH)), d), dtype=np.float32)
        self.data[:n] = rows
        self.lock = threading.Lock()
        self.used = n

    def __getstate__(self) -> dict[str, Any]:
        with self.lock:
            return {"data": self.data, "used": self.used}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # the storage as read back, spare rows included: a memory-mapped copy-on-write array
        # (app.matches.index) stays one, shared between processes until rows are appended
        self.data = state["data"]
        self.used = int(state["used"])
        self.lock = threading.Lock()

    def append(self, used: int, rows: np.ndarray) -> tuple[_Buffer, int]:
        """Write `rows` after the first `used` rows; returns the buffer holding them (a new,
        larger one when full or when a newer generation already wrote past `used`)."""
        with self.lock:
            if used == self.used and used + len(rows) <= len(self.data):
                self.data[used : used + len(rows)] = rows
                self.used += len(rows)
                return self, self.used
        grown = _Buffer(np.vstack([self.data[:used], rows]))
        return grown, grown.used


def prepare(matcher: Matcher) -> Matcher:
    """Make a freshly fitted matcher updatable (call before readers see it). Returns it."""
    matcher._check_fitted()
    if hasattr(matcher, "alive_"):
        return matcher
    m: Any = matcher
    n = len(m.profiles_)
    m.alive_ = np.ones(n, dtype=bool)
    # one matrix at a time, and the sides' views moved at once, so that each fitted matrix is
    # freed before the next buffer is allocated (peak memory: one matrix, not all)
    m.core_buf_ = _Buffer(m.core_mat_)
    m.core_mat_ = m.core_buf_.data[: len(m.core_mat_)]
    for i, s in enumerate(m.sides_):
        s.core = m.core_mat_[m.core_start_[i] : m.core_start_[i + 1]]
    m.need_buf_ = _Buffer(m.need_mat_)
    m.need_mat_ = m.need_buf_.data[: len(m.need_mat_)]
    for i, s in enumerate(m.sides_):
        s.need = m.need_mat_[m.need_start_[i] : m.need_start_[i + 1]]
    m.profile_buf_ = _Buffer(m.profile_mat_)
    m.profile_mat_ = m.profile_buf_.data[:n]
    m.search_buf_ = _Buffer(m.profile_search_mat_)
    m.profile_search_mat_ = m.search_buf_.data[: len(m.profile_search_mat_)]
    for name in ("core_index_", "need_index_", "profile_index_"):
        index = getattr(m, name)
        if index is not None and not isinstance(index, SharedHNSW):
            setattr(m, name, SharedHNSW(index, threading.Lock(), int(index.ntotal)))
    m.core_df_ = Counter(t for tokens in m.core_tokens_ for t in tokens)
    m.live_core_rows_ = len(m.core_tokens_)
    return matcher


def share_vectors(matcher: Matcher) -> dict[int, ProfileVec]:
    """Point the fitted profiles' vectors at the matcher's own matrices, so every vector is
    held once (the ones the profiles came with, e.g. views of stored bytes, can be freed).

    Replaces the entries of `matcher.profiles_` (call before readers see the matcher) and
    returns them by id, for callers that keep their own map of profiles.
    """
    prepare(matcher)
    m: Any = matcher
    out: dict[int, ProfileVec] = {}
    for r, p in enumerate(m.profiles_):
        shared = _linked(m, r, p)
        m.profiles_[r] = shared
        out[p.id] = shared
    return out


def _linked(m: Any, r: int, p: ProfileVec) -> ProfileVec:
    """`p` (fitted at row `r`) with its vectors, and its side's profile row, as views of the
    matcher's matrices (which makes the side's own arrays views already)."""
    side = m.sides_[r]
    side.profile = m.profile_mat_[r] if m.has_profile_[r] else None
    cores = iter(side.core) if any(c.kind == "core" for c in p.competences) else iter(())
    needs = iter(side.need)
    comps = tuple(
        replace(c, vector=next(cores) if c.kind == "core" else next(needs)) for c in p.competences
    )
    return replace(p, competences=comps, profile_vector=side.profile)


# ---------------------------------------------------------------------- persisting
_NO_ROWS = np.zeros((0, 0), dtype=np.float32)


def snapshot(matcher: Matcher) -> dict[str, Any]:
    """A picklable state of a prepared matcher that holds every vector once: the matrices'
    buffers, without the per-profile and per-side views of them (`restore` re-creates them)."""
    prepare(matcher)
    m: Any = matcher
    state = dict(m.__dict__)
    for name in ("_graph_cache", "_graph_changes"):
        state.pop(name, None)
    for name in ("core_mat_", "need_mat_", "profile_mat_", "profile_search_mat_"):
        state[name] = None
    state["sides_"] = [replace(s, core=_NO_ROWS, need=_NO_ROWS, profile=None) for s in m.sides_]
    state["profiles_"] = [
        replace(
            p,
            competences=tuple(replace(c, vector=_NO_ROWS) for c in p.competences),
            profile_vector=None,
        )
        for p in m.profiles_
    ]
    return state


def restore(state: dict[str, Any]) -> Matcher:
    """The matcher `snapshot` described, ready to rank and to be updated."""
    m: Any = Matcher.__new__(Matcher)
    m.__dict__.update(state)
    m.core_mat_ = m.core_buf_.data[: int(m.core_start_[-1])]
    m.need_mat_ = m.need_buf_.data[: int(m.need_start_[-1])]
    m.profile_mat_ = m.profile_buf_.data[: len(m.profiles_)]
    m.profile_search_mat_ = m.search_buf_.data[: len(m.profile_rows_)]
    for r, side in enumerate(m.sides_):
        side.core = m.core_mat_[m.core_start_[r] : m.core_start_[r + 1]]
        side.need = m.need_mat_[m.need_start_[r] : m.need_start_[r + 1]]
        m.profiles_[r] = _linked(m, r, m.profiles_[r])
    return cast(Matcher, m)


def dead_share(matcher: Matcher) -> float:
    """Share of fitted rows that were replaced or removed since the last fit."""
    alive = getattr(matcher, "alive_", None)
    if alive is None or len(alive) == 0:
        return 0.0
    return float(1.0 - alive.mean())


def needs_refit(
    matcher: Matcher, *, max_dead_share: float = DEAD_SHARE_REFIT, min_dead: int = MIN_DEAD_REFIT
) -> bool:
    """True when a full fit would serve better than more updates: more than `max_dead_share`
    dead rows (and at least `min_dead`: below that they cost nothing worth a fit), or a matrix
    past `ann_threshold` that has no HNSW index yet."""
    m: Any = matcher
    alive = getattr(m, "alive_", None)
    dead = 0 if alive is None else int(len(alive) - alive.sum())
    if dead >= min_dead and dead_share(matcher) > max_dead_share:
        return True
    for mat, index, distinct in (
        (m.core_mat_, m.core_index_, getattr(m, "core_distinct_", None)),
        (m.need_mat_, m.need_index_, getattr(m, "need_distinct_", None)),
        (m.profile_search_mat_, m.profile_index_, None),
    ):
        size = len(mat) if distinct is None else distinct.n_distinct
        if index is None and size > m.ann_threshold:
            return True
    return False


def live_profiles(matcher: Matcher) -> list[ProfileVec]:
    """The profiles a fresh fit would take: every live row, in row order."""
    m: Any = matcher
    alive = getattr(m, "alive_", None)
    return [p for r, p in enumerate(m.profiles_) if alive is None or alive[r]]


def updated(
    matcher: Matcher,
    upserts: Sequence[ProfileVec] = (),
    removed: Iterable[int] = (),
    *,
    detached: bool = False,
) -> Matcher:
    """A matcher equal to `matcher` with `upserts` added or replacing the profiles of the same
    id, and the ids in `removed` gone (unknown ids are ignored). `matcher` is not changed.

    Ranking with the result equals ranking with `Matcher.fit` on the same live profiles and
    the same similarity floors, up to retrieval: dead rows stay in the nearest-neighbour
    structures until the next fit.

    `detached`: a throw-away generation that writes nothing shared (for changes that may be
    rolled back): its matrices are copies, and its HNSW indexes do not hold the new rows (they
    are scored when the filters leave at most `candidate_pool` candidates).
    """
    prepare(matcher)
    old: Any = matcher
    upserts = list(upserts)
    by_id = {p.id: p for p in upserts}
    if len(by_id) != len(upserts):
        raise MatchingError("duplicate profile id among upserts")
    gone = set(removed) - set(by_id)
    new: Any = copy.copy(matcher)
    if old.dim_ is None and any(p.profile_vector is not None or p.competences for p in upserts):
        # nothing fitted had a vector, so no matrix has a width yet: fit afresh
        keep = [p for p in live_profiles(matcher) if p.id not in by_id and p.id not in gone]
        refit = Matcher(
            old.weights,
            candidate_pool=old.candidate_pool,
            ann_threshold=old.ann_threshold,
            hnsw_m=old.hnsw_m,
            hnsw_ef_search=old.hnsw_ef_search,
            hnsw_ef_construction=old.hnsw_ef_construction,
        ).fit([*keep, *upserts])
        return prepare(refit)
    for p in upserts:
        for v in [c.vector for c in p.competences] + [p.profile_vector]:
            new._check_dim(v)

    # rows that die: replaced and removed profiles
    dead_rows = [old.row_of_id_[i] for i in (*by_id, *gone) if i in old.row_of_id_]
    alive = old.alive_.copy()
    alive[dead_rows] = False

    def listing(pid: int) -> frozenset[int]:
        """Whom `pid` lists after the update (only fitted profiles count, as in fit)."""
        if pid in by_id:
            return by_id[pid].known_partner_ids
        if pid in gone:
            return frozenset()
        row = old.row_of_id_.get(pid)
        return old.profiles_[row].known_partner_ids if row is not None else frozenset()

    # the symmetric partner graph: re-decide every edge at a changed profile
    adjacency = dict(old.adjacency_)
    touched: set[int] = set()
    for pid in (*by_id, *gone):
        before = (
            old.profiles_[old.row_of_id_[pid]].known_partner_ids
            if pid in old.row_of_id_
            else frozenset()
        )
        for q in before | listing(pid):
            if q == pid:
                continue
            linked = q in listing(pid) or pid in listing(q)
            for a, b in ((pid, q), (q, pid)):
                has = b in adjacency.get(a, frozenset())
                if linked and not has:
                    adjacency[a] = adjacency.get(a, frozenset()) | {b}
                    touched.add(a)
                elif not linked and has:
                    rest = adjacency[a] - {b}
                    if rest:
                        adjacency[a] = rest
                    else:
                        del adjacency[a]
                    touched.add(a)
    new.adjacency_ = adjacency
    # what the graph of the new generation differs in: Matcher._graph patches the old one
    new._graph_changes = (old.adjacency_, frozenset(by_id) | frozenset(gone) | frozenset(touched))

    profiles = list(old.profiles_)
    sides = list(old.sides_)
    row_of_id = dict(old.row_of_id_)
    for pid in gone:
        row_of_id.pop(pid, None)
    # live profiles whose partners' partners changed: their neighbour sets are part of a side
    for pid in touched - set(by_id) - gone:
        row = row_of_id.get(pid)
        if row is not None:
            p = profiles[row]
            nb = set(p.known_partner_ids) | set(adjacency.get(pid, frozenset()))
            nb.discard(pid)
            sides[row] = replace(sides[row], neighbours=frozenset(nb))

    n0 = len(profiles)
    new_sides = [new._side(p) for p in upserts]
    d = new.dim_ or 1
    core_blocks = [s.core for s in new_sides]
    need_blocks = [s.need for s in new_sides]
    core_lens = np.array([len(b) for b in core_blocks], dtype=np.int64)
    need_lens = np.array([len(b) for b in need_blocks], dtype=np.int64)
    core_rows = _rows(core_blocks, d)
    need_rows = _rows(need_blocks, d)
    n_core0, n_need0 = len(old.core_mat_), len(old.need_mat_)

    def append(buf: _Buffer, used: int, rows: np.ndarray) -> tuple[_Buffer, int]:
        if detached:
            copy_ = _Buffer(np.vstack([buf.data[:used], rows]))
            return copy_, copy_.used
        return buf.append(used, rows)

    new.core_buf_, n_core = append(old.core_buf_, n_core0, core_rows)
    new.need_buf_, n_need = append(old.need_buf_, n_need0, need_rows)
    new.core_mat_ = new.core_buf_.data[:n_core]
    new.need_mat_ = new.need_buf_.data[:n_need]
    new.core_start_ = np.concatenate([old.core_start_, n_core0 + np.cumsum(core_lens)])
    new.need_start_ = np.concatenate([old.need_start_, n_need0 + np.cumsum(need_lens)])
    new_rows = np.arange(n0, n0 + len(upserts), dtype=np.int64)
    new.core_owner_ = np.concatenate([old.core_owner_, np.repeat(new_rows, core_lens)])
    new.need_owner_ = np.concatenate([old.need_owner_, np.repeat(new_rows, need_lens)])
    new.need_w_ = np.concatenate([old.need_w_, *[s.need_w for s in new_sides]])
    for k, s in enumerate(new_sides):
        r = n0 + k
        s.core = new.core_mat_[new.core_start_[r] : new.core_start_[r + 1]]
        s.need = new.need_mat_[new.need_start_[r] : new.need_start_[r + 1]]
        profiles.append(upserts[k])
        sides.append(s)
        row_of_id[upserts[k].id] = r
    new.profiles_, new.sides_, new.row_of_id_ = profiles, sides, row_of_id
    new.alive_ = np.concatenate([alive, np.ones(len(upserts), dtype=bool)])

    # words of core labels and their IDF, over live core rows as a fit counts them
    added_tokens = tokens_of_labels(label for s in new_sides for label in s.core_labels)
    new.core_tokens_ = [*old.core_tokens_, *added_tokens]
    df = Counter(old.core_df_)
    live_core_rows = old.live_core_rows_ + len(added_tokens)
    for r in dead_rows:
        if old.alive_[r]:
            lo, hi = int(old.core_start_[r]), int(old.core_start_[r + 1])
            df.subtract(t for tokens in old.core_tokens_[lo:hi] for t in tokens)
            live_core_rows -= hi - lo
    df.update(t for tokens in added_tokens for t in tokens)
    df = Counter({t: c for t, c in df.items() if c > 0})
    new.core_df_, new.live_core_rows_ = df, live_core_rows
    new.idf_ = {t: math.log((live_core_rows + 1) / (c + 1)) + 1.0 for t, c in df.items()}
    new.idf_unseen_ = math.log(live_core_rows + 1) + 1.0

    # profile vectors: one row per profile, and the searchable rows of those that have one
    with_profile = np.array([s.profile is not None for s in new_sides], dtype=bool)
    prof_rows = np.zeros((len(new_sides), d), dtype=np.float32)
    for k, s in enumerate(new_sides):
        if s.profile is not None:
            prof_rows[k] = s.profile
    new.profile_buf_, n_prof = append(old.profile_buf_, n0, prof_rows)
    new.profile_mat_ = new.profile_buf_.data[:n_prof]
    new.has_profile_ = np.concatenate([old.has_profile_, with_profile])
    # the upserts' vectors become views of the matrices too (what they came with can go)
    for k in range(len(new_sides)):
        profiles[n0 + k] = _linked(new, n0 + k, profiles[n0 + k])
    new.profile_rows_ = np.concatenate([old.profile_rows_, new_rows[with_profile]])
    n_search0 = len(old.profile_search_mat_)
    new.search_buf_, n_search = append(old.search_buf_, n_search0, prof_rows[with_profile])
    new.profile_search_mat_ = new.search_buf_.data[:n_search]

    # distinct rows for exact retrieval; None once most rows are distinct (matching.distinct)
    for name, rows in (("core_distinct_", core_rows), ("need_distinct_", need_rows)):
        distinct = getattr(old, name, None)
        setattr(new, name, None if distinct is None else distinct.extended(rows, copy=detached))

    for name, rows in (
        ("core_index_", core_rows),
        ("need_index_", need_rows),
        ("profile_index_", prof_rows[with_profile]),
    ):
        index = getattr(old, name)
        if index is not None and not detached:
            setattr(new, name, index.add(rows))

    # metadata arrays for the filters
    lat = np.array(
        [np.nan if p.latitude is None or p.longitude is None else p.latitude for p in upserts]
    )
    lon = np.array(
        [np.nan if p.latitude is None or p.longitude is None else p.longitude for p in upserts]
    )
    new.lat_ = np.concatenate([old.lat_, lat])
    new.lon_ = np.concatenate([old.lon_, lon])
    emp = np.array([np.nan if p.employees is None else p.employees for p in upserts], dtype=float)
    new.employees_ = np.concatenate([old.employees_, emp])
    new.country_ = np.concatenate(
        [old.country_, np.array([(p.country or "").upper() for p in upserts], dtype=str)]
    )
    new.nace_key_ = np.concatenate(
        [old.nace_key_, np.array([_nace_key(p.nace_code or "") for p in upserts], dtype=str)]
    )
    listed_by = dict(old.listed_by_)
    for k, p in enumerate(upserts):
        for pid in p.known_partner_ids:
            listed_by[pid] = np.append(listed_by.get(pid, np.zeros(0, dtype=np.int64)), n0 + k)
    new.listed_by_ = listed_by
    new._precompute()  # the appended rows' statistics, so that no query computes them
    return new


def _rows(blocks: Sequence[np.ndarray], d: int) -> np.ndarray:
    blocks = [b for b in blocks if len(b)]
    if not blocks:
        return np.zeros((0, d), dtype=np.float32)
    return np.ascontiguousarray(np.vstack(blocks), dtype=np.float32)
