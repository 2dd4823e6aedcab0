"""Matches over HTTP on PostgreSQL: per-request scoring against the in-process engine.

    python -m benchmarks.scale_pg --orgs 10000 100000 --workers 2

Per N: a throwaway PostgreSQL 18 with pgvector (`pgserver`), the schema by migrations, N
synthetic organisations bulk-loaded with binary COPY (`benchmarks.pgvector.synthesize`: 6
competences each, 3,000 distinct label vectors, 512 dimensions; float32 bytes and halfvec
copies, two known partners each in the same topic), HNSW indexes, then for each state
(`KOOPMATCH_MATCH_STATE=database`, then `memory`) a real server (`uvicorn --workers W` on
127.0.0.1, an encoder named as the stored vectors, so matches read only stored vectors):
the first match after start, matches p50 / p95 with one client and with 8, the server's CPU
time per request (its processes, not PostgreSQL's) and the RSS of every worker. The corpus
statistics of the database state are computed before its server starts
(`app.matches.stateless.refresh_stats`, timed). Baseline in the same run: exact numpy
top-20 over the stored profile vectors. Workers are stopped when one passes `--max-rss-gb`.
Only loopback traffic; everything lives in a temporary directory, or with `--keep DIR` in
`DIR/pgv<N>-<labels>`, left running and reused by later runs (the directory
`benchmarks.pgvector --keep` uses, so one large database serves both; a reused database gets
the newer migrations, and reports the load and build times of the run that made it).
`--states` without a value builds (and keeps) the database only. The PostgreSQL processes'
PSS and RSS sums are taken after each state's runs.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

from benchmarks.pgvector import (
    _HEADER,
    BUILT,
    DIM,
    MODEL,
    Data,
    _field,
    _halfvec,
    build_indexes,
    copy_competences,
    kept_server,
    migrated_urls,
    reused,
    server_rss,
)
from benchmarks.pgvector import synthesize as _synthesize
from benchmarks.scale import api_token, load, machine, pct

ROOT = Path(__file__).resolve().parents[1]
PARTNERS = 2  # known partners per organisation, in the same topic


class SyntheticEncoder:
    """An encoder named as the stored synthetic vectors (matches never encode; a typed
    search gets a deterministic unit vector per text)."""

    name = MODEL
    dim = DIM

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out


def server_app() -> Any:
    """`uvicorn --factory benchmarks.scale_pg:server_app`: the app with the synthetic encoder,
    and the server's garbage-collector policy as `app.asgi` applies it (KOOPMATCH_GC_*)."""
    from app.config import get_settings
    from app.gc_policy import GcPolicy
    from app.main import create_app

    return create_app(
        encoder=SyntheticEncoder(),  # type: ignore[arg-type]
        gc_policy=GcPolicy.from_settings(get_settings()),
    )


def synthesize(n: int, n_labels: int) -> Data:
    return _synthesize(n, n_labels)


