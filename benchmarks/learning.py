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

`--fixed-import YEAR` plays a different installation forward, the one a hub runs: its
directory is imported once, as of YEAR-01-01 (relationships before YEAR), and from then on
the service records outcomes, which never become relationships. Every consortium of YEAR and
later is played in as accepted requests among the imported members (one step per member pair
and direction, at the project's start). The second stage then has what the engine does not:
features from the outcomes (`matching.outcomes`). For each later year Y, the lists of Y's
consortia are rows whose outcome features come from the steps before Y-01-01 only; the
re-ranker is fitted with the service's rule on the lists up to Y and checked on the next
year's queries (history: fit on 2017, next year 2018). The test split (2019 and later) is
scored once at the end, with the fit on 2017-2018 and the outcomes of 2016-2018. Ablations:
the same fit without the pair's own outcome history (aggregates and the collaborative count
only) and without any outcome feature (the engine's own view, as before).
"""

from __future__ import annotations

import argparse
import datetime as dt
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


FEATURE_SETS = {
    "all outcome features": (),
    "aggregates and shared partners only": ("outcome_pair_positive", "outcome_pair_negative"),
    "no outcome features (engine view only)": None,
}


def consortium_steps(task: Any, start_of: dict[int, str]) -> list[tuple[float, int, int, int]]:
    """(time, asking, other, 1) for each member pair of each consortium of `task`'s queries."""
    out = []
    for q in task.plain:
        t = dt.datetime.fromisoformat(start_of[q.project_id][:10]).replace(tzinfo=dt.UTC)
        out += [(t.timestamp(), q.org_id, p, 1) for p in sorted(q.positives)]
    return out


def year_start(year: int) -> float:
    return dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp()


def fixed_import(args: argparse.Namespace) -> int:
    """The `--fixed-import` simulation (see the module)."""
    from matching import Matcher
    from matching.encoders import load_encoder
    from matching.outcomes import OUTCOME_FEATURES, OutcomeHistory
    from matching.rerank import (
        FEATURES,
        Reranker,
        fit_model,
        fit_reranker,
        training_pairs,
        training_rows,
    )

    started = time.perf_counter()
    encoder = load_encoder(args.encoder)
    data = load()
    start_of = data.projects.set_index("projectID")["startDate"].astype(str).to_dict()
    base = args.fixed_import
    imported = build_task(data, history_end=f"{base}-01-01")
    profiles = profile_vectors(records(data, imported, f"{base}-01-01"), encoder, args.vector_cache)
    matcher = Matcher().fit(list(profiles.values()))
    exclude = args.lists == "novel"

    def year_task(year: int | None) -> Any:
        return build_task(
            data,
            history_end=f"{base}-01-01",
            query_start=f"{year or TEST_START[:4]}-01-01",
            query_end=None if year is None else f"{year + 1}-01-01",
        )

    steps: list[tuple[float, int, int, int]] = []
    for year in range(base, int(TEST_START[:4])):
        steps += consortium_steps(year_task(year), start_of)
    history = OutcomeHistory(steps)

    rows_of: dict[int, tuple[Any, ...]] = {}

    def rows(year: int) -> tuple[Any, ...]:
        """Year's training rows; a list's outcome features come from the steps before the
        asking organisation's first consortium of the year (as `app.matches.learning` cuts
        at its first outcome), so the newer lists see the older lists' outcomes."""
        if year in rows_of:
            return rows_of[year]
        task = year_task(year)
        labels: dict[int, dict[int, int]] = {}
        first: dict[int, str] = {}
        latest: dict[int, str] = {}
        for q in task.plain:
            labels.setdefault(q.org_id, {}).update(dict.fromkeys(q.positives, 1))
            at = start_of[q.project_id][:10]
            first[q.org_id] = min(first.get(q.org_id, at), at)
            latest[q.org_id] = max(latest.get(q.org_id, at), at)
        orgs = sorted(labels)
        lists = engine_lists(matcher, profiles, orgs, exclude_known=exclude)
        feats = [
            history.features(
                o,
                [m.target_id for m in lists[o]],
                before=dt.datetime.fromisoformat(first[o]).replace(tzinfo=dt.UTC).timestamp(),
            )
            for o in orgs
        ]
        pairs = ([(o, lists[o]) for o in orgs], [labels[o] for o in orgs])
        x, y, g = training_rows(*pairs, feats)
        stamp = np.array([int(latest[orgs[k]].replace("-", "")) for k in g], dtype=np.int64)
        rows_of[year] = (x, y, g, stamp, training_pairs(*pairs))
        return rows_of[year]

    def masked(x: np.ndarray, drop: tuple[str, ...] | None) -> np.ndarray:
        x = x.copy()
        names = OUTCOME_FEATURES if drop is None else drop
        for name in names:
            x[:, FEATURES.index(name)] = 0.0
        return x

    def ranked(reranker: Reranker | None, lists: dict, feats: list, drop: Any) -> dict:
        out = {}
        for k, o in enumerate(sorted(lists)):
            head = lists[o]
            if reranker is None:
                out[o] = [m.target_id for m in head]
                continue
            x = masked(list_features_of(head, feats[k]), drop)
            known = np.array([m.components.get("known_partner", 0.0) > 0 for m in head])
            movable = np.flatnonzero(~known) if reranker.keep_known else np.arange(len(head))
            order = movable[np.argsort(-reranker.scores(x[movable]), kind="stable")]
            ids = [m.target_id for m in head]
            for slot, j in zip(movable, order, strict=True):
                ids[slot] = head[j].target_id
            out[o] = ids
        return out

    def fit(train_years: Sequence[int], drop: Any) -> Any:
        xs, ys, gs, ts, ps = [], [], [], [], []
        for year in train_years:
            x, y, g, stamp, p = rows(year)
            xs.append(masked(x, drop))
            ys.append(y)
            gs.append(g + year * 10**6)
            ts.append(stamp)
            ps.append(p)
        return fit_reranker(
            np.vstack(xs),
            np.concatenate(ys),
            np.concatenate(gs),
            np.concatenate(ts),
            pairs=np.vstack(ps),
            keep_known=exclude,
        )

    def next_year(reranker: Reranker | None, year: int | None, drop: Any) -> dict[str, Any]:
        task = year_task(year)
        before = year_start(year or int(TEST_START[:4]))
        out = {}
        for variant, queries, excl in (("plain", task.plain, False), ("novel", task.novel, True)):
            orgs = sorted({q.org_id for q in queries})
            lists = engine_lists(matcher, profiles, orgs, exclude_known=excl)
            feats = [
                history.features(o, [m.target_id for m in lists[o]], before=before) for o in orgs
            ]
            out[variant] = score(ranked(reranker, lists, feats, drop), queries)
        return out

    validation = base + 2
    lines = [
        f"### Learning from outcomes: one import as of {base}, outcomes played forward",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared; load "
        f"average {os.getloadavg()[0]:.1f} at the end), Python {platform.python_version()}, "
        f"encoder {encoder.name}: `nice python -m benchmarks.learning --fixed-import {base}"
        f"{'' if exclude else ' --lists plain'}` (in-process, {len(profiles)} organisations "
        f"imported with relationships before {base}; {len(steps)} accepted requests "
        f"{base}-{int(TEST_START[:4]) - 1} played in); whole run {{minutes}} min.",
        "",
        f"History: fitted on the {validation - 1} lists (outcome features from the steps "
        f"before {validation - 1}), checked by `fit_reranker` on its newest lists, then "
        f"{validation}'s queries ranked (outcome features from the steps before {validation}).",
        "",
        "| features | refit says | plain nDCG@10 / MRR | novel nDCG@10 / MRR |",
        "|---|---|---|---|",
    ]
    engine_scores = next_year(None, validation, None)
    lines.append(
        f"| engine alone | | {engine_scores['plain'].ndcg:.3f} / {engine_scores['plain'].mrr:.3f}"
        f" | {engine_scores['novel'].ndcg:.3f} / {engine_scores['novel'].mrr:.3f} |"
    )
    for name, drop in FEATURE_SETS.items():
        report = fit(range(base + 1, validation), drop)
        s = next_year(report.reranker if report.adopted else None, validation, drop)
        lines.append(
            f"| {name} | {'adopted' if report.adopted else 'kept'}: {report.reason} | "
            f"{s['plain'].ndcg:.3f} / {s['plain'].mrr:.3f} | "
            f"{s['novel'].ndcg:.3f} / {s['novel'].mrr:.3f} |"
        )
        print(lines[-1], flush=True)
        # the same model taken without the check: what the next year says of it
        x = np.vstack([rows(yr)[0] for yr in range(base + 1, validation)])
        y = np.concatenate([rows(yr)[1] for yr in range(base + 1, validation)])
        g = np.concatenate([rows(yr)[2] + yr * 10**6 for yr in range(base + 1, validation)])
        forced = Reranker(fit_model("linear", masked(x, drop), y, g), keep_known=exclude)
        s = next_year(forced, validation, drop)
        lines.append(
            f"| {name}, adopted without the check | fitted on every {validation - 1} list | "
            f"{s['plain'].ndcg:.3f} / {s['plain'].mrr:.3f} | "
            f"{s['novel'].ndcg:.3f} / {s['novel'].mrr:.3f} |"
        )
        print(lines[-1], flush=True)
    # the service's check once a second year of outcomes is there (held out: the newest lists)
    lines += ["", "The refit on the lists of every history year (as before the test split):", ""]
    for name, drop in FEATURE_SETS.items():
        report = fit(range(base + 1, int(TEST_START[:4])), drop)
        lines.append(f"- {name}: {'adopted' if report.adopted else 'kept'}: {report.reason}")
        print(lines[-1], flush=True)
    if not args.history_only:
        test = year_task(None)
        lines += [
            "",
            f"Test split, scored once (queries from {TEST_START[:4]}, the same import; fitted on "
            f"{base + 1}-{int(TEST_START[:4]) - 1}'s lists, outcome features from every step "
            f"before {TEST_START[:4]}):",
            "",
            "| method | plain nDCG@10 / MRR | novel nDCG@10 / MRR |",
            "|---|---|---|",
        ]
        base_rows = {v: baselines(test, v) for v in ("plain", "novel")}
        for name in base_rows["plain"]:
            p = base_rows["plain"][name]
            n = base_rows["novel"].get(name)
            lines.append(
                f"| {name} | {p.ndcg:.3f} / {p.mrr:.3f} | "
                + (f"{n.ndcg:.3f} / {n.mrr:.3f} |" if n is not None else "|")
            )
        s = next_year(None, None, None)
        lines.append(
            f"| koopmatch, engine alone | {s['plain'].ndcg:.3f} / {s['plain'].mrr:.3f} | "
            f"{s['novel'].ndcg:.3f} / {s['novel'].mrr:.3f} |"
        )
        for name, drop in FEATURE_SETS.items():
            report = fit(range(base + 1, int(TEST_START[:4])), drop)
            s = next_year(report.reranker if report.adopted else None, None, drop)
            lines.append(
                f"| re-ranked, {name} ({'adopted' if report.adopted else 'kept: engine'}) | "
                f"{s['plain'].ndcg:.3f} / {s['plain'].mrr:.3f} | "
                f"{s['novel'].ndcg:.3f} / {s['novel'].mrr:.3f} |"
            )
            print(lines[-1], flush=True)
    text = "\n".join(lines).replace("{minutes}", f"{(time.perf_counter() - started) / 60:.1f}")
    print(text)
    if not args.no_write:
        from benchmarks.api_quality import write_section

        write_section(RESULTS, lines[0], text)
    return 0


def list_features_of(matches: Sequence[Any], outcomes: np.ndarray) -> np.ndarray:
    from matching.rerank import list_features

    return list_features(matches, outcomes)


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
    parser.add_argument(
        "--fixed-import",
        type=int,
        metavar="YEAR",
        help="one import as of YEAR, every later consortium played in as outcomes that never "
        "become relationships; outcome features in the second stage (see the module)",
    )
    args = parser.parse_args(argv)
    if args.fixed_import is not None:
        return fixed_import(args)
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
