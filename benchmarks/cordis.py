"""Partner prediction on real cooperation consortia: the CORDIS ECSEL split.

History = ECSEL projects starting before 2019-01-01, test = projects from 2019 on. Every
organisation's profile comes from its history only (texts of its earlier projects, its activity
type, its earlier co-participants, optionally its whole H2020 participation before the cutoff).
A query is an organisation with history in a test project that has at least one other partner with
history; the positives are those other partners; the candidates are every organisation with
history except the query. The "novel" variant removes the query's earlier co-participants from
candidates and positives and keeps company queries only. See ``shared/data/README.md``.

The same functions build temporal splits inside the history (TRAIN_WINDOWS: profiles before
2017 with queries from 2017 consortia, profiles before 2018 with queries from 2018 consortia) on
which the engine's weights are learned; the test projects are never read for that.
"""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from matching.encoders import Encoder, load_encoder
from matching.engine import Matcher
from matching.learning import fit_weights
from matching.types import CompetenceVec, Filters, ProfileVec
from matching.weights import Weights

REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_START = "2019-01-01"
K = 10
RANDOM_SEEDS = 20
NETWORKS = ("ecsel", "h2020")

# CORDIS activity types, spelt out so that text encoders can read them.
ACTIVITY_LABELS: dict[str, str] = {
    "PRC": "private company, industry",
    "HES": "university, higher education institution",
    "REC": "research organisation, research institute",
    "PUB": "public body, public authority",
    "OTH": "other organisation, association or cluster",
}


