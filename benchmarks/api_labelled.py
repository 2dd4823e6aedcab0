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


Answers = dict[int, dict[bool, list[tuple[int, str, list[str]]]]]


def ask(recs: Sequence[dict[str, Any]], firms: Sequence[Firm], encoder: str) -> tuple[
    Answers, list[float], Server
]:  # fmt: skip
    """Import `recs` with `encoder` into a fresh database, serve it, and ask every firm's
    matches with and without competitors: (answers, seconds per request, the server)."""
    by_ext = {external_id(f): f for f in firms}
    answers: Answers = {}
    times: list[float] = []
    old = os.environ.get("KOOPMATCH_EMBEDDING_MODEL")
    os.environ["KOOPMATCH_EMBEDDING_MODEL"] = encoder
    try:
        with tempfile.TemporaryDirectory(prefix="koopmatch-labelled-") as tmp:
            server = Server(Path(tmp))
            try:
                server.start(recs)
                ids = server.ids()
                for f in firms:
                    answers[f.id] = {}
                    for with_comp in (False, True):
                        t0 = time.perf_counter()
                        page = server.get(
                            f"/api/v1/organizations/{ids[external_id(f)]}/matches",
                            limit=TOP,
                            include_competitors=str(with_comp).lower(),
                        )
                        times.append(time.perf_counter() - t0)
                        answers[f.id][with_comp] = [
                            (
                                by_ext[m["organization"]["external_id"]].id,
                                m["relation"],
                                list(m.get("cooperation_kinds", [])),
                            )
                            for m in page["items"]
                        ]
            finally:
                server.stop()
    finally:
        if old is None:
            os.environ.pop("KOOPMATCH_EMBEDDING_MODEL", None)
        else:
            os.environ["KOOPMATCH_EMBEDDING_MODEL"] = old
    return answers, times, server


def tfidf_rankings(recs: Sequence[dict[str, Any]], firms: Sequence[Firm]) -> dict[int, list[int]]:
    """The first TOP firms by TF-IDF cosine of the record texts (scikit-learn defaults)."""
    x = TfidfVectorizer().fit_transform(texts(recs))
    sims = np.asarray((x @ x.T).todense())
    ids_in_order = np.array([f.id for f in firms])
    out: dict[int, list[int]] = {}
    for k, f in enumerate(firms):
        row = sims[k].copy()
        row[k] = -np.inf
        order = np.lexsort((ids_in_order, -row))
        out[f.id] = [int(ids_in_order[i]) for i in order[:TOP]]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--encoder",
        action="append",
        help="encoder spec the server imports and ranks with (repeatable; default: default)",
    )
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    args = parser.parse_args(argv)
    encoders: list[str] = args.encoder or ["default"]
    started = time.perf_counter()
    load_before = os.getloadavg()
    firms = generate()
    recs = records(firms)
    gains = {f.id: {c.id: g for c in firms if (g := relevance(f, c)) > 0} for f in firms}
    truth = {f.id: {c.id for c in firms if is_competitor(f, c)} for f in firms}
    with_truth = [f for f in firms if truth[f.id]]

    def ndcg_cells(rank_of: dict[int, list[int]]) -> list[str]:
        cells = []
        for lang in (None, "de", "en", "mixed"):
            vals = [
                ndcg_at_k(rank_of[f.id], gains[f.id])
                for f in firms
                if gains[f.id] and (lang is None or f.lang == lang)
            ]
            cells.append(f"{float(np.mean(vals)):.3f} ({len(vals)})")
        return cells

    def recall(rank_of: dict[int, list[int]]) -> float:
        return float(
            np.mean([len(truth[f.id] & set(rank_of[f.id])) / len(truth[f.id]) for f in with_truth])
        )

    rows: list[str] = []
    notes: list[str] = []
    for spec in encoders:
        api, times, server = ask(recs, firms, spec)
        plain = {fid: [t for t, _, _ in r[False]] for fid, r in api.items()}
        comp = {fid: [t for t, _, _ in r[True]] for fid, r in api.items()}
        labelled = [(fid, t, kinds) for fid, r in api.items() for t, rel, kinds in r[True]
                    if rel == "competitor"]  # fmt: skip
        tp = sum(1 for q, t, _ in labelled if t in truth[q])
        precision = tp / len(labelled) if labelled else 0.0
        kinds_ok = all(k and set(k) <= set(COOPETITION_KINDS) for _, _, k in labelled)
        kinds_seen = sorted({k for _, _, ks in labelled for k in ks})
        plain_comp = sum(1 for r in api.values() for _, rel, _ in r[False] if rel == "competitor")
        rows.append(
            f"| engine through the API, encoder {spec} | "
            + " | ".join(ndcg_cells(plain))
            + f" | {recall(comp):.3f} | {precision:.3f} ({len(labelled)} labels) |"
        )
        notes.append(
            f"- encoder {spec}: import {server.import_seconds:.0f} s (encoding included), "
            f"median request {1000 * float(np.median(times)):.0f} ms, {server.retries} "
            "requests asked again after a 5xx; every competitor carries coopetition kinds "
            f"from COOPETITION_KINDS: {'yes' if kinds_ok else 'NO'} (seen: "
            f"{', '.join(kinds_seen) or 'none'}); competitors returned with "
            f"`include_competitors=false`: {plain_comp}."
        )
    tfidf = tfidf_rankings(recs, firms)
    rows.append(
        "| TF-IDF profile cosine (same run) | "
        + " | ".join(ndcg_cells(tfidf))
        + f" | {recall(tfidf):.3f} | no label |"
    )
    command = "python -m benchmarks.api_labelled" + "".join(
        f" --encoder {e}" for e in encoders if args.encoder
    )
    lines = [
        "### Labelled benchmark through the import contract and the HTTP API",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared; load "
        f"average {load_before[0]:.1f} at the start), Python {platform.python_version()}: "
        f"`{command}` (koopmatch import into a fresh SQLite database, uvicorn on 127.0.0.1, "
        f"`GET /api/v1/organizations/{{id}}/matches?limit={TOP}`). {len(firms)} firms, "
        f"{len(with_truth)} with a true competitor; whole run "
        f"{(time.perf_counter() - started) / 60:.1f} min.",
        "",
        "| method | nDCG@10 (all) | German queries | English queries | mixed queries | "
        f"true competitors in the first {TOP} | competitor-label precision there |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "nDCG@10 with `include_competitors=false` (the engine) and over the whole ranking "
        "(TF-IDF, which cannot leave competitors out; they count as not relevant); in "
        "brackets the number of queries (a query firm's language: German, English, or labels "
        "in both). Recall and precision with `include_competitors=true`, "
        f"first {TOP}.",
        "",
        *notes,
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(RESULTS, "### Labelled benchmark through the import contract", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
