"""Hub damping (cross-domain similarity local scaling) measured where it acts and where it
must not hurt, with several strengths in the same run.

- judged searches over the demo data (`benchmarks/data/judged_searches.json`): the demo
  organisations imported with `koopmatch import` into a fresh SQLite database, the profiles
  loaded as the server loads them, the searches parsed as the server parses them
  (place phrases included) and ranked in-process with each strength;
- the labelled benchmark (`benchmarks.labelled`, mixed German and English corpus): nDCG@10 of
  organisation matches, competitors excluded;
- CORDIS ECSEL, history split (`benchmarks.api_quality --split history`): CORDIS profiles
  state no needs, so damping of need-to-offer similarities cannot change it (checked, not
  assumed).

    nice python -m benchmarks.hub_damping --vector-cache /tmp/koopmatch-vectors
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "benchmarks" / "results" / "ranking.md"
STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)


def demo_profiles(workdir: Path) -> tuple[list, dict[int, str], str]:  # type: ignore[type-arg]
    """Candidates (ProfileVecs), external ids and encoder name of the imported demo data."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from app.matches.index import load_profiles

    db = workdir / "demo.db"
    env = dict(os.environ, KOOPMATCH_DATABASE_URL=f"sqlite:///{db}")
    exe = Path(sys.executable).with_name("koopmatch")
    for args in (["migrate"], ["import", str(REPO_ROOT / "seed_data" / "organizations.json")]):
        subprocess.run([str(exe), *args], env=env, check=True, capture_output=True)
    from matching.encoders import load_encoder

    name = load_encoder("default").name
    engine = create_engine(f"sqlite:///{db}")
    with Session(engine) as session:
        profiles, info = load_profiles(session, name)
    engine.dispose()
    cands = [p for p in profiles.values() if info[p.id].visibility != "private"]
    return cands, {i: info[i].external_id or "" for i in info}, name


def judged(cands: list, ext: dict[int, str], strengths: Sequence[float]) -> list[str]:  # type: ignore[type-arg]
    from app.matches.schemas import SearchRequest
    from app.matches.service import parse_search
    from benchmarks.judged_searches import DATA, ndcg
    from matching import Matcher
    from matching.encoders import load_encoder
    from matching.relevance import relevance_floor
    from matching.weights import Weights

    encoder = load_encoder("default")
    data = json.loads(DATA.read_text())
    asked = []
    for s in data["searches"]:
        phrases, filters = parse_search(SearchRequest(text=s["text"], limit=10))
        asked.append((s, phrases, filters, np.asarray(encoder.encode(phrases), np.float32)))
    rows = []
    for beta in strengths:
        matcher = Matcher(replace(Weights(), hub_damping=beta)).fit(cands)
        floor = relevance_floor(encoder.name) or float(matcher.sim_floor_)
        p5, capped, nd = [], [], []
        for s, phrases, filters, vecs in asked:
            found = matcher.search(vecs, phrases, filters=filters, limit=10, relevance_floor=floor)
            ranked = [ext[m.target_id] for m in found]
            relevant = set(s["relevant"])
            gains = {x: 1 for x in s["related"]} | {x: 2 for x in relevant}
            hits = sum(x in relevant for x in ranked[:5])
            p5.append(hits / 5)
            capped.append(hits / min(5, len(relevant)))
            nd.append(ndcg(ranked, gains))
        rows.append(f"| {beta} | {np.mean(p5):.3f} | {np.mean(capped):.3f} | {np.mean(nd):.3f} |")
        print(rows[-1], flush=True)
    return rows


def labelled(strengths: Sequence[float]) -> list[str]:
    from benchmarks.labelled import _Cache, build_profiles, evaluate, generate
    from matching import Matcher
    from matching.encoders import load_encoder
    from matching.weights import Weights

    firms = generate()
    cache = _Cache(load_encoder("default"))
    mixed = build_profiles(firms, {f.id: f.lang for f in firms}, cache)
    rows = []
    for beta in strengths:
        matcher = Matcher(replace(Weights(), hub_damping=beta)).fit(mixed)
        rows.append(f"| {beta} | {evaluate(matcher, mixed, firms):.3f} |")
        print(rows[-1], flush=True)
    return rows


def cordis(strengths: Sequence[float], cache: Path | None) -> list[str]:
    from benchmarks.api_quality import (
        TEST_START,
        VALIDATION_END,
        in_process_rankings,
        profile_vectors,
        records,
        score,
    )
    from benchmarks.cordis import build_task, load
    from matching.encoders import load_encoder
    from matching.weights import Weights

    data = load()
    task = build_task(data, history_end=VALIDATION_END, query_end=TEST_START)
    profiles = profile_vectors(records(data, task, VALIDATION_END), load_encoder("default"), cache)
    rows = []
    for beta in strengths:
        w = replace(Weights(), hub_damping=beta)
        out = []
        for queries, exclude in ((task.plain, False), (task.novel, True)):
            orgs = sorted({q.org_id for q in queries})
            ranks = in_process_rankings(profiles, orgs, exclude_known=exclude, weights=w)
            out.append(score(ranks, queries).ndcg)
        rows.append(f"| {beta} | {out[0]:.3f} | {out[1]:.3f} |")
        print(rows[-1], flush=True)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vector-cache", type=Path, default=None)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="koopmatch-hub-") as tmp:
        cands, ext, name = demo_profiles(Path(tmp))
    judged_rows = judged(cands, ext, STRENGTHS)
    labelled_rows = labelled(STRENGTHS)
    cordis_rows = cordis(STRENGTHS, args.vector_cache)
    lines = [
        "### Hub damping: strengths compared in one run",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, encoder {name}: "
        "`nice python -m benchmarks.hub_damping --vector-cache /tmp/koopmatch-vectors` "
        f"(in-process; whole run {(time.perf_counter() - started) / 60:.1f} min). Strength 0 "
        "is no damping; `hub_neighbours` 10.",
        "",
        "Judged searches over the demo data (76 searches, parsed as the server parses them):",
        "",
        "| strength | precision@5 | capped precision@5 | nDCG@10 |",
        "|---|---|---|---|",
        *judged_rows,
        "",
        "Labelled benchmark, mixed German/English corpus, organisation matches:",
        "",
        "| strength | nDCG@10 |",
        "|---|---|",
        *labelled_rows,
        "",
        "CORDIS ECSEL history split (validation), in-process on the imported profiles:",
        "",
        "| strength | plain nDCG@10 | novel nDCG@10 |",
        "|---|---|---|",
        *cordis_rows,
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        from benchmarks.api_quality import write_section

        write_section(RESULTS, lines[0], text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
