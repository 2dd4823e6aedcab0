"""Judged searches over the demo data, asked through the HTTP API of a real server.

`benchmarks/data/judged_searches.json` holds German and English searches with the firms judged
relevant and related by reading the demo profiles. The judgments were made on a pool, as TREC
does: for every search the first `depth` results of several systems (koopmatch through the
API, a TF-IDF baseline over the profiles' text, a second encoder's cosine) were merged, and
every firm in that pool was read and judged against the search text alone. The pool that was
judged is recorded per search (`judged`), and the systems and depth in `pool`; `--pool` prints
the pool of the current code so that new results can be judged and the set extended.

The demo organisations are imported with `koopmatch import` into a fresh SQLite database,
uvicorn serves it on loopback, and every search is asked as `POST /api/v1/matches/search`
(place phrases read by the server). The baselines run in-process in the same run on the same
need text and place filters (read by `matching.text.parse_need`).

Reported per system: precision@5 (relevant among the first 5, divided by 5) over all searches
and over the searches with at least 5 relevant firms, capped precision@5 (divided by min(5,
number of relevant firms)), nDCG@10 (gain 2 relevant, 1 related); for koopmatch also the
honesty figures: whether a search that nothing relevant answers says so (its first result
weak), and how many relevant firms are flagged weak.

The judged set also served to choose weights. The searches are therefore split by position in
the file: choices are made on the tuning half (even positions 0, 2, ...) and the held-out half
(odd positions) is scored once at the end; both are rows of the table.

    nice python -m benchmarks.judged_searches [--port 8100]
    nice python -m benchmarks.judged_searches --pool 20 > /tmp/pool.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from benchmarks import api_quality
from benchmarks.api_quality import Server, write_section
from matching.geo import haversine_km
from matching.text import parse_need

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = REPO_ROOT / "benchmarks" / "data" / "judged_searches.json"
SEED = REPO_ROOT / "seed_data" / "organizations.json"
RESULTS = REPO_ROOT / "benchmarks" / "results" / "judged.md"
SYSTEMS = ("koopmatch", "tfidf", "minilm")

SEARCH = "/api/v1/matches/search"

Ranker = Callable[[str], list[str]]


def ndcg(ranked: Sequence[str], gains: Mapping[str, int], k: int = 10) -> float:
    dcg = sum(gains.get(x, 0) / math.log2(i + 2) for i, x in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def profile_text(rec: Mapping[str, Any]) -> str:
    """Name, description and core labels, as the server encodes a profile."""
    cores = [c["label"] for c in rec.get("competences", []) if c["kind"] == "core"]
    return ". ".join(x for x in (rec["name"], rec.get("description") or "", "; ".join(cores)) if x)


def allowed_by_place(text: str, recs: Sequence[Mapping[str, Any]]) -> tuple[str, np.ndarray]:
    """The need text without place phrases, and which firms the place filters leave in."""
    hint = parse_need(text)
    ok = np.ones(len(recs), dtype=bool)
    for i, r in enumerate(recs):
        if hint.countries and r.get("country") not in hint.countries:
            ok[i] = False
        elif hint.origin is not None and hint.max_distance_km is not None:
            if r.get("latitude") is None:
                ok[i] = False
            else:
                far = haversine_km(hint.origin[0], hint.origin[1], r["latitude"], r["longitude"])
                ok[i] = far <= hint.max_distance_km
    return hint.need_text, ok


def vector_ranker(
    recs: Sequence[Mapping[str, Any]], encode: Callable[[list[str]], np.ndarray], depth: int
) -> Ranker:
    docs = encode([profile_text(r) for r in recs])
    ids = [r["external_id"] for r in recs]

    def rank(text: str) -> list[str]:
        need, ok = allowed_by_place(text, recs)
        scores = np.asarray(docs @ encode([need])[0]).ravel()
        scores = np.where(ok, scores, -np.inf)
        order = np.argsort(-scores, kind="stable")[:depth]
        return [ids[i] for i in order if np.isfinite(scores[i])]

    return rank


def tfidf_ranker(recs: Sequence[Mapping[str, Any]], depth: int) -> Ranker:
    """TF-IDF over character 3-5-grams within words (German compounds share their parts),
    sublinear term frequency, cosine."""
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    vec.fit([profile_text(r) for r in recs])

    def encode(texts: list[str]) -> np.ndarray:
        return vec.transform(texts)  # type: ignore[no-any-return]

    docs = encode([profile_text(r) for r in recs])
    ids = [r["external_id"] for r in recs]

    def rank(text: str) -> list[str]:
        need, ok = allowed_by_place(text, recs)
        scores = (docs @ encode([need]).T).toarray().ravel()
        scores = np.where(ok, scores, -np.inf)
        order = np.argsort(-scores, kind="stable")[:depth]
        return [ids[i] for i in order if np.isfinite(scores[i])]

    return rank


def minilm_ranker(recs: Sequence[Mapping[str, Any]], depth: int) -> Ranker:
    from matching.encoders import load_encoder

    encoder = load_encoder("minilm")
    return vector_ranker(recs, lambda t: np.asarray(encoder.encode(t), dtype=np.float32), depth)


def koopmatch_ranker(server: Server, depth: int) -> tuple[Ranker, dict[str, Any]]:
    pages: dict[str, Any] = {}

    def rank(text: str) -> list[str]:
        page = server.post("/api/v1/matches/search", {"text": text, "limit": depth})
        pages[text] = page
        return [m["organization"]["external_id"] for m in page["items"]]

    return rank, pages


def speed(recs: Sequence[Mapping[str, Any]], texts: Sequence[str], rounds: int = 3) -> list[str]:
    """Time of a search with and without the NACE-title evidence, in-process, interleaved.

    The demo data is imported as for the HTTP run; the app answers through a TestClient so
    that the evidence can be switched off between two requests (`_identities` giving none).
    Each search is asked with and without in turn (the order alternating per round), so that
    the load of the shared machine falls on both alike."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.matches import service

    with tempfile.TemporaryDirectory(prefix="koopmatch-judged-") as tmp:
        server = Server(Path(tmp))
        path = Path(tmp) / "demo.jsonl"
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n")
        server.koopmatch("migrate")
        server.koopmatch("import", str(path))
        server.koopmatch("create-user", "--email", "bench@example.org", "--role", "admin",
                         "--no-password")  # fmt: skip
        token = server.koopmatch("create-token", "--email", "bench@example.org").strip()
        os.environ.update(server.env())
        real = service._identities
        times: dict[str, list[float]] = {"with": [], "without": []}
        headers = {"Authorization": f"Bearer {token}"}
        try:
            with TestClient(create_app()) as client:
                # the first search encodes the NACE titles once; not timed
                client.post(SEARCH, json={"text": texts[0], "limit": 10}, headers=headers)
                for turn in range(rounds):
                    for text in texts:
                        for name in ("with", "without")[:: 1 if turn % 2 == 0 else -1]:
                            service._identities = (  # type: ignore[assignment]
                                real if name == "with" else (lambda *args, **kwargs: {})
                            )
                            started = time.perf_counter()
                            client.post(SEARCH, json={"text": text, "limit": 10}, headers=headers)
                            times[name].append(time.perf_counter() - started)
        finally:
            service._identities = real  # type: ignore[assignment]
    with_, without = (1000 * float(np.median(times[k])) for k in ("with", "without"))
    return [
        "### Search time with and without the NACE titles",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
        f"{os.getloadavg()[0]:.1f} at the end: `nice python -m benchmarks.judged_searches "
        f"--speed` ({len(texts)} searches x {rounds} rounds, in-process through a TestClient, "
        "each search asked with and without in turn). Median per search: with the titles "
        f"{with_:.1f} ms, without {without:.1f} ms, ratio {with_ / without:.2f}.",
    ]


