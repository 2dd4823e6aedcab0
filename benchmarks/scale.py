"""Scale benchmark: ingest against the raw encoder, and matches / search latency over HTTP.

    python -m benchmarks.scale ingest --orgs 2000
    python -m benchmarks.scale latency --orgs 10000 100000

`ingest` imports synthetic profiles like the demo's (about 6 competences each, labels drawn
from the demo's vocabulary) into a fresh SQLite database through the import service, and times
the raw encoder on the import's distinct texts in the same run.

`latency` seeds N organisations directly into a fresh SQLite database (competence vectors are
the encoder's vectors of their labels, so equal labels share a vector as they do in real data),
starts a real server (`uvicorn app.asgi:app`) on 127.0.0.1, and measures with one client and
with 8: matches of stored organisations and free-text searches (p50 / p95, throughput), the
first match after start, a write followed by the next match, and the server's RSS. Baselines in
the same run: exact numpy top-20 over the stored profile vectors, and a faiss HNSW index over
the same vectors (recall@20 against exact). The server is stopped when its RSS passes
`--max-rss-gb`. Only loopback traffic; everything lives in a temporary directory, or with
`--keep` in `WORKDIR/orgs-N`, where a database of N organisations is used again by the next
run (seeding 100,000 takes minutes), migrated to the current revisions first. The persisted
index written right after the first fit is waited for before anything is timed. With an admin's key every request sees everything; a
member of organisation 1 then asks for its own matches and searches (`member_*`), the path
that reads which relationships and addresses the caller may see.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seed_data" / "organizations.json"
KINDS = ("core", "core", "core", "complementary", "complementary", "peripheral")
COUNTRIES = ("DE", "DE", "DE", "AT", "CH", "FR", "NL", "PL", "IT")
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 16, 40, 128


# ---------------------------------------------------------------------- synthetic profiles
def vocabulary() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Distinct (label, description) competences of the demo, and its organisations."""
    orgs = json.loads(SEED.read_text(encoding="utf-8"))
    seen: dict[tuple[str, str | None], dict[str, Any]] = {}
    for o in orgs:
        for c in o["competences"]:
            seen.setdefault((c["label"], c.get("description")), c)
    return list(seen.values()), orgs


