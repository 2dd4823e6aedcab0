"""Learning from outcomes, simulated on CORDIS ECSEL: does a second stage fitted on a hub's own
accepted requests rank partners better, and is a fit that is not better left alone?

The installation is played forward year by year. For each year Y from 2016 to 2018 the
organisations' profiles are what the import contract would carry with the history before Y
(`benchmarks.api_quality.records`: competences from earlier projects, earlier co-participants
as relationships), and the index is fitted on them with the default weights. Every consortium
that starts in Y is played in as accepted cooperation requests: each member with history asks
each other member with history. The asking member's engine list at that time (its top 100
without its known partners, as the service computes it: the service cannot tell a
relationship recorded before an outcome from one recorded because of it) gives the rows: the
members it asked are positives, every other suggestion of the list is a negative (suggested,
not acted on). The features of a pair are those of the index before Y, so a relationship the
consortium itself creates is never a feature of its own pair. Known partners keep their
places when a plain list is re-ranked (`matching.rerank.Reranker.rerank`).

After each year the re-ranker is fitted on all lists so far with the service's own rule
(`matching.rerank.fit_reranker`, as `koopmatch refit-ranking` does): the lists of the newest
outcomes are held out, held-out nDCG@10 must rise by 0.01 over the engine's order, at least
50 positives in 20 lists. The test split (profiles before 2019, consortia from 2019) is then
scored once with the engine alone and with the re-ranker the loop ended with (plain and novel
lists), next to popularity and past partners from the same run. Nothing of 2019 or later is
seen before that.

Ranking is in-process, on the profiles the import would store (the same encoder and text
recipes as the server); the service path (outcomes in the database, the admin route, the
stored model) is covered by tests/app/matches/test_ranking_refit.py.

    nice python -m benchmarks.learning --vector-cache /tmp/koopmatch-vectors
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.api_quality import (
    LIMIT,
    baselines,
    profile_vectors,
    records,
    score,
)
from benchmarks.cordis import TEST_START, build_task, load

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "benchmarks" / "results" / "ranking-learned.md"
YEARS = (2016, 2017, 2018)


def engine_lists(
    matcher: Any, profiles: dict[int, Any], orgs: Sequence[int], *, exclude_known: bool
) -> dict[int, list[Any]]:
    from matching import Filters

    filters = Filters(exclude_known=exclude_known)
    return {o: matcher.match(profiles[o], filters=filters, limit=LIMIT) for o in orgs}


def main(argv: Sequence[str] | None = None) -> int:
    from matching import Matcher
    from matching.encoders import load_encoder
    from matching.rerank import Reranker, fit_reranker, training_pairs, training_rows

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", default="default")
    parser.add_argument("--vector-cache", type=Path, default=None)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--lists",
        choices=("novel", "plain"),
        default="novel",
        help="novel: training lists without known partners, as the service computes them; "
        "plain: with them (possible where relationships carry dates, as here)",
    )
    parser.add_argument(
        "--history-only", action="store_true", help="play the years in; do not score the test split"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    encoder = load_encoder(args.encoder)
    data = load()
    start_of = data.projects.set_index("projectID")["startDate"].astype(str).to_dict()

    reranker: Reranker | None = None
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    gs: list[np.ndarray] = []
    ts: list[np.ndarray] = []
    ps: list[np.ndarray] = []
    log = [
        "| after year | asking orgs (year) | positives in the lists (year) | rows so far | "
        "held-out nDCG@10 engine / re-ranked | adopted |",
        "|---|---|---|---|---|---|",
    ]
    for year in YEARS:
        start, end = f"{year}-01-01", f"{year + 1}-01-01"
        task = build_task(data, history_end=start, query_end=end)
        profiles = profile_vectors(records(data, task, start), encoder, args.vector_cache)
        matcher = Matcher().fit(list(profiles.values()))
        labels: dict[int, dict[int, int]] = {}
        latest: dict[int, str] = {}
        for q in task.plain:
            labels.setdefault(q.org_id, {}).update(dict.fromkeys(q.positives, 1))
            latest[q.org_id] = max(latest.get(q.org_id, ""), start_of[q.project_id])
        orgs = sorted(labels)
        # as the service does: the lists without known partners (app.matches.learning)
        lists = engine_lists(matcher, profiles, orgs, exclude_known=args.lists == "novel")
        rows_of = ([(o, lists[o]) for o in orgs], [labels[o] for o in orgs])
        x, y, g = training_rows(*rows_of)
        ps.append(training_pairs(*rows_of))
        # one list per organisation and year; its time is its latest consortium's start
        stamp = np.array([int(latest[orgs[k]].replace("-", "")[:8]) for k in g], dtype=np.int64)
        xs.append(x)
        ys.append(y)
        gs.append(g + year * 10**6)
        ts.append(stamp)
        report = fit_reranker(
            np.vstack(xs),
            np.concatenate(ys),
            np.concatenate(gs),
            np.concatenate(ts),
            current=reranker,
            pairs=np.vstack(ps),
            keep_known=args.lists == "novel",
        )
        if report.adopted:
            reranker = report.reranker
        held = (
            f"{report.holdout_engine:.3f} / {report.holdout_fitted:.3f}"
            if report.holdout_engine is not None and report.holdout_fitted is not None
            else "n/a"
        )
        log.append(
            f"| {year} | {len(np.unique(g))} | {int(y.sum())} | {report.pairs} | {held} | "
            f"{'yes' if report.adopted else 'no'}: {report.reason} |"
        )
        print(log[-1], flush=True)

    if args.history_only:
        return 0
    test = build_task(data, history_end=TEST_START)
    profiles = profile_vectors(records(data, test, TEST_START), encoder, args.vector_cache)
    matcher = Matcher().fit(list(profiles.values()))
    variants = {"plain": (test.plain, False), "novel": (test.novel, True)}
    rows: list[str] = []
    for variant, (queries, exclude) in variants.items():
        orgs = sorted({q.org_id for q in queries})
        lists = engine_lists(matcher, profiles, orgs, exclude_known=exclude)
        rows += [
            f"#### {variant} ({len(queries)} queries)",
            "",
            "| method | Recall@10 | MRR | nDCG@10 |",
            "|---|---|---|---|",
        ]
        for name, s in baselines(test, variant).items():
            rows.append(f"| {name} | {s.recall:.3f} | {s.mrr:.3f} | {s.ndcg:.3f} |")
        engine = {o: [m.target_id for m in lists[o]] for o in orgs}
        s = score(engine, queries)
        rows.append(f"| koopmatch, engine alone | {s.recall:.3f} | {s.mrr:.3f} | {s.ndcg:.3f} |")
        if reranker is not None:
            learned = {o: [m.target_id for m in reranker.rerank(lists[o])] for o in orgs}
            s = score(learned, queries)
            rows.append(
                f"| koopmatch, re-ranked from outcomes | {s.recall:.3f} | {s.mrr:.3f} | "
                f"{s.ndcg:.3f} |"
            )
        else:
            rows.append("| koopmatch, re-ranked from outcomes | no fit adopted: engine alone | | |")
        rows.append("")
    lines = [
        "### Learning from outcomes: CORDIS consortia played in as accepted requests"
        + ("" if args.lists == "novel" else ", training lists with known partners"),
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared; load "
        f"average {os.getloadavg()[0]:.1f} at the end), Python {platform.python_version()}, "
        f"encoder {encoder.name}: "
        "`nice python -m benchmarks.learning --vector-cache /tmp/koopmatch-vectors"
        f"{'' if args.lists == 'novel' else ' --lists plain'}` "
        f"(in-process, on the profiles the import would store); whole run "
        f"{(time.perf_counter() - started) / 60:.1f} min.",
        "",
        *log,
        "",
        f"Re-ranker in the end: {'none (engine alone)' if reranker is None else f'blend {reranker.blend}, top {reranker.top_n}'}.",
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