def copy_load(url: str, data: Data) -> dict[str, float]:
    """Organisations, distinct vectors, competences and relationships by binary COPY, with
    the float32 bytes the engine reads and the halfvec copies retrieval reads."""
    import psycopg

    n = len(data.profile)
    now = struct.pack("!q", int((time.time() - 946_684_800) * 1_000_000))
    model = MODEL.encode()
    times: dict[str, float] = {}
    rng = np.random.default_rng(3)
    with psycopg.connect(url) as conn:
        conn.execute("ALTER TABLE organizations DISABLE TRIGGER km_profile_vec")
        conn.execute("ALTER TABLE competences DISABLE TRIGGER km_competence_vector")
        start = time.perf_counter()
        cols = (
            "id, name, country, nace_code, employees, visibility, cooperation_interests, "
            "disclosure, hide_from_competitors, version, created_at, modified_at, "
            "embedding_model, profile_embedding, profile_vec"
        )
        with conn.cursor().copy(f"COPY organizations ({cols}) FROM STDIN (FORMAT binary)") as cp:
            cp.write(_HEADER)
            rows = []
            for i in range(n):
                rows.append(
                    struct.pack("!h", 15)
                    + _field(struct.pack("!i", i + 1))
                    + _field(f"Org {i + 1}".encode())
                    + _field(str(data.org_country[i]).encode())
                    + _field(str(data.org_nace[i]).encode())
                    + _field(struct.pack("!i", int(data.org_employees[i])))
                    + _field(b"private" if data.org_private[i] else b"public")
                    + _field(b"[]")
                    + _field(b"{}")
                    + _field(b"\x01" if data.org_hidden[i] else b"\x00")
                    + _field(struct.pack("!i", 1))
                    + _field(now)
                    + _field(now)
                    + _field(model)
                    + _field(data.profile[i].astype("<f4").tobytes())
                    + _field(_halfvec(data.profile[i]))
                )
                if len(rows) >= 5000:
                    cp.write(b"".join(rows))
                    rows = []
            cp.write(b"".join(rows) + struct.pack("!h", -1))
        times["copy_organizations_s"] = time.perf_counter() - start
        start = time.perf_counter()
        copy_competences(conn, data, model, with_bytes=True)
        times["copy_competences_s"] = time.perf_counter() - start
        # known partners: PARTNERS per organisation among the organisations of its NACE code's
        # division (the synthetic topic), so the graph has neighbourhoods to walk
        start = time.perf_counter()
        division = np.array([str(x)[:2] for x in data.org_nace])
        by_div: dict[str, np.ndarray] = {d: np.flatnonzero(division == d) for d in set(division)}
        with conn.cursor().copy(
            "COPY relationships (organization_id, type, related_organization_id, name) "
            "FROM STDIN (FORMAT binary)"
        ) as cp:
            cp.write(_HEADER)
            rows = []
            for i in range(n):
                pool = by_div[division[i]]
                for j in rng.choice(pool, size=min(PARTNERS, len(pool)), replace=False).tolist():
                    if j == i:
                        continue
                    rows.append(
                        struct.pack("!h", 4)
                        + _field(struct.pack("!i", i + 1))
                        + _field(b"partner")
                        + _field(struct.pack("!i", j + 1))
                        + _field(f"Org {j + 1}".encode())
                    )
            cp.write(b"".join(rows) + struct.pack("!h", -1))
        times["copy_relationships_s"] = time.perf_counter() - start
        conn.execute("ALTER TABLE organizations ENABLE TRIGGER km_profile_vec")
        conn.execute("ALTER TABLE competences ENABLE TRIGGER km_competence_vector")
        conn.execute("SELECT setval('organizations_id_seq', %s)", (n,))
        conn.execute("ANALYZE relationships")
    return times


def refresh(url: str) -> dict[str, float]:
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.matches.stateless import refresh_stats

    engine = make_engine(url)
    start = time.perf_counter()
    before = psutil.Process().memory_info().rss
    with Session(engine) as session, session.begin():
        refresh_stats(session, MODEL)
    out = {
        "stats_refresh_s": time.perf_counter() - start,
        "stats_refresh_rss_gb": psutil.Process().memory_info().rss / 1e9,
        "stats_refresh_rss_before_gb": before / 1e9,
    }
    with engine.connect() as conn:
        from sqlalchemy import text

        out["hub_values_rows"] = float(
            conn.execute(text("SELECT count(*) FROM match_hub_values")).scalar_one()
        )
    engine.dispose()
    return out