def data_dir() -> Path:
    """Folder with the shared raw data (never copied into the repository)."""
    return Path(os.environ.get("KOOPMATCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


# --------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class CordisData:
    """The ECSEL projects and participations, plus the full H2020 participation table."""

    projects: pd.DataFrame  # projectID, acronym, title, startDate, topics, objective, ...
    participants: pd.DataFrame  # projectID, organisationID, name, activityType, country, role
    h2020: pd.DataFrame  # rcn, pic, type, start_date (all H2020, no texts)


def load(root: Path | None = None) -> CordisData:
    """Read the three tables; one row per (project, organisation)."""
    base = (root or data_dir()) / "raw"
    projects = pd.read_csv(base / "cordis_ecsel_h2020" / "projects.csv")
    parts = pd.read_csv(base / "cordis_ecsel_h2020" / "participants.csv")
    # One organisation is listed twice in one project (participant and third party) and its
    # type reads "PRC;PRC" there: keep one row, one type.
    parts["activityType"] = parts["activityType"].str.split(";").str[0]
    parts = parts.drop_duplicates(["projectID", "organisationID"]).reset_index(drop=True)
    h2020 = pd.read_csv(
        base / "cordis_h2020_participations_eunets" / "h2020.csv.gz",
        usecols=["rcn", "pic", "type", "start_date"],
    )
    return CordisData(projects=projects, participants=parts, h2020=h2020)


# -------------------------------------------------------------------------------------- split


@dataclass(frozen=True)
class Query:
    """One organisation in one later project."""

    org_id: int
    project_id: int
    positives: frozenset[int]
    removed: frozenset[int] = frozenset()  # candidates removed besides the query itself


@dataclass
class Task:
    """Profiles built from projects before ``history_end``; queries from the later window."""

    org_ids: np.ndarray  # (n,) int64, organisations with history, sorted
    texts: dict[int, str]  # org -> titles, topics and objectives of its history projects
    titles: dict[int, list[str]]  # org -> "title. topic" of each history project
    activity: dict[int, str]  # org -> PRC / HES / REC / PUB / OTH
    country: dict[int, str]
    name: dict[int, str]
    n_projects: dict[int, int]  # ECSEL history projects
    copartners: dict[int, Counter[int]]  # org -> ECSEL history co-participants with counts
    h2020_projects: dict[int, int] = field(default_factory=dict)  # H2020 projects before cutoff
    h2020_copartners: dict[int, frozenset[int]] = field(default_factory=dict)
    plain: list[Query] = field(default_factory=list)
    novel: list[Query] = field(default_factory=list)

    @property
    def index(self) -> dict[int, int]:
        return {int(o): i for i, o in enumerate(self.org_ids)}


def build_task(
    data: CordisData,
    *,
    history_end: str = TEST_START,
    query_start: str | None = None,
    query_end: str | None = None,
) -> Task:
    """Profiles from projects before ``history_end``; queries from [query_start, query_end).

    ``query_start`` defaults to ``history_end`` and ``query_end`` to open. Only dates decide which
    side a project is on, so the test projects are out of reach when ``query_end <= TEST_START``.
    """
    query_start = query_start or history_end
    proj = data.projects
    parts = data.participants
    hist_ids = set(proj.loc[proj["startDate"] < history_end, "projectID"])
    in_window = proj["startDate"] >= query_start
    if query_end is not None:
        in_window &= proj["startDate"] < query_end
    query_ids = proj.loc[in_window, "projectID"].tolist()

    hist_parts = parts[parts["projectID"].isin(hist_ids)]
    members: dict[int, list[int]] = {
        int(pid): sorted(int(o) for o in grp["organisationID"])
        for pid, grp in hist_parts.groupby("projectID")
    }
    proj_by_id = proj.set_index("projectID")
    titles: dict[int, list[str]] = defaultdict(list)
    objectives: dict[int, list[str]] = defaultdict(list)
    copartners: dict[int, Counter[int]] = defaultdict(Counter)
    for pid in sorted(members):
        row = proj_by_id.loc[pid]
        for org in members[pid]:
            titles[org].append(f"{row['title']}. {row['topics']}")
            objectives[org].append(str(row["objective"]))
            copartners[org].update(o for o in members[pid] if o != org)
    org_ids = np.array(sorted(members_org for members_org in titles), dtype=np.int64)
    first = parts.drop_duplicates("organisationID").set_index("organisationID")
    texts = {o: " ".join(titles[o]) + " " + " ".join(objectives[o]) for o in titles}

    task = Task(
        org_ids=org_ids,
        texts=texts,
        titles=dict(titles),
        activity={int(o): str(first.loc[o, "activityType"]) for o in org_ids},
        country={int(o): str(first.loc[o, "country"]) for o in org_ids},
        name={int(o): str(first.loc[o, "name"]) for o in org_ids},
        n_projects={o: len(titles[o]) for o in titles},
        copartners={int(o): copartners[int(o)] for o in org_ids},
    )
    _add_h2020(task, data.h2020, history_end)

    history = set(task.titles)
    for pid in query_ids:
        consortium = set(parts.loc[parts["projectID"] == pid, "organisationID"].astype(int))
        known_members = sorted(consortium & history)
        if len(known_members) < 2:
            continue
        for org in known_members:
            positives = frozenset(known_members) - {org}
            task.plain.append(Query(org, int(pid), positives))
            if task.activity[org] != "PRC":
                continue
            known = frozenset(task.copartners[org])
            novel_pos = positives - known
            if novel_pos:
                task.novel.append(Query(org, int(pid), novel_pos, removed=known))
    return task


def _add_h2020(task: Task, h2020: pd.DataFrame, history_end: str) -> None:
    """Count H2020 projects and co-participants before the cutoff (ids only, no texts)."""
    before = h2020[h2020["start_date"] < history_end].drop_duplicates(["rcn", "pic"])
    task.h2020_projects = {int(k): int(v) for k, v in before.groupby("pic")["rcn"].size().items()}
    ours = set(int(o) for o in task.org_ids)
    mine = before[before["pic"].isin(ours)]
    # Co-participants are restricted to organisations with history: nobody else is a candidate.
    by_rcn = mine.groupby("rcn")["pic"].apply(lambda s: [int(x) for x in s])
    partners: dict[int, set[int]] = defaultdict(set)
    for pics in by_rcn:
        if len(pics) < 2:
            continue
        for p in pics:
            partners[p].update(pics)
    task.h2020_copartners = {o: frozenset(partners[o] - {o}) for o in partners}


# ------------------------------------------------------------------------------------ metrics


def recall_at_k(ranked: Sequence[int], positives: Iterable[int], k: int = K) -> float:
    """Share of the positives found in the first ``k`` ranked ids."""
    pos = set(positives)
    if not pos:
        raise ValueError("a query needs at least one positive")
    return len(pos.intersection(ranked[:k])) / len(pos)


def reciprocal_rank(ranked: Sequence[int], positives: Iterable[int]) -> float:
    """1 / rank of the first positive (ranks from 1); 0 when none is ranked."""
    pos = set(positives)
    for rank, item in enumerate(ranked, start=1):
        if item in pos:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[int], positives: Iterable[int], k: int = K) -> float:
    """Binary-relevance nDCG@k: DCG of the ranking over DCG of an ideal one (log2 discounts)."""
    pos = set(positives)
    if not pos:
        raise ValueError("a query needs at least one positive")
    dcg = sum(1.0 / np.log2(r + 2) for r, item in enumerate(ranked[:k]) if item in pos)
    ideal = sum(1.0 / np.log2(r + 2) for r in range(min(len(pos), k)))
    return float(dcg / ideal)


@dataclass(frozen=True)
class Scores:
    recall: float
    mrr: float
    ndcg: float
    n: int


def evaluate(rankings: Sequence[Sequence[int]], queries: Sequence[Query], k: int = K) -> Scores:
    """Mean Recall@k, MRR and nDCG@k over queries (rankings[i] answers queries[i])."""
    if len(rankings) != len(queries):
        raise ValueError("one ranking per query")
    r = [recall_at_k(rk, q.positives, k) for rk, q in zip(rankings, queries, strict=True)]
    m = [reciprocal_rank(rk, q.positives) for rk, q in zip(rankings, queries, strict=True)]
    n = [ndcg_at_k(rk, q.positives, k) for rk, q in zip(rankings, queries, strict=True)]
    return Scores(float(np.mean(r)), float(np.mean(m)), float(np.mean(n)), len(queries))


# ---------------------------------------------------------------------------------- baselines

# A scorer maps a query org to one score per organisation in ``task.org_ids``.
Scorer = Callable[[int], np.ndarray]


def rank_by_scores(
    task: Task, scorer: Scorer, queries: Sequence[Query], seed: int = 0
) -> list[list[int]]:
    """Full rankings of the candidates, highest score first.

    Ties are broken by a fresh seeded shuffle per query: one shuffle shared by all queries would
    lift the same few organisations for everyone and make the random baseline a lottery.
    """
    rng = np.random.default_rng(seed)
    out = []
    for q in queries:
        tiebreak = rng.permutation(len(task.org_ids))
        order = np.lexsort((tiebreak, -scorer(q.org_id)))
        drop = set(q.removed) | {q.org_id}
        out.append([int(task.org_ids[i]) for i in order if int(task.org_ids[i]) not in drop])
    return out


def popularity_scorer(task: Task) -> Scorer:
    """Number of ECSEL history projects: hubs sit in most consortia."""
    pop = np.array([task.n_projects[int(o)] for o in task.org_ids], dtype=np.float64)
    return lambda _org: pop


def past_partner_scorer(task: Task) -> Scorer:
    """Number of shared history projects with the query, popularity breaking ties."""
    index = task.index
    pop = np.array([task.n_projects[int(o)] for o in task.org_ids], dtype=np.float64)
    # Popularity only orders organisations with the same co-participation count.
    tie = pop / (pop.max() + 1.0)

    def score(org: int) -> np.ndarray:
        s = tie.copy()
        for other, count in task.copartners[org].items():
            s[index[other]] += count
        return s

    return score


def tfidf_scorer(task: Task) -> Scorer:
    """Cosine of TF-IDF vectors of the history texts; vocabulary from history profiles only."""
    # scikit-learn's defaults: no setting was chosen by looking at the test split.
    vec = TfidfVectorizer()
    docs = [task.texts[int(o)] for o in task.org_ids]
    x = vec.fit_transform(docs)
    index = task.index

    def score(org: int) -> np.ndarray:
        return np.asarray((x @ x[index[org]].T).todense()).ravel()

    return score


def zero_scorer(task: Task) -> Scorer:
    zeros = np.zeros(len(task.org_ids))
    return lambda _org: zeros


# ------------------------------------------------------------------------------------- engine


def project_texts(data: CordisData, before: str) -> dict[int, str]:
    """Title, topic and objective of every project starting before ``before``."""
    proj = data.projects[data.projects["startDate"] < before]
    return {
        int(r.projectID): f"{r.title}. {r.topics}. {r.objective}"
        for r in proj.itertuples(index=False)
    }


def encode_projects(data: CordisData, before: str, encoder: Encoder) -> dict[int, np.ndarray]:
    """(d,) unit vector per history project; later projects are never encoded."""
    texts = project_texts(data, before)
    ids = sorted(texts)
    vecs = encoder.encode([texts[i] for i in ids], batch_size=16)
    return {pid: vecs[k] for k, pid in enumerate(ids)}


def build_profiles(
    data: CordisData,
    task: Task,
    project_vecs: Mapping[int, np.ndarray],
    *,
    history_end: str,
    network: str = "h2020",
) -> dict[int, ProfileVec]:
    """One ProfileVec per organisation with history.

    Core competences: one per history project (its vector, labelled with the title): what the
    organisation has shown it can do. The profile vector is the normalised mean of those.
    Known partners: ECSEL co-participants before the cutoff, plus (``network="h2020"``) every
    H2020 co-participant before it that has history too. (Counting every H2020 co-participant,
    candidates or not, ranked worse inside the history: hubs' degrees then swamp the rest.)
    """
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}")
    parts = data.participants
    proj_dates = data.projects.set_index("projectID")["startDate"]
    hist = parts[parts["projectID"].map(proj_dates) < history_end]
    by_org = hist.groupby("organisationID")["projectID"].apply(sorted)
    titles = data.projects.set_index("projectID")["title"]
    out: dict[int, ProfileVec] = {}
    for org in task.org_ids.tolist():
        pids = by_org[org]
        comps = tuple(
            CompetenceVec(id=org * 1000 + k, kind="core", label=str(titles[pid]),
                          vector=project_vecs[pid])
            for k, pid in enumerate(pids)
        )  # fmt: skip
        mean = np.mean([project_vecs[pid] for pid in pids], axis=0)
        known = set(task.copartners[org])
        if network == "h2020":
            known |= task.h2020_copartners.get(org, frozenset())
        out[org] = ProfileVec(
            id=org,
            name=task.name[org],
            nace_code=None,
            country=task.country[org],
            latitude=None,
            longitude=None,
            employees=None,
            cooperation_interests=frozenset(),
            competences=comps,
            profile_vector=(mean / np.linalg.norm(mean)).astype(np.float32),
            known_partner_ids=frozenset(known),
        )
    return out


