"""Competence-label normalisation: fold labels to keys and group likely synonyms.

Two signals say that two labels name the same competence:

* their spelling (rapidfuzz ratios on folded keys, aware of how German and English
  compounds are built: "Kunststoff-Spritzguss" is a kind of "Spritzguss", while
  "Sensortechnik" and "Lasertechnik" only share their head word), and
* their vectors (cosine of unit embeddings), which also meet across languages with a
  multilingual encoder ("Spritzguss" / "injection moulding").

A pair's similarity is the larger of the two. Candidate pairs come from nearest neighbours
(character n-gram TF-IDF and embeddings), never from all pairs, so ~20k labels stay cheap.
Groups are the clusters of an average-linkage agglomerative clustering inside each connected
component of the candidate graph: a chain A~B~C does not put A and C together unless C is,
on average, close to the whole group.

Typical use:

    groups = group_labels(labels, counts, embeddings, threshold=0.75)
    for g in groups:
        print(labels[g.canonical], [labels[m.index] for m in g.members])
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import Indel
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.neighbors import NearestNeighbors

_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_SEPARATORS = re.compile(r"[\W_]+")
# a stem shared at the start of two words: below this, "...technik" endings alone look alike
_MIN_STEM = 4
# longest word ending that may differ between spellings of one word ("uss" / "iessen")
_MAX_ENDING = 6
# a compound whose last part is the other label ("kunststoffspritzguss" / "spritzguss")
_SPECIALISATION = 0.95
# words that make a label a phrase about another thing ("Entwicklung von Leistungselektronik")
_FUNCTION_WORDS = frozenset(
    {
        "von", "zu", "zum", "zur", "fuer", "mit", "bei", "aus", "an", "auf", "in", "im", "am",
        "und", "oder", "der", "die", "das", "den", "dem", "des", "ueber", "nach", "gegen",
        "of", "for", "to", "with", "on", "at", "and", "or", "the", "by", "from", "as",
    }
)  # fmt: skip
# components larger than this get string similarities only on their candidate pairs
_FULL_PAIRS_LIMIT = 150
# largest set of labels clustered at once (a dense (m, m) matrix), and how a larger one is cut
_PIECE_LIMIT = 1500
_CUT_STEP = 0.02
# rows of embeddings compared at a time when looking for neighbours
_BLOCK = 1024
# share of non-zero vector entries below which the neighbour search multiplies sparse matrices
_SPARSE_SHARE = 0.1


def fold(label: str) -> str:
    """The comparison key of a label: "Kunststoff-Spritzgießen " -> "kunststoff spritzgiessen".

    Case-folded, umlauts and sharp s spelled out (ä -> ae, ß -> ss), other accents dropped,
    punctuation, hyphens and underscores turned into spaces, whitespace collapsed.
    """
    text = unicodedata.normalize("NFKC", label).casefold().translate(_TRANSLITERATION)
    # é -> e, ç -> c: decompose and drop the combining marks
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    return " ".join(_SEPARATORS.sub(" ", text).split())


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _stem_ratio(a: str, b: str) -> float:
    """Indel ratio of two words that differ only in an ending, else 0.

    German and English vary a word at its end (Spritzguss/Spritzgießen, Lasertechnik/
    Lasertechnologie) and build different things by changing its start (Sensortechnik/
    Lasertechnik) or, in compounds, its head (Präzisionsfräsen/Präzisionssensorik): only the
    first kind counts as the same word. Words differ in an ending when they share a stem of at
    least _MIN_STEM letters and neither has more than _MAX_ENDING letters after it.
    """
    if a == b:
        return 1.0
    if a[:1] != b[:1]:  # no shared stem at all (the common case among candidate pairs)
        return 0.0
    stem = _common_prefix(a, b)
    if stem < min(_MIN_STEM, len(a), len(b)) or max(len(a), len(b)) - stem > _MAX_ENDING:
        return 0.0
    return float(Indel.normalized_similarity(a, b))


def string_similarity(a: str, b: str) -> float:
    """0..1 similarity of two folded keys (see `fold`).

    The largest of: the stem ratio of the keys without spaces; 0.95 when one key, without
    spaces, ends with the other (a compound and its head word: "kunststoff spritzguss" /
    "spritzguss", "plastic injection moulding" / "injection moulding"); and, when every other
    word of the shorter label occurs in the longer one, 0.95 x the stem ratio of the two last
    words (the head words: "kunststoff spritzguss" / "spritzgiessen"; the last part of a
    one-word compound counts as its head word). The last two do not apply when the labels
    differ in a function word ("schnittstellen zu kalkulationssoftware" is no kind of
    "kalkulationssoftware").
    """
    return spelled_similarity(Spelling.of(a), Spelling.of(b))


@dataclass(frozen=True, slots=True)
class Spelling:
    """A folded key split once for `string_similarity`: the key, without spaces, its words."""

    key: str
    compact: str
    words: tuple[str, ...]
    word_set: frozenset[str]

    @classmethod
    def of(cls, key: str) -> Spelling:
        words = tuple(key.split())
        return cls(key, key.replace(" ", ""), words, frozenset(words))


def spelled_similarity(a: Spelling, b: Spelling) -> float:
    """`string_similarity` of two split keys."""
    if not a.key or not b.key:
        return 0.0  # a label of punctuation only says nothing
    if a.key == b.key:
        return 1.0
    ca, cb = a.compact, b.compact
    if not ca or not cb:
        return 0.0
    if ca == cb:
        return 1.0
    best = _stem_ratio(ca, cb)
    wa, wb = a.words, b.words
    # "Schnittstellen zu X", "development of X", "A and X": phrases about X, not kinds of X
    phrase = bool((a.word_set ^ b.word_set) & _FUNCTION_WORDS)
    short, long_ = (ca, cb) if len(ca) <= len(cb) else (cb, ca)
    if len(short) >= _MIN_STEM and long_.endswith(short) and not phrase:
        best = max(best, _SPECIALISATION)
    few, many = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    if set(few[:-1]) <= set(many[:-1]) and not phrase:
        head = _head_ratio(few[-1], many[-1])
        if len(few) == len(many):  # either last word may be the compound
            head = max(head, _head_ratio(many[-1], few[-1]))
        best = max(best, _SPECIALISATION * head)
    return best


def _head_ratio(head: str, word: str) -> float:
    """Stem ratio of `head` and `word`, or of `head` and the part of the compound `word` that
    starts with head's stem ("spritzgiessen" / "kunststoffspritzguss" -> "spritzguss")."""
    best = _stem_ratio(head, word)
    stem = head[:_MIN_STEM]
    if len(stem) == _MIN_STEM:
        at = word.find(stem, 1)
        while at > 0:
            best = max(best, _stem_ratio(head, word[at:]))
            at = word.find(stem, at + 1)
    return best


