"""Plain partner lists on the CORDIS history: what the order of the known partners decides.

In the plain task (`exclude_known=false`) the engine's first 10 are known partners in almost
every list, so plain nDCG@10 depends on (a) the order among the known partners and (b) whether
a strong new candidate should come before a weak known partner. This diagnostic answers both
on two history splits, in-process on the profiles the import would store
(`benchmarks.api_quality.records` / `profile_vectors`):

- h18: profiles before 2018-01-01, queries from the 2018 consortia;
- h17: profiles before 2017-01-01, queries from the 2017 consortia.

For each split it reports how many positives are known partners and how many are new, the
nDCG@10 of lists whose first places are the known partners in a given order (the best order,
the ceiling; by joint_projects then last_year; by the partner's past projects; by the engine's
score), the share of positives at each rank among the known and among the new candidates,
rules that add a term for known partners only to the engine's score (a term that touches only
known partners cannot change the novel task, which excludes them), each with a bootstrap
interval over the asking organisations, and a pairwise logistic order of the known partners
learned on one split and applied to the other. Nothing here changes the product.

    python -m benchmarks.plain_order --encoder hashing
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.api_quality import last_years, profile_vectors, records
from benchmarks.cordis import Query, build_task, load, ndcg_at_k, reciprocal_rank

SPLITS: dict[str, tuple[str, str]] = {  # name -> (history end = query start, query end)
    "h18": ("2018-01-01", "2019-01-01"),
    "h17": ("2017-01-01", "2018-01-01"),
}
LIMIT = 100
DORMANT_CAP = 5  # years: a partner whose latest tie is this old or older counts as dormant
RANKS = (1, 2, 3, 5, 10, 15, 20)
LEARNED_TOP = 40  # the known partners the learned order re-orders (the engine's first 40)


@dataclass
class QueryRows:
    """One plain query with every other organisation of the split as a candidate."""

    query: Query
    cands: np.ndarray  # (n,) int64 candidate ids
    feats: np.ndarray  # (n, n_components) the engine's components (`Matcher.pair_features`)
    score: np.ndarray  # (n,) the engine's score (no needs stated: graph at full weight)
    known: np.ndarray  # (n,) bool: a known partner of the asker
    joint: np.ndarray  # (n,) joint_projects with the asker (0: not known)
    last: np.ndarray  # (n,) last_year with the asker (0: not known)
    age: np.ndarray  # (n,) years from last_year to the newest in the graph, capped (0: not known)
    past_projects: np.ndarray  # (n,) the candidate's history projects (popularity)
    dormant: np.ndarray  # (n,) years from the candidate's latest tie to the newest, capped
    positive: np.ndarray  # (n,) bool


def split_rows(history_end: str, query_end: str, encoder: object) -> tuple[list[QueryRows], float]:
    """The plain queries of one split, and the nDCG@10 of the engine's own `match` lists
    (a check that `score` orders as `match` does)."""
    from matching import Filters, Matcher

    data = load()
    task = build_task(data, history_end=history_end, query_end=query_end)
    recs = records(data, task, history_end)
    profiles = profile_vectors(recs, encoder)
    matcher = Matcher().fit(list(profiles.values()))
    weights = matcher.weights_.vector()
    last = last_years(data, history_end)
    newest = max(y for ties in last.values() for y in ties.values())
    latest = {o: max(t.values()) for o, t in last.items() if t}
    lists: dict[int, list[int]] = {}
    out = []
    for q in task.plain:
        org = q.org_id
        if org not in lists:
            found = matcher.match(profiles[org], filters=Filters(exclude_known=False), limit=LIMIT)
            lists[org] = [m.target_id for m in found]
        cands = np.array([int(c) for c in task.org_ids if c != org], dtype=np.int64)
        feats = matcher.pair_features(profiles[org], cands.tolist())
        mine, years = task.copartners[org], last.get(org, {})
        ids = cands.tolist()
        out.append(
            QueryRows(
                query=q,
                cands=cands,
                feats=feats,
                score=feats @ weights,
                known=np.array([c in mine for c in ids]),
                joint=np.array([mine.get(c, 0) for c in ids], dtype=np.float64),
                last=np.array([years.get(c, 0) for c in ids], dtype=np.float64),
                age=np.array(
                    [min(newest - years[c], DORMANT_CAP) if c in years else 0 for c in ids],
                    dtype=np.float64,
                ),
                past_projects=np.array([task.n_projects[c] for c in ids], dtype=np.float64),
                dormant=np.array(
                    [min(newest - latest.get(c, newest - DORMANT_CAP), DORMANT_CAP) for c in ids],
                    dtype=np.float64,
                ),
                positive=np.array([c in q.positives for c in ids]),
            )
        )
    engine = float(np.mean([ndcg_at_k(lists[q.org_id], q.positives) for q in task.plain]))
    return out, engine


# ----------------------------------------------------------------------------------- orders


def ranked(r: QueryRows, key: np.ndarray) -> list[int]:
    """Candidate ids by `key` descending (ties: the engine's score, then the id)."""
    order = np.lexsort((r.cands, -r.score, -key))
    return r.cands[order][:LIMIT].tolist()


def known_first(r: QueryRows, key: np.ndarray) -> list[int]:
    """Known partners first in the order of `key`, then the others by the engine's score."""
    top = float(np.max(np.abs(key), initial=0.0)) + 1.0
    return ranked(r, np.where(r.known, 2 * top + key, -top))


def known_in_first(r: QueryRows, k: int = 10) -> int:
    """How many of the engine's first `k` are known partners."""
    return int(r.known[np.isin(r.cands, ranked(r, r.score)[:k])].sum())


def new_at(r: QueryRows, place: int, count: int = 1) -> list[int]:
    """The engine's list with its best `count` new candidates moved to `place` (from 1), before
    the known partners that stood there and after."""
    engine = ranked(r, r.score)
    known = set(r.cands[r.known].tolist())
    new = [c for c in engine if c not in known][:count]
    rest = [c for c in engine if c not in new]
    return rest[: place - 1] + new + rest[place - 1 :]


def per_query(rows: Sequence[QueryRows], order: Callable[[QueryRows], list[int]]) -> np.ndarray:
    """(len(rows),) nDCG@10 of `order`'s list for each query."""
    return np.array([ndcg_at_k(order(r), r.query.positives) for r in rows])


def mrr(rows: Sequence[QueryRows], order: Callable[[QueryRows], list[int]]) -> float:
    return float(np.mean([reciprocal_rank(order(r), r.query.positives) for r in rows]))


def hit_rates(rows: Sequence[QueryRows], known: bool, ranks: Sequence[int] = RANKS) -> list[float]:
    """Share of positives at each rank (from 1) among the known (or the new) candidates in
    the engine's order; nan where no list reaches the rank."""
    hits = np.zeros(max(ranks))
    seen = np.zeros(max(ranks))
    for r in rows:
        idx = np.flatnonzero(r.known == known)
        idx = idx[np.lexsort((r.cands[idx], -r.score[idx]))][: max(ranks)]
        hits[: len(idx)] += r.positive[idx]
        seen[: len(idx)] += 1
    return [float(hits[k - 1] / seen[k - 1]) if seen[k - 1] else float("nan") for k in ranks]


def bootstrap(
    diff: np.ndarray, groups: np.ndarray, n: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """95% interval of the mean of `diff`, resampling whole groups (one asker's queries share
    one list)."""
    rng = np.random.default_rng(seed)
    keys, inverse = np.unique(groups, return_inverse=True)
    sums = np.bincount(inverse, weights=diff, minlength=len(keys))
    counts = np.bincount(inverse, minlength=len(keys))
    pick = rng.integers(0, len(keys), size=(n, len(keys)))
    means = sums[pick].sum(axis=1) / counts[pick].sum(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


# the known-only terms tried: each is added, times a weight, to the score of known partners
TERMS: dict[str, Callable[[QueryRows], np.ndarray]] = {
    "log joint_projects over the asker's largest": lambda r: (
        np.log1p(r.joint) / np.log1p(max(float(r.joint.max()), 1.0))
    ),
    "tie renewed recently: 1 - years since last_year / 5": lambda r: 1.0 - r.age / DORMANT_CAP,
    "partner still active: 1 - years since its latest tie / 5": lambda r: (
        1.0 - r.dormant / DORMANT_CAP
    ),
    "partner's activity component": lambda r: r.feats[:, _col("activity")],
}
TERM_WEIGHTS = (-0.2, 0.2, 0.5, 1.0)


def _col(name: str) -> int:
    from matching.weights import COMPONENTS

    return COMPONENTS.index(name)


def with_term(r: QueryRows, term: np.ndarray, weight: float) -> list[int]:
    return ranked(r, r.score + weight * np.where(r.known, term, 0.0))


def pair_features(r: QueryRows) -> np.ndarray:
    """(n, 8) features of the learned known-partner order (any installation has them)."""
    f = r.feats
    prox = f[:, _col("proximity")]
    return np.c_[
        prox,
        np.log(prox + 1e-4),
        f[:, _col("activity")],
        f[:, _col("network")],
        f[:, _col("profile_similarity")],
        np.log1p(r.joint),
        r.age,
        r.dormant,
    ]


def _top_known(r: QueryRows) -> np.ndarray:
    idx = np.flatnonzero(r.known)
    return idx[np.lexsort((r.cands[idx], -r.score[idx]))][:LEARNED_TOP]


def learned_order(
    train: Sequence[QueryRows], c: float, seed: int = 0
) -> Callable[[QueryRows], list[int]]:
    """A pairwise logistic regression (positive minus negative known partner, 8 negatives per
    positive among the engine's first `LEARNED_TOP` known partners) fitted on `train`; the
    order it gives re-orders those known partners, everything else keeps the engine's order."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for r in train:
        idx = _top_known(r)
        x, y = pair_features(r)[idx], r.positive[idx]
        pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
        for i in pos:
            for j in rng.choice(neg, min(len(neg), 8), replace=False) if len(neg) else []:
                sign = 1 if rng.random() < 0.5 else -1
                xs.append(sign * (x[i] - x[j]))
                ys.append(sign > 0)
    x_all = np.array(xs)
    scale = x_all.std(axis=0) + 1e-9
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=3000)
    model.fit(x_all / scale, np.array(ys))
    coef = model.coef_[0] / scale

    def order(r: QueryRows) -> list[int]:
        key = r.score.copy()
        idx = _top_known(r)
        learned = pair_features(r)[idx] @ coef
        # above every other candidate whatever the learned values, as known partners stand
        key[idx] = float(np.max(np.abs(r.score))) + 1.0 + learned - learned.min(initial=0.0)
        return ranked(r, key)

    return order


# -------------------------------------------------------------------------------------- run


def report(rows: dict[str, list[QueryRows]], engine: dict[str, float]) -> str:
    names = list(rows)
    out = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]

    def line(label: str, cells: Sequence[str]) -> None:
        out.append(f"| {label} | " + " | ".join(cells) + " |")

    line("plain queries", [str(len(rows[s])) for s in names])
    line(
        "positives: known partners / new",
        [f"{sum(int(r.positive[r.known].sum()) for r in rows[s])} / "
         f"{sum(int(r.positive[~r.known].sum()) for r in rows[s])}" for s in names],
    )  # fmt: skip
    line("known partners per query (mean)", [f"{np.mean([r.known.sum() for r in rows[s]]):.1f}"
                                             for s in names])  # fmt: skip
    line("known partners in the engine's first 10 (mean)",
         [f"{np.mean([known_in_first(r) for r in rows[s]]):.2f}" for s in names])  # fmt: skip
    line("the engine's `match` lists, nDCG@10", [f"{engine[s]:.3f}" for s in names])
    orders: dict[str, Callable[[QueryRows], list[int]]] = {
        "the engine's score (the same lists, rescored)": lambda r: ranked(r, r.score),
        "known first, best order (the ceiling)": lambda r: known_first(r, r.positive * 1.0),
        "known first by (joint_projects, last_year)": lambda r: known_first(
            r, r.joint * 1e4 + r.last
        ),
        "known first by (last_year, joint_projects)": lambda r: known_first(
            r, r.last * 1e4 + r.joint
        ),
        "known first by the partner's past projects": lambda r: known_first(r, r.past_projects),
        "known first by the engine's score": lambda r: known_first(r, r.score),
        "the best new candidate moved to place 10": lambda r: new_at(r, 10),
        "the best new candidate moved to place 6": lambda r: new_at(r, 6),
        "the best two new candidates moved to places 9 and 10": lambda r: new_at(r, 9, 2),
    }
    for label, order in orders.items():
        line(f"{label}: nDCG@10 / MRR",
             [f"{per_query(rows[s], order).mean():.3f} / {mrr(rows[s], order):.3f}"
              for s in names])  # fmt: skip
    for known in (True, False):
        what = "known partners" if known else "new candidates"
        line(f"share of positives at rank {', '.join(map(str, RANKS))} among the {what}",
             [" ".join(f"{h:.2f}" for h in hit_rates(rows[s], known)) for s in names])  # fmt: skip
    base = {s: per_query(rows[s], lambda r: ranked(r, r.score)) for s in names}
    groups = {s: np.array([r.query.org_id for r in rows[s]]) for s in names}
    for term_name, term in TERMS.items():
        for weight in TERM_WEIGHTS:
            cells = []
            for s in names:
                d = per_query(rows[s], lambda r, t=term, w=weight: with_term(r, t(r), w)) - base[s]
                lo, hi = bootstrap(d, groups[s])
                cells.append(
                    f"{base[s].mean() + d.mean():.3f} ({d.mean():+.4f}, {lo:+.4f}..{hi:+.4f})"
                )
            line(f"engine + {weight:g} x {term_name} (known only)", cells)
    for c in (0.001, 0.01) if len(names) > 1 else ():
        cells = []
        for s in names:
            other = next(t for t in names if t != s)
            d = per_query(rows[s], learned_order(rows[other], c)) - base[s]
            lo, hi = bootstrap(d, groups[s])
            cells.append(f"{base[s].mean() + d.mean():.3f} ({d.mean():+.4f}, {lo:+.4f}..{hi:+.4f})")
        line(f"pairwise logistic order of the first {LEARNED_TOP} known, C {c:g}, "
             "fitted on the other split", cells)  # fmt: skip
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    from matching.encoders import load_encoder

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", default="hashing")
    parser.add_argument("--splits", nargs="+", default=list(SPLITS), choices=list(SPLITS))
    parser.add_argument(
        "--tiny", action="store_true", help="the first 20 queries of each split (a smoke run)"
    )
    parser.add_argument("--out", type=Path, default=None, help="write the table here too")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    encoder = load_encoder(args.encoder)
    rows: dict[str, list[QueryRows]] = {}
    engine: dict[str, float] = {}
    for name in args.splits:
        rows[name], engine[name] = split_rows(*SPLITS[name], encoder)
        if args.tiny:
            rows[name] = rows[name][:20]
        print(name, len(rows[name]), f"{(time.perf_counter() - started) / 60:.1f} min", flush=True)
    table = report(rows, engine)
    text = (
        f"`nice -n 10 python -m benchmarks.plain_order --encoder {args.encoder}`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
        f"{load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, run "
        f"{(time.perf_counter() - started) / 60:.1f} min. Cells with a term: nDCG@10 (the "
        f"difference to the engine's score, its 95% bootstrap interval over the askers).\n\n"
        + table
    )
    print(text, flush=True)
    if args.out is not None:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
