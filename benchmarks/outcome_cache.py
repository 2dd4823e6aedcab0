"""The outcome features of a re-ranked match list: read per request, or kept per process.

With an adopted second stage (`app.matches.reranking`), every match request computes the
outcome features of its best candidates. Before, it read every outcome step from the database
(`outcome_history`); now a process keeps them under the outcomes' change marker and reads one
row per request (`current_history`). Both are timed in the same run on one SQLite database
(migrated, `--organizations` organisations, `--requests` answered cooperation requests spread
over five years), each call in a fresh session, as a request has; the features of one list of
`--candidates` candidates for a random asking organisation. The two take turns, request by
request.

    nice -n 10 .venv/bin/python -m benchmarks.outcome_cache
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def _setup(url: str, organizations: int, requests: int, seed: int) -> list[int]:
    from alembic import command
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from app.cli import alembic_config
    from app.db import make_engine
    from app.models import Organization
    from app.models.cooperation import CooperationRequest

    command.upgrade(alembic_config(url), "heads")
    engine = make_engine(url)
    rng = random.Random(seed)
    t0 = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    with Session(engine) as session, session.begin():
        orgs = [
            Organization(name=f"Firm {i}", country="DE", visibility="public")
            for i in range(organizations)
        ]
        session.add_all(orgs)
        session.flush()
        ids = [o.id for o in orgs]
        rows = []
        for _ in range(requests):
            a, b = rng.sample(ids, 2)
            at = t0 + dt.timedelta(days=rng.uniform(0, 5 * 365))
            rows.append(
                {
                    "from_organization_id": a,
                    "to_organization_id": b,
                    "type": "training",
                    "status": "accepted" if rng.random() < 0.6 else "declined",
                    "created_at": at,
                    "responded_at": at,
                }
            )
        session.execute(insert(CooperationRequest), rows)
    engine.dispose()
    return ids


def _timed(calls: Sequence[Callable[[], object]], repeats: int) -> list[list[float]]:
    """Seconds of each call, `repeats` times, the calls taking turns (so that a change of the
    machine's load falls on all of them alike)."""
    out: list[list[float]] = [[] for _ in calls]
    for _ in range(repeats):
        for k, call in enumerate(calls):
            start = time.perf_counter()
            call()
            out[k].append(time.perf_counter() - start)
    return out


def run(organizations: int, requests: int, candidates: int, repeats: int, seed: int) -> str:
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.matches.outcomes import current_history, outcome_history

    with tempfile.TemporaryDirectory(prefix="km-outcache-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'outcomes.db'}"
        ids = _setup(url, organizations, requests, seed)
        engine = make_engine(url)
        rng = random.Random(seed + 1)
        lists = [(rng.choice(ids), rng.sample(ids, candidates)) for _ in range(repeats)]

        def features(read: Callable[[Session], object]) -> Callable[[], object]:
            position = iter(range(10**9))

            def call() -> np.ndarray:
                asking, listed = lists[next(position) % len(lists)]
                with Session(engine) as session:
                    history = read(session)
                    return history.features(asking, listed)  # type: ignore[attr-defined]

            return call

        load_start = os.getloadavg()[0]
        # the kept history is exact: the same features as read afresh
        with Session(engine) as session:
            for asking, listed in lists[:5]:
                np.testing.assert_array_equal(
                    current_history(session).features(asking, listed),
                    outcome_history(session).features(asking, listed),
                )
        before, after = _timed([features(outcome_history), features(current_history)], repeats)
        load_end = os.getloadavg()[0]
        engine.dispose()
    b, a = statistics.median(before), statistics.median(after)
    return "\n".join(
        [
            f"{organizations} organisations, {requests} answered requests, lists of "
            f"{candidates} candidates, {repeats} requests each; load {load_start:.2f} -> "
            f"{load_end:.2f}",
            "| | median ms | p90 ms |",
            "| --- | --- | --- |",
            f"| before: every step read per request | {b * 1e3:.2f} | "
            f"{statistics.quantiles(before, n=10)[-1] * 1e3:.2f} |",
            f"| after: kept per process, marker read per request | {a * 1e3:.2f} | "
            f"{statistics.quantiles(after, n=10)[-1] * 1e3:.2f} |",
            f"ratio before / after: {b / a:.1f}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.outcome_cache", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--organizations", type=int, default=2000)
    parser.add_argument("--requests", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    for requests in args.requests:
        print(run(args.organizations, requests, args.candidates, args.repeats, args.seed))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
