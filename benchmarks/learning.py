"""Learning from outcomes, simulated on CORDIS ECSEL: does a refit from a hub's own accepted
requests rank new partners better, and is a fit that is not better left alone?

The installation is played forward year by year. For each year Y from 2016 to 2018 the
organisations' profiles are what the import contract would carry with the history before Y
(`benchmarks.api_quality.records`: competences from earlier projects, earlier co-participants
as relationships), and the index is fitted on them with the weights in use at that time. Every
consortium that starts in Y is played in as accepted cooperation requests: each member with
history asks each other member with history (`matching.learning.outcome_pairs`, which also
takes the asking member's best suggestions that it did not ask as negatives, and leaves out
known partners). After each year the weights are refitted on all outcomes so far with the
service's own rule (`matching.learning.refit_weights`: queries split, held-out nDCG@10 must
rise by 0.01, at least 50 positives and 20 asking organisations) exactly as
`koopmatch refit-ranking` does. The test split (profiles before 2019, consortia from 2019) is
then scored once with the default weights and with the weights the loop ended with, next to
popularity and past partners from the same run. Nothing of 2019 or later is seen before that.

Ranking is in-process, on the profiles the import would store (the same encoder and text
recipes as the server); the service path (requests in the database, the admin route, the
stored weights) is covered by tests/app/matches/test_ranking_refit.py.

    nice python -m benchmarks.learning --vector-cache /tmp/koopmatch-vectors
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.api_quality import (
    baselines,
    in_process_rankings,
    profile_vectors,
    records,
    score,
)
from benchmarks.cordis import TEST_START, build_task, load

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "benchmarks" / "results" / "ranking.md"
YEARS = (2016, 2017, 2018)


def main(argv: Sequence[str] | None = None) -> int:
    from matching import Matcher
    from matching.encoders import load_encoder
    from matching.learning import outcome_pairs, refit_weights
    from matching.weights import COMPONENTS, Weights

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", default="default")
    parser.add_argument("--vector-cache", type=Path, default=None)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    encoder = load_encoder(args.encoder)
    data = load()

    weights = Weights()
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    gs: list[np.ndarray] = []
    log = [
        "| after year | asking orgs (year) | positive pairs (year) | pairs so far | "
        "held-out nDCG@10 in use / fitted | adopted |",
        "|---|---|---|---|---|---|",
    ]
    for year in YEARS:
        start, end = f"{year}-01-01", f"{year + 1}-01-01"
        task = build_task(data, history_end=start, query_end=end)
        profiles = profile_vectors(records(data, task, start), encoder, args.vector_cache)
        matcher = Matcher(weights).fit(list(profiles.values()))
        outcomes = [(q.org_id, p, 1) for q in task.plain for p in sorted(q.positives)]
        x, y, g = outcome_pairs(matcher, outcomes)
        xs.append(x)
        ys.append(y)
        gs.append(g + year * 10**12)  # one query per organisation and year
        report = refit_weights(np.vstack(xs), np.concatenate(ys), np.concatenate(gs), base=weights)
        weights = report.weights
        held = (
            f"{report.holdout_base:.3f} / {report.holdout_fitted:.3f}"
            if report.holdout_base is not None and report.holdout_fitted is not None
            else "n/a"
        )
        log.append(
            f"| {year} | {len(np.unique(g))} | {int(y.sum())} | {report.pairs} | {held} | "
            f"{'yes' if report.adopted else 'no'}: {report.reason} |"
        )
        print(log[-1], flush=True)

    test = build_task(data, history_end=TEST_START)
    profiles = profile_vectors(records(data, test, TEST_START), encoder, args.vector_cache)
    variants = {"plain": (test.plain, False), "novel": (test.novel, True)}
    rows: list[str] = []
    for variant, (queries, exclude) in variants.items():
        orgs = sorted({q.org_id for q in queries})
        rows += [
            f"#### {variant} ({len(queries)} queries)",
            "",
            "| method | Recall@10 | MRR | nDCG@10 |",
            "|---|---|---|---|",
        ]
        for name, s in baselines(test, variant).items():
            rows.append(f"| {name} | {s.recall:.3f} | {s.mrr:.3f} | {s.ndcg:.3f} |")
        for name, w in (
            ("default weights", Weights()),
            ("weights refitted from outcomes", weights),
        ):
            s = score(
                in_process_rankings(profiles, orgs, exclude_known=exclude, weights=w), queries
            )
            rows.append(f"| koopmatch, {name} | {s.recall:.3f} | {s.mrr:.3f} | {s.ndcg:.3f} |")
        rows.append("")
    learned = ", ".join(
        f"{n} {d:.3f} -> {v:.3f}"
        for n, d, v in zip(COMPONENTS, Weights().vector(), weights.vector(), strict=True)
        if abs(d - v) > 1e-9
    )
    lines = [
        "### Learning from outcomes: CORDIS consortia played in as accepted requests",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, encoder {encoder.name}: "
        "`nice python -m benchmarks.learning --vector-cache /tmp/koopmatch-vectors` "
        f"(in-process, on the profiles the import would store); whole run "
        f"{(time.perf_counter() - started) / 60:.1f} min.",
        "",
        *log,
        "",
        f"Weights in the end (changed components, default -> refitted): {learned or 'none'}.",
        "",
        "Test split, scored once:",
        "",
        *rows,
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        from benchmarks.api_quality import write_section

        write_section(RESULTS, lines[0], text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
