"""The distinct rows of a vector matrix, for exact retrieval at the cost of its distinct rows.

Competence vectors repeat: a label that thousands of organisations share is encoded once and
stored once per organisation (10,000 demo-like organisations carry 30,000 core rows but about
1,000 distinct label vectors). Exact nearest-neighbour retrieval then needs the query against
each distinct vector only; the similarities of all rows are a gather of those
(`Distinct.similarities`), and the top-k over rows is taken as before. Equal vectors give equal
similarities either way, so the rows retrieved are those of the full product.

A `Distinct` is append-only and copy-on-write like the matcher's matrices
(`matching.incremental`): `extended` returns a new generation and leaves the old one valid.
It is kept only while the distinct rows are at most `MAX_SHARE` of all rows; above that the
full product costs about the same and `of` / `extended` return None.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

MAX_SHARE = 0.5
_MIN_SPARE = 256


class _Rows:
    """Append-only (capacity, d) float32 storage shared by generations; each sees `used` rows."""

    def __init__(self, rows: np.ndarray) -> None:
        n, d = rows.shape
        self.data = np.zeros((n + max(_MIN_SPARE, n // 4), d), dtype=np.float32)
        self.data[:n] = rows
        self.used = n
        self.lock = threading.Lock()

    def __getstate__(self) -> dict[str, np.ndarray]:
        with self.lock:
            return {"rows": self.data[: self.used]}

    def __setstate__(self, state: dict[str, np.ndarray]) -> None:
        self.__init__(state["rows"])  # type: ignore[misc]

    def append(self, used: int, rows: np.ndarray, *, copy: bool) -> _Rows:
        if not len(rows) and not copy:
            return self
        with self.lock:
            if not copy and used == self.used and used + len(rows) <= len(self.data):
                self.data[used : used + len(rows)] = rows
                self.used += len(rows)
                return self
        return _Rows(np.vstack([self.data[:used], rows]))


def _grouped(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(first row of each group, group of each row) of the equal rows of `mat` (n, d) float32,
    groups in the order of `np.unique` over a 64-bit fingerprint of each row's bytes; every
    row is checked equal, byte for byte, to its group's first row, so a fingerprint that two
    different rows share gives None (the caller groups the bytes themselves)."""
    d = mat.shape[1]
    if (d * mat.dtype.itemsize) % 8:
        return None
    words = mat.view(np.uint64)  # (n, d / 2): the same bytes as 64-bit words
    mult = np.random.default_rng(0x6B6D).integers(1, 2**63, words.shape[1], dtype=np.uint64)
    # products and sum wrap modulo 2**64
    fingerprint = (words * (mult | np.uint64(1))).sum(axis=1, dtype=np.uint64)
    _, first, inverse = np.unique(fingerprint, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if not np.array_equal(words, words[first[inverse]]):
        return None
    return first, inverse


class Distinct:
    """`rows` (u, d): the distinct rows of a matrix; `inverse` (n,): each row's distinct row."""

    def __init__(
        self, store: _Rows, n_distinct: int, inverse: np.ndarray, key: dict[bytes, int] | None
    ):
        self._store = store
        self.n_distinct = n_distinct
        self.inverse = inverse
        # distinct row bytes -> id; None: built from the rows when `extended` first needs it
        self._key_map = key

    def __setstate__(self, state: dict[str, object]) -> None:
        # an index saved before the map was built lazily holds it as `_key`
        if "_key" in state:
            state["_key_map"] = state.pop("_key")
        self.__dict__.update(state)

    @property
    def _key(self) -> dict[bytes, int]:
        if self._key_map is None:
            rows = self.rows
            self._key_map = {rows[i].tobytes(): i for i in range(self.n_distinct)}
        return self._key_map

    @property
    def rows(self) -> np.ndarray:
        return self._store.data[: self.n_distinct]

    @classmethod
    def of(cls, mat: np.ndarray, max_share: float = MAX_SHARE) -> Distinct | None:
        """The distinct rows of `mat` (n, d), or None when more than `max_share` are distinct."""
        mat = np.ascontiguousarray(mat, dtype=np.float32)
        n = len(mat)
        if n == 0 or mat.shape[1] == 0:
            inverse = np.zeros(n, dtype=np.int32)
            return cls(_Rows(mat[:1]), min(n, 1), inverse, None)
        found = _grouped(mat)
        if found is None:
            return cls._of_bytes(mat, max_share)
        first, inverse_sorted = found
        n_distinct = len(first)
        if n_distinct > max_share * n and n_distinct > _MIN_SPARE:
            return None
        # ids in order of first appearance: the first row of each distinct one
        order = np.argsort(first, kind="stable")
        rank = np.empty(n_distinct, dtype=np.int32)
        rank[order] = np.arange(n_distinct, dtype=np.int32)
        inverse = rank[inverse_sorted.reshape(-1)]
        return cls(_Rows(mat[first[order]]), n_distinct, inverse, None)

    @classmethod
    def stacked(
        cls, vectors: Sequence[np.ndarray], d: int, max_share: float = MAX_SHARE
    ) -> tuple[np.ndarray, Distinct | None]:
        """The vectors (d,) as the rows of one (n, d) float32 matrix and `of` that matrix.

        Rows that are one array object (the same cached vector in many organisations) are
        converted and fingerprinted once: the matrix is a gather of the distinct objects'
        rows, and equal bytes are grouped among those only. The result is `of` the stacked
        matrix, row for row."""
        if not vectors:
            return np.zeros((0, d), dtype=np.float32), cls.of(np.zeros((0, d), np.float32))
        first_of: dict[int, int] = {}
        # every vector is alive in `vectors`, so no two objects share an id here
        group = np.fromiter(
            (first_of.setdefault(id(v), len(first_of)) for v in vectors), np.int64, len(vectors)
        )
        if len(first_of) == len(vectors):
            # no object repeats (rows read one by one, as a full fit's are): no gather, which
            # would hold a second copy of the whole matrix
            mat = np.array(vectors, dtype=np.float32).reshape(len(vectors), -1)
            return mat, cls.of(mat, max_share)
        firsts = np.unique(group, return_index=True)[1]  # first row of each object, in order
        objects = np.array([vectors[i] for i in firsts.tolist()], dtype=np.float32)
        objects = objects.reshape(len(firsts), -1)
        mat = objects[group]
        found = _grouped(objects) if objects.shape[1] else None
        if found is None:
            return mat, cls.of(mat, max_share)
        first_obj, inverse_obj = found
        # an equal-bytes group's first row is the first row of its first object
        first = firsts[first_obj]
        n, n_distinct = len(mat), len(first)
        if n_distinct > max_share * n and n_distinct > _MIN_SPARE:
            return mat, None
        order = np.argsort(first, kind="stable")
        rank = np.empty(n_distinct, dtype=np.int32)
        rank[order] = np.arange(n_distinct, dtype=np.int32)
        inverse = rank[inverse_obj.reshape(-1)[group]]
        return mat, cls(_Rows(mat[first[order]]), n_distinct, inverse, None)

    @classmethod
    def _of_bytes(cls, mat: np.ndarray, max_share: float) -> Distinct | None:
        """`of` one row at a time, each row's bytes a key."""
        key: dict[bytes, int] = {}
        inverse = np.empty(len(mat), dtype=np.int32)
        for r in range(len(mat)):
            inverse[r] = key.setdefault(mat[r].tobytes(), len(key))
            if len(key) > max_share * len(mat) and len(key) > _MIN_SPARE:
                return None
        first = np.unique(inverse, return_index=True)[1]
        return cls(_Rows(mat[first]), len(key), inverse, key)

    def extended(
        self, rows: np.ndarray, *, copy: bool = False, max_share: float = MAX_SHARE
    ) -> Distinct | None:
        """A generation with `rows` (k, d) appended to the matrix (self is left unchanged);
        None when the distinct rows would exceed `max_share`. `copy`: write nothing shared."""
        if not len(rows):
            return self
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        key = dict(self._key)
        added: list[int] = []
        inverse = np.empty(len(rows), dtype=np.int32)
        for r in range(len(rows)):
            b = rows[r].tobytes()
            uid = key.get(b)
            if uid is None:
                uid = key[b] = len(key)
                added.append(r)
            inverse[r] = uid
        n = len(self.inverse) + len(rows)
        if len(key) > max_share * n and len(key) > _MIN_SPARE:
            return None
        store = self._store.append(self.n_distinct, rows[added], copy=copy)
        out = Distinct(store, len(key), np.concatenate([self.inverse, inverse]), key)
        grouped = getattr(self, "_groups", None)
        if grouped is not None:
            # the rows grouped by vector, the appended ones put at the end of their groups
            # (one insertion pass instead of a sort of every row)
            by_vec, start, count = grouped
            count = np.concatenate([count, np.zeros(len(key) - len(count), np.int64)])
            ends = np.concatenate(
                [start + count[: len(start)], np.full(len(count) - len(start), len(by_vec))]
            )
            order = np.argsort(inverse, kind="stable")
            new_idx = len(self.inverse) + order.astype(np.int64)
            by_vec = np.insert(by_vec, ends[inverse[order]], new_idx)
            count = count + np.bincount(inverse, minlength=len(count))
            start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
            out._groups = (by_vec, start, count)
        return out

    def _grouped(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows grouped by distinct vector: (rows (n,), start (u,), count (u,)), kept per
        generation (a generation's `inverse` never changes)."""
        cached = getattr(self, "_groups", None)
        if cached is None:
            count = np.bincount(self.inverse, minlength=self.n_distinct).astype(np.int64)
            start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
            cached = (np.argsort(self.inverse, kind="stable").astype(np.int64), start, count)
            self._groups = cached
        return cached

    def nearest_rows(self, queries: np.ndarray, k: int) -> np.ndarray:
        """For each query (q, d), `k` rows of the matrix among the nearest (flattened,
        query-major; fewer when the matrix has fewer rows): the rows of the nearest distinct
        vectors, in order, until `k` are taken. The product is over the distinct vectors
        only and the top-k over them, so the cost does not grow with the rows that repeat
        them. Among rows of one vector (equal similarity) the boundary takes an even spread.
        """
        n = len(self.inverse)
        if not len(queries) or n == 0:
            return np.zeros(0, dtype=np.int64)
        rows, start, count = self._grouped()
        sims = queries @ self.rows.T  # (q, u)
        u = sims.shape[1]
        t = min(k, u)  # every distinct vector holds at least one row
        top = (
            np.argpartition(-sims, t - 1, axis=1)[:, :t]
            if t < u
            else np.tile(np.arange(u), (len(sims), 1))
        )
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)  # (q, t) nearest first
        cnt = count[top]
        before = np.cumsum(cnt, axis=1) - cnt
        take = np.clip(k - before, 0, cnt).ravel()
        vec = top.ravel()
        keep = take > 0
        vec, take, cnt_k = vec[keep], take[keep], cnt.ravel()[keep]
        total = int(take.sum())
        seg = np.repeat(np.arange(len(take)), take)
        pos = np.arange(total) - np.repeat(np.cumsum(take) - take, take)
        return rows[start[vec][seg] + (pos * cnt_k[seg]) // take[seg]]

    def similarities(self, queries: np.ndarray) -> np.ndarray:
        """(q, n): `queries` (q, d) against every row of the matrix, via its distinct rows."""
        return (queries @ self.rows.T)[:, self.inverse]
