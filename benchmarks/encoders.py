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


def measure(spec: str) -> EncoderResult:
    enc = load_encoder(spec)
    texts: list[str] = []
    concept: list[int] = []
    lang: list[int] = []
    for ci, (de, en) in enumerate(PHRASES.values()):
        for li, group in enumerate((de, en)):
            for t in group:
                texts.append(t)
                concept.append(ci)
                lang.append(li)
    c, lg = np.array(concept), np.array(lang)
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
    print(run(sys.argv[1:] or ("use-multilingual", "minilm", "hashing", "hybrid")))
