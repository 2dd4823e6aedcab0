"""Cross-language encoder measurement on the hand-written phrase bank of benchmarks.labelled.

Every concept has three German and three English phrasings that are not word-for-word
translations ("Kunststoffspritzguss" / "thermoplastic part production"). Measured per encoder:
- mean cosine of related pairs (same concept) across languages and within a language,
- mean cosine of unrelated pairs (different concepts),
- separation = related minus unrelated, and ROC AUC of related vs unrelated cross-language pairs,
- retrieval accuracy@1: for each phrasing, is the nearest phrasing (excluding itself) of the same
  concept? Same-language: candidates in the query's language; cross-language: in the other one,
- encoding time per phrase (median of 3 runs, after loading).

Run: `python -m benchmarks.encoders [spec ...]` (default: use-multilingual, minilm, hashing,
hybrid).

`python -m benchmarks.encoders --floors [spec ...]` prints the relevance floors instead: upper
quantiles of the unrelated-pair cosines, the source of `matching.relevance.RELEVANCE_FLOORS`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from benchmarks.labelled import PHRASES, cpu_model
from matching.encoders import load_encoder


@dataclass
class EncoderResult:
    spec: str
    name: str
    related_cross: float
    related_same: float
    unrelated: float
    auc_cross: float
    acc_same: float
    acc_cross: float
    ms_per_phrase: float
    examples: dict[tuple[str, str], float]

    @property
    def separation(self) -> float:
        return self.related_cross - self.unrelated


EXAMPLES = (
    ("Kunststoffspritzguss", "plastic injection moulding"),
    ("IT-Sicherheit", "IT security"),
    ("Formenbau", "tooling for injection moulds"),
    ("Kühllogistik", "refrigerated transport"),
    ("Tragwerksplanung", "structural calculations for buildings"),
    ("Kunststoffspritzguss", "IT security"),
)


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Probability that a random related pair scores above a random unrelated one."""
    allv = np.concatenate([pos, neg])
    ranks = allv.argsort().argsort().astype(np.float64) + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _phrase_bank() -> tuple[list[str], np.ndarray, np.ndarray]:
    """The phrasings with their concept index (n,) and language (n,), 0 German, 1 English."""
    texts: list[str] = []
    concept: list[int] = []
    lang: list[int] = []
    for ci, (de, en) in enumerate(PHRASES.values()):
        for li, group in enumerate((de, en)):
            for t in group:
                texts.append(t)
                concept.append(ci)
                lang.append(li)
    return texts, np.array(concept), np.array(lang)


@dataclass
class FloorResult:
    name: str
    n_unrelated: int
    quantiles: dict[float, float]  # quantile -> cosine, over unrelated pairs (both languages)
    quantiles_cross: dict[float, float]  # the same over unrelated cross-language pairs
    related_below: dict[float, float]  # quantile -> share of related cross-language pairs below


FLOOR_QUANTILES = (0.9, 0.95, 0.99)


def unrelated_floor(spec: str, quantiles: Sequence[float] = FLOOR_QUANTILES) -> FloorResult:
    """Upper quantiles of the cosines of unrelated phrase pairs (each unordered pair once).

    A typed need whose best cosine with a firm's core lies below the 0.95 quantile is no closer
    to it than one in twenty pairs of phrases about different things: the relevance floor.
    """
    enc = load_encoder(spec)
    texts, c, lg = _phrase_bank()
    v = enc.encode(texts)
    sims = v @ v.T
    upper = np.triu(np.ones_like(sims, dtype=bool), k=1)
    same_c = c[:, None] == c[None, :]
    same_l = lg[:, None] == lg[None, :]
    unrelated = sims[upper & ~same_c]
    unrelated_cross = sims[upper & ~same_c & ~same_l]
    related_cross = sims[upper & same_c & ~same_l]
    qs = [float(q) for q in quantiles]
    return FloorResult(
        name=enc.name,
        n_unrelated=int(unrelated.size),
        quantiles={q: float(np.quantile(unrelated, q)) for q in qs},
        quantiles_cross={q: float(np.quantile(unrelated_cross, q)) for q in qs},
        related_below={q: float((related_cross < np.quantile(unrelated, q)).mean()) for q in qs},
    )


