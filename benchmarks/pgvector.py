"""Candidate retrieval in PostgreSQL with pgvector at 100,000 and more organisations.

    python -m benchmarks.pgvector --orgs 100000 --queries 200 --out benchmarks/results/pgvector.md

A throwaway PostgreSQL (the `pgserver` package, with pgvector) in `--workdir`, the schema by
`alembic upgrade heads` (migration 0017: halfvec columns, triggers), then N synthetic
organisations bulk-loaded with binary COPY straight into the vector columns and the distinct
competence vectors (the triggers that decode stored bytes are switched off for the load, and
no float32 bytes are stored: this measures retrieval, not the in-process engine). Then the HNSW indexes of
`app.matches.pgvector` are built (timed), and `PgvectorRetriever` answers `--queries`
organisations' candidate queries (the engine's four sources, `candidate_pool` 300) under six
filters, in a child process whose RSS is that of a process that only retrieves.

Vectors (512 dimensions, as use-multilingual-v3): `--labels` distinct competence labels in
200 topics (a label is 0.7 its topic's direction plus 0.7 noise, so labels of one topic have
cosines around 0.5 and others around 0); each organisation has a topic (Zipf-like weights),
3 core competences of its topic and 3 needs of neighbouring topics, each one of the labels (so
equal labels share a vector, as in real data: about 900 distinct labels per 10,000
organisations there), and a profile vector of its cores' mean plus noise (unique per
organisation). Country, NACE division, employees, 3% private, 2% opted out of competitors.

Quality, against exact search over the same float32 vectors in the same run: recall@20 of the
profile source (HNSW on halfvec, iterative scan, with each filter) and of one need against
cores (ties counted: equal labels are equal vectors); and halfvec exact against float32 exact
(the same top 20?), which says whether half precision holds.

The HNSW graph: `--hnsw-m` and `--hnsw-ef-construction` (default: the production values of
`app.matches.pgvector`), built with `--maintenance-work-mem` and
`--max-parallel-maintenance-workers`; the build's notices (such as pgvector's "graph no longer
fits into maintenance_work_mem") are reported. `--profile-only`: a reduced build, organisations,
their profile index and the distinct competence vectors, but no competence rows (the candidate
query then runs its competence scans over nothing: its times are not those of the full query;
the profile source's own times and recall are).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import platform
import shutil
import struct
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from app.matches.pgvector import HNSW_EF_CONSTRUCTION, HNSW_M

DIM = 512
TOPICS = 200
MODEL = "synthetic-512"
POOL = 300
K = 20
COUNTRIES = (
    ["DE"] * 40 + ["AT"] * 10 + ["CH"] * 8 + ["FR"] * 8 + ["NL"] * 6 + ["PL"] * 6 + ["IT"] * 6
)
COUNTRIES += ["BE", "CZ", "DK", "ES", "SE", "FI", "HU", "SK", "SI", "PT", "IE", "RO"] * 1
RARE = "MT"  # 0.1% of organisations
DIVISIONS = ["10", "20", "22", "25", "26", "27", "28", "29", "33", "43", "46", "62", "71", "72"]


@dataclass(frozen=True)
class Build:
    """How the database is built: the HNSW graph's parameters, the memory and workers of the
    build, and whether competence rows are loaded."""

    m: int = HNSW_M
    ef_construction: int = HNSW_EF_CONSTRUCTION
    maintenance_work_mem: str = "2GB"
    workers: int = 1
    competences: bool = True

    def suffix(self) -> str:
        """The kept data directory's suffix: empty for the full build with the production
        graph (`benchmarks.scale_pg` shares that directory; a directory kept with an earlier
        production graph is rebuilt by its migration when reused)."""
        graph = (self.m, self.ef_construction) != (HNSW_M, HNSW_EF_CONSTRUCTION)
        return (f"-m{self.m}-ef{self.ef_construction}" if graph else "") + (
            "" if self.competences else "-profile"
        )


@dataclass
class Data:
    labels: np.ndarray  # (L, d) float32 unit
    org_country: np.ndarray  # (n,) str
    org_nace: np.ndarray  # (n,) str
    org_employees: np.ndarray
    org_private: np.ndarray  # (n,) bool
    org_hidden: np.ndarray  # (n,) bool: hide_from_competitors
    profile: np.ndarray  # (n, d) float32 unit
    comp_org: np.ndarray  # (m,) row index of the organisation
    comp_core: np.ndarray  # (m,) bool
    comp_label: np.ndarray  # (m,) label index


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def synthesize(n: int, n_labels: int, seed: int = 7) -> Data:
    rng = np.random.default_rng(seed)
    centres = _unit(rng.standard_normal((TOPICS, DIM)))
    label_topic = np.arange(n_labels) % TOPICS
    labels = _unit(0.7 * centres[label_topic] + 0.7 * _unit(rng.standard_normal((n_labels, DIM))))
    per_topic = [np.flatnonzero(label_topic == t) for t in range(TOPICS)]
    topic_w = 1.0 / np.arange(1, TOPICS + 1) ** 0.6
    topic = rng.choice(TOPICS, size=n, p=topic_w / topic_w.sum())
    comp_org = np.repeat(np.arange(n), 6)
    comp_core = np.tile(np.array([True] * 3 + [False] * 3), n)
    comp_label = np.empty(6 * n, dtype=np.int64)
    for i in range(6):
        t = topic if i < 3 else (topic + rng.integers(1, 6, size=n)) % TOPICS
        # popular labels first within a topic (Zipf-like)
        choice = np.minimum(rng.zipf(1.6, size=n) - 1, 10_000)
        comp_label[i::6] = [
            per_topic[tt][c % len(per_topic[tt])] for tt, c in zip(t, choice, strict=True)
        ]
    profile = np.empty((n, DIM), dtype=np.float32)
    for lo in range(0, n, 50_000):  # in slices: float32 throughout, bounded memory
        hi = min(n, lo + 50_000)
        cores = labels[comp_label.reshape(n, 6)[lo:hi, :3]].mean(axis=1)
        noise = _unit(rng.standard_normal((hi - lo, DIM), dtype=np.float32))
        profile[lo:hi] = _unit(_unit(cores) + 0.5 * noise)
    division = np.array(DIVISIONS)[topic % len(DIVISIONS)]
    nace = np.char.add(np.char.add(division, "."), rng.integers(10, 99, size=n).astype(str))
    country = np.array(COUNTRIES)[rng.integers(0, len(COUNTRIES), size=n)]
    country[rng.random(n) < 0.001] = RARE
    return Data(
        labels=labels,
        org_country=country,
        org_nace=nace,
        org_employees=rng.integers(1, 500, size=n),
        org_private=rng.random(n) < 0.03,
        org_hidden=rng.random(n) < 0.02,
        profile=profile,
        comp_org=comp_org,
        comp_core=comp_core,
        comp_label=comp_label,
    )


# ---------------------------------------------------------------------- binary COPY
_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)


def _halfvec(v: np.ndarray) -> bytes:
    """pgvector's binary halfvec: int16 dim, int16 unused, big-endian float16 values."""
    return struct.pack("!hh", len(v), 0) + np.asarray(v, dtype=">f2").tobytes()


