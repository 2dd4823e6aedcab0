"""Judged searches over the demo data, asked through the HTTP API of a real server.

`benchmarks/data/judged_searches.json` holds German and English searches with the firms judged
relevant and related by reading the demo profiles. The demo organisations are imported with
`koopmatch import` into a fresh SQLite database, uvicorn serves it on loopback, and every
search is asked as `POST /api/v1/matches/search` (place phrases read by the server).

Reported: precision@5 (relevant among the first 5, divided by 5), capped precision@5 (divided
by min(5, number of relevant firms): 1.0 when every relevant firm that fits is in the first 5),
nDCG@10 with gain 2 for relevant and 1 for related firms, and, for the searches nobody in the
region answers, whether the answer says so (every result weak, or none).

    nice python -m benchmarks.judged_searches
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.api_quality import Server, write_section

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = REPO_ROOT / "benchmarks" / "data" / "judged_searches.json"
SEED = REPO_ROOT / "seed_data" / "organizations.json"
RESULTS = REPO_ROOT / "benchmarks" / "results" / "ranking.md"


def post(server: Server, path: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(
        server.base + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read())


def ndcg(ranked: Sequence[str], gains: dict[str, int], k: int = 10) -> float:
    dcg = sum(gains.get(x, 0) / math.log2(i + 2) for i, x in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def evaluate(server: Server, data: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    rows = []
    for s in data["searches"]:
        page = post(server, "/api/v1/matches/search", {"text": s["text"], "limit": 10})
        ranked = [m["organization"]["external_id"] for m in page["items"]]
        relevant = set(s["relevant"])
        gains = {x: 1 for x in s["related"]} | {x: 2 for x in relevant}
        hits = sum(x in relevant for x in ranked[:5])
        weak_relevant = sum(
            m["weak"] for m in page["items"] if m["organization"]["external_id"] in relevant
        )
        unjudged = [m for m in page["items"] if m["organization"]["external_id"] not in gains]
        rows.append(
            {
                "id": s["id"],
                "lang": s["lang"],
                "text": s["text"],
                "p5": hits / 5,
                "capped_p5": hits / min(5, len(relevant)),
                "ndcg10": ndcg(ranked, gains),
                "first": ranked[:3],
                "first_weak": bool(page["items"][0]["weak"]) if page["items"] else None,
                "relevant_found": sum(x in relevant for x in ranked),
                "relevant_weak": weak_relevant,
                "unjudged_found": len(unjudged),
                "unjudged_weak": sum(m["weak"] for m in unjudged),
            }
        )
    honest = []
    for s in data["weak_expected"]:
        page = post(server, "/api/v1/matches/search", {"text": s["text"], "limit": 10})
        items = page["items"]
        ok = all(m["weak"] for m in items)
        first = items[0]["organization"]["name"] if items else "none"
        honest.append(
            f"| {s['text']} | {len(items)} | {page['weak_count']} | {first} | "
            f"{'yes' if ok else 'no'} |"
        )
    return rows, honest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--label", default="koopmatch", help="name of the row in the results")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    data = json.loads(DATA.read_text())
    recs = json.loads(SEED.read_text())
    with tempfile.TemporaryDirectory(prefix="koopmatch-judged-") as tmp:
        server = Server(Path(tmp))
        try:
            server.start(recs)
            rows, honest = evaluate(server, data)
        finally:
            server.stop()

    def mean(key: str, lang: str | None = None) -> float:
        return float(np.mean([r[key] for r in rows if lang in (None, r["lang"])]))

    lines = [
        f"### Judged searches over the demo data: {args.label}",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}: `nice python -m benchmarks.judged_searches` "
        f"(koopmatch import of the demo data + HTTP API on 127.0.0.1); "
        f"{len(rows)} searches ({sum(r['lang'] == 'de' for r in rows)} German, "
        f"{sum(r['lang'] == 'en' for r in rows)} English); whole run "
        f"{(time.perf_counter() - started) / 60:.1f} min.",
        "",
        "| searches | precision@5 | capped precision@5 | nDCG@10 |",
        "|---|---|---|---|",
    ]
    for lang, name in ((None, "all"), ("de", "German"), ("en", "English")):
        lines.append(
            f"| {name} | {mean('p5', lang):.3f} | {mean('capped_p5', lang):.3f} | "
            f"{mean('ndcg10', lang):.3f} |"
        )

    def total(key: str) -> int:
        return sum(int(r[key]) for r in rows)

    lines += [
        "",
        f"Weak flags in the first 10: {total('relevant_weak')} of {total('relevant_found')} "
        f"relevant firms found, {total('unjudged_weak')} of {total('unjudged_found')} firms "
        "judged neither relevant nor related.",
        "",
        "Searches that no firm in the asked region answers (honest: every result weak):",
        "",
        "| search | results | weak | first | honest |",
        "|---|---|---|---|---|",
        *honest,
        "",
        "Searches with capped precision@5 below 1 (first three results):",
        "",
        "| # | search | capped P@5 | nDCG@10 | first three |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        if r["capped_p5"] < 1:
            lines.append(
                f"| {r['id']} | {r['text']} | {r['capped_p5']:.2f} | {r['ndcg10']:.2f} | "
                f"{', '.join(r['first'])} |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        write_section(RESULTS, lines[0], text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
