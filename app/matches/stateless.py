"""Matches computed per request from rows loaded for that request (PostgreSQL with pgvector).

With `KOOPMATCH_MATCH_STATE=database` an API process holds no fitted engine for matches:
each match loads the asking organisation, retrieves the candidates in SQL with the filters
(`app.matches.pgvector`), loads those candidates' competences and profile vectors, the
relationship edges the graph components need (the asking organisation's neighbourhood, as
many hops as the proximity walk takes, bounded by `MAX_GRAPH_NODES`), and scores them with
`matching.request.RequestMatcher`, the engine's own scoring code.

What `Matcher.fit` would estimate over the whole corpus (similarity floors, the competitor
rule's niche scale, hub damping's reference sample, centre and per-vector values, the
largest degree of the relationship graph, core-label word frequencies) is read from
`match_corpus_stats` and `match_hub_values` (migration 0021), written by `refresh_stats`
(`koopmatch match-stats`, and `koopmatch reindex`). Between refreshes the statistics are
those of the corpus at `index_version`: a new or changed profile is scored with its current
rows, and an offer vector the last refresh did not see gets its hub value from the stored
reference sample (as the in-process engine does for appended rows). If no statistics are
stored yet, the first match computes them (one fit, once, under an advisory lock).

A process keeps only what does not grow with the organisations: the statistics (a few MB,
read again when a refresh replaced them) and up to `VECTOR_CACHE` distinct competence
vectors (immutable: one row of `competence_vectors` per distinct vector).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from typing import Any, cast

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.embeddings import from_bytes
from app.matches.index import (
    PROFILE_COLUMNS,
    FittedIndex,
    OrgInfo,
    active_weights,
    add_tie,
    load_profiles,
    profile_of_row,
)
from app.matches.outcomes import with_outcome_ties
from app.matches.pgvector import PgvectorRetriever, pipelined
from app.matches.retrieval import reading
from app.organizations.access import outcome_ties_scope
from app.session_hooks.index_changes import current_version
from matching import CompetenceVec, Matcher, ProfileVec
from matching.competitors import NicheScale
from matching.engine import lexical_tokens
from matching.request import CorpusStats, RequestMatcher, reference_arrays
from matching.retrieval import QueryVectors, narrowed
from matching.types import CompetenceKind, Filters

log = logging.getLogger(__name__)

# organisations whose partners the proximity walk may read per request; beyond that the walk
# stops where the loaded neighbourhood ends
MAX_GRAPH_NODES = 20_000
# distinct competence vectors kept per process (2 KB each at 512 dimensions)
VECTOR_CACHE = 20_000
# organisations fitted for the corpus statistics; above, a random sample of them
STATS_SAMPLE = 50_000
# advisory lock key of a statistics refresh (one at a time per database)
_REFRESH_LOCK = 0x6B6D5F737461  # "km_sta"


def enabled(session: Session, setting: str) -> bool:
    """Whether matches are computed per request: the setting says `database` and the
    database is PostgreSQL (pgvector retrieval); SQLite always uses the in-process engine."""
    return setting == "database" and session.get_bind().dialect.name == "postgresql"


# ---------------------------------------------------------------------- statistics
def refresh_stats(
    session: Session,
    encoder_name: str,
    *,
    matcher_params: dict[str, Any] | None = None,
    sample: int = STATS_SAMPLE,
) -> CorpusStats:
    """Fit the engine once and store its corpus statistics (replacing the previous ones in
    the same transaction). The caller commits.

    Up to `sample` organisations that are not private: the engine is fitted over all of
    them, so the statistics are those of `Matcher.fit`. Above, over `sample` of them drawn at
    random (a fixed order of hashed ids, so a refresh of the same rows draws the same ones):
    the similarity floors, the niche scale, hub damping's reference sample and centre are
    estimates from random pairs and rows anyway; the largest degree of the relationship
    graph and the core-label word frequencies are counted over the whole corpus in SQL
    (`corpus_max_degree`, `corpus_core_df`); hub values are stored for the sampled vectors,
    the others are computed per request from the stored reference sample (the same formula
    as `Matcher._hubness`). A fit over every profile would hold the whole corpus in memory
    (about 62 KB an organisation)."""
    version = current_version(session)
    total = int(
        session.execute(
            text("SELECT count(*) FROM organizations WHERE visibility <> 'private'")
        ).scalar_one()
    )
    sampled = total > sample
    if sampled:
        ids = session.execute(
            text(
                "SELECT id FROM organizations WHERE visibility <> 'private' "
                "ORDER BY md5(id::text) LIMIT :s"
            ),
            {"s": sample},
        ).scalars()
        profiles, info = load_rows(session, encoder_name, [int(i) for i in ids])
        fitted = [profiles[i] for i in sorted(profiles) if info[i].visibility != "private"]
    else:
        profiles, info = load_profiles(session, encoder_name)
        fitted = [p for p in profiles.values() if info[p.id].visibility != "private"]
    params = dict(matcher_params or {})
    if "weights" not in params:
        params["weights"] = active_weights(session)
    # no HNSW index: only the statistics are read
    params["ann_threshold"] = max(int(params.get("ann_threshold", 0)), len(fitted) * 64 + 1)
    matcher = Matcher(**params).fit(fitted)
    stats = CorpusStats.of(matcher)
    dim = matcher.dim_
    weights = matcher.weights_
    del matcher, profiles, info, fitted
    if sampled:
        n_labels, core_df = corpus_core_df(session, encoder_name)
        stats = replace(
            stats,
            max_degree=corpus_max_degree(session, weights.tie_strength, weights.tie_half_life),
            n_core_labels=n_labels,
            core_df=core_df,
        )
    _store(session, encoder_name, stats, version, dim)
    return stats


def corpus_max_degree(session: Session, tie_strength: float, tie_half_life: float) -> float:
    """The largest summed tie weight of any organisation in the engine's relationship graph
    (`Matcher._walk_graph` over the organisations that are not private), in SQL: an edge
    joins two organisations of which at least one is not private; its weight is the larger
    `joint_projects` (at least 1) to the power `tie_strength`, halved every `tie_half_life`
    years its latest `last_year` lies before the newest in the graph; only what an
    organisation that is not private states counts (`Matcher._tie_weights`)."""
    row = session.execute(
        text(
            "WITH r AS (SELECT least(r.organization_id, r.related_organization_id) AS a, "
            "greatest(r.organization_id, r.related_organization_id) AS b, "
            "CASE WHEN s.visibility <> 'private' THEN nullif(r.joint_projects, 0) END AS joint, "
            "CASE WHEN s.visibility <> 'private' THEN nullif(r.last_year, 0) END AS last "
            "FROM relationships r JOIN organizations s ON s.id = r.organization_id "
            "JOIN organizations t ON t.id = r.related_organization_id "
            "WHERE r.organization_id <> r.related_organization_id "
            "AND (s.visibility <> 'private' OR t.visibility <> 'private')), "
            "e AS (SELECT a, b, greatest(coalesce(max(joint), 1), 1) AS joint, max(last) AS last "
            "FROM r GROUP BY a, b), "
            "w AS (SELECT e.a, e.b, power(e.joint::float8, :strength) * CASE "
            "WHEN :half > 0 AND e.last IS NOT NULL "
            "THEN power(0.5, ((SELECT max(last) FROM e) - e.last) / :half) ELSE 1 END AS w "
            "FROM e) "
            "SELECT max(s) FROM (SELECT u, sum(w) AS s FROM ("
            "SELECT a AS u, w FROM w UNION ALL SELECT b, w FROM w) AS x GROUP BY u) AS y"
        ),
        {"strength": float(tie_strength), "half": float(tie_half_life)},
    ).scalar_one()
    return float(row or 0.0)


def corpus_core_df(session: Session, encoder_name: str) -> tuple[int, dict[str, int]]:
    """(core labels, organisations per word) as `Matcher.fit` counts them over the
    organisations that are not private: each core competence with a vector of
    `encoder_name` is one label, and an organisation with a profile vector but no core
    competence counts one label without words (its description stands in)."""
    rows = session.execute(
        text(
            "SELECT c.label, count(*) FROM competences c JOIN organizations o "
            "ON o.id = c.organization_id WHERE o.visibility <> 'private' AND c.kind = 'core' "
            "AND c.embedding_model = :m AND c.embedding IS NOT NULL GROUP BY c.label"
        ),
        {"m": encoder_name},
    ).all()
    df: Counter[str] = Counter()
    n_labels = 0
    for label, count in rows:
        n_labels += int(count)
        for token in lexical_tokens(label):
            df[token] += int(count)
    n_labels += int(
        session.execute(
            text(
                "SELECT count(*) FROM organizations o WHERE o.visibility <> 'private' "
                "AND o.embedding_model = :m AND o.profile_embedding IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM competences c WHERE c.organization_id = o.id "
                "AND c.kind = 'core' AND c.embedding_model = :m AND c.embedding IS NOT NULL)"
            ),
            {"m": encoder_name},
        ).scalar_one()
    )
    return n_labels, dict(df)


def _store(
    session: Session, encoder_name: str, stats: CorpusStats, version: int, dim: int | None
) -> None:
    session.execute(
        text("DELETE FROM match_corpus_stats WHERE embedding_model = :m"), {"m": encoder_name}
    )
    ref = stats.hub_reference
    scalars = {
        "sim_floor": stats.sim_floor,
        "profile_floor": stats.profile_floor,
        "description_floor": stats.description_floor,
        "niche": list(_niche_tuple(stats.niche)),
        "hub_k": stats.hub_k,
        "hub_centre": stats.hub_centre,
        "max_degree": stats.max_degree,
        "n_core_labels": stats.n_core_labels,
    }
    stats_id = session.execute(
        text(
            "INSERT INTO match_corpus_stats (embedding_model, index_version, dim, computed_at, "
            "scalars, core_df, hub_reference, hub_counts) VALUES (:m, :v, :d, now(), :s, :df, "
            ":ref, :counts) RETURNING id"
        ),
        {
            "m": encoder_name,
            "v": version,
            "d": dim,
            "s": json.dumps(scalars),
            "df": json.dumps(stats.core_df, ensure_ascii=False),
            "ref": None if ref is None else np.ascontiguousarray(ref[0], np.float32).tobytes(),
            "counts": None if ref is None else np.asarray(ref[1], np.int64).tobytes(),
        },
    ).scalar_one()
    rows = [{"s": stats_id, "d": k, "v": v} for k, v in stats.hub_values.items()]
    for start in range(0, len(rows), 5000):
        session.execute(
            text("INSERT INTO match_hub_values (stats_id, digest, value) VALUES (:s, :d, :v)"),
            rows[start : start + 5000],
        )


def _niche_tuple(niche: NicheScale) -> tuple[float, float, float, float]:
    return (niche.core_median, niche.core_spread, niche.desc_median, niche.desc_spread)


class _StatsCache:
    """The stored statistics of each encoder with their hub values, read again when a
    refresh replaced them (at most `STATS_SAMPLE` organisations' distinct offer vectors:
    a few MB), so that a request looks its candidates' hub values up in the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_model: dict[tuple[str, str], tuple[int, int, CorpusStats]] = {}

    def get(self, session: Session, encoder_name: str) -> tuple[int, int, CorpusStats] | None:
        """(stats id, index version, statistics) or None if none stored."""
        row = session.execute(
            text("SELECT id, index_version FROM match_corpus_stats WHERE embedding_model = :m"),
            {"m": encoder_name},
        ).first()
        if row is None:
            return None
        key = (str(session.get_bind().engine.url), encoder_name)
        cached = self._by_model.get(key)
        if cached is not None and cached[0] == row.id:
            return cached
        full = session.execute(
            text(
                "SELECT id, index_version, dim, scalars, core_df, hub_reference, hub_counts "
                "FROM match_corpus_stats WHERE id = :i"
            ),
            {"i": row.id},
        ).one()
        s = json.loads(full.scalars)
        ref: tuple[np.ndarray, np.ndarray] | None = None
        if full.hub_reference is not None and full.dim:
            rows = np.frombuffer(full.hub_reference, dtype=np.float32).reshape(-1, int(full.dim))
            ref = reference_arrays((rows, np.frombuffer(full.hub_counts, dtype=np.int64)))
        stats = CorpusStats(
            sim_floor=float(s["sim_floor"]),
            profile_floor=float(s["profile_floor"]),
            description_floor=float(s["description_floor"]),
            niche=NicheScale(*[float(x) for x in s["niche"]]),
            hub_k=int(s["hub_k"]),
            hub_centre=float(s["hub_centre"]),
            hub_reference=ref,
            max_degree=float(s["max_degree"]),
            n_core_labels=int(s["n_core_labels"]),
            core_df=json.loads(full.core_df),
            hub_values=hub_values(session, int(full.id)),
        )
        entry = (int(full.id), int(full.index_version), stats)
        with self._lock:
            self._by_model[key] = entry
        return entry