@dataclass(frozen=True, slots=True)
class GroupMember:
    """One label of a group, by its index in the input.

    `similarity` is the pair similarity to the group's canonical label (1.0 for the canonical
    one itself), with its two signals; `embedding_similarity` is None when either label has no
    vector. `confidence` is the mean similarity to the other members of the group.
    """

    index: int
    count: int
    similarity: float
    string_similarity: float
    embedding_similarity: float | None
    confidence: float


@dataclass(frozen=True, slots=True)
class LabelGroup:
    """Likely synonyms; `canonical` is the suggested label (an index into the input).

    Members: the canonical label first, then by count descending, shorter, alphabetical.
    """

    canonical: int
    members: tuple[GroupMember, ...]
    total_count: int


def _rank_key(labels: Sequence[str], counts: Sequence[int], i: int) -> tuple[int, int, str]:
    # the most used label wins; ties go to the shorter, then the alphabetically first one
    return (-int(counts[i]), len(labels[i]), labels[i])


def _string_neighbours(keys: Sequence[str], k: int) -> set[tuple[int, int]]:
    """Pairs (i < j) where j is among the k nearest neighbours of i by character n-grams."""
    n = len(keys)
    if n < 2:
        return set()
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4), lowercase=False)
    try:
        x = vectorizer.fit_transform([k_ or " " for k_ in keys])  # (n, vocabulary) sparse
    except ValueError:  # only keys shorter than an n-gram
        return set()
    nn = NearestNeighbors(n_neighbors=min(k + 1, n), metric="cosine", algorithm="brute")
    distances, indices = nn.fit(x).kneighbors(x)  # (n, k + 1) each
    rows = np.broadcast_to(np.arange(n)[:, None], indices.shape)
    keep = (indices != rows) & (distances < 1.0)  # cosine 0: nothing in common
    left, right = rows[keep], indices[keep]
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    return set(zip(lo.tolist(), hi.tolist(), strict=True))


def _embedding_neighbours(
    vectors: np.ndarray, has_vector: np.ndarray, k: int, threshold: float
) -> set[tuple[int, int]]:
    """Pairs (i < j), both with vectors, where j is among i's k nearest by cosine >= threshold.

    vectors: (n, d) float32 unit rows; has_vector: (n,) bool.
    """
    rows = np.flatnonzero(has_vector)
    if len(rows) < 2:
        return set()
    matrix = vectors[rows]  # (m, d)
    # mostly zeros (hashed n-gram vectors): a sparse product skips them
    sparse = np.count_nonzero(matrix) < _SPARSE_SHARE * matrix.size
    other = csr_matrix(matrix).T.tocsr() if sparse else matrix.T  # (d, m)
    kk = min(k + 1, len(rows))
    pairs: set[tuple[int, int]] = set()
    for start in range(0, len(rows), _BLOCK):
        block = matrix[start : start + _BLOCK]  # (b, d)
        sims = (csr_matrix(block) @ other).toarray() if sparse else block @ other  # (b, m)
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]  # (b, kk)
        near = np.take_along_axis(sims, top, axis=1) >= threshold  # (b, kk)
        a, b = np.nonzero(near)
        left = rows[start + a]
        right = rows[top[a, b]]
        keep = left != right
        lo, hi = np.minimum(left, right)[keep], np.maximum(left, right)[keep]
        pairs.update(zip(lo.tolist(), hi.tolist(), strict=True))
    return pairs


