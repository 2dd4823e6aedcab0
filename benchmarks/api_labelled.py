"""The labelled benchmark (planted value networks, German and English) as a user gets it.

Every generated firm of `benchmarks.labelled` (mixed-language corpus) becomes one record of the
public import contract (`OrganizationRecord`: name, description, NACE code, place, size,
cooperation interests, core competences and needs as phrased for that firm). The file is
imported with `koopmatch import` into a fresh SQLite database, a real uvicorn server is started
on loopback, and each firm asks `GET /api/v1/organizations/{id}/matches`:

- with `include_competitors=false`: nDCG@10 against the planted relevance (2: each side covers
  a need of the other, 1: one side does; competitors are never relevant), overall and by the
  language the query firm is written in;
- with `include_competitors=true` (first 20): the share of its true competitors (same role:
  same core in the same NACE division) among them, the precision of `relation: competitor`
  there, and whether every competitor carries coopetition kinds from `COOPETITION_KINDS`.

Baseline in the same run: TF-IDF cosine of the same record texts (name, description and
competence labels; scikit-learn defaults), which cannot tell competitors from partners.

    python -m benchmarks.api_labelled
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from benchmarks.api_quality import Server, write_section
from benchmarks.labelled import (
    INTERESTS,
    Firm,
    firm_name,
    firm_texts,
    generate,
    is_competitor,
    ndcg_at_k,
    relevance,
)
from matching.types import COOPETITION_KINDS

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "benchmarks" / "results" / "labelled-api.md"
TOP = 20


def external_id(firm: Firm) -> str:
    return f"lab-{firm.id}"


def records(firms: Sequence[Firm]) -> list[dict[str, Any]]:
    """One import record per firm, written in its own language (German, English or mixed)."""
    out = []
    for f in firms:
        items, desc = firm_texts(f, f.lang)
        out.append(
            {
                "external_id": external_id(f),
                "name": firm_name(f, f.lang),
                "description": desc,
                "nace_code": f.role.nace,
                "country": f.city[1],
                "city": f.city[0],
                "latitude": f.city[2],
                "longitude": f.city[3],
                "employees": f.employees,
                "cooperation_interests": sorted(i for i in f.interests if i in INTERESTS),
                "competences": [{"kind": kind, "label": label} for kind, _, label in items],
            }
        )
    return out


def texts(recs: Sequence[dict[str, Any]]) -> list[str]:
    return [
        " ".join([r["name"], r["description"], *(c["label"] for c in r["competences"])])
        for r in recs
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load_before = os.getloadavg()
    firms = generate()
    recs = records(firms)
    by_ext = {external_id(f): f for f in firms}
    gains = {f.id: {c.id: g for c in firms if (g := relevance(f, c)) > 0} for f in firms}
    truth = {f.id: {c.id for c in firms if is_competitor(f, c)} for f in firms}

    api: dict[int, dict[str, list[tuple[int, str, list[str]]]]] = {}
    times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="koopmatch-labelled-") as tmp:
        server = Server(Path(tmp))
        try:
            server.start(recs)
            ids = server.ids()
            for f in firms:
                api[f.id] = {}
                for with_comp in (False, True):
                    t0 = time.perf_counter()
                    page = server.get(
                        f"/api/v1/organizations/{ids[external_id(f)]}/matches",
                        limit=TOP,
                        include_competitors=str(with_comp).lower(),
                    )
                    times.append(time.perf_counter() - t0)
                    api[f.id][str(with_comp)] = [
                        (
                            by_ext[m["organization"]["external_id"]].id,
                            m["relation"],
                            list(m.get("cooperation_kinds", [])),
                        )
                        for m in page["items"]
                    ]
        finally:
            server.stop()

    # TF-IDF baseline on the same record texts
    vec = TfidfVectorizer()
    x = vec.fit_transform(texts(recs))
    sims = np.asarray((x @ x.T).todense())
    ids_in_order = [f.id for f in firms]
    tfidf: dict[int, list[int]] = {}
    for k, f in enumerate(firms):
        row = sims[k].copy()
        row[k] = -np.inf
        order = np.lexsort((np.array(ids_in_order), -row))
        tfidf[f.id] = [ids_in_order[i] for i in order[:TOP]]

    def ndcg_rows(rank_of: dict[int, list[int]], lang: str | None) -> tuple[float, int]:
        vals = [
            ndcg_at_k(rank_of[f.id], gains[f.id])
            for f in firms
            if gains[f.id] and (lang is None or f.lang == lang)
        ]
        return float(np.mean(vals)), len(vals)

    engine_plain = {fid: [t for t, _, _ in r["False"]] for fid, r in api.items()}
    engine_comp = {fid: [t for t, _, _ in r["True"]] for fid, r in api.items()}
    with_truth = [f for f in firms if truth[f.id]]
    recall_engine = float(
        np.mean([len(truth[f.id] & set(engine_comp[f.id])) / len(truth[f.id]) for f in with_truth])
    )
    recall_tfidf = float(
        np.mean([len(truth[f.id] & set(tfidf[f.id])) / len(truth[f.id]) for f in with_truth])
    )
    labelled = [(f.id, t, kinds) for f in firms for t, rel, kinds in api[f.id]["True"]
                if rel == "competitor"]  # fmt: skip
    tp = sum(1 for q, t, _ in labelled if t in truth[q])
    precision = tp / len(labelled) if labelled else 0.0
    kinds_ok = all(k and set(k) <= set(COOPETITION_KINDS) for _, _, k in labelled)
    kinds_seen = sorted({k for _, _, ks in labelled for k in ks})
    plain_comp = sum(1 for r in api.values() for _, rel, _ in r["False"] if rel == "competitor")

    lines = [
        "### Labelled benchmark through the import contract and the HTTP API",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared; load "
        f"average {load_before[0]:.1f} at the start), Python {platform.python_version()}: "
        f"`python -m benchmarks.api_labelled` (koopmatch import "
        f"{server.import_seconds:.0f} s, encoding included, default encoder; uvicorn on "
        f"127.0.0.1; {server.retries} requests asked again after a 5xx). {len(firms)} firms, "
        f"{len(with_truth)} with a true competitor; median request "
        f"{1000 * float(np.median(times)):.0f} ms; whole run "
        f"{(time.perf_counter() - started) / 60:.1f} min.",
        "",
        "| method | nDCG@10 (all) | German queries | English queries | mixed queries | "
        f"true competitors in the first {TOP} | competitor-label precision there |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, plain, rec, prec in (
        ("engine through the API", engine_plain, recall_engine, f"{precision:.3f} "
         f"({len(labelled)} labels)"),
        ("TF-IDF profile cosine (same run)", tfidf, recall_tfidf, "no label"),
    ):  # fmt: skip
        cells = []
        for lang in (None, "de", "en", "mixed"):
            v, n = ndcg_rows(plain, lang)
            cells.append(f"{v:.3f} ({n})")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {rec:.3f} | {prec} |")
    lines += [
        "",
        "nDCG@10 with `include_competitors=false` (the engine) and over the whole ranking "
        "(TF-IDF, which cannot leave competitors out; they count as not relevant); in "
        "brackets the number of queries. Recall and precision with `include_competitors=true`, "
        f"first {TOP}. Every competitor carries coopetition kinds from COOPETITION_KINDS: "
        f"{'yes' if kinds_ok else 'NO'} (seen: {', '.join(kinds_seen) or 'none'}); "
        f"competitors returned with `include_competitors=false`: {plain_comp}.",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(RESULTS, "### Labelled benchmark through the import contract", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