_STATS = _StatsCache()


def stored_stats(session: Session, encoder_name: str) -> tuple[int, int, CorpusStats]:
    """The stored statistics of `encoder_name`; computed and stored first if there are none
    (one process at a time: the others wait for it and read them)."""
    found = _STATS.get(session, encoder_name)
    if found is not None:
        return found
    # in the request's own transaction: a concurrent first match waits here, then reads them
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _REFRESH_LOCK})
    found = _STATS.get(session, encoder_name)
    if found is not None:
        return found
    started = time.perf_counter()
    refresh_stats(session, encoder_name)
    log.info("matching statistics computed in %.1f s", time.perf_counter() - started)
    found = _STATS.get(session, encoder_name)
    assert found is not None  # stored in this transaction
    return found


def hub_values(session: Session, stats_id: int) -> dict[bytes, float]:
    """The hub values stored with the statistics `stats_id`, by vector digest."""
    rows = session.execute(
        text("SELECT digest, value FROM match_hub_values WHERE stats_id = :s"), {"s": stats_id}
    ).all()
    return {bytes(d): float(v) for d, v in rows}


# ---------------------------------------------------------------------- rows of a request
class _Vectors:
    """Distinct competence vectors by `competence_vectors.id`, least recently used dropped."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._rows: OrderedDict[int, np.ndarray] = OrderedDict()

    def get(self, session: Session, ids: Iterable[int]) -> dict[int, np.ndarray]:
        wanted = set(ids)
        out: dict[int, np.ndarray] = {}
        with self._lock:
            for i in wanted:
                v = self._rows.get(i)
                if v is not None:
                    self._rows.move_to_end(i)
                    out[i] = v
        missing = sorted(wanted - out.keys())
        if missing:
            # the float32 bytes of one competence per distinct vector (the halfvec copy is
            # for the index only: scoring reads the stored bytes, as the engine does)
            rows = session.execute(
                text(
                    "SELECT v.id, (SELECT c.embedding FROM competences c WHERE c.vector_id = v.id "
                    "AND c.embedding IS NOT NULL LIMIT 1) FROM unnest(CAST(:ids AS integer[])) "
                    "AS v(id)"
                ),
                {"ids": missing},
            )
            fresh = {int(i): from_bytes(blob) for i, blob in rows if blob is not None}
            out.update(fresh)
            with self._lock:
                self._rows.update(fresh)
                while len(self._rows) > self.size:
                    self._rows.popitem(last=False)
        return out


_VECTORS = _Vectors(VECTOR_CACHE)


def id_array(ids: Iterable[int]) -> str:
    """Ids as one PostgreSQL array literal, for `CAST(:ids AS integer[])`: a request sends
    up to 20,000 ids in one parameter, and a list is adapted one element at a time."""
    return "{" + ",".join(str(int(i)) for i in ids) + "}"


def load_rows(
    session: Session, encoder_name: str, ids: Collection[int]
) -> tuple[dict[int, ProfileVec], dict[int, OrgInfo]]:
    """ProfileVecs and OrgInfos of `ids` as `app.matches.index.load_profiles` builds them,
    with each distinct competence vector read once (and kept in the process's cache)."""
    if not ids:
        return {}, {}
    id_list = sorted(ids)
    # three independent statements in one round trip (the candidates' competences, their
    # relationships, their organisation rows): on a busy database every round trip waits
    # for the server's turn
    params = {"ids": id_array(id_list), "m": encoder_name}
    comp, rels, orgs = pipelined(
        session,
        [(_COMPETENCES_SQL, params), (_PARTNERS_SQL, params), (_PROFILE_SQL, params)],
        named={2},
    )
    # (id, organisation, kind, label, vector id)
    vectors = _VECTORS.get(session, {vid for _, _, _, _, vid in comp if vid})
    no_vector = [cid for cid, _, _, _, vid in comp if not vid]
    blobs: dict[int, np.ndarray] = {}
    if no_vector:  # written before its vector row (should not happen: a trigger fills it)
        for cid, blob in session.execute(
            text("SELECT id, embedding FROM competences WHERE id = ANY(:ids)"), {"ids": no_vector}
        ).all():
            blobs[int(cid)] = from_bytes(blob)
    competences: dict[int, list[CompetenceVec]] = {}
    for cid, org_id, kind, label, vid in comp:
        vector = vectors.get(vid) if vid else blobs.get(cid)
        if vector is None:
            continue
        competences.setdefault(org_id, []).append(
            CompetenceVec(cid, cast(CompetenceKind, kind), label, vector)
        )
    neighbours, ties = _partners(rels)
    profiles: dict[int, ProfileVec] = {}
    info: dict[int, OrgInfo] = {}
    for org in orgs:
        profiles[org.id], info[org.id] = profile_of_row(
            org, encoder_name, competences, neighbours, ties
        )
    return profiles, info


_COMPETENCES_SQL = text(
    "SELECT c.id, c.organization_id, c.kind, c.label, c.vector_id FROM competences c "
    "WHERE c.organization_id = ANY(CAST(:ids AS integer[])) AND c.embedding_model = :m "
    "AND c.embedding IS NOT NULL ORDER BY c.id"
)
_PARTNERS_SQL = text(
    "SELECT organization_id, related_organization_id, joint_projects, last_year "
    "FROM relationships WHERE related_organization_id IS NOT NULL AND "
    "(organization_id = ANY(CAST(:ids AS integer[])) "
    "OR related_organization_id = ANY(CAST(:ids AS integer[])))"
)
# the columns of `PROFILE_COLUMNS`, by their column names
_PROFILE_SQL = text(
    "SELECT "
    + ", ".join(c.property.columns[0].name for c in PROFILE_COLUMNS)
    + " FROM organizations WHERE id = ANY(CAST(:ids AS integer[]))"
)


def partners_of(
    session: Session, ids: Collection[int]
) -> tuple[dict[int, set[int]], dict[int, dict[int, tuple[int | None, int | None]]]]:
    """Known partners (either direction) of each of `ids`, and what each states about its
    partners (joint projects, last year), as `load_profiles` reads them."""
    if not ids:
        return _partners([])
    rows = session.execute(_PARTNERS_SQL, {"ids": id_array(sorted(ids))}).all()
    return _partners(rows)


def _partners(
    rows: Iterable[Any],
) -> tuple[dict[int, set[int]], dict[int, dict[int, tuple[int | None, int | None]]]]:
    out: dict[int, set[int]] = {}
    ties: dict[int, dict[int, tuple[int | None, int | None]]] = defaultdict(dict)
    for a, b, joint, last in rows:
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
        add_tie(ties, a, b, joint, last)
    return out, ties


_PRIVATE = "SELECT 1 FROM organizations a WHERE a.visibility = 'private' AND"


def _graph_edges(session: Session, ids: Collection[int]) -> dict[int, set[int]]:
    """The engine's graph edges at `ids`: relationships with at least one end not private
    (the engine's adjacency is built from the profiles it fits, which are not private), no
    loops. Every edge that touches one of `ids` is returned, so their partner sets are whole."""
    out: dict[int, set[int]] = {}
    if not ids:
        return out
    rows = session.execute(
        text(
            "SELECT r.organization_id, r.related_organization_id FROM relationships r "
            "WHERE (r.organization_id = ANY(CAST(:ids AS integer[])) "
            "OR r.related_organization_id = ANY(CAST(:ids AS integer[]))) "
            "AND r.organization_id <> r.related_organization_id AND NOT ("
            # on the partial index of private ids (0025), not the organisation rows
            f"EXISTS ({_PRIVATE} a.id = r.organization_id) AND "
            f"EXISTS ({_PRIVATE} a.id = r.related_organization_id))"
        ),
        {"ids": id_array(sorted(ids))},
    ).all()
    for a, b in rows:
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    return out


def neighbourhood(
    session: Session,
    query: ProfileVec,
    candidate_ids: Collection[int],
    steps: int,
    max_nodes: int = MAX_GRAPH_NODES,
    outcome_ties: Collection[tuple[int, int, int]] = (),
    known: Mapping[int, Collection[int]] | None = None,
) -> dict[int, frozenset[int]]:
    """The adjacency the graph components of one query read: whole partner sets of the
    candidates (activity), of the query's partners (shared partners and the walk's first
    step), and of every organisation the walk expands within `steps` steps, up to
    `max_nodes` organisations. One query per hop. The walk also steps along
    `outcome_ties` (`Filters.outcome_ties`), so the organisations they reach are expanded
    too; the ties themselves are not part of the returned adjacency (the engine adds them).

    `known`: partner sets already loaded, whole, of organisations that are not private
    (the candidates' `ProfileVec.known_partner_ids`, read by `load_rows`): every
    relationship of such an organisation is an edge of the engine's graph (one end is not
    private), so these are not asked again; a loop to itself is left out as in SQL."""
    adjacency: dict[int, set[int]] = {}
    fetched: set[int] = set()
    extra: dict[int, set[int]] = {}
    given = known or {}
    for a, b, _ in outcome_ties:
        extra.setdefault(a, set()).add(b)
        extra.setdefault(b, set()).add(a)

    def fetch(ids: set[int]) -> None:
        todo = sorted(ids - fetched)[: max(max_nodes - len(fetched), 0)]
        asked = [i for i in todo if i not in given]
        for node in todo:
            if node in given:
                for partner in given[node]:
                    if partner != node:
                        adjacency.setdefault(node, set()).add(partner)
                        adjacency.setdefault(partner, set()).add(node)
        for node, partners in _graph_edges(session, asked).items():
            adjacency.setdefault(node, set()).update(partners)
        fetched.update(todo)

    # the walk's start (the query's partners), the query and the candidates
    level = (set(query.known_partner_ids) | extra.get(query.id, set())) - {query.id}
    fetch(level | {query.id} | set(candidate_ids))
    # the walk expands the organisations it reaches in its first `steps - 1` steps
    for _ in range(steps - 2):
        level = {p for u in level for p in adjacency.get(u, set()) | extra.get(u, set())}
        if not level or len(fetched) >= max_nodes:
            break
        fetch(level)
    # partner sets are whole only for fetched organisations; the others are dead ends
    return {k: frozenset(v) for k, v in adjacency.items() if k in fetched}


# ---------------------------------------------------------------------- one request
def request_index(
    session: Session,
    *,
    encoder_name: str,
    query: ProfileVec,
    query_info: OrgInfo | None,
    candidate_ids: Collection[int],
    matcher_params: dict[str, Any] | None = None,
    graph: bool = True,
    outcome_ties: Collection[tuple[int, int, int]] = (),
) -> FittedIndex:
    """A FittedIndex of one request: the query and the candidates, scored by a
    `RequestMatcher` with the stored statistics (`graph` False: no relationship edges are
    loaded, for the competitor rule alone); the neighbourhood also follows the
    `outcome_ties` the request's filters carry."""
    _, version, stats = stored_stats(session, encoder_name)
    profiles, info = load_rows(session, encoder_name, set(candidate_ids) - {query.id})
    fitted = [profiles[i] for i in sorted(profiles) if info[i].visibility != "private"]
    params = dict(matcher_params or {})
    if "weights" not in params:
        params["weights"] = active_weights(session)
    matcher = RequestMatcher(**params)
    w = matcher.weights_
    adjacency = (
        neighbourhood(
            session,
            query,
            [p.id for p in fitted],
            w.walk_steps,
            outcome_ties=outcome_ties if w.outcome_tie > 0 else (),
            # the candidates' partner sets came with their rows
            known={p.id: p.known_partner_ids for p in fitted},
        )
        if graph
        else {}
    )
    matcher.fit_candidates(fitted, stats, adjacency)
    profiles[query.id] = query
    if query_info is not None:
        info[query.id] = query_info
    return FittedIndex(version, encoder_name, matcher, profiles, info, matcher.dim_)


def retrieve(
    session: Session, encoder_name: str, query: QueryVectors, filters: Filters, pool: int
) -> Filters:
    """`filters` narrowed to the candidates pgvector finds for `query`."""
    if query.dim is None:
        # nothing to search with: the engine would rank whatever passes (not per request)
        return replace(filters, only_ids=frozenset())
    # on the read replica where one is configured and the request has written nothing
    with reading(session) as reader:
        found = PgvectorRetriever(reader, encoder_name).candidates(query, pool, filters)
    return narrowed(filters, found)


def _fitted_ids(info: dict[int, OrgInfo], ids: Iterable[int]) -> list[int]:
    return sorted(i for i in ids if i in info and info[i].visibility != "private")


def opted_out_competitors(
    session: Session,
    *,
    encoder_name: str,
    organization_id: int,
    matcher_params: dict[str, Any] | None = None,
) -> frozenset[int]:
    """`app.matches.service.opted_out_competitors` from rows: the organisations that opted
    out of being shown to competitors and that the competitor rule labels competitors of
    `organization_id`."""
    from app.organizations import repository as organization_repository

    opted = organization_repository.hidden_from_competitors_ids(session, other_than=organization_id)
    if not opted:
        return frozenset()
    found, found_info = load_rows(session, encoder_name, [organization_id])
    query = found.get(organization_id)
    if query is None:
        return frozenset()
    index = request_index(
        session,
        encoder_name=encoder_name,
        query=query,
        query_info=found_info.get(organization_id),
        candidate_ids=opted,
        matcher_params=matcher_params,
        graph=False,
    )
    ids = _fitted_ids(index.info, opted)
    if not ids or index.dim is None:
        return frozenset()
    verdict = index.matcher.competitors(query, ids)
    return frozenset(pid for pid, competitor in zip(ids, verdict, strict=True) if competitor)


def matches_for(
    session: Session,
    *,
    user: Any,
    organization_id: int,
    filters: Filters,
    limit: int,
    encoder_name: str,
    matcher_params: dict[str, Any] | None = None,
    lang: Any = "en",
) -> list[Any]:
    """`app.matches.service.matches_for`, scored per request (same rules, same answer)."""
    from app.matches import service
    from app.matches.reranking import active_reranker, candidates_needed, reranked

    found, found_info = load_rows(session, encoder_name, [organization_id])
    query = found[organization_id]
    service.require_coordinates(query, filters)
    own = service._caller_organization(user)
    if own is not None and own != organization_id:
        hidden = opted_out_competitors(
            session, encoder_name=encoder_name, organization_id=own, matcher_params=matcher_params
        )
        if hidden:
            filters = replace(filters, exclude_ids=filters.exclude_ids | hidden)
    filters, relationships_shown = service.graph_by_disclosure(
        session, user, organization_id, filters
    )
    filters = with_outcome_ties(session, filters, user=user, organization_id=organization_id)
    pool = RequestMatcher(**(matcher_params or {})).candidate_pool
    vectors = QueryVectors.of_profile(query)
    if vectors.dim is None:
        # nothing to search with: as the engine, every passing organisation while few pass
        passing = PgvectorRetriever(session, encoder_name)._passing(filters, pool + 1)
        among = replace(filters, only_ids=frozenset(passing) if len(passing) <= pool else None)
        if among.only_ids is None:
            return []
    else:
        among = retrieve(session, encoder_name, vectors, filters, pool)
    assert among.only_ids is not None
    index = request_index(
        session,
        encoder_name=encoder_name,
        query=query,
        query_info=found_info.get(organization_id),
        candidate_ids=among.only_ids,
        matcher_params=matcher_params,
        outcome_ties=among.outcome_ties,
    )
    # the regions of hidden addresses, as the in-process path does (here over the candidates)
    among = service.distance_by_disclosure(
        session, user=user, index=index, filters=among, asking_id=organization_id
    )
    reranker = active_reranker(session)
    matches = index.matcher.match(query, filters=among, limit=candidates_needed(reranker, limit))
    return service.shown(
        session,
        user=user,
        index=index,
        matches=reranked(
            reranker,
            matches,
            limit,
            session=session,
            asking=organization_id,
            own=outcome_ties_scope(user, organization_id) != "none",
        ),
        relationships_shown=relationships_shown,
        lang=lang,
        asking_id=organization_id,
    )