def _field(b: bytes | None) -> bytes:
    return struct.pack("!i", -1) if b is None else struct.pack("!i", len(b)) + b


def load(url: str, data: Data, *, competences: bool = True) -> dict[str, float]:
    import psycopg

    n = len(data.profile)
    now = struct.pack("!q", int((time.time() - 946_684_800) * 1_000_000))  # since 2000-01-01
    times: dict[str, float] = {}
    with psycopg.connect(url) as conn:
        conn.execute("ALTER TABLE organizations DISABLE TRIGGER km_profile_vec")
        conn.execute("ALTER TABLE competences DISABLE TRIGGER km_competence_vector")
        start = time.perf_counter()
        cols = (
            "id, name, country, nace_code, employees, visibility, cooperation_interests, "
            "disclosure, hide_from_competitors, version, created_at, modified_at, "
            "embedding_model, profile_vec"
        )
        model = MODEL.encode()
        with conn.cursor().copy(f"COPY organizations ({cols}) FROM STDIN (FORMAT binary)") as cp:
            cp.write(_HEADER)
            rows = []
            for i in range(n):
                rows.append(
                    struct.pack("!h", 14)
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
                    + _field(_halfvec(data.profile[i]))
                )
                if len(rows) >= 5000:
                    cp.write(b"".join(rows))
                    rows = []
            cp.write(b"".join(rows) + struct.pack("!h", -1))
        times["copy_organizations_s"] = time.perf_counter() - start
        start = time.perf_counter()
        copy_competences(conn, data, model, with_bytes=False, rows=competences)
        times["copy_competences_s"] = time.perf_counter() - start
        conn.execute("ALTER TABLE organizations ENABLE TRIGGER km_profile_vec")
        conn.execute("ALTER TABLE competences ENABLE TRIGGER km_competence_vector")
        conn.execute("SELECT setval('organizations_id_seq', %s)", (n,))
    return times


