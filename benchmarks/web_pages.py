"""Server time of the member's pages on the demo data, against the JSON API for the same data.

    python -m benchmarks.web_pages [--encoder default] [--runs 20] [--no-write]

A fresh SQLite database gets the migrations and the demo data (`koopmatch seed`, with the
chosen encoder); the app then answers each page `--runs` times in-process (no network), signed
in as the demo member, after two warm-up requests. Each ranked page is timed in turns with its
baseline, the JSON API route that ranks the same matches for the same member (bearer token), so
both see the same load of the shared machine; their ratio is what the page layer (session,
disclosure shapes, rendering) adds to the ranking. The goal of the issue is 300 ms per page.
Results go to benchmarks/results/web_pages.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "web_pages.md"
ROOT = Path(__file__).resolve().parents[1]
SEARCH = "Funkanbindung und IoT-Firmware in Süddeutschland"
# page, and the JSON API request that ranks the same matches (None: a page without ranking)
PAGES: list[tuple[str, tuple[str, str, dict[str, Any] | None] | None]] = [
    ("/dashboard", ("GET", "/api/v1/organizations/{org}/matches?limit=20", None)),
    ("/partners", ("GET", "/api/v1/organizations/{org}/matches?limit=10", None)),
    (
        "/partners?filtered=1&country=DE&size=medium&include_competitors=on",
        (
            "GET",
            "/api/v1/organizations/{org}/matches?limit=10&country=DE&min_employees=50"
            "&max_employees=249&include_competitors=true",
            None,
        ),
    ),
    (
        "/search?q=Funkanbindung+und+IoT-Firmware+in+S%C3%BCddeutschland",
        ("POST", "/api/v1/matches/search", {"text": SEARCH, "limit": 10}),
    ),
    ("/requests", None),
    ("/profile", None),
    ("/my-data", None),
]
GOAL_MS = 300.0


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    response = call()
    return (time.perf_counter() - start) * 1000, response


def seed_demo_database(encoder: str, *, prefix: str) -> None:
    """A fresh SQLite database with the demo data (migrated and seeded by the command line),
    made this process's configured database."""
    database = Path(tempfile.mkdtemp(prefix=prefix)) / "bench.db"
    env = {
        **os.environ,
        "KOOPMATCH_DATABASE_URL": f"sqlite:///{database}",
        "KOOPMATCH_EMBEDDING_MODEL": encoder,
        "KOOPMATCH_ENVIRONMENT": "development",
    }
    for command in ("migrate", "seed"):
        subprocess.run(
            [sys.executable, "-m", "app.cli", command],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    os.environ.update({k: v for k, v in env.items() if k.startswith("KOOPMATCH_")})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--encoder", default="default")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    seed_demo_database(args.encoder, prefix="km-web-bench-")

    from fastapi.testclient import TestClient
    from threadpoolctl import threadpool_limits

    from app.auth.service import DEMO_ADMIN_PASSWORD, DEMO_MEMBERS
    from app.main import create_app

    # as the server runs (app/asgi.py): one BLAS thread per request
    threadpool_limits(1, user_api="blas")
    rows = []
    load_before = os.getloadavg()[0]
    with TestClient(create_app()) as client:
        form = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', form)
        assert token is not None
        signed_in = client.post(
            "/login",
            data={
                "email": DEMO_MEMBERS[0][0],
                "password": DEMO_ADMIN_PASSWORD,
                "csrf_token": token.group(1),
            },
            follow_redirects=False,
        )
        assert signed_in.status_code == 303, signed_in.text
        bearer = client.post(
            "/api/v1/auth/token",
            json={"email": DEMO_MEMBERS[0][0], "password": DEMO_ADMIN_PASSWORD},
        ).json()["access_token"]
        me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {bearer}"}).json()
        api = TestClient(client.app, headers={"Authorization": f"Bearer {bearer}"})
        for page, baseline in PAGES:

            def page_call(page: str = page) -> Any:
                return client.get(page)

            base_call = None
            if baseline is not None:
                method, url, body = baseline
                url = url.format(org=me["organization_id"])

                def base_call(method: str = method, url: str = url, body: Any = body) -> Any:
                    return api.request(method, url, json=body)

            for _ in range(2):
                assert page_call().status_code == 200, page
                if base_call is not None:
                    assert base_call().status_code == 200, baseline
            times, base_times = [], []
            for _ in range(args.runs):
                elapsed, response = _timed(page_call)
                assert response.status_code == 200, page
                times.append(elapsed)
                if base_call is not None:
                    elapsed, answer = _timed(base_call)
                    assert answer.status_code == 200, baseline
                    base_times.append(elapsed)
            # paired: each page request against the baseline request right after it
            ratio = (
                statistics.median(t / b for t, b in zip(times, base_times, strict=True))
                if base_times
                else None
            )
            times.sort()
            median = statistics.median(times)
            base = statistics.median(base_times) if base_times else None
            rows.append(
                (
                    page,
                    median,
                    times[int(0.9 * (len(times) - 1))],
                    len(response.content),
                    baseline,
                    base,
                    ratio,
                )
            )

    lines = [
        "# Server time of the member's pages",
        "",
        f"`python -m benchmarks.web_pages --encoder {args.encoder} --runs {args.runs}` on "
        f"{dt.date.today().isoformat()}: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores (shared with other work), SQLite, the demo data (170 organisations), "
        "signed in as the demo member; in-process requests, no network, one BLAS thread. "
        "Each ranked page is timed in turns with its baseline, the JSON API route that ranks "
        "the same matches for the same member; page / baseline is the median of the paired "
        "ratios (each page request against the baseline request right after it). Goal: a "
        "median within 300 ms per page.",
        f"Load average (1 min) of the shared machine: {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after the measurements.",
        "",
        "| page | median ms | p90 ms | bytes | baseline (JSON API) | baseline median ms "
        "| page / baseline | within 300 ms |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | --- |",
    ]
    for page, median, p90, size, baseline, base, ratio in rows:
        name = f"`{baseline[0]} {baseline[1]}`" if baseline else "—"
        base_ms = f"{base:.1f}" if base is not None else "—"
        shown = f"{ratio:.2f}" if ratio is not None else "—"
        lines.append(
            f"| `{page}` | {median:.1f} | {p90:.1f} | {size} | {name} | {base_ms} | {shown} "
            f"| {'yes' if median <= GOAL_MS else 'no'} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        RESULTS.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