class Server:
    """`uvicorn --workers W` on 127.0.0.1 with one match state."""

    def __init__(
        self, url: str, port: int, workers: int, state: str, log: Path, niceness: int = 10
    ) -> None:
        env = {
            **os.environ,
            "KOOPMATCH_DATABASE_URL": url,
            "KOOPMATCH_MATCH_STATE": state,
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        self.log = log.open("a")
        self.proc = subprocess.Popen(
            [
                *("nice", "-n", str(niceness), sys.executable, "-m", "uvicorn", "--factory"),
                "benchmarks.scale_pg:server_app",
                *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
                *("--log-level", "warning"),
                # as `koopmatch serve`: a worker fitting the engine holds the interpreter
                *("--timeout-worker-healthcheck", "300"),
            ],
            env=env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{port}"
        self.peak: dict[int, float] = {}
        self._done = threading.Event()
        self._watch = threading.Thread(target=self._sample, daemon=True)

    def workers(self) -> list[psutil.Process]:
        try:
            main = psutil.Process(self.proc.pid)
            found = [p for p in main.children(recursive=True) if "python" in p.name().lower()]
            # with one worker uvicorn serves from its own process (under `nice`, a child)
            return found or [main]
        except psutil.Error:
            return []

    def _sample(self) -> None:
        while not self._done.wait(0.5):
            for p in self.workers():
                try:
                    rss = p.memory_info().rss / 1e9
                except psutil.Error:
                    continue
                self.peak[p.pid] = max(self.peak.get(p.pid, 0.0), rss)
                if rss > self.max_rss_gb:
                    print(f"worker {p.pid} passed {self.max_rss_gb} GB: stopping", flush=True)
                    self.stop()
                    return

    def start(self, max_rss_gb: float) -> None:
        self.max_rss_gb = max_rss_gb
        self._watch.start()
        end = time.monotonic() + 300
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited")
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("server did not start")

    def rss(self) -> list[float]:
        out = []
        for p in self.workers():
            with contextlib.suppress(psutil.Error):
                out.append(p.memory_info().rss / 1e9)
        return sorted(out)

    def stop(self) -> None:
        self._done.set()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def free_port() -> int:
    """A port nobody listens on (other servers may run on this machine)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def numpy_baseline(data: Data, queries: Sequence[int], k: int = 20) -> dict[str, float]:
    """Exact top-k over the stored profile vectors (float32, one product per query)."""
    mat = np.ascontiguousarray(data.profile)
    lat = []
    for q in queries:
        start = time.perf_counter()
        sims = mat @ mat[q - 1]
        top = np.argpartition(-sims, k)[: k + 1]
        top[np.argsort(-sims[top])]
        lat.append((time.perf_counter() - start) * 1000)
    return {"numpy_top20_p50_ms": pct(lat, 50), "numpy_top20_p95_ms": pct(lat, 95)}


def measure(server: Server, token: str, queries: Sequence[int], requests: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, float] = {}
    start = time.perf_counter()
    with httpx.Client(base_url=server.base, headers=headers, timeout=1200) as client:
        r = client.get(f"/api/v1/organizations/{queries[0]}/matches?limit=10")
        if r.status_code != 200:
            raise RuntimeError(f"{r.status_code}: {r.text[:300]}")
    out["first_match_s"] = time.perf_counter() - start

    def call(org: int) -> Callable[[httpx.Client], httpx.Response]:
        return lambda c: c.get(f"/api/v1/organizations/{org}/matches?limit=10")

    # every worker answers once before the measured runs (the in-process state fits then)
    warm = [call(q) for q in queries[1:9]]
    load(server.base, token, warm, 8)
    calls = [call(q) for q in queries[9 : 9 + requests]]
    # the server's CPU time per request (its processes, not PostgreSQL's)
    one = load(server.base, token, calls, 1, server_pid=server.proc.pid)
    eight = load(server.base, token, calls, 8, server_pid=server.proc.pid)
    out.update(
        {
            "one_p50_ms": one["p50"],
            "one_p95_ms": one["p95"],
            "one_rps": one["rps"],
            "eight_p50_ms": eight["p50"],
            "eight_p95_ms": eight["p95"],
            "eight_rps": eight["rps"],
            "eight_vs_one": eight["rps"] / one["rps"],
            "one_server_cpu_ms": one["server_cpu_ms_per_req"],
            "eight_server_cpu_ms": eight["server_cpu_ms_per_req"],
        }
    )
    rss = server.rss()
    out["worker_rss_gb"] = max(rss) if rss else 0.0
    out["worker_rss_peak_gb"] = max(server.peak.values(), default=0.0)
    out["workers"] = float(len(rss))
    return out


def run(n: int, args: argparse.Namespace) -> dict[str, Any]:

    result: dict[str, Any] = {"orgs": n, "load_before": os.getloadavg()}
    start = time.perf_counter()
    data = synthesize(n, args.labels)
    result["synthesize_s"] = time.perf_counter() - start
    # with --keep the same directory as `benchmarks.pgvector --keep`: one database serves both
    server, data_dir = kept_server(n, args.labels, args.keep, args.workdir, prefix="kmpg")
    built = data_dir / BUILT
    try:
        url, plain = migrated_urls(server, {"shared_buffers": "1GB", "max_connections": "200"})
        if not reused(result, data_dir, plain, n):
            made: dict[str, Any] = {"built_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
            made.update(copy_load(plain, data))
            made.update(build_indexes(plain))
            made["load_average_after_build"] = os.getloadavg()[0]
            result.update(made)
            if args.keep is not None:
                built.write_text(json.dumps(made))
        print(f"{n}: loaded and indexed {result}", flush=True)
        token = api_token(url)
        rng = np.random.default_rng(11)
        public = np.flatnonzero(~data.org_private) + 1
        queries = rng.choice(public, 9 + args.requests, replace=False).tolist()
        result.update(numpy_baseline(data, queries[9:]))
        for state in args.states:
            if state == "database":
                result.update(refresh(url))
                print(f"{n}: statistics {result}", flush=True)
            port = args.port or free_port()
            srv = Server(
                url, port, args.workers, state, args.workdir / f"server-{n}.log", args.server_nice
            )
            try:
                srv.start(args.max_rss_gb)
                result[state] = measure(srv, token, queries, args.requests)
            except Exception as exc:  # a stopped server (memory bound) is a result too
                result[state] = {"error": str(exc)[:300], "peak": max(srv.peak.values(), default=0)}
            finally:
                srv.stop()
            result[f"load_after_{state}"] = os.getloadavg()
            # the PostgreSQL processes after the measured runs: (RSS sum, PSS sum) in GB
            result[f"postgres_after_{state}"] = server_rss(data_dir)
            print(f"{n}: {state} {result[state]}", flush=True)
    finally:
        if args.keep is None:
            server.cleanup()
            shutil.rmtree(data_dir, ignore_errors=True)
    return result


def markdown(results: Sequence[dict[str, Any]], command: str) -> str:
    lines = [
        f"`{command}` on {machine()}, PostgreSQL 18 with pgvector (pgserver), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| orgs | state | first match | 1 client p50 / p95 | 8 clients p50 / p95 | 8 vs 1 | "
        "worker RSS (peak) | PostgreSQL PSS (RSS) sum | load before / after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for state in ("database", "memory"):
            m = r.get(state)
            if m is None:
                continue
            load_s = f"{r['load_before'][0]:.1f} / {r.get(f'load_after_{state}', (0,))[0]:.1f}"
            pg = r.get(f"postgres_after_{state}")
            pg_s = f"{pg[1]:.2f} ({pg[0]:.2f}) GB" if pg else ""
            if "error" in m:
                lines.append(
                    f"| {r['orgs']:,} | {state} | stopped: {m['error']} | | | | "
                    f"{m['peak']:.2f} GB | {pg_s} | {load_s} |"
                )
                continue
            lines.append(
                f"| {r['orgs']:,} | {state} | {m['first_match_s']:.1f} s | "
                f"{m['one_p50_ms']:.0f} / {m['one_p95_ms']:.0f} ms | "
                f"{m['eight_p50_ms']:.0f} / {m['eight_p95_ms']:.0f} ms | "
                f"{m['eight_vs_one']:.2f}x | {m['worker_rss_gb']:.2f} ({m['worker_rss_peak_gb']:.2f}) GB"
                f" x {int(m['workers'])} | {pg_s} | {load_s} |"
            )
        lines.append(
            f"| {r['orgs']:,} | numpy exact top-20 (baseline) | | "
            f"{r['numpy_top20_p50_ms']:.1f} / {r['numpy_top20_p95_ms']:.1f} ms | | | | | |"
        )
    lines.append("")
    for r in results:
        for state in ("database", "memory"):
            m = r.get(state)
            if m is not None and "one_server_cpu_ms" in m:
                lines.append(
                    f"- {r['orgs']:,} {state}: server CPU per request "
                    f"{m['one_server_cpu_ms']:.1f} ms (1 client), "
                    f"{m['eight_server_cpu_ms']:.1f} ms (8 clients)"
                )
        if "stats_refresh_s" in r:
            lines.append(
                f"- {r['orgs']:,}: statistics refresh {r['stats_refresh_s']:.1f} s, "
                f"process RSS {r['stats_refresh_rss_gb']:.2f} GB, "
                f"{int(r['hub_values_rows']):,} hub values stored; COPY "
                f"{r['copy_organizations_s'] + r['copy_competences_s']:.1f} s, HNSW "
                f"{r.get('hnsw_organizations_s', 0) + r.get('hnsw_competence_vectors_s', 0):.1f} s"
            )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orgs", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--labels", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--states", nargs="*", default=["database", "memory"])
    parser.add_argument("--max-rss-gb", type=float, default=6.0)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--out", type=Path, default=None, help="append the table here")
    parser.add_argument(
        "--port", type=int, default=0, help="the servers' port on 127.0.0.1 (default: a free one)"
    )
    parser.add_argument(
        "--server-nice",
        type=int,
        default=10,
        help="the server's niceness added to this process's (0: the same priority)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="keep each server's data directory here, running, and reuse it in later runs",
    )
    args = parser.parse_args(argv)
    results = [run(n, args) for n in args.orgs]
    text = markdown(results, "python -m benchmarks.scale_pg " + " ".join(argv or sys.argv[1:]))
    print(text)
    if args.out is not None:
        with args.out.open("a", encoding="utf-8") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
