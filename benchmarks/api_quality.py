"""Partner prediction on CORDIS ECSEL as a user gets it: the import contract and the HTTP API.

Every organisation with history becomes one record of the public import contract
(`OrganizationRecord`): its name, country, a description (its activity type and the titles and
topics of its history projects), one core competence per history project (title as the label,
topic and objective as the description) and its earlier ECSEL co-participants as
`relationships` of type partner, each with `joint_projects` (shared history projects) and
`last_year` (start year of the latest). The file is imported with `koopmatch import` into a fresh SQLite
database, a real uvicorn server is started on loopback, and each query organisation asks
`GET /api/v1/organizations/{id}/matches` with `exclude_known=false` (plain) or
`exclude_known=true` (novel partners, which removes exactly the earlier co-participants). The
baselines (popularity, past partners, TF-IDF) are computed from the same split in the same run.

`--split history` builds the same task inside the history (profiles before 2018-01-01, queries
from 2018 consortia) and ranks in-process with the engine fitted on exactly what the server would
load: the split on which ranking choices are validated. `--split test` is the honest score.

`--dated-learning YEAR` plays CORDIS forward (profiles as of YEAR, YEAR's consortia recorded
as accepted requests, `koopmatch refit-ranking`, YEAR+1's queries before and after). Its
lists are asked by the administrator (every outcome tie and relationship) unless `--as
members` (or `--as administrator members`, both in one run): then each asking organisation
gets a member account of its own (made as a hub makes them: `POST /api/v1/users`, one
`koopmatch create-token` for all keys) and asks its own list with its own key, which uses
the relationships it may see and its own organisation's outcome ties: what a hub's members
get. `--relationships-shown members` imports every record with its relationships shown to
every member (a hub whose network is public).

    python -m benchmarks.api_quality                  # test split, through the API
    python -m benchmarks.api_quality --split history  # validation, in-process
    python -m benchmarks.api_quality --dated-learning 2016 --as administrator members --no-write
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np

from benchmarks.cordis import (
    ACTIVITY_LABELS,
    RANDOM_SEEDS,
    TEST_START,
    CordisData,
    Query,
    Scores,
    Task,
    build_task,
    evaluate,
    load,
    past_partner_scorer,
    popularity_scorer,
    rank_by_scores,
    tfidf_scorer,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "benchmarks" / "results" / "quality-api.md"
RESULTS_LEARNED = REPO_ROOT / "benchmarks" / "results" / "ranking-learned.md"
VALIDATION_END = "2018-01-01"
LEARNING_YEARS = (2016, 2017, 2018)  # consortia played in as outcomes with --learned
LIMIT = 100  # the API's maximum page; MRR counts a first positive below it as 0
MAX_RELATIONSHIPS = 500  # the import contract's limit per record


def external_id(org: int) -> str:
    return f"pic-{org}"


# CORDIS writes Greece and the United Kingdom with EU codes, not ISO 3166-1.
_EU_CODES = {"EL": "GR", "UK": "GB"}


def _country(code: str) -> str | None:
    import pycountry

    code = _EU_CODES.get(code, code)
    return code if len(code) == 2 and pycountry.countries.get(alpha_2=code) else None


def last_years(data: CordisData, history_end: str) -> dict[int, dict[int, int]]:
    """org -> co-participant -> start year of their latest joint history project."""
    proj = data.projects[data.projects["startDate"] < history_end]
    year_of = {
        int(p): int(str(d)[:4]) for p, d in zip(proj["projectID"], proj["startDate"], strict=True)
    }
    parts = data.participants[data.participants["projectID"].isin(year_of)]
    out: dict[int, dict[int, int]] = {}
    for pid, members in parts.groupby("projectID")["organisationID"]:
        year = year_of[int(pid)]
        orgs = {int(o) for o in members}
        for a in orgs:
            mine = out.setdefault(a, {})
            for b in orgs - {a}:
                mine[b] = max(mine.get(b, year), year)
    return out


def records(
    data: CordisData,
    task: Task,
    history_end: str,
    *,
    ties: bool = True,
    relationships_shown: str | None = None,
) -> list[dict[str, Any]]:
    """One import record per organisation with history (history projects only). With `ties`
    each relationship states joint_projects and last_year (the contract's tie fields);
    `relationships_shown` ("public", "members", "partners"): the record's disclosure level of
    its relationships (None: the default, partners)."""
    proj = data.projects[data.projects["startDate"] < history_end].set_index("projectID")
    parts = data.participants[data.participants["projectID"].isin(proj.index)]
    by_org = parts.groupby("organisationID")["projectID"].apply(sorted)
    last = last_years(data, history_end) if ties else {}
    out = []
    for org in task.org_ids.tolist():
        comps = []
        seen: set[str] = set()
        titles = []
        for pid in by_org[org]:
            row = proj.loc[pid]
            label = str(row["title"]).strip()[:200]
            titles.append(f"{label} ({row['topics']})")
            if label.casefold() in seen:
                continue
            seen.add(label.casefold())
            desc = f"{row['topics']}. {row['objective']}"[:2000]
            comps.append({"kind": "core", "label": label, "description": desc})
        partners: list[dict[str, Any]] = [
            {"type": "partner", "external_id": external_id(p)}
            for p, _ in task.copartners[org].most_common(MAX_RELATIONSHIPS)
        ]
        if ties:
            for rel, (p, count) in zip(
                partners, task.copartners[org].most_common(MAX_RELATIONSHIPS), strict=True
            ):
                rel["joint_projects"] = count
                rel["last_year"] = last[org][p]
        activity = ACTIVITY_LABELS.get(task.activity[org], "organisation")
        extra = (
            {"disclosure": {"relationships": relationships_shown}} if relationships_shown else {}
        )
        out.append(
            {
                **extra,
                "external_id": external_id(org),
                "name": task.name[org][:300],
                "country": _country(task.country[org]),
                "description": f"{activity[:1].upper()}{activity[1:]}. Projects: "
                + "; ".join(titles)[:19000],
                "competences": comps,
                "relationships": partners,
            }
        )
    return out


# ------------------------------------------------------------------------------- in-process


def _encode(encoder: Any, texts: list[str], cache: Path | None) -> np.ndarray:
    """(len(texts), d) vectors; with `cache` (a folder outside the repository) they are kept
    between runs, keyed by the encoder and the texts."""
    if cache is None:
        return np.asarray(encoder.encode(texts, batch_size=32))
    key = hashlib.sha256(("\x00".join([encoder.name, *texts])).encode()).hexdigest()[:20]
    path = cache / f"{key}.npy"
    if path.exists():
        return np.load(path)
    vecs = np.asarray(encoder.encode(texts, batch_size=32))
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


def profile_vectors(
    recs: Sequence[Mapping[str, Any]], encoder: Any, cache: Path | None = None
) -> dict[int, Any]:
    """ProfileVecs exactly as the server loads them after importing `recs` (vectors encoded
    with the server's text recipes, relationships made symmetric)."""
    from app.embeddings import competence_text, profile_text
    from matching import CompetenceVec, ProfileVec

    comp_texts = [
        competence_text(c["label"], c.get("description")) for r in recs for c in r["competences"]
    ]
    prof_texts = [
        profile_text(
            cast(
                Any,
                SimpleNamespace(
                    name=r["name"],
                    description=r.get("description"),
                    competences=[SimpleNamespace(**c) for c in r["competences"]],
                ),
            )
        )
        for r in recs
    ]
    vecs = _encode(encoder, comp_texts + prof_texts, cache)
    ids = {r["external_id"]: int(r["external_id"].removeprefix("pic-")) for r in recs}
    neighbours: dict[int, set[int]] = {i: set() for i in ids.values()}
    partner_ties: dict[int, dict[int, tuple[int | None, int | None]]] = {}
    for r in recs:
        a = ids[r["external_id"]]
        for rel in r["relationships"]:
            b = ids[rel["external_id"]]
            neighbours[a].add(b)
            neighbours[b].add(a)
            if rel.get("joint_projects") is not None or rel.get("last_year") is not None:
                partner_ties.setdefault(a, {})[b] = (
                    rel.get("joint_projects"),
                    rel.get("last_year"),
                )
    out: dict[int, Any] = {}
    k = 0
    for n, r in enumerate(recs):
        org = ids[r["external_id"]]
        comps = []
        for c in r["competences"]:
            comps.append(CompetenceVec(k, "core", c["label"], vecs[k]))
            k += 1
        out[org] = ProfileVec(
            id=org,
            name=r["name"],
            nace_code=None,
            country=r.get("country"),
            latitude=None,
            longitude=None,
            employees=None,
            cooperation_interests=frozenset(),
            competences=tuple(comps),
            profile_vector=vecs[len(comp_texts) + n],
            known_partner_ids=frozenset(neighbours[org]),
            partner_ties=partner_ties.get(org, {}),
        )
    return out


def in_process_rankings(
    profiles: Mapping[int, Any], orgs: Sequence[int], *, exclude_known: bool, weights: Any = None
) -> dict[int, list[int]]:
    from matching import Filters, Matcher

    matcher = Matcher(weights).fit(list(profiles.values()))
    filters = Filters(exclude_known=exclude_known)
    return {
        o: [m.target_id for m in matcher.match(profiles[o], filters=filters, limit=LIMIT)]
        for o in orgs
    }


# ---------------------------------------------------------------------------------- the API


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A fresh SQLite database filled through `koopmatch import`, served by uvicorn."""

    workdir: Path
    base: str = ""
    token: str = ""
    proc: subprocess.Popen[bytes] | None = None
    import_seconds: float = 0.0
    retries: int = 0
    port: int = 0  # 0: a free port the system picks
    app: tuple[str, ...] = ("app.asgi:app",)  # uvicorn's arguments naming the app
    log: Path | None = None  # the server's output, appended (None: this process's)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["KOOPMATCH_DATABASE_URL"] = f"sqlite:///{self.workdir / 'koopmatch.db'}"
        env["KOOPMATCH_ENVIRONMENT"] = "development"
        return env

    def koopmatch(self, *args: str) -> str:
        exe = Path(sys.executable).with_name("koopmatch")
        done = subprocess.run(
            [str(exe), *args], env=self.env(), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"koopmatch {args[0]} failed: {done.stderr[-2000:]}")
        return done.stdout

    def start(self, recs: Sequence[Mapping[str, Any]]) -> None:
        self.load(recs)
        self.serve(self.port or _free_port())

    def load(self, recs: Sequence[Mapping[str, Any]]) -> None:
        """Migrate, import `recs` with `koopmatch import` (timed) and make an admin's token."""
        path = self.workdir / "records.jsonl"
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n")
        self.koopmatch("migrate")
        t0 = time.perf_counter()
        self.koopmatch("import", str(path))
        self.import_seconds = time.perf_counter() - t0
        self.koopmatch("create-user", "--email", "bench@example.org", "--role", "admin",
                       "--no-password")  # fmt: skip
        self.token = self.koopmatch("create-token", "--email", "bench@example.org").strip()

    def serve(self, port: int) -> None:
        """uvicorn on 127.0.0.1:`port` with `self.app`, until /health answers."""
        self.base = f"http://127.0.0.1:{port}"
        exe = Path(sys.executable).with_name("uvicorn")
        out = self.log.open("a") if self.log else None
        self.proc = subprocess.Popen(
            [
                str(exe),
                *self.app,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=self.env(),
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
        )
        for _ in range(600):
            if self.proc.poll() is not None:
                raise RuntimeError("the server exited")
            try:
                self.get("/health")
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("the server did not come up")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None

    def get(self, path: str, *, token: str | None = None, **params: Any) -> Any:
        """GET as the administrator (or with `token`), JSON back."""
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        req = urllib.request.Request(
            url, headers={"Authorization": f"Bearer {token or self.token}"}
        )
        for attempt in range(5):
            try:
                with urllib.request.urlopen(req, timeout=120) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                # SQLite answers "database is locked" now and then while the server writes
                # (token bookkeeping); the request is asked again, and the retries counted
                if exc.code < 500 or attempt == 4:
                    raise
                self.retries += 1
                time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST JSON as the administrator, JSON back."""
        req = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=120) as resp:
            return json.loads(resp.read())

    def member_tokens(self, organization_ids: Sequence[int]) -> dict[int, str]:
        """An API key of a member account of each organisation (database ids), made as a hub
        would: the administrator creates the accounts (`POST /api/v1/users`, API keys only)
        and one `koopmatch create-token` issues their keys."""
        emails = {}
        for org_id in organization_ids:
            email = f"member-{org_id}@bench.example.org"
            self.post(
                "/api/v1/users",
                {"email": email, "name": f"member {org_id}", "role": "member",
                 "organization_id": org_id},
            )  # fmt: skip
            emails[org_id] = email
        if not emails:
            return {}
        args = [a for email in emails.values() for a in ("--email", email)]
        secrets = self.koopmatch("create-token", *args, "--name", "benchmark").split()
        return dict(zip(emails, secrets, strict=True))

    def ids(self) -> dict[str, int]:
        """external_id -> database id, read through the organisation list."""
        out: dict[str, int] = {}
        offset = 0
        while True:
            page = self.get("/api/v1/organizations", limit=500, offset=offset)
            for item in page["items"]:
                out[item["external_id"]] = item["id"]
            offset += 500
            if offset >= page["total"]:
                return out


# who asks: "administrator" (every list with the administrator's key: every outcome tie and
# relationship) or "members" (each query organisation's own member account asks its own list,
# which uses the relationships it may see and its own organisation's outcome ties only)
VIEWS = ("administrator", "members")


def api_rankings(
    server: Server,
    orgs: Sequence[int],
    *,
    exclude_known: bool,
    tokens: Mapping[int, str] | None = None,
) -> tuple[dict[int, list[int]], list[float]]:
    """Ranked candidates (CORDIS ids) per query organisation, and seconds per request;
    `tokens` (CORDIS id -> API key): each organisation asks with its own member's key, else
    the administrator asks."""
    ids = server.ids()
    cordis_of = {db_id: int(ext.removeprefix("pic-")) for ext, db_id in ids.items()}
    out: dict[int, list[int]] = {}
    times = []
    for org in orgs:
        t0 = time.perf_counter()
        page = server.get(
            f"/api/v1/organizations/{ids[external_id(org)]}/matches",
            token=tokens[org] if tokens is not None else None,
            limit=LIMIT,
            exclude_known=str(exclude_known).lower(),
        )
        times.append(time.perf_counter() - t0)
        # by database id: a member does not see other organisations' external ids
        out[org] = [cordis_of[m["organization"]["id"]] for m in page["items"]]
    return out, times


def play_outcomes(server: Server, data: CordisData, years: Sequence[int]) -> int:
    """The consortia that started in `years` as accepted cooperation requests in the server's
    database (each member with history before the year asks each other one; answered on the
    project's start date), as a hub's members would have recorded them. Returns the count."""
    import datetime as dt

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from app.models.cooperation import CooperationRequest
    from app.session_hooks import outcome_changes

    # written as the service writes them: the outcomes' change marker moves with them, so
    # the server's kept outcome history (and its outcome ties) is read again
    outcome_changes.install()
    ids = server.ids()
    start_of = data.projects.set_index("projectID")["startDate"].astype(str).to_dict()
    rows = []
    for year in years:
        task = build_task(data, history_end=f"{year}-01-01", query_end=f"{year + 1}-01-01")
        for q in task.plain:
            at = dt.datetime.fromisoformat(start_of[q.project_id][:10]).replace(tzinfo=dt.UTC)
            a = ids.get(external_id(q.org_id))
            for p in sorted(q.positives):
                b = ids.get(external_id(p))
                if a is None or b is None:
                    continue
                rows.append(
                    CooperationRequest(
                        from_organization_id=a,
                        to_organization_id=b,
                        type="research",
                        status="accepted",
                        created_at=at,
                        responded_at=at,
                    )
                )
    engine = create_engine(server.env()["KOOPMATCH_DATABASE_URL"])
    with Session(engine) as session, session.begin():
        session.add_all(rows)
    engine.dispose()
    return len(rows)


def with_played_in(task: Task, data: CordisData, end: str) -> Task:
    """`task` (same candidates and queries) with its project counts and co-participants taken
    from the history before `end`: the baselines that also count the played-in consortia."""
    later = build_task(data, history_end=end, query_start=end, query_end=end)
    among = set(task.index)
    return replace(
        task,
        n_projects={o: later.n_projects.get(o, 0) for o in among},
        copartners={
            o: Counter({p: c for p, c in later.copartners.get(o, Counter()).items() if p in among})
            for o in among
        },
    )


PHASES = ("before", "outcomes played in", "after refit")


def dated_learning(
    data: CordisData,
    year: int,
    port: int = 0,
    years: int = 1,
    views: Sequence[str] = ("administrator",),
    relationships_shown: str | None = None,
) -> str:
    """Learning from outcomes with dated relationships, inside the history: profiles as of
    `year`-01-01 (ties up to the year before) are imported, the consortia of `year` (and of
    the `years` - 1 years after it) are played in as accepted requests, `koopmatch
    refit-ranking` runs (as the administrator), and the queries of the year after them are
    asked before the outcomes, after them and after the refit, in each of `views` (`VIEWS`).
    Returns the markdown section."""
    t0 = time.perf_counter()
    history_end = f"{year}-01-01"
    task = build_task(
        data,
        history_end=history_end,
        query_start=f"{year + years}-01-01",
        query_end=f"{year + years + 1}-01-01",
    )
    recs = records(data, task, history_end, relationships_shown=relationships_shown)
    variants = {"plain": (task.plain, False), "novel": (task.novel, True)}
    scores: dict[tuple[str, str, str], Scores] = {}
    said = ""
    played = 0
    members = 0
    with tempfile.TemporaryDirectory(prefix="koopmatch-api-bench-") as tmp:
        server = Server(Path(tmp), port=port)
        try:
            server.start(recs)
            tokens: dict[str, dict[int, str] | None] = {"administrator": None}
            if "members" in views:
                ids = server.ids()
                asking = sorted({q.org_id for qs, _ in variants.values() for q in qs})
                t1 = time.perf_counter()
                by_id = server.member_tokens([ids[external_id(o)] for o in asking])
                tokens["members"] = {o: by_id[ids[external_id(o)]] for o in asking}
                members = len(asking)
                print(f"{members} member accounts and keys in {time.perf_counter() - t1:.1f} s")

            def ask(phase: str) -> None:
                for view in views:
                    for variant, (queries, exclude) in variants.items():
                        orgs = sorted({q.org_id for q in queries})
                        ranks = api_rankings(
                            server, orgs, exclude_known=exclude, tokens=tokens[view]
                        )[0]
                        scores[(phase, view, variant)] = score(ranks, queries)
                        print(view, variant, phase, scores[(phase, view, variant)], flush=True)

            ask("before")
            played = play_outcomes(server, data, list(range(year, year + years)))
            # the outcomes alone (ties of the graph, `Weights.outcome_tie`), before any refit
            ask("outcomes played in")
            said = server.koopmatch("refit-ranking").splitlines()[0]
            print(said, flush=True)
            ask("after refit")
        finally:
            server.stop()
    stated = {v: baselines(task, v) for v in variants}
    counted = with_played_in(task, data, f"{year + years}-01-01")
    with_year = {v: baselines(counted, v) for v in variants}
    flags = ("" if tuple(views) == ("administrator",) else " --as " + " ".join(views)) + (
        f" --relationships-shown {relationships_shown}" if relationships_shown else ""
    )
    lines = [
        f"### Dated outcomes: profiles as of {year}, "
        + (f"{year}" if years == 1 else f"{year}-{year + years - 1}")
        + f" consortia played in, {year + years} queries"
        + ("" if tuple(views) == ("administrator",) else ", asked as " + " and ".join(views))
        + (f", relationships shown to {relationships_shown}" if relationships_shown else ""),
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared; load "
        f"average {os.getloadavg()[0]:.1f} when written), Python {platform.python_version()}: "
        f"`nice python -m benchmarks.api_quality --dated-learning {year}"
        + ("" if years == 1 else f" --outcome-years {years}")
        + flags
        + "` (koopmatch import of "
        f"{len(recs)} organisations with relationships before {year} and their "
        f"joint_projects / last_year, HTTP API on 127.0.0.1); {played} accepted requests "
        f"played in; "
        + (f"{members} member accounts (one per asking organisation); " if members else "")
        + f"`koopmatch refit-ranking`: {said}; whole run "
        f"{(time.perf_counter() - t0) / 60:.1f} min.",
        "",
        "Views: administrator (the administrator's key asks every list: every outcome tie and "
        "relationship); members (each asking organisation's own member key: the relationships "
        "it may see and its own organisation's outcome ties).",
        "",
        "| view | variant | queries | " + " | ".join(f"nDCG@10 / MRR {p}" for p in PHASES) + " |",
        "|---|---|---|---|---|---|",
    ]
    for view in views:
        for variant in variants:
            cells = [scores[(p, view, variant)] for p in PHASES]
            lines.append(
                f"| {view} | {variant} | {cells[0].n} | "
                + " | ".join(f"{c.ndcg:.3f} / {c.mrr:.3f}" for c in cells)
                + " |"
            )
    lines += [
        "",
        "Baselines of the same run, nDCG@10 / MRR (the history before "
        f"{year}; and counting the played-in consortia as history projects too):",
        "",
        "| variant | baseline | imported history | with the played-in consortia |",
        "|---|---|---|---|",
    ]
    for variant in variants:
        for name, s in stated[variant].items():
            w = with_year[variant][name]
            lines.append(
                f"| {variant} | {name} | {s.ndcg:.3f} / {s.mrr:.3f} | {w.ndcg:.3f} / {w.mrr:.3f} |"
            )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- run


def baselines(task: Task, variant: str) -> dict[str, Scores]:
    queries = task.plain if variant == "plain" else task.novel
    scorers = {"popularity (past projects)": popularity_scorer(task)}
    if variant == "plain":
        scorers["past partners"] = past_partner_scorer(task)
    out = {}
    for name, scorer in scorers.items():
        runs = [evaluate(rank_by_scores(task, scorer, queries, seed=s), queries)
                for s in range(RANDOM_SEEDS)]  # fmt: skip
        out[name] = Scores(
            float(np.mean([r.recall for r in runs])),
            float(np.mean([r.mrr for r in runs])),
            float(np.mean([r.ndcg for r in runs])),
            len(queries),
        )
    tfidf = tfidf_scorer(task)
    out["TF-IDF profile cosine"] = evaluate(rank_by_scores(task, tfidf, queries), queries)
    return out


def score(rankings: Mapping[int, list[int]], queries: Sequence[Query]) -> Scores:
    return evaluate([rankings[q.org_id] for q in queries], queries)


def _row(name: str, s: Scores, extra: str = "") -> str:
    return f"| {name} | {s.n} | {s.recall:.3f} | {s.mrr:.3f} | {s.ndcg:.3f} | {extra} |"


def write_section(path: Path, heading: str, text: str) -> None:
    """Replace the section under `heading` in `path` (or add it), keeping the others."""
    old = path.read_text() if path.exists() else "## Partner ranking through the API\n\n"
    start = old.find(heading)
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    else:
        end = old.find("\n### ", start + len(heading))
        new = old[:start] + text + ("\n" + old[end:] if end >= 0 else "\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=["test", "history"], default="test")
    parser.add_argument("--encoder", default="default", help="in-process runs only")
    parser.add_argument(
        "--vector-cache",
        type=Path,
        default=None,
        help="in-process runs: keep encoded vectors in this folder (outside the repository)",
    )
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    parser.add_argument(
        "--port", type=int, default=0, help="the server's port on 127.0.0.1 (default: a free one)"
    )
    parser.add_argument(
        "--learned",
        action="store_true",
        help="test split: then play the 2016-2018 consortia in as accepted requests, refit with "
        "`koopmatch refit-ranking` and ask again (the learned second stage as users get it)",
    )
    parser.add_argument(
        "--dated-learning",
        type=int,
        metavar="YEAR",
        help="profiles as of YEAR, YEAR's consortia played in as accepted requests, refit, "
        "YEAR+1's queries asked before and after (through the API; inside the history for "
        "YEAR <= 2017)",
    )
    parser.add_argument(
        "--outcome-years",
        type=int,
        default=1,
        help="with --dated-learning: play in this many years of consortia from YEAR on (the "
        "queries are those of the year after them)",
    )
    parser.add_argument(
        "--as",
        dest="as_views",
        nargs="+",
        choices=VIEWS,
        default=["administrator"],
        help="with --dated-learning: who asks: the administrator (every list with its key) "
        "and/or members (each asking organisation's own member account, as a hub's members get "
        "their lists); several: each in the same run",
    )
    parser.add_argument(
        "--relationships-shown",
        choices=["public", "members", "partners"],
        default=None,
        help="with --dated-learning: every record shows its relationships to this level "
        "(its `disclosure`; default: the service's default, partners), as a hub whose "
        "network is public (CORDIS participations are) may import it",
    )
    args = parser.parse_args(argv)
    if args.relationships_shown and args.dated_learning is None:
        parser.error("--relationships-shown needs --dated-learning")
    if args.as_views != ["administrator"] and args.dated_learning is None:
        parser.error("--as needs --dated-learning")
    if args.dated_learning is not None:
        text = dated_learning(
            load(),
            args.dated_learning,
            args.port,
            args.outcome_years,
            views=args.as_views,
            relationships_shown=args.relationships_shown,
        )
        print(text, flush=True)
        if not args.no_write:
            write_section(RESULTS_LEARNED, text.split("\n")[0], text)
        return 0
    if args.learned and args.split != "test":
        parser.error("--learned needs the server: --split test")
    started = time.perf_counter()
    data = load()
    if args.split == "test":
        task = build_task(data, history_end=TEST_START)
        history_end = TEST_START
    else:
        task = build_task(data, history_end=VALIDATION_END, query_end=TEST_START)
        history_end = VALIDATION_END
    recs = records(data, task, history_end)
    variants = {"plain": (task.plain, False), "novel": (task.novel, True)}
    engine: dict[str, Scores] = {}
    learned: dict[str, Scores] = {}
    refit_said = ""
    ms: dict[str, float] = {}
    base_scores: dict[str, dict[str, Scores]] = {}

    def report(how: str) -> None:
        """Write the results so far (the engine's first: a long run keeps them if the learned
        part does not finish)."""
        lines = [
            f"### CORDIS ECSEL through the import contract: {args.split} split"
            + (", refit from outcomes" if args.learned else ""),
            "",
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared; "
            f"load average {os.getloadavg()[0]:.1f} when written), Python "
            f"{platform.python_version()}: `nice python -m benchmarks.api_quality --split "
            f"{args.split}{' --learned' if args.learned else ''}` "
            f"({how}); {len(recs)} organisations imported; run so far "
            f"{(time.perf_counter() - started) / 60:.1f} min.",
            "",
        ]
        for variant in variants:
            lines += [
                f"#### {variant}",
                "",
                "| method | queries | Recall@10 | MRR | nDCG@10 | ms/query |",
                "|---|---|---|---|---|---|",
            ]
            if variant not in base_scores:
                base_scores[variant] = baselines(task, variant)
            for name, s in base_scores[variant].items():
                lines.append(_row(name, s))
            lines.append(_row("koopmatch, default weights", engine[variant], f"{ms[variant]:.0f}"))
            if variant in learned:
                lines.append(_row("koopmatch, after refit-ranking from outcomes", learned[variant]))
            lines.append("")
        if refit_said:
            lines += [refit_said, ""]
        text = "\n".join(lines)
        print(text, flush=True)
        if not args.no_write:
            write_section(RESULTS_LEARNED if args.learned else RESULTS, lines[0], text)

    if args.split == "test":
        with tempfile.TemporaryDirectory(prefix="koopmatch-api-bench-") as tmp:
            server = Server(Path(tmp), port=args.port)
            try:
                server.start(recs)
                for variant, (queries, exclude) in variants.items():
                    orgs = sorted({q.org_id for q in queries})
                    ranks, times = api_rankings(server, orgs, exclude_known=exclude)
                    engine[variant] = score(ranks, queries)
                    ms[variant] = 1000 * float(np.median(times))
                    print(variant, engine[variant], flush=True)
                if args.learned:
                    report(
                        "koopmatch import + HTTP API (uvicorn on 127.0.0.1); learned part running"
                    )
                    try:
                        t0 = time.perf_counter()
                        played = play_outcomes(server, data, LEARNING_YEARS)
                        said = server.koopmatch("refit-ranking").splitlines()
                        refit_said = (
                            f"{played} accepted requests played in; `koopmatch refit-ranking` "
                            f"({(time.perf_counter() - t0) / 60:.1f} min): {said[0]}"
                        )
                        print(refit_said, flush=True)
                        for variant, (queries, exclude) in variants.items():
                            orgs = sorted({q.org_id for q in queries})
                            ranks, _ = api_rankings(server, orgs, exclude_known=exclude)
                            learned[variant] = score(ranks, queries)
                            print(variant, learned[variant], flush=True)
                    except Exception as exc:  # the engine's figures are still written
                        refit_said = f"{refit_said} the learned part failed: {exc!r}"
                        print(refit_said, flush=True)
            finally:
                server.stop()
        how = (
            f"koopmatch import ({server.import_seconds / 60:.1f} min, encoding included) + "
            f"HTTP API (uvicorn on 127.0.0.1; {server.retries} requests asked again after a 5xx)"
        )
    else:
        from matching.encoders import load_encoder

        profiles = profile_vectors(recs, load_encoder(args.encoder), args.vector_cache)
        for variant, (queries, exclude) in variants.items():
            orgs = sorted({q.org_id for q in queries})
            t0 = time.perf_counter()
            ranks = in_process_rankings(profiles, orgs, exclude_known=exclude)
            ms[variant] = 1000 * (time.perf_counter() - t0) / max(len(orgs), 1)
            engine[variant] = score(ranks, queries)
        how = "in-process Matcher on the profiles the import would store"
    report(how)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