def engine_filters(query: Query, profile: ProfileVec, variant: str) -> Filters:
    """Plain: nothing excluded. Novel: the README's removals, through the engine's own filter.

    With ECSEL-only known partners, ``exclude_known=True`` removes exactly the earlier ECSEL
    co-participants (checked in `engine_rankings`). With H2020 partners among the known ones it
    would remove more than the task does, so the task's removals are passed as ``exclude_ids``.
    """
    if variant == "plain":
        return Filters(exclude_known=False)
    if profile.known_partner_ids == query.removed:
        return Filters(exclude_known=True)
    return Filters(exclude_known=False, exclude_ids=query.removed)


def training_pairs(
    matcher: Matcher,
    task: Task,
    profiles: Mapping[int, ProfileVec],
    queries: Sequence[Query],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every candidate of every query as one pair.

    Returns features (n_pairs, n_components), labels (n_pairs,) and the query index of each
    pair (n_pairs,).
    """
    xs, ys, gs = [], [], []
    for k, q in enumerate(queries):
        cands = [int(o) for o in task.org_ids if int(o) != q.org_id and int(o) not in q.removed]
        xs.append(matcher.pair_features(profiles[q.org_id], cands))
        ys.append(np.array([c in q.positives for c in cands], dtype=int))
        gs.append(np.full(len(cands), k))
    return np.vstack(xs), np.concatenate(ys), np.concatenate(gs)


# ----------------------------------------------------------------------------------- the run

# Rankings are cut here: Recall@10 and nDCG@10 are exact, MRR counts a query whose first
# positive lies deeper as 0 (it would add less than 1/LIMIT).
LIMIT = 100
CHECKED_QUERIES = 20  # queries per variant whose full candidate set is compared with the task's


# Components the engine counts as evidence of a link; a candidate with none is never offered.
EVIDENCE = ("need_coverage", "reciprocal_coverage", "profile_similarity", "core_overlap", "network")


def check_candidates(
    matcher: Matcher,
    task: Task,
    profiles: Mapping[int, ProfileVec],
    queries: Sequence[Query],
    variant: str,
) -> None:
    """Raise unless the engine's candidates are the task's (query and removals left out).

    The engine leaves out candidates without any evidence; those must be exactly the missing
    ones, so that the filters, not chance, decide the candidate set.
    """
    everyone = {int(o) for o in task.org_ids}
    cols = [Weights.component_names().index(c) for c in EVIDENCE]
    for q in queries:
        prof = profiles[q.org_id]
        filters = engine_filters(q, prof, variant)
        ranked = [m.target_id for m in matcher.match(prof, filters=filters, limit=len(everyone))]
        expected = everyone - {q.org_id} - (q.removed if variant == "novel" else frozenset())
        if len(ranked) != len(set(ranked)) or not set(ranked) <= expected:
            raise AssertionError(f"engine returned candidates outside the task for {q}")
        missing = sorted(expected - set(ranked))
        if missing and matcher.pair_features(prof, missing)[:, cols].max() > 0:
            raise AssertionError(f"engine dropped candidates with evidence for {q}")


def engine_scores(
    matcher: Matcher,
    task: Task,
    profiles: Mapping[int, ProfileVec],
    queries: Sequence[Query],
    variant: str,
) -> tuple[Scores, float]:
    """Scores of the engine's top-LIMIT rankings and the median seconds per query."""
    rankings, times = [], []
    for q in queries:
        prof = profiles[q.org_id]
        t0 = time.perf_counter()
        matches = matcher.match(prof, filters=engine_filters(q, prof, variant), limit=LIMIT)
        times.append(time.perf_counter() - t0)
        rankings.append([m.target_id for m in matches])
    return evaluate(rankings, queries), float(np.median(times))


@dataclass
class EngineRun:
    label: str
    encoder: str
    weights: dict[str, Weights]  # variant -> weights used
    scores: dict[str, Scores] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


# Training windows inside the history: profiles from projects starting before the first date,
# labels from the consortia of projects starting between the two dates.
TRAIN_WINDOWS: tuple[tuple[str, str], ...] = (
    ("2017-01-01", "2018-01-01"),
    ("2018-01-01", TEST_START),
)


@dataclass
class Learned:
    """Weights learned from the history, and how they did inside it."""

    weights: dict[str, Weights]  # variant -> weights fitted on every training window
    sizes: dict[str, tuple[int, int, int]]  # variant -> (queries, pairs, positive pairs)
    validation: dict[str, dict[str, Scores]]  # variant -> method -> scores on the last window


def learn_weights(data: CordisData, encoder: Encoder, network: str) -> Learned:
    """Pairwise logistic regression on `pair_features` over the TRAIN_WINDOWS (history only).

    Validation: weights fitted on the first window only, ranked by the engine on the last
    window's queries, next to popularity and the default weights there.
    """
    xs: dict[str, list[np.ndarray]] = {"plain": [], "novel": []}
    ys: dict[str, list[np.ndarray]] = {"plain": [], "novel": []}
    gs: dict[str, list[np.ndarray]] = {"plain": [], "novel": []}
    n_queries = {"plain": 0, "novel": 0}
    validation: dict[str, dict[str, Scores]] = {}
    for k, (start, end) in enumerate(TRAIN_WINDOWS):
        task = build_task(data, history_end=start, query_start=start, query_end=end)
        vecs = encode_projects(data, start, encoder)
        profiles = build_profiles(data, task, vecs, history_end=start, network=network)
        matcher = Matcher(candidate_pool=len(profiles)).fit(list(profiles.values()))
        last = k == len(TRAIN_WINDOWS) - 1
        for variant, queries in (("plain", task.plain), ("novel", task.novel)):
            if last:
                first = fit_weights(
                    np.vstack(xs[variant]), np.concatenate(ys[variant]),
                    groups=np.concatenate(gs[variant]),
                )  # fmt: skip
                pop = rank_by_scores(task, popularity_scorer(task), queries)
                validation[variant] = {
                    "popularity (past projects)": evaluate(pop, queries),
                    "engine, default weights": engine_scores(
                        Matcher(Weights(), candidate_pool=len(profiles)).fit(
                            list(profiles.values())
                        ),
                        task, profiles, queries, variant,
                    )[0],
                    f"engine, weights learned on {TRAIN_WINDOWS[0][0][:4]}": engine_scores(
                        Matcher(first, candidate_pool=len(profiles)).fit(list(profiles.values())),
                        task, profiles, queries, variant,
                    )[0],
                }  # fmt: skip
            x, y, g = training_pairs(matcher, task, profiles, queries)
            xs[variant].append(x)
            ys[variant].append(y)
            gs[variant].append(g + n_queries[variant])  # query ids unique across windows
            n_queries[variant] += len(queries)
    weights, sizes_out = {}, {}
    for variant in ("plain", "novel"):
        y = np.concatenate(ys[variant])
        groups = np.concatenate(gs[variant])
        weights[variant] = fit_weights(np.vstack(xs[variant]), y, groups=groups)
        sizes_out[variant] = (n_queries[variant], len(y), int(y.sum()))
    return Learned(weights=weights, sizes=sizes_out, validation=validation)


def _baselines(task: Task) -> dict[str, dict[str, Scores]]:
    """Baseline scores per variant; methods with ties are averaged over RANDOM_SEEDS shuffles."""

    def mean_scores(scorer: Scorer, queries: Sequence[Query], seeds: int) -> Scores:
        runs = [
            evaluate(rank_by_scores(task, scorer, queries, seed=s), queries) for s in range(seeds)
        ]
        return Scores(
            float(np.mean([r.recall for r in runs])),
            float(np.mean([r.mrr for r in runs])),
            float(np.mean([r.ndcg for r in runs])),
            len(queries),
        )

    out: dict[str, dict[str, Scores]] = {}
    for variant, queries in (("plain", task.plain), ("novel", task.novel)):
        out[variant] = {
            "random": mean_scores(zero_scorer(task), queries, RANDOM_SEEDS),
            "TF-IDF profile cosine": mean_scores(tfidf_scorer(task), queries, 1),
            "popularity (past projects)": mean_scores(
                popularity_scorer(task), queries, RANDOM_SEEDS
            ),
        }
        if variant == "plain":
            out[variant]["past partners"] = mean_scores(
                past_partner_scorer(task), queries, RANDOM_SEEDS
            )
    return out


def run(encoders: Sequence[str] = ("use-multilingual", "hashing")) -> str:
    """The whole CORDIS benchmark as a markdown section (the first encoder is the main one)."""
    t_start = time.perf_counter()
    data = load()
    task = build_task(data)
    baselines = _baselines(task)

    runs: list[EngineRun] = []
    learned_by_encoder: dict[str, Learned] = {}
    for k, spec in enumerate(encoders):
        encoder = load_encoder(spec)
        learned = learn_weights(data, encoder, network="h2020")
        learned_by_encoder[encoder.name] = learned
        vecs = encode_projects(data, TEST_START, encoder)
        configs = [(f"engine, {encoder.name}, learned weights", "h2020", learned.weights)]
        if k == 0:
            default = {"plain": Weights(), "novel": Weights()}
            configs += [
                (f"engine, {encoder.name}, default weights", "h2020", default),
                (
                    f"engine, {encoder.name}, learned weights, ECSEL network",
                    "ecsel",
                    learned.weights,
                ),
            ]
        for label, network, weights in configs:
            profiles = build_profiles(data, task, vecs, history_end=TEST_START, network=network)
            er = EngineRun(label=label, encoder=encoder.name, weights=weights)
            for variant, queries in (("plain", task.plain), ("novel", task.novel)):
                if network == "ecsel" and variant == "plain":
                    continue  # only the novel variant filters by known partners
                matcher = Matcher(weights[variant], candidate_pool=len(profiles))
                matcher.fit(list(profiles.values()))
                check_candidates(matcher, task, profiles, queries[:CHECKED_QUERIES], variant)
                er.scores[variant], er.seconds[variant] = engine_scores(
                    matcher, task, profiles, queries, variant
                )
            runs.append(er)
    elapsed = time.perf_counter() - t_start
    return _markdown(task, baselines, runs, learned_by_encoder, elapsed)


README_BASELINES: dict[str, dict[str, tuple[float, float] | None]] = {
    # (nDCG@10, MRR) as listed in shared/data/README.md, for comparison only.
    "plain": {
        "random": (0.030, 0.105),
        "TF-IDF profile cosine": (0.215, 0.420),
        "popularity (past projects)": (0.410, 0.743),
        "past partners": (0.460, 0.738),
    },
    "novel": {
        "random": (0.020, 0.074),
        "TF-IDF profile cosine": (0.112, 0.269),
        "popularity (past projects)": (0.198, 0.450),
    },
}


def _row(method: str, s: Scores, ref: str = "", ms: str = "") -> str:
    return f"| {method} | {s.n} | {s.recall:.3f} | {s.mrr:.3f} | {s.ndcg:.3f} | {ref} | {ms} |"


def _markdown(
    task: Task,
    baselines: dict[str, dict[str, Scores]],
    runs: Sequence[EngineRun],
    learned: Mapping[str, Learned],
    elapsed: float,
) -> str:
    lines = [
        "## CORDIS ECSEL: predicting real consortia",
        "",
        "History = ECSEL projects starting before 2019-01-01, test = from 2019 on; profiles, "
        "vocabularies, networks and learned weights come from the history only "
        "(see `shared/data/README.md`). "
        f"{len(task.org_ids)} organisations with history are the candidates; "
        f"{len(task.plain)} plain queries, {len(task.novel)} novel-partner company queries. "
        "All rows of a table come from the same run.",
        "",
    ]
    names = {"plain": "Plain (all partners)", "novel": "Novel partners (company queries)"}
    header = [
        "| method | queries | Recall@10 | MRR | nDCG@10 | README nDCG@10 / MRR | ms/query |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant in ("plain", "novel"):
        lines += [f"### {names[variant]}", "", *header]
        for method, s in baselines[variant].items():
            ref = README_BASELINES[variant].get(method)
            lines.append(_row(method, s, f"{ref[0]:.3f} / {ref[1]:.3f}" if ref else ""))
        for er in runs:
            if variant in er.scores:
                ms = f"{1000 * er.seconds[variant]:.0f}"
                lines.append(_row(er.label, er.scores[variant], ms=ms))
        lines.append("")
        for er in runs:
            if variant not in er.scores or "default" in er.label:
                continue
            mine = er.scores[variant]
            lost = [
                f"{m} on {metric} (baseline {theirs:.3f}, engine {ours:.3f})"
                for m, s in baselines[variant].items()
                for metric, ours, theirs in (
                    ("Recall@10", mine.recall, s.recall),
                    ("MRR", mine.mrr, s.mrr),
                    ("nDCG@10", mine.ndcg, s.ndcg),
                )
                if ours <= theirs
            ]
            lines.append(
                f"- {er.label}: beats every baseline on all three metrics."
                if not lost
                else f"- {er.label}: does NOT beat " + "; ".join(lost) + "."
            )
        lines.append("")

    comps = Weights.component_names()
    default = Weights().vector()
    lines += [
        "### Learned weights",
        "",
        "`matching.learning.fit_weights` with query groups: a logistic regression on "
        "differences of `Matcher.pair_features` rows (a consortium partner minus up to 30 "
        "non-partners of the same query), non-negative, rescaled to the default weights' scale. "
        "Training pairs come from the history only, in two windows: profiles and networks from "
        "projects starting before 2017-01-01 with labels from the consortia of 2017 projects, "
        "and profiles before 2018-01-01 with labels from 2018 projects. Every candidate of every "
        "query is one pair, positive if it was in the query's consortium. No test project was "
        "read for this. Components that do not vary on CORDIS (needs, NACE, interests) keep "
        "their default weights.",
        "",
    ]
    for enc, lr in learned.items():
        lines.append(
            f"- {enc}: "
            + "; ".join(
                f"{v}: {q} queries, {n} pairs, {p} positive" for v, (q, n, p) in lr.sizes.items()
            )
        )
    lines += [
        "",
        "| component | default | "
        + " | ".join(f"{enc} plain | {enc} novel" for enc in learned)
        + " |",
        "|---|---|" + "---|---|" * len(learned),
    ]
    for i, c in enumerate(comps):
        cells = " | ".join(
            f"{lr.weights['plain'].vector()[i]:.3f} | {lr.weights['novel'].vector()[i]:.3f}"
            for lr in learned.values()
        )
        lines.append(f"| {c} | {default[i]:.3f} | {cells} |")
    lines += [
        "",
        "### Validation inside the history",
        "",
        "Weights fitted on the 2017 window only, ranked by the engine on the 2018 window "
        "(profiles before 2018-01-01, queries from 2018 consortia): the check that chose the "
        "method, without looking at the test split.",
        "",
        *header,
    ]
    for enc, lr in learned.items():
        for variant in ("plain", "novel"):
            for method, s in lr.validation[variant].items():
                label = method if method.startswith("popularity") else f"{method} ({enc})"
                lines.append(_row(f"{variant}: {label}", s))
    lines += [
        "",
        "### How the engine sees an organisation",
        "",
        "- Core competences: one per history project, the encoder's vector of its title, topic "
        "and objective (label: the title). Profile vector: the normalised mean of those. "
        "No needs, NACE codes, sizes or interests exist in this data.",
        "- Known partners: ECSEL co-participants before the cutoff plus every organisation with "
        "history that shared any H2020 project starting before the cutoff (CORDIS participation "
        'table, ids only); "ECSEL network" rows use the ECSEL co-participants only.',
        "- Plain: `Filters(exclude_known=False)`. Novel, ECSEL network: "
        "`Filters(exclude_known=True)`, which removes exactly the README's earlier "
        "co-participants. Novel, H2020 network: `exclude_known` would also remove H2020-only "
        "partners, so the README's removals are passed as `exclude_ids` to keep the task fixed. "
        f"For the first {CHECKED_QUERIES} queries of each variant and configuration the "
        "engine's full candidate set was checked: it is the task's, less the candidates "
        "without any evidence (no text, competence or network link), which the engine never "
        "offers and which count as unranked.",
        f"- Rankings are read from `Matcher.match(limit={LIMIT})` with a candidate pool covering "
        f"every organisation: Recall@10 and nDCG@10 are exact; a query whose first positive is "
        f"below rank {LIMIT} counts 0 in MRR (it would add less than {1 / LIMIT:.2f}).",
        "- Baselines with ties (random, popularity, past partners) are averaged over "
        f"{RANDOM_SEEDS} seeded tie-breaking shuffles per query; TF-IDF uses scikit-learn's "
        "default `TfidfVectorizer` fitted on the history profiles only. Past partners ranks "
        "by the number of shared history projects, popularity breaking ties; in the novel "
        "variant every past partner is removed, so it equals popularity and is not listed.",
        f"- ms/query: median wall time of one `Matcher.match` call. Whole CORDIS run: "
        f"{elapsed / 60:.1f} min.",
        "",
    ]
    return "\n".join(lines)