def group_labels(
    labels: Sequence[str],
    counts: Sequence[int],
    embeddings: np.ndarray | None,
    *,
    threshold: float = 0.75,
    neighbours: int = 10,
    min_group: int = 2,
) -> list[LabelGroup]:
    """Groups of likely synonymous labels, the most used first.

    labels: n distinct labels; counts: (n,) how often each is used; embeddings: (n, d) float32
    unit rows, a zero row for a label without a vector (None: spelling only). Two labels are
    similar with max(string similarity, cosine); a group's members are on average at least
    `threshold` similar to each other (average linkage). Only groups of at least `min_group`
    labels are returned, sorted by total count descending, then canonical label.
    """
    n = len(labels)
    if len(counts) != n:
        raise ValueError(f"{n} labels but {len(counts)} counts")
    if embeddings is None:
        vectors = np.zeros((n, 1), dtype=np.float32)
    else:
        vectors = np.asarray(embeddings, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != n:
            raise ValueError(f"embeddings must be ({n}, d), got {vectors.shape}")
    has_vector = np.linalg.norm(vectors, axis=1) > 0  # (n,)
    keys = [fold(label) for label in labels]

    candidates = _string_neighbours(keys, neighbours) | _embedding_neighbours(
        vectors, has_vector, neighbours, threshold
    )
    # equal keys ("CNC-Fräsen" / "CNC Fräsen") always belong together
    first_of: dict[str, int] = {}
    for i, key in enumerate(keys):
        if not key:
            continue
        j = first_of.setdefault(key, i)
        if j != i:
            candidates.add((j, i))

    pairs = _Pairs(keys, vectors, has_vector)
    ordered = sorted(candidates)
    values = pairs.combined_many(ordered)  # (len(ordered),)
    edges = {
        pair: value
        for pair, value in zip(ordered, values.tolist(), strict=True)
        if value >= threshold
    }
    pieces = _pieces(n, edges, threshold)

    groups: list[LabelGroup] = []
    for members in pieces:
        sim = pairs.matrix(members)
        for cluster in _clusters(sim, threshold):
            if len(cluster) >= min_group:
                groups.append(_group(members, cluster, sim, labels, counts, pairs))
    groups.sort(key=lambda g: (-g.total_count, labels[g.canonical]))
    return groups


def _pieces(n: int, edges: dict[tuple[int, int], float], threshold: float) -> list[list[int]]:
    """Connected components of the graph of `edges` (pairs with their similarity), cut into
    pieces of at most _PIECE_LIMIT labels.

    A component too large for a dense (m, m) clustering (chains of compounds such as "X" ~
    "Y X" ~ "Y X Z" link thousands of labels) is split again using only its stronger edges,
    the cut raised in steps until every piece is small enough.
    """
    out: list[list[int]] = []
    todo: list[tuple[list[tuple[int, int]], float]] = [(list(edges), threshold)]
    while todo:
        pair_list, cut = todo.pop()
        if not pair_list:
            continue
        a, b = np.array(pair_list).T
        graph = coo_matrix((np.ones(len(pair_list)), (a, b)), shape=(n, n))
        _, component = connected_components(graph, directed=False)
        members_of: dict[int, list[int]] = {}
        for i in sorted(set(a.tolist()) | set(b.tolist())):
            members_of.setdefault(int(component[i]), []).append(i)
        for members in members_of.values():
            if len(members) <= _PIECE_LIMIT:
                out.append(members)
                continue
            inside = set(members)
            stronger = cut + _CUT_STEP
            if stronger > 1.0:  # equal labels only and still too many: cut by position
                out.extend(
                    members[s : s + _PIECE_LIMIT] for s in range(0, len(members), _PIECE_LIMIT)
                )
                continue
            kept = [p for p in pair_list if p[0] in inside and edges[p] >= stronger]
            todo.append((kept, stronger))
    return sorted(out)


class _Pairs:
    """Pair similarities of the labels, the string ones computed once."""

    def __init__(self, keys: Sequence[str], vectors: np.ndarray, has_vector: np.ndarray) -> None:
        self.keys = keys
        self.spellings = [Spelling.of(key) for key in keys]
        self.vectors = vectors  # (n, d)
        self.has_vector = has_vector  # (n,)
        self.strings: dict[tuple[int, int], float] = {}

    def string(self, i: int, j: int) -> float:
        pair = (min(i, j), max(i, j))
        value = self.strings.get(pair)
        if value is None:
            value = self.strings[pair] = spelled_similarity(self.spellings[i], self.spellings[j])
        return value

    def embedding(self, i: int, j: int) -> float | None:
        if not (self.has_vector[i] and self.has_vector[j]):
            return None
        return float(np.clip(self.vectors[i] @ self.vectors[j], -1.0, 1.0))

    def combined(self, i: int, j: int) -> float:
        return max(self.string(i, j), self.embedding(i, j) or 0.0)

    def embeddings(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """(p,) cosines of the pairs (left[k], right[k]), 0 where either has no vector;
        the same float32 dot products as `embedding`, one pair at a time in C."""
        v = self.vectors
        dots = np.fromiter(
            (v[i] @ v[j] for i, j in zip(left.tolist(), right.tolist(), strict=True)),
            dtype=np.float32,
            count=len(left),
        )
        both = self.has_vector[left] & self.has_vector[right]
        return np.where(both, np.clip(dots, -1.0, 1.0), 0.0)

    def combined_many(self, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
        """(p,) `combined` of each pair (i < j): the cosines at once, the spellings one by
        one (cached for `matrix`)."""
        if not pairs:
            return np.zeros(0)
        left, right = (np.asarray(side) for side in zip(*pairs, strict=True))
        strings = np.fromiter(
            (self.string(i, j) for i, j in pairs), dtype=np.float64, count=len(pairs)
        )
        return np.maximum(strings, self.embeddings(left, right))

    def matrix(self, members: Sequence[int]) -> np.ndarray:
        """(m, m) combined similarities of `members`."""
        m = len(members)
        idx = np.asarray(members)
        emb = self.vectors[idx] @ self.vectors[idx].T  # (m, m)
        both = self.has_vector[idx][:, None] & self.has_vector[idx][None, :]
        sim = np.where(both, np.clip(emb, -1.0, 1.0), 0.0).astype(np.float64)
        if m <= _FULL_PAIRS_LIMIT:
            todo = [(p, q) for p in range(m) for q in range(p + 1, m)]
        else:
            # too many for every pair: spelling counts where the neighbours looked
            position = {i: p for p, i in enumerate(members)}
            todo = [
                (position[i], position[j])
                for i, j in list(self.strings)
                if i in position and j in position
            ]
        for p, q in todo:
            s = self.string(members[p], members[q])
            if s > sim[p, q]:
                sim[p, q] = sim[q, p] = s
        np.fill_diagonal(sim, 1.0)
        return sim


def _clusters(sim: np.ndarray, threshold: float) -> list[list[int]]:
    """Average-linkage clusters (positions) of an (m, m) similarity matrix, cut at `threshold`."""
    m = sim.shape[0]
    if m == 2:
        return [[0, 1]] if sim[0, 1] >= threshold else [[0], [1]]
    model = AgglomerativeClustering(
        n_clusters=None,
        metric="precomputed",
        linkage="average",
        # merges happen below the cut: a mean similarity of exactly `threshold` still joins
        distance_threshold=1.0 - threshold + 1e-9,
    )
    assignment = model.fit_predict(1.0 - sim)
    clusters: dict[int, list[int]] = {}
    for p, c in enumerate(assignment):
        clusters.setdefault(int(c), []).append(p)
    return list(clusters.values())


def _group(
    members: Sequence[int],
    cluster: Sequence[int],
    sim: np.ndarray,
    labels: Sequence[str],
    counts: Sequence[int],
    pairs: _Pairs,
) -> LabelGroup:
    """The group of `members[p] for p in cluster`; sim is the (m, m) matrix of `members`."""
    order = sorted(cluster, key=lambda p: _rank_key(labels, counts, members[p]))
    top = order[0]
    canonical = members[top]
    out = []
    for p in order:
        i = members[p]
        if i == canonical:
            s, e = 1.0, 1.0 if pairs.has_vector[i] else None
        else:
            s, e = pairs.string(canonical, i), pairs.embedding(canonical, i)
        out.append(
            GroupMember(
                index=i,
                count=int(counts[i]),
                similarity=round(float(sim[top, p]), 4),
                string_similarity=round(s, 4),
                embedding_similarity=None if e is None else round(e, 4),
                confidence=round(float(np.mean([sim[p, q] for q in cluster if q != p])), 4),
            )
        )
    return LabelGroup(
        canonical=canonical,
        members=tuple(out),
        total_count=sum(int(counts[members[p]]) for p in cluster),
    )