def copy_competences(
    conn: Any, data: Data, model: bytes, *, with_bytes: bool, rows: bool = True
) -> None:
    """COPY the distinct label vectors into `competence_vectors` and (`rows`) every competence
    row pointing at its vector (the trigger that would decode stored bytes is off during the
    load); `with_bytes`: the competences also carry their float32 bytes, as the in-process
    engine reads them."""
    with conn.cursor().copy(
        "COPY competence_vectors (id, embedding_model, digest, vec) FROM STDIN (FORMAT binary)"
    ) as cp:
        cp.write(_HEADER)
        cp.write(
            b"".join(
                struct.pack("!h", 4)
                + _field(struct.pack("!i", i + 1))
                + _field(model)
                + _field(hashlib.sha256(v.astype("<f4").tobytes()).digest())
                + _field(_halfvec(v))
                for i, v in enumerate(data.labels)
            )
            + struct.pack("!h", -1)
        )
    if not rows:
        return
    label_id = [_field(struct.pack("!i", i + 1)) for i in range(len(data.labels))]
    label_text = [_field(f"label {i}".encode()) for i in range(len(data.labels))]
    label_blob = [_field(v.astype("<f4").tobytes()) if with_bytes else b"" for v in data.labels]
    cols = "organization_id, kind, label, embedding_model, " + (
        "embedding, vector_id" if with_bytes else "vector_id"
    )
    width = struct.pack("!h", 6 if with_bytes else 5)
    with conn.cursor().copy(f"COPY competences ({cols}) FROM STDIN (FORMAT binary)") as cp:
        cp.write(_HEADER)
        batch = []
        for org, core, lab in zip(
            data.comp_org.tolist(), data.comp_core.tolist(), data.comp_label.tolist(), strict=True
        ):
            batch.append(
                width
                + _field(struct.pack("!i", org + 1))
                + _field(b"core" if core else b"complementary")
                + label_text[lab]
                + _field(model)
                + label_blob[lab]
                + label_id[lab]
            )
            if len(batch) >= 20000:
                cp.write(b"".join(batch))
                batch = []
        cp.write(b"".join(batch) + struct.pack("!h", -1))


def kept_server(
    n: int,
    n_labels: int,
    keep: Path | None,
    workdir: Path | None,
    *,
    prefix: str,
    suffix: str = "",
) -> tuple[Any, Path]:
    """A PostgreSQL server for `n` organisations: with `keep`, in
    `keep/pgv{n}-{n_labels}{suffix}`, kept for later runs (`benchmarks.pgvector` and
    `benchmarks.scale_pg` share it); else in a temporary directory deleted at its end."""
    import pgserver

    if keep is not None:
        data_dir = keep / f"pgv{n}-{n_labels}{suffix}"
        data_dir.mkdir(parents=True, exist_ok=True)
        return pgserver.get_server(data_dir, cleanup_mode=None), data_dir
    data_dir = Path(tempfile.mkdtemp(prefix=f"{prefix}{n}-", dir=workdir))
    return pgserver.get_server(data_dir, cleanup_mode="delete"), data_dir