def run_floors(specs: Sequence[str] = ("use-multilingual", "minilm", "hashing")) -> str:
    """Markdown table of the relevance floors per encoder."""
    results = [unrelated_floor(s) for s in specs]
    head = " | ".join(f"q{q:g} unrelated | q{q:g} cross-lang" for q in FLOOR_QUANTILES)
    lines = [
        "## Relevance floors (unrelated-pair cosine quantiles)",
        "",
        f"Phrase bank of benchmarks.labelled ({len(PHRASES)} concepts x 6 phrasings), every "
        f"unordered pair of phrasings of different concepts. {datetime.now(UTC):%Y-%m-%d}, "
        f"{cpu_model()}, `python -m benchmarks.encoders --floors`. Last column: share of "
        "related cross-language pairs below the 0.95 quantile.",
        "",
        f"| encoder | unrelated pairs | {head} | related below q0.95 |",
        "|---|---|" + "---|---|" * len(FLOOR_QUANTILES) + "---|",
    ]
    for r in results:
        cells = " | ".join(
            f"{r.quantiles[q]:.3f} | {r.quantiles_cross[q]:.3f}" for q in FLOOR_QUANTILES
        )
        lines.append(f"| {r.name} | {r.n_unrelated} | {cells} | {r.related_below[0.95]:.3f} |")
    return "\n".join(lines)


def measure(spec: str) -> EncoderResult:
    enc = load_encoder(spec)
    texts, c, lg = _phrase_bank()
    enc.encode(["warm up"])
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        v = enc.encode(texts)
        times.append(time.perf_counter() - t0)
    sims = v @ v.T
    same_c = c[:, None] == c[None, :]
    same_l = lg[:, None] == lg[None, :]
    off = ~np.eye(len(texts), dtype=bool)
    related_cross = sims[same_c & ~same_l]
    related_same = sims[same_c & same_l & off]
    unrelated = sims[~same_c]
    unrelated_cross = sims[~same_c & ~same_l]

    def accuracy(mask: np.ndarray) -> float:
        s = np.where(mask & off, sims, -np.inf)
        return float((c[s.argmax(axis=1)] == c).mean())

    ex = enc.encode([t for pair in EXAMPLES for t in pair])
    examples = {pair: float(ex[2 * i] @ ex[2 * i + 1]) for i, pair in enumerate(EXAMPLES)}
    return EncoderResult(
        spec=spec,
        name=enc.name,
        related_cross=float(related_cross.mean()),
        related_same=float(related_same.mean()),
        unrelated=float(unrelated.mean()),
        auc_cross=_auc(related_cross, unrelated_cross),
        acc_same=accuracy(same_l),
        acc_cross=accuracy(~same_l),
        ms_per_phrase=1000 * float(np.median(times)) / len(texts),
        examples=examples,
    )


def run(specs: Sequence[str] = ("use-multilingual", "minilm", "hashing", "hybrid")) -> str:
    results = [measure(s) for s in specs]
    n = len(PHRASES)
    lines = [
        "## Encoders across German and English",
        "",
        f"{n} concepts x (3 German + 3 English phrasings, not word-for-word translations): "
        f"{n * 9} related cross-language pairs, {n * 6} related same-language pairs, "
        f"unrelated = phrasings of different concepts. {datetime.now(UTC):%Y-%m-%d}, "
        f"{cpu_model()}, `python -m benchmarks.encoders`.",
        "",
        "| encoder | related cos (cross-lang) | related cos (same-lang) | unrelated cos | "
        "separation | AUC cross-lang | acc@1 same-lang | acc@1 cross-lang | ms/phrase |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.related_cross:.3f} | {r.related_same:.3f} | {r.unrelated:.3f} | "
            f"{r.separation:.3f} | {r.auc_cross:.3f} | {r.acc_same:.3f} | {r.acc_cross:.3f} | "
            f"{r.ms_per_phrase:.2f} |"
        )
    lines += [
        "",
        "Single pairs (cosine):",
        "",
        "| pair | " + " | ".join(r.name for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    for pair in EXAMPLES:
        lines.append(
            f"| {pair[0]} / {pair[1]} | "
            + " | ".join(f"{r.examples[pair]:.2f}" for r in results)
            + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--floors"]:
        print(run_floors(args[1:] or ("use-multilingual", "minilm", "hashing")))
    else:
        print(run(args or ("use-multilingual", "minilm", "hashing", "hybrid")))
