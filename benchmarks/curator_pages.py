"""Server time of the hub staff's pages on the demo data.

    python -m benchmarks.curator_pages [--encoder hashing] [--runs 10] [--no-write]
    python -m benchmarks.curator_pages --baseline DIR [--rounds 2] [--runs 5]

A fresh SQLite database gets the migrations and the demo data (`koopmatch seed`, with the
chosen encoder); the app then answers each page `--runs` times in-process (no network), signed
in as the demo admin, after one warm-up request. The member pages' goal of 300 ms is the
yardstick; the table gives median and 90th percentile. Results go to
benchmarks/results/curator_pages.md.

With `--baseline DIR` (a checkout of another revision, e.g. `git worktree add DIR REV`) the
benchmark runs itself in turns in DIR and here, `--rounds` times each (each run seeds its own
database), and puts a dated before/after section with the medians of both on top of the results.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

from benchmarks.web_pages import seed_demo_database

RESULTS = Path(__file__).resolve().parent / "results" / "curator_pages.md"
PAGES = [
    "/curator/import",
    "/curator/duplicates",
    "/curator/duplicates/merge?keep=1&merge=2",
    "/curator/labels",
    "/curator/labels/suggestions",
    "/curator/profiles",
    "/curator/audit",
    "/curator/onboarding?organization_id=1",
    "/curator/gaps",
]
GOAL_MS = 300.0


ROW = re.compile(r"^\| `(?P<page>[^`]+)` \| (?P<median>[0-9.]+) \| (?P<p90>[0-9.]+) \|", re.M)


def _one_run(directory: Path, encoder: str, runs: int) -> dict[str, float]:
    """Median ms per page of one run of this benchmark in `directory` (its own code)."""
    import subprocess

    out = subprocess.run(
        [
            *(sys.executable, "-m", "benchmarks.curator_pages", "--encoder", encoder),
            *("--runs", str(runs), "--no-write"),
        ],
        cwd=directory,
        env={**os.environ, "PYTHONPATH": str(directory)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {m["page"]: float(m["median"]) for m in ROW.finditer(out)}


def compare(baseline: Path, encoder: str, runs: int, rounds: int) -> str:
    """Baseline and current in turns; a markdown section with the medians of both."""
    here = Path(__file__).resolve().parent.parent
    medians: dict[str, dict[str, list[float]]] = {"baseline": {}, "current": {}}
    loads = [os.getloadavg()[0]]
    for _ in range(rounds):
        for side, directory in (("baseline", baseline), ("current", here)):
            for page, ms in _one_run(directory, encoder, runs).items():
                medians[side].setdefault(page, []).append(ms)
            loads.append(os.getloadavg()[0])
    now = dt.datetime.now(dt.UTC)
    lines = [
        f"## Before / after, {now:%Y-%m-%d %H:%M} UTC",
        "",
        f"`python -m benchmarks.curator_pages --baseline {baseline.name} --encoder {encoder} "
        f"--runs {runs} --rounds {rounds}`: {platform.machine()}, {os.cpu_count()} cores "
        "(shared with other work), SQLite, the demo data, in-process requests. Baseline and "
        f"current run in turns, {rounds} times each, every run {runs} requests per page after a "
        "warm-up; the table gives the median of the runs' medians. Load average (1 min): "
        + ", ".join(f"{load:.1f}" for load in loads)
        + ".",
        "",
        "| page | baseline ms | current ms | baseline / current |",
        "| --- | ---: | ---: | ---: |",
    ]
    for page in medians["current"]:
        before = statistics.median(medians["baseline"].get(page, [float("nan")]))
        after = statistics.median(medians["current"][page])
        lines.append(f"| `{page}` | {before:.1f} | {after:.1f} | {before / after:.2f}x |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--encoder", default="hashing")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--baseline", type=Path, help="a checkout of the revision to compare")
    parser.add_argument("--rounds", type=int, default=2, help="(--baseline) runs of each side")
    args = parser.parse_args()
    if args.baseline is not None:
        section = compare(args.baseline.resolve(), args.encoder, args.runs, args.rounds)
        print(section)
        if not args.no_write:
            title, _, rest = RESULTS.read_text(encoding="utf-8").partition("\n")
            RESULTS.write_text(f"{title}\n\n{section}\n{rest.lstrip()}", encoding="utf-8")
        return 0

    seed_demo_database(args.encoder, prefix="km-curator-bench-")

    from fastapi.testclient import TestClient

    from app.auth.service import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD
    from app.main import create_app

    rows = []
    load_before = os.getloadavg()[0]
    with TestClient(create_app()) as client:
        form = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', form)
        assert token is not None
        signed_in = client.post(
            "/login",
            data={
                "email": DEMO_ADMIN_EMAIL,
                "password": DEMO_ADMIN_PASSWORD,
                "csrf_token": token.group(1),
            },
            follow_redirects=False,
        )
        assert signed_in.status_code == 303, signed_in.text
        for page in PAGES:
            assert client.get(page).status_code == 200, page
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                response = client.get(page)
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, page
            times.sort()
            rows.append(
                (
                    page,
                    statistics.median(times),
                    times[int(0.9 * (len(times) - 1))],
                    len(response.content),
                )
            )

    lines = [
        "# Server time of the hub staff's pages",
        "",
        f"`python -m benchmarks.curator_pages --encoder {args.encoder} --runs {args.runs}` on "
        f"{dt.date.today().isoformat()}: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores (shared with other work), SQLite, the demo data "
        "(170 organisations), signed in as the demo admin; in-process requests, no network. "
        "Yardstick: the member pages' 300 ms.",
        f"Load average (1 min) of the shared machine: {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after the measurements.",
        "",
        "| page | median ms | p90 ms | bytes | within 300 ms |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for page, median, p90, size in rows:
        lines.append(
            f"| `{page}` | {median:.1f} | {p90:.1f} | {size} | {'yes' if p90 <= GOAL_MS else 'no'} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        RESULTS.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