def score(ranked: Sequence[str], s: Mapping[str, Any]) -> dict[str, float]:
    relevant = set(s["relevant"])
    gains = {x: 1 for x in s["related"]} | {x: 2 for x in relevant}
    hits = sum(x in relevant for x in ranked[:5])
    return {
        "p5": hits / 5,
        "capped_p5": hits / min(5, len(relevant)) if relevant else float("nan"),
        "ndcg10": ndcg(ranked, gains) if gains else float("nan"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--pool", type=int, default=0, metavar="DEPTH",
        help="print the pool (first DEPTH results of every system per search) as JSON",
    )  # fmt: skip
    parser.add_argument(
        "--port", type=int, default=0,
        help="serve the API on this loopback port (default: any free one)",
    )  # fmt: skip
    parser.add_argument(
        "--speed", action="store_true",
        help="time searches with and without the NACE-title evidence (in-process)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.port:
        api_quality._free_port = lambda: args.port  # type: ignore[assignment]
    started = time.perf_counter()
    load = os.getloadavg()
    data = json.loads(DATA.read_text())
    recs = json.loads(SEED.read_text())
    depth = max(args.pool, 10)
    searches = data["searches"]
    if args.speed:
        lines = speed(recs, [s["text"] for s in searches])
        print("\n".join(lines))
        if not args.no_write:
            write_section(RESULTS, lines[0], "\n".join(lines) + "\n")
        return 0
    runs: dict[str, dict[int, list[str]]] = {name: {} for name in SYSTEMS}
    with tempfile.TemporaryDirectory(prefix="koopmatch-judged-") as tmp:
        server = Server(Path(tmp))
        try:
            server.start(recs)
            rank, pages = koopmatch_ranker(server, depth)
            for s in searches:
                runs["koopmatch"][s["id"]] = rank(s["text"])
        finally:
            server.stop()
    for name, make in (("tfidf", tfidf_ranker), ("minilm", minilm_ranker)):
        ranker = make(recs, depth)
        for s in searches:
            runs[name][s["id"]] = ranker(s["text"])
    if args.pool:
        pool = [
            {
                "id": s["id"],
                "text": s["text"],
                "pool": sorted({x for name in SYSTEMS for x in runs[name][s["id"]][: args.pool]}),
            }
            for s in searches
        ]
        print(json.dumps(pool, ensure_ascii=False, indent=1))
        return 0

    def relevant_n(s: Mapping[str, Any]) -> int:
        return len(s["relevant"])

    # the halves by position in the file: choices are made on the even positions (0, 2, ...),
    # the odd ones are held out
    even = {s["id"] for k, s in enumerate(searches) if k % 2 == 0}

    groups: list[tuple[str, Callable[[Mapping[str, Any]], bool]]] = [
        ("all with a relevant firm", lambda s: relevant_n(s) >= 1),
        ("with >= 5 relevant firms", lambda s: relevant_n(s) >= 5),
        ("with 1-4 relevant firms", lambda s: 1 <= relevant_n(s) <= 4),
        ("German, with a relevant firm", lambda s: s["lang"] == "de" and relevant_n(s) >= 1),
        ("English, with a relevant firm", lambda s: s["lang"] == "en" and relevant_n(s) >= 1),
        ("tuning half (even positions)", lambda s: s["id"] in even and relevant_n(s) >= 1),
        ("tuning half, >= 5 relevant", lambda s: s["id"] in even and relevant_n(s) >= 5),
        ("held-out half (odd positions)", lambda s: s["id"] not in even and relevant_n(s) >= 1),
        ("held-out half, >= 5 relevant", lambda s: s["id"] not in even and relevant_n(s) >= 5),
    ]
    lines = [
        "### Judged searches over the demo data: koopmatch and baselines",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {load[0]:.1f} at the start: "
        "`nice python -m benchmarks.judged_searches` (koopmatch: import of the demo data + "
        "HTTP API on 127.0.0.1; tfidf: character 3-5-gram TF-IDF over name, description and "
        "core labels; minilm: all-MiniLM-L6-v2 cosine over the same text; the baselines get "
        "the same place filters); "
        f"{len(searches)} searches ({sum(s['lang'] == 'de' for s in searches)} German, "
        f"{sum(s['lang'] == 'en' for s in searches)} English); judgments pooled from "
        f"{', '.join(data['pool']['systems'])} at depth {data['pool']['depth']}; whole run "
        f"{(time.perf_counter() - started) / 60:.1f} min.",
        "",
        "| searches | n | system | precision@5 | capped precision@5 | nDCG@10 |",
        "|---|---|---|---|---|---|",
    ]
    per: dict[str, dict[int, dict[str, float]]] = {
        name: {s["id"]: score(runs[name][s["id"]], s) for s in searches} for name in SYSTEMS
    }
    for label, keep in groups:
        chosen = [s for s in searches if keep(s)]
        if not chosen:
            continue
        for name in SYSTEMS:
            vals = [per[name][s["id"]] for s in chosen]
            lines.append(
                f"| {label} | {len(chosen)} | {name} | "
                f"{np.mean([v['p5'] for v in vals]):.3f} | "
                f"{np.mean([v['capped_p5'] for v in vals]):.3f} | "
                f"{np.mean([v['ndcg10'] for v in vals]):.3f} |"
            )
    # honesty: searches nothing relevant answers (no relevant firm judged in the pool, or a
    # place filter that leaves none) must say so; relevant firms must not be flagged weak
    empty = [s for s in searches if not s["relevant"]] + [
        {"text": w["text"], "relevant": [], "related": [], "lang": w["lang"]}
        for w in data["weak_expected"]
    ]
    honest_rows = []
    server_pages = dict(pages)
    extra = [s for s in empty if s["text"] not in server_pages]
    if extra:
        with tempfile.TemporaryDirectory(prefix="koopmatch-judged-") as tmp:
            server = Server(Path(tmp))
            try:
                server.start(recs)
                rank, more = koopmatch_ranker(server, depth)
                for s in extra:
                    rank(s["text"])
                server_pages |= more
            finally:
                server.stop()
    honest_n = 0
    for s in empty:
        items = server_pages[s["text"]]["items"][:10]
        first_weak = bool(items[0]["weak"]) if items else True
        honest_n += first_weak
        weak = sum(m["weak"] for m in items)
        first = items[0]["organization"]["name"] if items else "none"
        honest_rows.append(
            f"| {s['text']} | {len(items)} | {weak} | {first} | {'yes' if first_weak else 'no'} |"
        )
    rel_found = rel_weak = other_found = other_weak = 0
    first_weak_with_relevant = 0
    for s in searches:
        if not s["relevant"]:
            continue
        items = server_pages[s["text"]]["items"][:10]
        relevant = set(s["relevant"])
        for m in items:
            if m["organization"]["external_id"] in relevant:
                rel_found += 1
                rel_weak += m["weak"]
            elif m["organization"]["external_id"] not in s["related"]:
                other_found += 1
                other_weak += m["weak"]
        first_weak_with_relevant += bool(items and items[0]["weak"])
    lines += [
        "",
        f"Honesty, koopmatch: searches that nothing relevant answers whose first result is "
        f"flagged weak: {honest_n} of {len(empty)}. Price: relevant firms in the first 10 "
        f"flagged weak: {rel_weak} of {rel_found}; searches with a relevant firm whose first "
        f"result is weak: {first_weak_with_relevant} of "
        f"{sum(bool(s['relevant']) for s in searches)}. Firms judged not relevant in the first "
        f"10 flagged weak: {other_weak} of {other_found}.",
        "",
        "Searches that nothing relevant answers (honest: the first result, and so every "
        "result, is weak):",
        "",
        "| search | results | weak in the first 10 | first | honest |",
        "|---|---|---|---|---|",
        *honest_rows,
        "",
        "Searches where koopmatch's precision@5 stays below min(5, relevant) / 5 "
        "(first five results, r = relevant, ~ = related, - = not relevant):",
        "",
        "| # | search | relevant | capped P@5 | first five |",
        "|---|---|---|---|---|",
    ]
    for s in searches:
        v = per["koopmatch"][s["id"]]
        if s["relevant"] and v["capped_p5"] < 1:
            marks = [
                f"{x} {'r' if x in s['relevant'] else '~' if x in s['related'] else '-'}"
                for x in runs["koopmatch"][s["id"]][:5]
            ]
            lines.append(
                f"| {s['id']} | {s['text']} | {len(s['relevant'])} | {v['capped_p5']:.2f} | "
                f"{', '.join(marks)} |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        write_section(RESULTS, lines[0], text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
