"""Do SQLite and PostgreSQL (pgvector) rank alike? The same data, the same questions, over HTTP.

Two data sets go through the public import contract (`koopmatch import`) into a fresh SQLite
database and into a fresh database of a throwaway PostgreSQL 18 with pgvector (`pgserver`):

- the labelled firms of `benchmarks.labelled` (as `benchmarks.api_labelled` writes them): every
  firm asks `GET /api/v1/organizations/{id}/matches` without and with competitors;
- the demo organisations (`seed_data/organizations.json`): every organisation asks its matches,
  and every judged search of `benchmarks/data/judged_searches.json` (with its searches that
  nothing relevant answers) is asked as `POST /api/v1/matches/search`.

Each database is served by a real uvicorn on 127.0.0.1; PostgreSQL once per match state
(`KOOPMATCH_MATCH_STATE=memory`: the in-process engine with pgvector retrieval; `database`:
matches scored per request). Every answer is compared with SQLite's, per query type: the share of
queries with the identical top 10 (order included), with the same top-10 set ignoring order,
and the mean overlap@10. Disagreements are listed with the first position where the lists part
and both sides' scores there, so that a tie, a rounding of half precision or a candidate that
retrieval did not find can be told apart.

    nice -n 10 python -m benchmarks.backend_agreement [--port 8350] [--states memory database]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import api_labelled
from benchmarks.api_quality import Server
from benchmarks.judged_searches import post
from benchmarks.labelled import generate
from benchmarks.scale import machine

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "benchmarks" / "results" / "backend-agreement.md"
SEED = REPO_ROOT / "seed_data" / "organizations.json"
JUDGED = REPO_ROOT / "benchmarks" / "data" / "judged_searches.json"
TOP = 10
ASK = 20  # asked per query: a disagreement at rank 10 shows where the other side put it

# one answer: (external id, score) in rank order
Answer = list[tuple[str, float]]
POOL_ENV = "KOOPMATCH_AGREEMENT_POOL"


def server_app() -> Any:
    """`uvicorn --factory benchmarks.backend_agreement:server_app`: the app, with the engine's
    candidate pool from KOOPMATCH_AGREEMENT_POOL when set (a small pool lets retrieval
    decide on a small data set)."""
    from app.main import create_app

    app = create_app()
    pool = os.environ.get(POOL_ENV)
    if pool:
        app.state.match_index.matcher_params = {"candidate_pool": int(pool)}
    return app


@dataclass
class BackendServer(Server):
    """`api_quality.Server` on any database URL and match state; the data is imported once,
    the server may be started again with another state."""

    url: str = ""
    state: str = "memory"
    app: tuple[str, ...] = ("--factory", "benchmarks.backend_agreement:server_app")
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = super().env()
        if self.url:
            env["KOOPMATCH_DATABASE_URL"] = self.url
        env["KOOPMATCH_MATCH_STATE"] = self.state
        env.update(self.extra_env)
        return env


@contextmanager
def postgres() -> Iterator[Callable[[], str]]:
    """A throwaway PostgreSQL with pgvector; yields a maker of fresh, empty databases."""
    import pgserver
    from sqlalchemy import text

    from app.db import make_engine

    data_dir = Path(tempfile.mkdtemp(prefix="kmagree-"))
    server = pgserver.get_server(data_dir, cleanup_mode="delete")
    base = "postgresql+psycopg://" + server.get_uri().split("://", 1)[1]
    made = 0

    def fresh() -> str:
        nonlocal made
        made += 1
        name = f"agree_{made}"
        admin = make_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        head, _, query = base.partition("?")
        return f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")

    try:
        yield fresh
    finally:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


def ask_matches(server: Server, ext_ids: Sequence[str], **params: Any) -> dict[str, Answer]:
    ids = server.ids()
    out: dict[str, Answer] = {}
    for ext in ext_ids:
        page = server.get(f"/api/v1/organizations/{ids[ext]}/matches", limit=ASK, **params)
        out[ext] = [(m["organization"]["external_id"], float(m["score"])) for m in page["items"]]
    return out


def ask_searches(server: Server, texts: Sequence[str]) -> dict[str, Answer]:
    out: dict[str, Answer] = {}
    for t in texts:
        page = post(server, "/api/v1/matches/search", {"text": t, "limit": ASK})
        out[t] = [(m["organization"]["external_id"], float(m["score"])) for m in page["items"]]
    return out


@dataclass
class Dataset:
    name: str
    recs: list[dict[str, Any]]
    # query type -> function asking all queries of that type of a server
    queries: dict[str, Callable[[Server], dict[str, Answer]]]


def datasets(names: Sequence[str]) -> list[Dataset]:
    firms = generate()
    lab = api_labelled.records(firms)
    lab_ids = [r["external_id"] for r in lab]
    demo = json.loads(SEED.read_text())
    demo_ids = [r["external_id"] for r in demo]
    judged = json.loads(JUDGED.read_text())
    texts = [s["text"] for s in judged["searches"]] + [w["text"] for w in judged["weak_expected"]]
    every = [
        Dataset(
            "labelled",
            lab,
            {
                "match, labelled, without competitors": lambda s: ask_matches(
                    s, lab_ids, include_competitors="false"
                ),
                "match, labelled, with competitors": lambda s: ask_matches(
                    s, lab_ids, include_competitors="true"
                ),
            },
        ),
        Dataset(
            "demo",
            demo,
            {
                "match, demo organisations": lambda s: ask_matches(s, demo_ids),
                "search, judged searches": lambda s: ask_searches(s, texts),
            },
        ),
    ]
    return [d for d in every if d.name in names]


def compare(a: Answer, b: Answer) -> tuple[bool, bool, float]:
    """(identical top 10, same top-10 set, overlap@10) of two answers."""
    ta, tb = [x for x, _ in a[:TOP]], [x for x, _ in b[:TOP]]
    n = max(len(ta), len(tb))  # a shorter list misses what the other has
    return ta == tb, set(ta) == set(tb), len(set(ta) & set(tb)) / n if n else 1.0


def first_difference(a: Answer, b: Answer) -> str:
    """Where two answers part: rank, both ids and their scores on both sides."""
    sa, sb = dict(a), dict(b)
    for k in range(min(TOP, max(len(a), len(b)))):
        xa = a[k][0] if k < len(a) else None
        xb = b[k][0] if k < len(b) else None
        if xa != xb:

            def cell(x: str | None) -> str:
                if x is None:
                    return "none"
                left = f"{sa[x]:.6f}" if x in sa else "-"
                right = f"{sb[x]:.6f}" if x in sb else "-"
                return f"{x} ({left} / {right})"

            return f"rank {k + 1}: {cell(xa)} vs {cell(xb)}"
    return "same"


def run(states: Sequence[str], sets: Sequence[str], port: int, workdir: Path, log: Path) -> tuple[
    dict[str, dict[str, dict[str, Answer]]], dict[str, float]
]:  # fmt: skip
    """Answers per configuration ("sqlite", "postgresql/<state>") and query type."""
    answers: dict[str, dict[str, dict[str, Answer]]] = {}
    seconds: dict[str, float] = {}
    with postgres() as fresh:
        for data in datasets(sets):
            configs: list[tuple[str, BackendServer]] = []
            lite_dir = workdir / f"{data.name}-sqlite"
            lite_dir.mkdir(parents=True)
            lite = BackendServer(lite_dir, log=log)
            lite.load(data.recs)
            seconds[f"import {data.name} sqlite"] = lite.import_seconds
            configs.append(("sqlite", lite))
            pg_dir = workdir / f"{data.name}-postgresql"
            pg_dir.mkdir(parents=True)
            pg = BackendServer(pg_dir, url=fresh(), log=log)
            pg.load(data.recs)
            seconds[f"import {data.name} postgresql"] = pg.import_seconds
            for state in states:
                configs.append((f"postgresql/{state}", pg))
            for name, server in configs:
                server.state = "memory" if name == "sqlite" else name.split("/", 1)[1]
                server.serve(port)
                try:
                    for qtype, ask in data.queries.items():
                        t0 = time.perf_counter()
                        answers.setdefault(name, {})[qtype] = ask(server)
                        seconds[f"{qtype} {name}"] = time.perf_counter() - t0
                        print(f"{data.name} {name} {qtype}: {time.perf_counter() - t0:.0f} s",
                              flush=True)  # fmt: skip
                finally:
                    server.stop()
    return answers, seconds


def report(
    answers: Mapping[str, Mapping[str, Mapping[str, Answer]]], header: str, detail: int
) -> str:
    lines = [
        header,
        "",
        "| query type | queries | backend against SQLite | identical top 10 | same set | "
        f"mean overlap@10 | identical first {ASK} | largest score difference |",
        "|---|---|---|---|---|---|---|---|",
    ]
    notes: list[str] = []
    base = answers["sqlite"]
    for name, per in answers.items():
        if name == "sqlite":
            continue
        for qtype, got in per.items():
            ref = base[qtype]
            cmp = {q: compare(ref[q], got[q]) for q in ref}
            same = sum(c[0] for c in cmp.values())
            same_set = sum(c[1] for c in cmp.values())
            overlap = float(np.mean([c[2] for c in cmp.values()]))
            n = len(cmp)
            whole = sum([x for x, _ in ref[q]] == [x for x, _ in got[q]] for q in ref)
            # the same organisation's score on both sides, wherever both list it
            gap = max(
                (abs(s - dict(got[q])[x]) for q in ref for x, s in ref[q] if x in dict(got[q])),
                default=0.0,
            )
            lines.append(
                f"| {qtype} | {n} | {name} | {same} ({same / n:.1%}) | "
                f"{same_set} ({same_set / n:.1%}) | {overlap:.3f} | {whole} | {gap:.1e} |"
            )
            differ = [q for q, c in cmp.items() if not c[0]]
            for q in differ[:detail]:
                notes.append(
                    f"- {qtype}, {name}, `{q}`: {first_difference(ref[q], got[q])} "
                    "(scores: SQLite / this backend, - where outside its first "
                    f"{ASK})"
                )
    if notes:
        lines += ["", f"Where the lists part (first {detail} per row):", "", *notes]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8350, help="the servers' port on 127.0.0.1")
    parser.add_argument(
        "--states", nargs="+", choices=["memory", "database"], default=["memory", "database"],
        help="PostgreSQL match states to serve (KOOPMATCH_MATCH_STATE)",
    )  # fmt: skip
    parser.add_argument("--encoder", default="default", help="KOOPMATCH_EMBEDDING_MODEL")
    parser.add_argument(
        "--sets", nargs="+", choices=["labelled", "demo"], default=["labelled", "demo"],
        help="data sets to import and ask",
    )  # fmt: skip
    parser.add_argument(
        "--pool", type=int, default=0,
        help="the engine's candidate pool on every server (default: the engine's, 300)",
    )  # fmt: skip
    parser.add_argument("--detail", type=int, default=8, help="disagreements listed per row")
    parser.add_argument("--answers", type=Path, help="also write every answer as JSON here")
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    args = parser.parse_args(argv)
    os.environ["KOOPMATCH_EMBEDDING_MODEL"] = args.encoder
    os.environ.setdefault("KOOPMATCH_HOUSEKEEPING_MINUTES", "0")
    if args.pool:
        os.environ[POOL_ENV] = str(args.pool)
    load_before = os.getloadavg()
    started = time.perf_counter()
    began = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="koopmatch-agree-") as tmp:
        answers, seconds = run(
            args.states, args.sets, args.port, Path(tmp), Path(tmp) / "server.log"
        )
    load_after = os.getloadavg()
    if args.answers:
        args.answers.write_text(json.dumps(answers, ensure_ascii=False))
    command = "nice -n 10 python -m benchmarks.backend_agreement" + "".join(
        [
            f" --encoder {args.encoder}" if args.encoder != "default" else "",
            f" --pool {args.pool}" if args.pool else "",
            f" --sets {' '.join(args.sets)}" if len(args.sets) < 2 else "",
            f" --states {' '.join(args.states)}" if len(args.states) < 2 else "",
        ]
    )
    pool = f"candidate pool {args.pool}" if args.pool else "the default candidate pool (300)"
    header = "\n".join(
        [
            f"### SQLite against PostgreSQL (pgvector), encoder {args.encoder}, {pool}",
            "",
            f"Measured {began}-{time.strftime('%H:%M UTC', time.gmtime())}: `{command}` on "
            f"{machine()}, shared; load average {load_before[0]:.1f} at the start "
            f"and {load_after[0]:.1f} at the end; whole run "
            f"{(time.perf_counter() - started) / 60:.1f} min. Each data set imported with "
            "`koopmatch import` into SQLite and into PostgreSQL 18 + pgvector (pgserver), served "
            "by uvicorn on 127.0.0.1, every query asked over HTTP with `limit` "
            f"{ASK}; the first {TOP} compared by external id.",
        ]
    )
    text = report(answers, header, args.detail)
    print(text)
    for k, v in seconds.items():
        print(f"{k}: {v:.1f} s")
    if not args.no_write:
        from benchmarks.api_quality import write_section

        if not RESULTS.exists():
            RESULTS.write_text("## Rankings on SQLite and on PostgreSQL\n\n")
        write_section(RESULTS, header.split("\n")[0], text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