def migrated_urls(server: Any, settings: dict[str, str]) -> tuple[str, str]:
    """Set `settings` (ALTER SYSTEM: they apply from the server's next start), migrate, and
    return the SQLAlchemy URL and the plain libpq URL."""
    from alembic import command

    from app.cli import alembic_config

    for name, value in settings.items():
        server.psql(f"ALTER SYSTEM SET {name} = '{value}'")
    rest = server.get_uri().split("://", 1)[1]
    url = "postgresql+psycopg://" + rest
    command.upgrade(alembic_config(url), "heads")
    return url, "postgresql://" + rest


def reused(
    result: dict[str, Any], data_dir: Path, plain: str, n: int, build: Build | None = None
) -> bool:
    """Whether `data_dir` holds a database built by an earlier run; then its build figures go
    into `result` and its indexes are made sure of."""
    built = data_dir / BUILT
    if not built.exists():
        return False
    result.update(json.loads(built.read_text()))
    result["reused"] = str(data_dir)
    result.update(build_indexes(plain, timed=False, build=build))
    print(f"{n}: reused {data_dir}", flush=True)
    return True


def build_indexes(url: str, *, timed: bool = True, build: Build | None = None) -> dict[str, Any]:
    """Builds the missing HNSW indexes (timed unless `timed` is false) as `build` says, then
    sizes; the server's notices during the builds under "build_notices"."""
    import psycopg

    from app.matches.pgvector import index_name, index_statements

    build = build or Build()
    times: dict[str, Any] = {}
    notices: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.add_notice_handler(lambda d: notices.append(str(d.message_primary)))
        conn.execute(f"SET maintenance_work_mem = '{build.maintenance_work_mem}'")
        conn.execute(f"SET max_parallel_maintenance_workers = {int(build.workers)}")
        for statement in index_statements(
            MODEL, DIM, m=build.m, ef_construction=build.ef_construction
        ):
            table = statement.split(" ON ")[1].split()[0]
            name = index_name(table, MODEL, DIM)
            options = conn.execute(
                "SELECT reloptions FROM pg_class WHERE relname = %s", (name,)
            ).fetchone()
            found = sorted(options[0] or []) if options else None
            wanted = sorted([f"m={build.m}", f"ef_construction={build.ef_construction}"])
            rebuilt = found is not None and found != wanted
            if rebuilt:
                # a kept database whose index a migration rebuilt with another graph
                conn.execute(f"DROP INDEX {name}")
                times[f"rebuilt_{table}_graph_was"] = ", ".join(found or [])
            start = time.perf_counter()
            conn.execute(statement)
            if rebuilt:
                times[f"rebuilt_hnsw_{table}_s"] = time.perf_counter() - start
                times["rebuild_notices"] = notices
            elif timed:
                times[f"hnsw_{table}_s"] = time.perf_counter() - start
                times["build_notices"] = notices
        conn.execute("VACUUM ANALYZE organizations")
        conn.execute("VACUUM ANALYZE competences")
        for name in ("organizations", "competences", "competence_vectors"):
            size = conn.execute("SELECT pg_total_relation_size(%s)", (name,)).fetchone()
            times[f"{name}_total_gb"] = int(size[0]) / 1e9 if size else 0.0
        for row in conn.execute(
            "SELECT indexname, pg_relation_size(indexname::regclass) FROM pg_indexes "
            "WHERE indexname LIKE '%hnsw%'"
        ):
            times[f"{row[0].split('_hnsw')[0]}_hnsw_gb"] = int(row[1]) / 1e9
        times["hnsw_indexdef"] = [
            str(row[0])
            for row in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname LIKE '%hnsw%' ORDER BY indexname"
            )
        ]
    return times


