"""Can an installation's own relationship graph teach the second stage? A check on CORDIS history.

Link prediction as training data: hide part of the stated partner relationships, rank with the
engine on what is left (as it would answer, known partners excluded), and fit the pairwise
re-ranker of `matching.rerank` on the hidden partners as positives, with features the import
contract carries: the engine's components, score and rank, and graph features of the pair on
the stated graph (`GRAPH_FEATURES`). The fitted model then re-orders the engine's lists of the
history split (`benchmarks.api_quality --split history`: profiles before 2018, 2018 queries;
known partners keep their places, as in `Reranker.rerank`). Two ways to hide:

- `random`: 30% of the organisations with at least 3 partners, 30% of each one's
  relationships, removed from both sides (so the other direction does not leak them);
- `newest`: every relationship whose `last_year` is the newest year in the graph; the positives
  are those first made that year (`joint_projects` 1): new partners, as the novel task asks.

Also measured on the same lists: a rank-based fusion (reciprocal rank) of the engine's order
with one graph prior (the candidate's degree, tie strength, recency, two-step paths, same
country). Nothing here changes the product; it is the validation a refit source "from
relationships" would need first.

    python -m benchmarks.linkpred --encoder hashing --vector-cache /tmp/DIR
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import rankdata

from benchmarks.api_quality import (
    RESULTS,
    VALIDATION_END,
    profile_vectors,
    records,
    score,
    write_section,
)
from benchmarks.cordis import TEST_START, Scores, build_task, load

GRAPH_FEATURES: tuple[str, ...] = (
    "log_degree",  # log1p(distinct partners of the candidate)
    "log_strength",  # log1p(summed joint_projects of the candidate's ties; 1 when not stated)
    "recency",  # exp(-(newest year - candidate's latest last_year) / 2)
    "common",  # log1p(common partners)
    "adamic_adar",  # sum over common partners z of 1 / log(degree z)
    "resource_allocation",  # sum over common partners z of 1 / degree z
    "jaccard",  # common / union of the two partner sets
    "same_country",
    "two_step",  # log1p(paths of length 2 from the asker to the candidate)
)


class Graph:
    """The symmetric stated-relationship graph of a set of `ProfileVec`s."""

    def __init__(self, profiles: Mapping[int, Any]) -> None:
        self.partners: dict[int, set[int]] = {i: set() for i in profiles}
        for p in profiles.values():
            for q in p.known_partner_ids:
                if q != p.id:
                    self.partners.setdefault(p.id, set()).add(q)
                    self.partners.setdefault(q, set()).add(p.id)
        self.country = {i: p.country for i, p in profiles.items()}
        self.strength: dict[int, float] = {}
        self.last: dict[int, int] = {}
        for p in profiles.values():
            for q in self.partners.get(p.id, ()):
                joint, year = p.partner_ties.get(q, (None, None))
                self.strength[p.id] = self.strength.get(p.id, 0.0) + float(joint or 1)
                if year is not None:
                    self.last[p.id] = max(self.last.get(p.id, year), year)
        self.newest = max(self.last.values(), default=None)

    def features(self, asking: int, candidates: Sequence[int]) -> np.ndarray:
        """(len(candidates), len(GRAPH_FEATURES))."""
        mine = self.partners.get(asking, set())
        two: dict[int, int] = {}
        for z in mine:
            for w in self.partners.get(z, ()):
                two[w] = two.get(w, 0) + 1
        out = np.zeros((len(candidates), len(GRAPH_FEATURES)))
        for k, c in enumerate(candidates):
            theirs = self.partners.get(c, set())
            common = mine & theirs
            degree = [len(self.partners[z]) for z in common]
            last = self.last.get(c)
            out[k] = (
                math.log1p(len(theirs)),
                math.log1p(self.strength.get(c, 0.0)),
                0.0
                if last is None or self.newest is None
                else math.exp(-(self.newest - last) / 2.0),
                math.log1p(len(common)),
                sum(1.0 / math.log(d) for d in degree if d > 1),
                sum(1.0 / d for d in degree),
                len(common) / max(1, len(mine | theirs)),
                1.0
                if self.country.get(asking) and self.country.get(asking) == self.country.get(c)
                else 0.0,
                math.log1p(two.get(c, 0)),
            )
        return out


def hide(
    profiles: Mapping[int, Any],
    mode: str = "random",
    *,
    share_orgs: float = 0.3,
    share_edges: float = 0.3,
    min_partners: int = 3,
    seed: int = 0,
) -> tuple[dict[int, Any], dict[int, set[int]]]:
    """(profiles with some relationships removed from both sides, asking id -> its hidden
    partners that count as positives). See the module for the two modes."""
    removed: set[frozenset[int]] = set()
    hidden: dict[int, set[int]] = {}
    if mode == "random":
        rng = np.random.default_rng(seed)
        eligible = sorted(
            i for i, p in profiles.items() if len(p.known_partner_ids) >= min_partners
        )
        asking = rng.choice(eligible, size=int(share_orgs * len(eligible)), replace=False)
        for a in sorted(int(x) for x in asking):
            own = sorted(profiles[a].known_partner_ids)
            k = max(1, round(share_edges * len(own)))
            hidden[a] = {int(b) for b in rng.choice(own, size=k, replace=False)}
            removed |= {frozenset((a, b)) for b in hidden[a]}
    elif mode == "newest":
        years = [y for p in profiles.values() for _, y in p.partner_ties.values() if y is not None]
        newest = max(years, default=None)
        for p in profiles.values():
            for q, (joint, year) in p.partner_ties.items():
                if newest is not None and year == newest:
                    removed.add(frozenset((p.id, q)))
                    if joint == 1:
                        hidden.setdefault(p.id, set()).add(q)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    out = {}
    for i, p in profiles.items():
        keep = frozenset(q for q in p.known_partner_ids if frozenset((i, q)) not in removed)
        ties = {q: t for q, t in p.partner_ties.items() if q in keep}
        out[i] = replace(p, known_partner_ids=keep, partner_ties=ties)
    return out, hidden


Lists = dict[int, tuple[list[Any], np.ndarray]]


def ranked_lists(
    profiles: Mapping[int, Any], asking: Sequence[int], *, exclude_known: bool, limit: int = 100
) -> Lists:
    """asking id -> (the engine's list, its features: the engine's then the graph's)."""
    from matching import Filters, Matcher
    from matching.rerank import ENGINE_FEATURES, list_features

    matcher = Matcher().fit(list(profiles.values()))
    graph = Graph(profiles)
    out: Lists = {}
    for a in asking:
        found = matcher.match(
            profiles[a], filters=Filters(exclude_known=exclude_known), limit=limit
        )
        x = list_features(found)[:, : len(ENGINE_FEATURES)]
        out[a] = (found, np.hstack([x, graph.features(a, [m.target_id for m in found])]))
    return out


def reordered(lists: Lists, order: Callable[[np.ndarray], np.ndarray]) -> dict[int, list[int]]:
    """The lists with their movable entries (not known partners) sorted by `order(rows)`."""
    out = {}
    for a, (found, x) in lists.items():
        known = np.array([m.components.get("known_partner", 0.0) > 0 for m in found], dtype=bool)
        movable = np.flatnonzero(~known)
        ids = [m.target_id for m in found]
        if len(movable) >= 2:
            s = order(x[movable])
            for slot, k in zip(movable, movable[np.argsort(-s, kind="stable")], strict=True):
                ids[slot] = found[k].target_id
        out[a] = ids
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from matching.encoders import load_encoder
    from matching.rerank import ENGINE_FEATURES, fit_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", default="hashing")
    parser.add_argument("--vector-cache", type=Path, default=None)
    parser.add_argument("--modes", nargs="+", default=["random", "newest"])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--tiny", action="store_true", help="10 asking organisations per list set (a smoke run)"
    )
    args = parser.parse_args(argv)
    cap = 10 if args.tiny else None
    started = time.perf_counter()
    data = load()
    task = build_task(data, history_end=VALIDATION_END, query_end=TEST_START)
    recs = records(data, task, VALIDATION_END)
    profiles = profile_vectors(recs, load_encoder(args.encoder), args.vector_cache)
    names = (*ENGINE_FEATURES, *GRAPH_FEATURES)
    variants = {"plain": (task.plain, False), "novel": (task.novel, True)}
    if cap is not None:
        variants = {
            v: ([q for q in qs if q.org_id in sorted({q.org_id for q in qs})[:cap]], excl)
            for v, (qs, excl) in variants.items()
        }
    lists = {
        v: ranked_lists(profiles, sorted({q.org_id for q in qs}), exclude_known=excl)
        for v, (qs, excl) in variants.items()
    }

    def scored(order: Callable[[np.ndarray], np.ndarray]) -> dict[str, Scores]:
        return {v: score(reordered(lists[v], order), variants[v][0]) for v in variants}

    rows: list[tuple[str, dict[str, Scores]]] = [
        ("the engine's order", scored(lambda x: -np.arange(len(x), dtype=np.float64)))
    ]
    sets = {
        "engine features": [i for i, n in enumerate(names) if n in ENGINE_FEATURES],
        "graph features + engine rank": [
            i for i, n in enumerate(names) if n in GRAPH_FEATURES or n == "engine_rank"
        ],
        "all": list(range(len(names))),
    }
    trained = []
    for mode in args.modes:
        reduced, hidden = hide(profiles, mode)
        if cap is not None:
            hidden = {a: hidden[a] for a in sorted(hidden)[:cap]}
        xs, ys, gs = [], [], []
        for a, (found, x) in ranked_lists(reduced, sorted(hidden), exclude_known=True).items():
            y = np.array([m.target_id in hidden[a] for m in found], dtype=int)
            if y.any():
                xs.append(x)
                ys.append(y)
                gs.append(np.full(len(y), a))
        x, y, g = np.vstack(xs), np.concatenate(ys), np.concatenate(gs)
        trained.append(f"{mode}: {len(xs)} lists, {int(y.sum())} hidden partners among {len(y)}")
        for name, cols in sets.items():
            for kind in ("linear", "trees"):
                model = fit_model(kind, x[:, cols], y, g)
                rows.append(
                    (
                        f"re-ranker from hidden relationships ({mode}), {name}, {kind}",
                        scored(lambda rows, m=model, c=cols: m.decision_function(rows[:, c])),
                    )
                )
                print(rows[-1], flush=True)
    col = {n: i for i, n in enumerate(names)}
    for prior in ("log_degree", "log_strength", "recency", "two_step", "same_country"):
        for weight in (0.25, 1.0):

            def fused(rows: np.ndarray, c: int = col[prior], w: float = weight) -> np.ndarray:
                engine = 1.0 / (60 + np.arange(1, len(rows) + 1))
                return engine + w / (60 + rankdata(-rows[:, c], method="average"))

            rows.append((f"reciprocal-rank fusion with {prior}, weight {weight}", scored(fused)))
    heading = "### Link prediction on the stated relationships as training data (history split)"
    lines = [
        heading,
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on 2 cores "
        f"{platform.processor() or platform.machine()} (shared; load average "
        f"{os.getloadavg()[0]:.1f} when written): `nice -n 10 python -m benchmarks.linkpred "
        f"--encoder {args.encoder}{' --tiny' if args.tiny else ''}`, in-process on the profiles the import would store "
        f"({len(profiles)} organisations, profiles before {VALIDATION_END}, queries from the "
        f"consortia starting from then to {TEST_START}); training: {'; '.join(trained)}; run "
        f"{(time.perf_counter() - started) / 60:.1f} min. nDCG@10 / MRR.",
        "",
        f"| order | plain ({len(variants['plain'][0])}) | novel ({len(variants['novel'][0])}) |",
        "|---|---|---|",
    ]
    for name, s in rows:
        lines.append(
            f"| {name} | {s['plain'].ndcg:.3f} / {s['plain'].mrr:.3f} | "
            f"{s['novel'].ndcg:.3f} / {s['novel'].mrr:.3f} |"
        )
    text = "\n".join(lines)
    print(text, flush=True)
    if not args.no_write:
        write_section(RESULTS, heading, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
