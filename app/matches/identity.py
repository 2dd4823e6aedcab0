"""What each organisation *is*, for typed search: the titles of its NACE code.

The titles come from the NACE library the project uses (`app.taxonomy.nace`): class, group
and division in English, division in German. They are encoded once per encoder and title
(a few hundred short phrases for a whole code list), never per query; each fitted index
gets its (n, k) title matrix once (`matching.identity`).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np

from app.embeddings import Encoder
from app.matches.index import FittedIndex
from app.taxonomy.nace import german_labels, nace_entries, normalize_nace_code
from matching.identity import title_matrix

_LOCK = threading.Lock()
# (encoder name, title) -> unit vector
_TITLE_VECTORS: dict[tuple[str, str], np.ndarray] = {}


@dataclass(frozen=True)
class IdentityTitles:
    """The identity titles of a fitted index's organisations.

    ids : (n,) organisation ids.
    titles : the distinct titles; `vectors` (t, d) their unit vectors.
    code_titles : (c, k) indices into `titles`, -1 padded, one row per distinct NACE code:
        firms of one code have the same titles, so evidence is computed per code.
    firm_code : (n,) each organisation's row of `code_titles`.
    codes : organisation id -> its NACE code as stored.
    """

    ids: np.ndarray
    titles: list[str]
    vectors: np.ndarray
    code_titles: np.ndarray
    firm_code: np.ndarray
    codes: dict[int, str]


_BY_INDEX: weakref.WeakKeyDictionary[object, IdentityTitles] = weakref.WeakKeyDictionary()


def nace_titles(code: str | None) -> list[str]:
    """The English titles of a code's class, group and division and the German title of its
    division, most specific first, without repeats; [] for no or an unknown code."""
    normal = normalize_nace_code(code) if code else None
    if not normal or not normal[:2].isdigit():
        return []
    entries = nace_entries()
    wanted = [normal]
    if "." in normal:
        wanted += [normal[:4], normal[:2]]  # "26.51" -> "26.5", "26"
    out = [entries[c].label_en for c in dict.fromkeys(wanted) if c in entries]
    german = german_labels().get(normal[:2])
    if german:
        out.append(german)
    return list(dict.fromkeys(t.strip() for t in out if t.strip()))


def _vectors(encoder: Encoder, titles: list[str]) -> np.ndarray:
    missing = [t for t in titles if (encoder.name, t) not in _TITLE_VECTORS]
    if missing:
        encoded = np.asarray(encoder.encode(missing), dtype=np.float32)
        norms = np.linalg.norm(encoded, axis=1, keepdims=True)
        encoded = np.divide(encoded, norms, out=np.zeros_like(encoded), where=norms > 0)
        with _LOCK:
            for title, vector in zip(missing, encoded, strict=True):
                _TITLE_VECTORS[(encoder.name, title)] = vector
    if not titles:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([_TITLE_VECTORS[(encoder.name, t)] for t in titles])


def identity_titles(index: FittedIndex, encoder: Encoder) -> IdentityTitles:
    """The identity titles of every organisation of `index`, built once per fitted index."""
    cached = _BY_INDEX.get(index.matcher)
    if cached is not None:
        return cached
    ids = sorted(index.profiles)
    codes = {i: index.profiles[i].nace_code or "" for i in ids}
    distinct = sorted(set(codes.values()))
    per_code = {code: nace_titles(code) for code in distinct}
    titles = sorted({t for ts in per_code.values() for t in ts})
    position = {t: k for k, t in enumerate(titles)}
    row_of_code = {code: r for r, code in enumerate(distinct)}
    built = IdentityTitles(
        ids=np.asarray(ids, dtype=np.int64),
        titles=titles,
        vectors=_vectors(encoder, titles),
        code_titles=title_matrix([[position[t] for t in per_code[c]] for c in distinct]),
        firm_code=np.fromiter((row_of_code[codes[i]] for i in ids), np.int64, len(ids)),
        codes=codes,
    )
    with _LOCK:
        _BY_INDEX[index.matcher] = built
    return built