# ---------------------------------------------------------------------- queries
FILTERS = (
    "none",
    "country DE",
    "country AT",
    f"country {RARE}",
    "NACE division",
    "exclude 200 ids",
)


def filters_of(kind: str, data: Data, qrow: int, rng: np.random.Generator) -> dict[str, Any]:
    if kind.startswith("country "):
        return {"countries": [kind.split()[1]]}
    if kind == "NACE division":
        own = str(data.org_nace[qrow])[:2]
        return {"nace_include": [d for d in DIVISIONS if d != own][:1]}
    if kind.startswith("exclude"):
        return {"exclude_ids": (rng.choice(len(data.profile), 200, replace=False) + 1).tolist()}
    return {}


def allowed_mask(data: Data, f: dict[str, Any]) -> np.ndarray:
    ok = ~data.org_private
    if "countries" in f:
        ok &= np.isin(data.org_country, f["countries"])
    if "nace_include" in f:
        ok &= np.char.startswith(np.char.replace(data.org_nace, ".", ""), f["nace_include"][0])
    if "exclude_ids" in f:
        ok[np.asarray(f["exclude_ids"]) - 1] = False
    return ok


def _child(url: str, jobs: list[dict[str, Any]], out: Any) -> None:
    """Times the retriever on each job; the answers and this process's RSS go to `out`."""
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.matches.pgvector import PgvectorRetriever
    from matching.retrieval import QueryVectors
    from matching.types import Filters

    engine = make_engine(url)
    results = []
    for job in jobs:
        f = job["filters"]
        filters = Filters(
            countries=frozenset(f.get("countries", ())),
            nace_include=tuple(f.get("nace_include", ())),
            exclude_ids=frozenset(f.get("exclude_ids", ())) | {job["org_id"]},
        )
        query = QueryVectors(
            np.asarray(job["needs"], np.float32),
            np.asarray(job["cores"], np.float32),
            np.asarray(job["profile"], np.float32),
            job["org_id"],
        )
        with Session(engine) as session, session.begin():
            retriever = PgvectorRetriever(session, MODEL)
            start = time.perf_counter()
            found = retriever.candidates(query, POOL, filters)
            elapsed = time.perf_counter() - start
        with Session(engine) as session, session.begin():
            retriever = PgvectorRetriever(session, MODEL)
            # the two sources alone, with k = 20, as `candidates` runs them
            profile = np.asarray(job["profile"], np.float32)
            plan = retriever.plan(filters, profile)
            none = np.zeros((0, DIM), np.float32)
            start = time.perf_counter()
            if plan.exact:
                by_profile = QueryVectors(none, none, profile)
                prof = [(o, 1 - d) for _, o, d in retriever._exact_rows(by_profile, K, filters)]
                profile_s = time.perf_counter() - start
                by_need = QueryVectors(query.needs[:1], none, None)
                need = [(o, 1 - d) for _, o, d in retriever._exact_rows(by_need, K, filters)]
            else:
                prof = retriever.nearest("organizations", "", [(profile, K)], DIM, filters, plan)
                profile_s = time.perf_counter() - start
                need = retriever.nearest(
                    "competences", "c.kind = 'core'", [(query.needs[0], K)], DIM, filters, plan
                )
        results.append(
            {
                "ms": elapsed * 1000,
                "profile_ms": profile_s * 1000,
                "n_candidates": len(found.ids),
                "candidates": found.ids.tolist(),
                "profile_top": [o for o, _ in prof],
                "need_top_sims": [s for _, s in need],
                "exact": plan.exact,
                "passing": plan.passing,
            }
        )
    rss = psutil.Process().memory_info().rss
    engine.dispose()
    out.put((results, rss))


def server_rss(data_dir: Path) -> tuple[float, float]:
    """(sum of RSS, sum of PSS) over the server's processes, in GB. The RSS sum counts the
    shared buffers once per process that touched them; PSS shares them out."""
    pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    main = psutil.Process(pid)
    procs = [main, *main.children(recursive=True)]
    rss, pss = [], []
    for p in procs:
        try:
            info = p.memory_full_info()
        except psutil.NoSuchProcess:  # a backend that ended meanwhile
            continue
        rss.append(info.rss)
        pss.append(getattr(info, "pss", info.rss))
    return sum(rss) / 1e9, sum(pss) / 1e9


