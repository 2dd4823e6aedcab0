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


class Distinct:
    """`rows` (u, d): the distinct rows of a matrix; `inverse` (n,): each row's distinct row."""

    def __init__(self, store: _Rows, n_distinct: int, inverse: np.ndarray, key: dict[bytes, int]):
        self._store = store
        self.n_distinct = n_distinct
        self.inverse = inverse
        self._key = key

    @property
    def rows(self) -> np.ndarray:
        return self._store.data[: self.n_distinct]

    @classmethod
    def of(cls, mat: np.ndarray, max_share: float = MAX_SHARE) -> Distinct | None:
        """The distinct rows of `mat` (n, d), or None when more than `max_share` are distinct."""
        mat = np.ascontiguousarray(mat, dtype=np.float32)
        key: dict[bytes, int] = {}
        inverse = np.empty(len(mat), dtype=np.int32)
        for r in range(len(mat)):
            inverse[r] = key.setdefault(mat[r].tobytes(), len(key))
            if len(key) > max_share * len(mat) and len(key) > _MIN_SPARE:
                return None
        # ids are given in order of first appearance: the first row of each distinct one
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
        return Distinct(store, len(key), np.concatenate([self.inverse, inverse]), key)

    def similarities(self, queries: np.ndarray) -> np.ndarray:
        """(q, n): `queries` (q, d) against every row of the matrix, via its distinct rows."""
        return (queries @ self.rows.T)[:, self.inverse]