def synthetic(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """`n` import records: demo-like descriptions and NACE codes, 6 competences each."""
    rng = random.Random(seed)
    vocab, demo = vocabulary()
    out = []
    for i in range(n):
        model = demo[rng.randrange(len(demo))]
        picks = rng.sample(vocab, len(KINDS))
        out.append(
            {
                "external_id": f"SYN-{i:07d}",
                "name": f"{model['name'].split()[0]} {i} GmbH",
                "description": model.get("description"),
                "nace_code": model.get("nace_code"),
                "country": rng.choice(COUNTRIES),
                "city": model.get("city"),
                "latitude": round(47 + rng.random() * 7, 4),
                "longitude": round(6 + rng.random() * 9, 4),
                "employees": rng.randint(2, 400),
                "cooperation_interests": rng.sample(
                    ["data_sharing", "product_development", "purchasing_sales", "training"], 2
                ),
                "competences": [
                    {"kind": k, "label": c["label"], "description": c.get("description")}
                    for k, c in zip(KINDS, picks, strict=True)
                ],
            }
        )
    return out


def _distinct_texts(records: Sequence[dict[str, Any]]) -> list[str]:
    from app.embeddings import competence_text

    texts: dict[str, None] = {}
    for r in records:
        for c in r["competences"]:
            texts[competence_text(c["label"], c.get("description"))] = None
    for r in records:
        core = "; ".join(c["label"] for c in r["competences"] if c["kind"] == "core")
        parts = [r["name"], *([r["description"]] if r.get("description") else []), core]
        texts[". ".join(p for p in parts if p)] = None
    return list(texts)


def _fresh_sqlite(tmp: Path) -> str:
    from alembic import command
    from sqlalchemy.orm import Session

    from app.cli import alembic_config
    from app.db import make_engine
    from app.taxonomy.service import sync_taxonomy

    url = f"sqlite:///{tmp / 'bench.db'}"
    command.upgrade(alembic_config(url), "heads")
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        sync_taxonomy(session)
    engine.dispose()
    return url


# ---------------------------------------------------------------------- ingest
def run_ingest(n: int, spec: str) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.embeddings import BATCH
    from app.imports.service import run_import
    from matching.encoders import load_encoder

    encoder = load_encoder(spec)
    encoder.encode(["warm-up"])
    records = synthetic(n)
    distinct = _distinct_texts(records)
    n_texts = sum(len(r["competences"]) + 1 for r in records)

    start = time.perf_counter()
    for i in range(0, len(distinct), BATCH):
        encoder.encode(distinct[i : i + BATCH])
    raw = time.perf_counter() - start

    asked: list[int] = []

    class Counting:
        name, dim = encoder.name, encoder.dim

        def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
            asked.append(len(texts))
            return encoder.encode(texts)

    with tempfile.TemporaryDirectory(prefix="km-ingest-") as tmp:
        url = _fresh_sqlite(Path(tmp))
        engine = make_engine(url)
        data = json.dumps(records).encode()
        start = time.perf_counter()
        with Session(engine) as session:
            report = run_import(
                session,
                data=data,
                filename="orgs.json",
                encoder=Counting(),  # type: ignore[arg-type]
            )
            session.commit()
        imported = time.perf_counter() - start
        engine.dispose()
    return {
        "organisations": n,
        "texts": n_texts,
        "distinct_texts": len(distinct),
        "encoded_in_import": sum(asked),
        "created": report.created,
        "raw_encoder_s": raw,
        "import_s": imported,
        "ratio": imported / raw,
        "encoder": encoder.name,
    }


# ---------------------------------------------------------------------- seeding for latency
def seed_database(url: str, n: int, label_vecs: np.ndarray, vocab: list[dict[str, Any]]) -> None:
    """N organisations with competences, vectors and one partner each, by bulk inserts."""
    from sqlalchemy import insert

    from app.db import make_engine
    from app.embeddings import to_bytes
    from app.models import Competence, KnownRelationship, Organization
    from app.models.base import utcnow

    rng = np.random.default_rng(0)
    engine = make_engine(url)
    now = utcnow()
    name = "use-multilingual-v3"
    orgs_t, comps_t, rels_t = (
        Organization.__table__,
        Competence.__table__,
        KnownRelationship.__table__,
    )
    chunk = 5000
    with engine.begin() as conn:
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            orgs, comps, rels = [], [], []
            for i in range(lo, hi):
                picks = rng.choice(len(vocab), len(KINDS), replace=False)
                core = [p for p, k in zip(picks, KINDS, strict=True) if k == "core"]
                prof = label_vecs[core].mean(axis=0) + 0.05 * rng.standard_normal(
                    label_vecs.shape[1]
                )
                prof = prof / np.linalg.norm(prof)
                orgs.append(
                    {
                        "id": i + 1,
                        "external_id": f"SYN-{i:07d}",
                        "name": f"Firma {i} GmbH",
                        "nace_code": ["26.51", "22.29", "62.01", "28.41", "71.12"][i % 5],
                        "country": COUNTRIES[i % len(COUNTRIES)],
                        "latitude": 47 + float(rng.random()) * 7,
                        "longitude": 6 + float(rng.random()) * 9,
                        "employees": int(rng.integers(2, 400)),
                        "cooperation_interests": ["product_development"],
                        "visibility": "public",
                        "disclosure": {},
                        "hide_from_competitors": False,
                        "profile_embedding": to_bytes(prof),
                        "embedding_model": name,
                        "version": 1,
                        "created_at": now,
                        "modified_at": now,
                    }
                )
                for p, k in zip(picks, KINDS, strict=True):
                    comps.append(
                        {
                            "organization_id": i + 1,
                            "kind": k,
                            "label": vocab[p]["label"],
                            "embedding": to_bytes(label_vecs[p]),
                            "embedding_model": name,
                        }
                    )
                if i > 0:
                    j = int(rng.integers(0, i))
                    rels.append(
                        {
                            "organization_id": i + 1,
                            "type": "partner",
                            "related_organization_id": j + 1,
                            "name": f"Firma {j} GmbH",
                        }
                    )
            conn.execute(insert(orgs_t), orgs)
            conn.execute(insert(comps_t), comps)
            if rels:
                conn.execute(insert(rels_t), rels)
    engine.dispose()


def api_token(url: str, organization_id: int | None = None) -> str:
    """An API key of a new admin, or of a new member of `organization_id`."""
    import uuid

    from sqlalchemy.orm import Session

    from app.auth import service as auth_service
    from app.db import make_engine
    from app.models.user import Role, TokenKind, User

    engine = make_engine(url)
    role = Role.admin if organization_id is None else Role.member
    with Session(engine) as session, session.begin():
        user = User(
            email=f"bench-{uuid.uuid4().hex[:12]}@example.org",
            name="Bench",
            role=role.value,
            organization_id=organization_id,
            is_active=True,
        )
        session.add(user)
        session.flush()
        _, secret = auth_service.issue_token(
            session, user=user, kind=TokenKind.api_key, lifetime=dt.timedelta(days=1)
        )
    engine.dispose()
    return secret


# ---------------------------------------------------------------------- server and clients
def _proc_kb(path: str, field: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    return 0


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (a supervisor and its worker processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                todo.extend(int(c) for c in task.read_text().split())
    return out


def rss_gb(pid: int) -> float:
    """Resident memory of `pid` and its children, summed (pages they share count each time)."""
    return sum(_proc_kb(f"/proc/{p}/status", "VmRSS:") for p in _tree(pid)) / 1024 / 1024


def cpu_seconds(pid: int) -> dict[int, float]:
    """CPU time (user + system) of `pid` and each of its descendants, by process id."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for p in _tree(pid):
        try:
            # the fields after the command name, which may hold spaces: utime is the 12th
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        out[p] = (int(fields[11]) + int(fields[12])) / tick
    return out


def pss_gb(pid: int) -> float:
    """Proportional set size of `pid` and its children: a page shared by k processes counts
    1/k in each, so the sum is what they hold together."""
    return sum(_proc_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in _tree(pid)) / 1024 / 1024


class Server:
    def __init__(
        self,
        url: str,
        port: int,
        max_rss_gb: float,
        log: Path,
        index_dir: Path | None = None,
        workers: int = 1,
    ) -> None:
        env = {
            **os.environ,
            "KOOPMATCH_DATABASE_URL": url,
            "KOOPMATCH_EMBEDDING_MODEL": "use-multilingual",
        }
        if index_dir is not None:
            env["KOOPMATCH_INDEX_DIR"] = str(index_dir)
        self.log = log.open("a")
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "app.asgi:app"),
                *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
                # as `koopmatch serve --workers N`: processes that share the saved index
                *(
                    ("--workers", str(workers), "--timeout-worker-healthcheck", "300")
                    * (workers > 1)
                ),
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{port}"
        self.max_rss_gb = max_rss_gb
        self.workers = workers
        self.peak_rss_gb = 0.0
        self.killed = False
        self._stop = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while not self._stop.is_set() and self.proc.poll() is None:
            # with several workers the pages of the mapped index count once (PSS); reading
            # the PSS of processes that map gigabytes costs this (client) process CPU time
            # the server would otherwise get, so it is read every 5 s
            rss = rss_gb(self.proc.pid) if self.workers == 1 else pss_gb(self.proc.pid)
            self.peak_rss_gb = max(self.peak_rss_gb, rss)
            if rss > self.max_rss_gb:
                self.killed = True
                self.proc.kill()
                return
            self._stop.wait(0.5 if self.workers == 1 else 5.0)

    def wait_ready(self, timeout: float = 600) -> None:
        end = time.time() + timeout
        while time.time() < end:
            try:
                if httpx.get(self.base + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("server exited")
            time.sleep(0.5)
        raise RuntimeError("server did not start")

    def rss(self) -> float:
        return rss_gb(self.proc.pid)

    def pss(self) -> float:
        return pss_gb(self.proc.pid)

    def stop(self) -> None:
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def timed(client: httpx.Client, call: Callable[[httpx.Client], httpx.Response]) -> float:
    start = time.perf_counter()
    response = call(client)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
    return elapsed * 1000


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def load(
    base: str,
    token: str,
    calls: Sequence[Callable[[httpx.Client], httpx.Response]],
    clients: int,
    server_pid: int | None = None,
    *,
    split: bool = False,
) -> dict[str, Any]:
    """Run `calls` with `clients` concurrent clients; latencies (ms) and throughput (req/s).

    Each client takes the next call when its last one is answered, until none is left. With
    `split` each client has its fixed share of the calls instead (the measurement before
    2026-12-07 13:15 UTC): with several server processes a client's connection stays with the
    process that accepted it, and the clients of a process that accepted fewer connections
    finish their shares early and leave it idle while the other works through the rest.

    With `server_pid`: the CPU time per request of the server's processes and of this client
    process (on a machine of few cores the client's share is CPU the server does not get),
    the CPU seconds of each server process (how the requests spread over the workers), and
    the machine's load average at the end."""
    headers = {"Authorization": f"Bearer {token}"}
    per = [calls[i::clients] for i in range(clients)]
    pending = iter(calls)
    taking = threading.Lock()

    def worker(mine: Sequence[Callable[[httpx.Client], httpx.Response]]) -> list[float]:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            if split:
                return [timed(client, c) for c in mine]
            out = []
            while True:
                with taking:
                    call = next(pending, None)
                if call is None:
                    return out
                out.append(timed(client, call))

    server_before = cpu_seconds(server_pid) if server_pid is not None else {}
    client_before = sum(os.times()[:2])
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        lat = [x for part in pool.map(worker, per) for x in part]
    wall = time.perf_counter() - start
    out: dict[str, Any] = {
        "p50": pct(lat, 50),
        "p95": pct(lat, 95),
        "rps": len(lat) / wall,
        "max": max(lat),
        "n": len(lat),
    }
    if server_pid is not None:
        server_after = cpu_seconds(server_pid)
        used = {p: server_after[p] - server_before.get(p, 0.0) for p in server_after}
        out["server_cpu_ms_per_req"] = 1000 * sum(used.values()) / len(lat)
        out["client_cpu_ms_per_req"] = 1000 * (sum(os.times()[:2]) - client_before) / len(lat)
        out["server_cpu_s_by_process"] = sorted((round(v, 2) for v in used.values()), reverse=True)
        out["wall_s"] = wall
        out["load_end"] = os.getloadavg()[0]
    return out


def baselines(url: str, queries: int = 200, k: int = 20, *, hnsw: bool = True) -> dict[str, Any]:
    """Exact numpy top-k and faiss HNSW top-k over the stored profile vectors."""
    import faiss
    from sqlalchemy import select

    from app.db import make_engine
    from app.models import Organization

    engine = make_engine(url)
    with engine.connect() as conn:
        blobs = [
            b
            for (b,) in conn.execute(
                select(Organization.profile_embedding).order_by(Organization.id)
            )
        ]
    engine.dispose()
    mat = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)
    del blobs
    rng = np.random.default_rng(1)
    qs = mat[rng.choice(len(mat), queries, replace=False)] + 0.02 * rng.standard_normal(
        (queries, mat.shape[1])
    ).astype(np.float32)
    exact_t, exact_ids = [], []
    for q in qs:
        t = time.perf_counter()
        sims = mat @ q
        top = np.argpartition(-sims, k)[:k]
        top = top[np.argsort(-sims[top])]
        exact_t.append((time.perf_counter() - t) * 1000)
        exact_ids.append(set(top.tolist()))
    if not hnsw:
        return {"exact_p50": pct(exact_t, 50), "exact_p95": pct(exact_t, 95)}
    t = time.perf_counter()
    # the engine's own HNSW parameters (matching.engine.Matcher), so that the baseline is
    # the index a fitted engine searches: M 16, efConstruction 40, efSearch 128
    index = faiss.IndexHNSWFlat(mat.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.add(mat)
    build = time.perf_counter() - t
    index.hnsw.efSearch = HNSW_EF_SEARCH
    hnsw_t, recall = [], []
    for q, truth in zip(qs, exact_ids, strict=True):
        t = time.perf_counter()
        _, ids = index.search(q[None, :], k)
        hnsw_t.append((time.perf_counter() - t) * 1000)
        recall.append(len(truth & set(ids[0].tolist())) / k)
    return {
        "exact_p50": pct(exact_t, 50),
        "exact_p95": pct(exact_t, 95),
        "hnsw_build_s": build,
        "hnsw_p50": pct(hnsw_t, 50),
        "hnsw_p95": pct(hnsw_t, 95),
        "hnsw_recall": float(np.mean(recall)),
        "hnsw_params": f"M {HNSW_M}, efConstruction {HNSW_EF_CONSTRUCTION}, efSearch {HNSW_EF_SEARCH}",
    }


def _stored_count(url: str) -> int:
    from sqlalchemy import func, select

    from app.db import make_engine
    from app.models import Organization

    engine = make_engine(url)
    with engine.connect() as conn:
        count = int(conn.execute(select(func.count(Organization.id))).scalar_one())
    engine.dispose()
    return count


def run_latency(
    n: int,
    port: int,
    max_rss_gb: float,
    requests: int,
    workdir: Path,
    *,
    keep: bool = False,
    keep_index: bool = False,
    hnsw: bool = True,
    member: bool = True,
    workers: int = 1,
    baseline: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`keep`: the database lives in `workdir/orgs-N` and is kept; one found there with N
    organisations is used again instead of seeding. `keep_index`: a persisted index found there
    is kept too (the first match is then a restart, not a fit). `workers`: server processes
    (`uvicorn --workers`), which map the same saved index. `baseline`: the baselines measured
    for the same database earlier in this run (else measured here)."""
    import shutil

    from matching.encoders import load_encoder

    vocab, _ = vocabulary()
    result: dict[str, Any] = {
        "organisations": n,
        "workers": workers,
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_start": os.getloadavg()[0],
    }
    if keep:
        tmp = workdir / f"orgs-{n}"
        tmp.mkdir(parents=True, exist_ok=True)
    else:
        tmp = Path(tempfile.mkdtemp(prefix=f"km-scale-{n}-", dir=workdir))
    index_dir = tmp / "index"
    if not keep_index and index_dir.exists():
        shutil.rmtree(index_dir)
    db = tmp / "bench.db"
    url = f"sqlite:///{db}"
    if db.exists() and _stored_count(url) == n:
        result["seed_s"] = None  # reused, brought to the current revisions first
        from alembic import command

        from app.cli import alembic_config

        command.upgrade(alembic_config(url), "heads")
    else:
        for f in tmp.glob("bench.db*"):
            f.unlink()
        encoder = load_encoder("use-multilingual")
        label_vecs = np.asarray(encoder.encode([c["label"] for c in vocab]), dtype=np.float32)
        del encoder
        url = _fresh_sqlite(tmp)
        t = time.perf_counter()
        seed_database(url, n, label_vecs, vocab)
        result["seed_s"] = time.perf_counter() - t
    token = api_token(url)
    # a member of an organisation: its own matches and searches, which read what it may see
    member_token = api_token(url, organization_id=1) if member else None
    result["baseline"] = baseline if baseline is not None else baselines(url, hnsw=hnsw)
    server = Server(url, port, max_rss_gb, tmp / "server.log", index_dir, workers)
    try:
        server.wait_ready()
        result["rss_idle_gb"] = server.rss()
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base, headers=headers, timeout=3600) as client:
            t = time.perf_counter()
            client.get("/api/v1/organizations/1/matches").raise_for_status()
            result["first_match_s"] = time.perf_counter() - t
        result["first_match_kind"] = "restart" if keep_index else "fit"
        result["rss_fitted_gb"] = server.rss()
        # the persisted index is written right after a fit; let it finish before timing
        _wait_saved(index_dir, server)
        result["rss_after_save_gb"] = server.rss()
        if workers > 1:
            # every worker reads the saved index at its first request: not in the timings
            result["warmup_s"] = _warm_up(server.base, token, n, member_token)
        result["pss_before_timing_gb"] = server.pss()
        rng = random.Random(2)
        ids = [rng.randint(1, n) for _ in range(requests)]
        needs = [vocab[rng.randrange(len(vocab))]["label"] for _ in range(requests)]

        def match(i: int) -> Callable[[httpx.Client], httpx.Response]:
            return lambda c: c.get(f"/api/v1/organizations/{i}/matches", params={"limit": 20})

        def search(text: str) -> Callable[[httpx.Client], httpx.Response]:
            return lambda c: c.post("/api/v1/matches/search", json={"text": text, "limit": 20})

        pid = server.proc.pid
        result["matches_1"] = load(server.base, token, [match(i) for i in ids], 1, pid)
        result["matches_8"] = load(server.base, token, [match(i) for i in ids], 8, pid)
        result["search_1"] = load(server.base, token, [search(s) for s in needs], 1, pid)
        result["search_8"] = load(server.base, token, [search(s) for s in needs], 8, pid)
        # the same with each client's share of the calls fixed, as measured before
        result["matches_8_split"] = load(
            server.base, token, [match(i) for i in ids], 8, pid, split=True
        )
        result["search_8_split"] = load(
            server.base, token, [search(s) for s in needs], 8, pid, split=True
        )
        if member_token is not None:
            own = [match(1)] * (requests // 2)
            result["member_matches_1"] = load(server.base, member_token, own, 1)
            half = [search(s) for s in needs[: requests // 2]]
            result["member_search_1"] = load(server.base, member_token, half, 1)
        # a write, then at once the next match of another organisation
        after = []
        with httpx.Client(base_url=server.base, headers=headers, timeout=600) as client:
            for k in range(10):
                oid = rng.randint(1, n)
                body = {"competences": [{"kind": "core", "label": vocab[k]["label"]}]}
                client.patch(f"/api/v1/organizations/{oid}", json=body).raise_for_status()
                after.append(timed(client, match(rng.randint(1, n))))
        result["match_after_write_p50"] = pct(after, 50)
        result["match_after_write_max"] = max(after)
        result["rss_end_gb"] = server.rss()
        result["pss_end_gb"] = server.pss()
        result["rss_peak_before_restart_gb"] = server.peak_rss_gb
        # a restart: the first answer comes from the persisted index plus the writes since
        # it was written (the 10 above)
        server.stop()
        result["persisted_index_mb"] = _saved_bytes(index_dir) / 1e6
        server = Server(url, port, max_rss_gb, tmp / "server.log", index_dir, workers)
        server.wait_ready()
        with httpx.Client(base_url=server.base, headers=headers, timeout=3600) as client:
            t = time.perf_counter()
            client.get("/api/v1/organizations/1/matches").raise_for_status()
            result["first_match_after_restart_s"] = time.perf_counter() - t
        result["rss_after_restart_gb"] = server.rss()
        result["pss_after_restart_gb"] = server.pss()
        result["load_end"] = os.getloadavg()[0]
    except Exception as exc:
        result["error"] = repr(exc)[:300]
    finally:
        result["rss_peak_gb"] = server.peak_rss_gb
        result["stopped_for_memory"] = server.killed
        server.stop()
        if not keep:
            for f in tmp.glob("bench.db*"):
                f.unlink()
    return result


def _saved_bytes(index_dir: Path) -> int:
    """Size of the newest saved index (the directory its pointer file names)."""
    pointers = sorted(index_dir.glob("*.current")) if index_dir.exists() else []
    total = 0
    for pointer in pointers:
        saved = index_dir / pointer.read_text().strip()
        total += sum(f.stat().st_size for f in saved.glob("*") if f.is_file())
    return total


def _warm_up(base: str, token: str, n: int, member_token: str | None, rounds: int = 3) -> float:
    """Requests from 8 clients until a round has none slower than 2 s, i.e. every worker
    has read the saved index and built what its first search builds. Returns the seconds."""
    start = time.perf_counter()
    ids = list(range(1, min(n, 8) + 1))
    for _ in range(rounds):
        calls: list[Callable[[httpx.Client], httpx.Response]] = []
        for i in ids:
            calls.append(lambda c, i=i: c.get(f"/api/v1/organizations/{i}/matches"))
            calls.append(lambda c: c.post("/api/v1/matches/search", json={"text": "Sensoren"}))
        slowest = load(base, token, calls, 8)["max"]
        if member_token is not None:
            own = [lambda c: c.get("/api/v1/organizations/1/matches")] * 8
            slowest = max(slowest, load(base, member_token, own, 8)["max"])
        if slowest < 2000:
            break
    return time.perf_counter() - start


def _wait_saved(index_dir: Path, server: Server, timeout: float = 900) -> None:
    """Until a persisted index exists and its size stays the same for two seconds."""
    end = time.time() + timeout
    last = -1
    while time.time() < end and server.proc.poll() is None:
        size = _saved_bytes(index_dir)
        if size and size == last:
            return
        last = size
        time.sleep(2)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ingest = sub.add_parser("ingest")
    ingest.add_argument("--orgs", type=int, default=10_000)
    ingest.add_argument("--encoder", default="use-multilingual")
    lat = sub.add_parser("latency")
    lat.add_argument("--orgs", type=int, nargs="+", default=[10_000, 100_000])
    lat.add_argument("--port", type=int, default=8765)
    lat.add_argument("--requests", type=int, default=200)
    lat.add_argument("--max-rss-gb", type=float, default=6.0)
    lat.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    lat.add_argument(
        "--keep",
        action="store_true",
        help="keep the database in WORKDIR/orgs-N and use it again when it holds N organisations",
    )
    lat.add_argument(
        "--keep-index",
        action="store_true",
        help="with --keep: start from the index persisted there (a restart instead of a fit)",
    )
    lat.add_argument("--no-hnsw", action="store_true", help="leave out the faiss HNSW baseline")
    lat.add_argument("--no-member", action="store_true", help="leave out the member requests")
    lat.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1],
        help="server processes, one run per count on the same database (with --keep); the "
        "runs after the first start from the index the first one saved",
    )
    parser.add_argument("--json", type=Path, help="append the results to this JSON-lines file")
    args = parser.parse_args(argv)
    print(machine(), flush=True)
    results: list[dict[str, Any]] = []
    if args.command == "ingest":
        results.append({"ingest": run_ingest(args.orgs, args.encoder)})
    else:
        if len(args.workers) > 1 and not args.keep:
            parser.error("several --workers counts need --keep (one database for all)")
        for n in args.orgs:
            baseline = None
            for k, workers in enumerate(args.workers):
                run = run_latency(
                    n,
                    args.port,
                    args.max_rss_gb,
                    args.requests,
                    args.workdir,
                    keep=args.keep,
                    keep_index=args.keep_index or k > 0,
                    hnsw=not args.no_hnsw,
                    member=not args.no_member,
                    workers=workers,
                    baseline=baseline,
                )
                baseline = run.get("baseline")
                results.append({"latency": run})
                print(json.dumps(results[-1], indent=1), flush=True)
    for r in results:
        print(json.dumps(r, indent=1), flush=True)
        if args.json:
            with args.json.open("a") as f:
                f.write(json.dumps({"machine": machine(), **r, "argv": sys.argv}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