BUILT = "koopmatch-built.json"  # in a kept data directory: the load and build of that run


def run(
    n: int,
    n_labels: int,
    n_queries: int,
    workdir: Path,
    keep: Path | None = None,
    build: Build | None = None,
) -> dict[str, Any]:
    """`keep`: the server's data directory for N organisations is `keep/pgv<N>-<labels>`, left
    running after the run; a later run with the same `keep` reuses its rows and indexes
    (migrations newer than the kept schema are applied, missing indexes built) and reports
    the load and build times of the run that made them."""

    build = build or Build()
    result: dict[str, Any] = {"orgs": n, "labels": n_labels, "queries": n_queries}
    result["build"] = vars(build)
    start = time.perf_counter()
    data = synthesize(n, n_labels)
    result["synthesize_s"] = time.perf_counter() - start
    result["distinct_labels_used"] = len(np.unique(data.comp_label))
    server, data_dir = kept_server(n, n_labels, keep, workdir, prefix="pgv", suffix=build.suffix())
    built = data_dir / BUILT
    try:
        url, plain = migrated_urls(server, {"shared_buffers": "1GB", "work_mem": "32MB"})
        if not reused(result, data_dir, plain, n, build):
            made = {"built_at": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"}
            made.update(load(plain, data, competences=build.competences))
            print(f"{n}: loaded {made}", flush=True)
            made.update(build_indexes(plain, build=build))
            made["load_average_after_build"] = os.getloadavg()[0]
            print(f"{n}: indexed {made}", flush=True)
            result.update(made)
            if keep is not None:
                built.write_text(json.dumps(made))
        result["server_rss_after_build_gb"] = server_rss(data_dir)
        result["shared_buffers"] = server.psql("SHOW shared_buffers").split()[2]
        if not n_queries:  # build only (with --keep: for later runs)
            return result
        rng = np.random.default_rng(1)
        public = np.flatnonzero(~data.org_private)
        rows = rng.choice(public, n_queries, replace=False)
        jobs = []
        for i, r in enumerate(rows.tolist()):
            labs = data.comp_label[r * 6 : r * 6 + 6]
            kind = FILTERS[i % len(FILTERS)]
            jobs.append(
                {
                    "org_id": r + 1,
                    "kind": kind,
                    "filters": filters_of(kind, data, r, rng),
                    "needs": data.labels[labs[3:]].tolist(),
                    "cores": data.labels[labs[:3]].tolist(),
                    "profile": data.profile[r].tolist(),
                }
            )
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        # a warm-up pass (index pages into memory), then the measured pass
        for phase in ("warm", "measured"):
            child = ctx.Process(target=_child, args=(url, jobs, queue))
            child.start()
            peak = [0.0]
            done = threading.Event()

            def sample(peak: list[float] = peak, done: threading.Event = done) -> None:
                while not done.wait(0.5):
                    peak[0] = max(peak[0], server_rss(data_dir)[1])

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            answers, child_rss = queue.get()
            child.join()
            done.set()
            sampler.join()
            result[f"{phase}_server_pss_peak_gb"] = peak[0]
            result[f"{phase}_retrieval_process_rss_gb"] = child_rss / 1e9
        result["server_rss_after_queries_gb"] = server_rss(data_dir)
        result.update(evaluate(data, jobs, answers))
    finally:
        if keep is None:
            server.cleanup()
            shutil.rmtree(data_dir, ignore_errors=True)
    return result


def evaluate(data: Data, jobs: list[dict[str, Any]], answers: list[dict[str, Any]]) -> dict:
    out: dict[str, Any] = {}
    half = data.profile.astype(np.float16).astype(np.float32)
    core_rows = np.flatnonzero(data.comp_core)
    for kind in FILTERS:
        picked = [(j, a) for j, a in zip(jobs, answers, strict=True) if j["kind"] == kind]
        ms = np.array([a["ms"] for _, a in picked])
        profile_ms = np.array([a["profile_ms"] for _, a in picked])
        recall, need_recall, half_same, sizes = [], [], [], []
        exact: list[bool] = []
        passing: list[int] = []
        for job, ans in picked:
            ok = allowed_mask(data, job["filters"])
            ok[job["org_id"] - 1] = False
            rows = np.flatnonzero(ok)
            q = np.asarray(job["profile"], np.float32)
            sims = (data.profile @ q)[rows]  # one product over all, then the filter
            top = rows[np.argsort(-sims)[:K]] + 1
            k = min(K, len(rows))
            recall.append(len(set(top.tolist()) & set(ans["profile_top"])) / max(k, 1))
            hsims = (half @ q.astype(np.float16).astype(np.float32))[rows]
            htop = rows[np.argsort(-hsims)[:K]] + 1
            half_same.append(len(set(htop.tolist()) & set(top.tolist())) / max(k, 1))
            # one need against cores: equal labels tie, so a hit is any row as near as the
            # k-th nearest (within half precision)
            cores = core_rows[ok[data.comp_org[core_rows]]]
            csims = np.sort((data.labels @ np.asarray(job["needs"][0]))[data.comp_label[cores]])
            kth = csims[-min(K, len(csims))] if len(csims) else 1.0
            got = np.asarray(ans["need_top_sims"])
            need_recall.append(
                min(1.0, float((got >= kth - 2e-3).sum()) / max(min(K, len(csims)), 1))
            )
            sizes.append(ans["n_candidates"])
            exact.append(bool(ans.get("exact")))
            passing.append(int(ans.get("passing", 0)))
        out[kind] = {
            "queries": len(picked),
            "p50_ms": float(np.percentile(ms, 50)),
            "p95_ms": float(np.percentile(ms, 95)),
            "profile_p50_ms": float(np.percentile(profile_ms, 50)),
            "profile_p95_ms": float(np.percentile(profile_ms, 95)),
            "candidates_median": float(np.median(sizes)),
            "profile_recall_at_20": float(np.mean(recall)),
            "need_core_recall_at_20": float(np.mean(need_recall)),
            "halfvec_same_top20": float(np.mean(half_same)),
            "exact_share": float(np.mean(exact)),
            "passing_median": float(np.median(passing)),
        }
    all_ms = np.array([a["ms"] for a in answers])
    out["all"] = {
        "p50_ms": float(np.percentile(all_ms, 50)),
        "p95_ms": float(np.percentile(all_ms, 95)),
    }
    return out


def markdown(result: dict[str, Any], command: str) -> str:
    lines = [
        f"### {result['orgs']:,} organisations",
        "",
        f"`{command}`, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores "
        f"({platform.processor() or platform.machine()}), load average "
        f"{os.getloadavg()[0]:.1f} at the end; {result['labels']:,} labels "
        f"({result['distinct_labels_used']:,} used), "
        f"{6 * result['orgs'] if result['build']['competences'] else 0:,} competence rows"
        + (
            f"; rows and indexes of a kept server built {result['built_at']} (load average "
            f"{result.get('load_average_after_build', float('nan')):.1f} after the build), "
            "reused"
            if result.get("reused")
            else ""
        )
        + f"; shared_buffers {result.get('shared_buffers', '?')}.",
        "",
        "HNSW m {m}, ef_construction {ef_construction}, built with maintenance_work_mem "
        "{maintenance_work_mem} and max_parallel_maintenance_workers {workers}".format(
            **result["build"]
        )
        + ("" if result["build"]["competences"] else "; reduced build: no competence rows")
        + "; build notices: "
        + ("; ".join(result.get("build_notices") or []) or "none")
        + ".",
        "",
        "| step | value |",
        "|---|---|",
    ]
    for key in (
        "copy_organizations_s",
        "copy_competences_s",
        "hnsw_organizations_s",
        "hnsw_competence_vectors_s",
        "organizations_total_gb",
        "competences_total_gb",
        "competence_vectors_total_gb",
        "ix_organizations_hnsw_gb",
        "ix_competence_vectors_hnsw_gb",
        "server_rss_after_build_gb",
        "server_rss_after_queries_gb",
        "measured_server_pss_peak_gb",
        "measured_retrieval_process_rss_gb",
        "rebuilt_organizations_graph_was",
        "rebuilt_hnsw_organizations_s",
        "rebuilt_competence_vectors_graph_was",
        "rebuilt_hnsw_competence_vectors_s",
    ):
        if key.startswith("rebuilt") and key not in result:
            continue
        value = result.get(key)
        if isinstance(value, list | tuple):
            text = f"{value[0]:.2f} (RSS sum) / {value[1]:.2f} (PSS sum)"
        elif isinstance(value, float):
            text = f"{value:.2f}"
        else:
            text = str(value)
        lines.append(f"| {key} | {text} |")
    lines += [
        "",
        "| filter | queries | passing (median) | exact path | candidates (median) | p50 ms | "
        "p95 ms | profile source p50 / p95 ms | profile recall@20 | need->core recall@20 | "
        "halfvec exact top 20 overlap with float32 exact |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in FILTERS:
        r = result[kind]
        lines.append(
            f"| {kind} | {r['queries']} | {r['passing_median']:,.0f} | "
            f"{r['exact_share']:.0%} | {r['candidates_median']:.0f} | {r['p50_ms']:.1f} | "
            f"{r['p95_ms']:.1f} | {r['profile_p50_ms']:.1f} / {r['profile_p95_ms']:.1f} | "
            f"{r['profile_recall_at_20']:.3f} | "
            + (
                f"{r['need_core_recall_at_20']:.3f}"
                if result["build"]["competences"]
                else "(no competence rows)"
            )
            + f" | {r['halfvec_same_top20']:.3f} |"
        )
    a = result["all"]
    lines += ["", f"All queries: p50 {a['p50_ms']:.1f} ms, p95 {a['p95_ms']:.1f} ms.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orgs", type=int, nargs="+", default=[100_000])
    parser.add_argument("--labels", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="keep each server's data directory here, running, and reuse it in later runs",
    )
    parser.add_argument("--hnsw-m", type=int, default=None, help="default: production's")
    parser.add_argument("--hnsw-ef-construction", type=int, default=None)
    parser.add_argument("--maintenance-work-mem", default="2GB")
    parser.add_argument("--max-parallel-maintenance-workers", type=int, default=1)
    parser.add_argument(
        "--profile-only",
        action="store_true",
        default=None,
        help="reduced build: no competence rows (see above)",
    )
    args = parser.parse_args()

    build = Build(
        m=args.hnsw_m or HNSW_M,
        ef_construction=args.hnsw_ef_construction or HNSW_EF_CONSTRUCTION,
        maintenance_work_mem=args.maintenance_work_mem,
        workers=args.max_parallel_maintenance_workers,
        competences=not args.profile_only,
    )
    command = "python -m benchmarks.pgvector " + " ".join(
        f"--{k.replace('_', '-')}"
        + ("" if v is True else f" {' '.join(map(str, v)) if isinstance(v, list) else v}")
        for k, v in vars(args).items()
        if v is not None and k not in ("json", "out", "workdir", "keep")
    )
    args.workdir.mkdir(parents=True, exist_ok=True)
    for n in args.orgs:
        result = run(n, args.labels, args.queries, args.workdir, args.keep, build)
        if not args.queries:
            print(json.dumps(result, default=str), flush=True)
            continue
        text = markdown(result, command)
        print(text, flush=True)
        if args.json:
            with args.json.open("a") as f:
                f.write(json.dumps(result, default=str) + "\n")
        if args.out:
            with args.out.open("a") as f:
                f.write(text + "\n")


if __name__ == "__main__":
    main()
