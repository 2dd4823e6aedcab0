"""Candidate retrieval in PostgreSQL with pgvector (`matching.retrieval.Retriever`).

Migration 0017 keeps a `halfvec` copy of every stored vector, written by triggers in the same
statement as the bytes: one row per distinct competence vector (`competence_vectors`, which
`competences.vector_id` points to) and `organizations.profile_vec`. An HNSW index (cosine)
needs one dimension, so each encoder gets partial expression indexes:
``(vec::halfvec(d)) halfvec_cosine_ops WHERE embedding_model = '<encoder>'``
(`ensure_indexes`). Queries repeat that expression and that literal predicate, so the planner
can use the index. A competence query walks the distinct vectors nearest first and joins
their rows (and the organisations, with the filters) until `k` rows pass.

The filters are part of the query, applied while the index is scanned: with
``hnsw.iterative_scan`` the scan goes on past `ef_search` until `k` rows pass the filters (or
``hnsw.max_scan_tuples`` is reached), so a filter that leaves few organisations still gets
its nearest ones instead of an empty page. Private organisations and the ids a caller may not
see (`Filters.exclude_ids`: opted-out competitors, the asking organisation's known partners
where left out) never come back.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from matching.retrieval import Candidates, QueryVectors, per_vector
from matching.types import Filters

ScanOrder = Literal["relaxed_order", "strict_order", "off"]
# (table, vector column): competence vectors and profile vectors
_TABLES = (("competence_vectors", "vec"), ("organizations", "profile_vec"))
# The HNSW graph of every index: `m` links per node (twice that on the bottom layer) and
# `ef_construction` candidates considered while linking a new node. pgvector's defaults (16 /
# 64) left some of 1,000,000 clustered profile vectors reached by no search at any
# `ef_search` (profile recall@20 0.910-0.978 per filter); 24 / 128 gave 0.990-0.997 on the
# same queries, for a build about twice as long and an index 20% larger
# (`benchmarks/results/pgvector.md`, 2026-12-07). `benchmarks.pgvector --hnsw-m
# --hnsw-ef-construction` measures other values; a change here needs a migration that
# rebuilds the existing indexes (`rebuild_indexes`; `index_statements` only creates missing
# ones), as 0028 does.
HNSW_M = 24
HNSW_EF_CONSTRUCTION = 128


# rows of `organizations` as the catalogue has them (ANALYZE, autovacuum)
_TOTAL = "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'organizations'::regclass"


def _literal(value: str) -> str:
    """A string literal (standard_conforming_strings is on in every supported version)."""
    return "'" + value.replace("'", "''") + "'"


def index_name(table: str, encoder_name: str, dim: int) -> str:
    digest = hashlib.sha256(f"{encoder_name}\0{dim}".encode()).hexdigest()[:12]
    return f"ix_{table}_hnsw_{digest}"


def index_statements(
    encoder_name: str,
    dim: int,
    *,
    m: int = HNSW_M,
    ef_construction: int = HNSW_EF_CONSTRUCTION,
) -> list[str]:
    """CREATE INDEX statements of the HNSW indexes of one encoder (idempotent); other `m` and
    `ef_construction` than the production values for a migration's rebuild or a benchmark."""
    return [
        f"CREATE INDEX IF NOT EXISTS {index_name(table, encoder_name, dim)} ON {table} "
        f"USING hnsw (({column}::halfvec({int(dim)})) halfvec_cosine_ops) "
        f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)}) "
        f"WHERE embedding_model = {_literal(encoder_name)}"
        for table, column in _TABLES
    ]


def ensure_indexes(connection: Connection, encoder_name: str, dim: int) -> None:
    """Create the HNSW indexes of `encoder_name` where missing (a build takes a lock that
    blocks writes to the table: done by the migration and by the commands that write vectors, never in a request)."""
    for statement in index_statements(encoder_name, dim):
        connection.execute(text(statement))


def ensure_stored_indexes(connection: Connection) -> list[tuple[str, int]]:
    """Create the missing HNSW indexes of every encoder and dimension with stored vectors;
    the (encoder, dimension) pairs. Run by the commands that write vectors (import, seed,
    reindex), never inside a request: a build locks its tables against writes, and two
    requests building at once would deadlock with writers or with each other."""
    pairs = stored_encoders(connection)
    for model, dim in pairs:
        ensure_indexes(connection, model, dim)
    return pairs


def stored_encoders(connection: Connection) -> list[tuple[str, int]]:
    """The (encoder, dimension) pairs with stored vectors."""
    stored = connection.execute(
        text(
            "SELECT DISTINCT embedding_model, vector_dims(vec) FROM competence_vectors "
            "UNION SELECT DISTINCT embedding_model, vector_dims(profile_vec) FROM organizations "
            "WHERE profile_vec IS NOT NULL AND embedding_model IS NOT NULL"
        )
    ).all()
    return sorted({(str(model), int(dim)) for model, dim in stored})


def graph_parameters(connection: Connection, name: str) -> tuple[int, int] | None:
    """(m, ef_construction) an existing HNSW index was built with (pgvector's defaults where
    the index does not name them); None without the index."""
    row = connection.execute(
        text("SELECT reloptions FROM pg_class WHERE relname = :name AND relkind = 'i'"),
        {"name": name},
    ).first()
    if row is None:
        return None
    options = dict(str(o).split("=", 1) for o in row[0] or [])
    return int(options.get("m", 16)), int(options.get("ef_construction", 64))


def rebuild_indexes(
    connection: Connection, *, built_with: tuple[int, int], m: int, ef_construction: int
) -> list[str]:
    """Rebuild the HNSW indexes of every stored encoder that were built with the graph
    parameters `built_with` (m, ef_construction) with `m` and `ef_construction`; the names
    rebuilt. Indexes built with other parameters are left as they are. Each new index is built
    beside the old one (reads go on using the old one; writes to its table wait), then
    replaces it under the same name. For a migration, never a request."""
    rebuilt = []
    for model, dim in stored_encoders(connection):
        statements = index_statements(model, dim, m=m, ef_construction=ef_construction)
        for (table, _), statement in zip(_TABLES, statements, strict=True):
            name = index_name(table, model, dim)
            if graph_parameters(connection, name) != built_with:
                continue
            building = f"{name}_new"
            connection.execute(text(f"DROP INDEX IF EXISTS {building}"))
            connection.execute(text(statement.replace(f" {name} ON ", f" {building} ON ", 1)))
            connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
            connection.execute(text(f"ALTER INDEX {building} RENAME TO {name}"))
            rebuilt.append(name)
    return rebuilt


def has_indexes(connection: Connection, encoder_name: str, dim: int) -> bool:
    names = [index_name(table, encoder_name, dim) for table, _ in _TABLES]
    found = connection.execute(
        text("SELECT count(*) FROM pg_indexes WHERE indexname = ANY(:names)"), {"names": names}
    ).scalar_one()
    return int(found) == len(names)


def vector_text(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in np.asarray(vector).ravel()) + "]"


@dataclass(frozen=True, slots=True)
class Plan:
    """How one query is answered, decided from the data: `passing` organisations pass the
    filters (counted exactly below `exact_below`, else the planner's estimate from the
    columns' statistics), `total` is the table's size; `exact` compares the passing ones
    only, otherwise the HNSW index is scanned with a search list widened by `1 / selectivity`."""

    exact: bool
    passing: int
    total: int
    far: bool = False  # exact although many pass: the filter is far from the query

    @property
    def selectivity(self) -> float:
        return min(1.0, max(self.passing, 1) / max(self.total, 1))


class PgvectorRetriever:
    """`Retriever` over the pgvector columns of one encoder's vectors.

    Two paths, chosen per query from the data (`plan`):
    - **exact** when fewer than `exact_below` organisations pass the filters (a small
      country, one NACE division of a large database): the passing organisations are found
      on the filter columns' btree indexes, and only their vectors are compared. An HNSW scan
      would have to walk past almost everything else first.
    - **HNSW** otherwise, with ``hnsw.iterative_scan`` (`scan`) so that a filter still gets
      its `k` rows: `ef_search` and `max_scan_tuples` are divided by the filter's
      selectivity (the list by its square root, up to 1,000; the budget by the whole
      factor), the scan reads `overfetch` times `k` rows per query vector (the margin at most
      50 rows) and the nearest `k` of them are kept (the distances are exact, so that is an
      exact re-rank of what was read).

    Excluded ids (`Filters.exclude_ids`: opted-out competitors, known partners) are not part
    of the profile vectors' HNSW query: the scan reads as many more rows as there are
    excluded ids and drops them afterwards, so that a long list does not thin out the scan
    (they are near the asking organisation by nature). Above `max_excluded_after` ids, and
    for competence rows (checked against their organisation row by row anyway), they are
    part of the query.
    """

    def __init__(
        self,
        session: Session,
        encoder_name: str,
        *,
        ef_search: int = 100,
        profile_ef_search: int = 200,
        scan: ScanOrder = "relaxed_order",
        max_scan_tuples: int = 20_000,
        exact_below: int = 5_000,
        far_exact_below: int = 200_000,
        probe: int = 100,
        far_ratio: float = 0.25,
        overfetch: float = 2.0,
        max_excluded_after: int = 2_000,
    ) -> None:
        self.session = session
        self.exact_below = exact_below
        self.overfetch = overfetch
        self.encoder_name = encoder_name
        self.ef_search = ef_search
        self.profile_ef_search = profile_ef_search
        self.scan = scan
        self.max_scan_tuples = max_scan_tuples
        self.max_excluded_after = max_excluded_after
        self.far_exact_below = far_exact_below
        self.probe = probe
        self.far_ratio = far_ratio

    def candidate_ids(self, query: QueryVectors, k: int, filters: Filters) -> np.ndarray:
        """The ids `candidates` answers (the SQL scans find them with their distances)."""
        return self.candidates(query, k, filters).ids

    def candidates(self, query: QueryVectors, k: int, filters: Filters) -> Candidates:
        dim = query.dim
        if dim is None or k <= 0:
            return Candidates.of({})
        best: dict[int, float] = {}
        plan = self.plan(filters, query.profile)
        if plan.exact:
            best = self.exact(query, k, filters)
        else:
            # every source's settings and scan in one round trip
            found = self._nearest_all(
                [(table, where, pairs) for table, where, pairs in _sources(query, k)],
                dim,
                filters,
                plan,
            )
            for hits in found:
                for org_id, similarity in hits:
                    if similarity > best.get(org_id, -2.0):
                        best[org_id] = similarity
        if plan.exact and plan.passing <= k + len(filters.exclude_ids) + 1:
            # when no more than k pass, all of them are candidates, as in the engine (one
            # linked only by known relationships too)
            everyone = self._passing(filters, k + 1)
            if len(everyone) <= k:
                for org_id in everyone:
                    best.setdefault(org_id, -1.0)
        best.pop(query.asking_id, None)  # type: ignore[arg-type]
        return Candidates.of(best)

    def plan(self, filters: Filters, profile: np.ndarray | None = None) -> Plan:
        """Exact or HNSW for `filters`, from the data.

        A count of the passing organisations up to `exact_below` when a filter narrows them
        (on the filter column's index): fewer are answered exactly. Above that, the
        planner's estimate gives the selectivity. A filter that passes up to
        `far_exact_below` organisations is also answered exactly when it is *far* from the
        query: among the `probe` organisations nearest to `profile` (one HNSW scan without
        the filter) fewer than `far_ratio` times the selectivity pass. An HNSW scan would
        then walk past all the near ones first (a NACE division of other topics)."""
        conditions, params = _filter_sql(filters, excluded=False)
        cap = self.exact_below
        if len(conditions) == 1 and filters.only_ids is None:
            total = int(self.session.execute(text(_TOTAL)).scalar_one())
            if total >= cap:
                return Plan(exact=False, passing=total, total=total)
        estimate, total = self._estimate(conditions, params)
        counted = cap
        if estimate < 4 * cap:  # near the line: counted (a count of `cap` rows costs ms)
            sql = (
                "SELECT count(*) FROM (SELECT 1 FROM organizations o "
                f"WHERE {' AND '.join(conditions)} LIMIT :cap) AS s"
            )
            counted = int(self.session.execute(text(sql), {**params, "cap": cap}).scalar_one())
            if counted < cap:
                return Plan(exact=True, passing=counted, total=max(total, counted))
        estimate = max(estimate, counted)
        plan = Plan(exact=False, passing=estimate, total=max(total, estimate))
        if profile is not None and estimate < self.far_exact_below:
            near = self._near_share(conditions, params, profile, plan)
            if near < self.far_ratio * plan.selectivity:
                return Plan(exact=True, passing=estimate, total=plan.total, far=True)
        return plan

    def _near_share(
        self, conditions: list[str], params: dict[str, Any], profile: np.ndarray, plan: Plan
    ) -> float:
        """The share of the `probe` organisations nearest to `profile` that pass."""
        dim = int(profile.shape[0])
        self._settings(plan, widen=False)
        sql = (
            f"SELECT avg(CASE WHEN {' AND '.join(conditions)} THEN 1.0 ELSE 0.0 END) FROM ("
            f"SELECT o.* FROM organizations o WHERE o.embedding_model = "
            f"{_literal(self.encoder_name)} ORDER BY (o.profile_vec::halfvec({dim})) "
            f"<=> CAST(:probe_v AS halfvec({dim})) LIMIT :probe) AS o"
        )
        share = self.session.execute(
            text(sql), {**params, "probe_v": vector_text(profile), "probe": self.probe}
        ).scalar_one()
        return float(share or 0.0)

    def _estimate(self, conditions: list[str], params: dict[str, Any]) -> tuple[int, int]:
        """The planner's row estimate for the filters (from the columns' statistics) and the
        table's rows as the catalogue has them."""
        sql = (
            f"EXPLAIN (FORMAT JSON) SELECT 1 FROM organizations o WHERE {' AND '.join(conditions)}"
        )
        plan = self.session.execute(text(sql), params).scalar_one()
        if isinstance(plan, str):
            plan = json.loads(plan)
        total = int(self.session.execute(text(_TOTAL)).scalar_one())
        return int(plan[0]["Plan"]["Plan Rows"]), total

    def _passing(self, filters: Filters, cap: int) -> list[int]:
        """Up to `cap` organisations that pass the filters (visible ones only)."""
        conditions, params = _filter_sql(filters)
        params["cap"] = cap
        sql = f"SELECT o.id FROM organizations o WHERE {' AND '.join(conditions)} LIMIT :cap"
        return [int(i) for i in self.session.execute(text(sql), params).scalars()]

    def _settings(self, plan: Plan, *, widen: bool) -> None:
        """One round trip for the scan's settings (SET LOCAL: this transaction only).
        `widen`: the search list and the scan's budget divided by the selectivity."""
        self.session.execute(*self._settings_statement(plan, widen=widen))

    def _settings_statement(self, plan: Plan, *, widen: bool) -> tuple[Any, dict[str, Any]]:
        """The statement of `_settings` and its parameters."""
        widen_by = 1.0 / plan.selectivity if widen else 1.0
        # the list by the square root (each batch of the iterative scan goes on), the
        # budget of tuples by the whole factor
        # the profile graph holds every organisation (1,000,000 nodes at the large end):
        # its list starts longer than that of the small graph of distinct competences
        base = self.profile_ef_search if widen else self.ef_search
        ef = min(1000, max(base, math.ceil(base * math.sqrt(widen_by))))
        tuples = min(1_000_000, math.ceil(self.max_scan_tuples * widen_by))
        if self.scan == "off":
            ef = 1000
        return (
            text(
                "SELECT set_config('hnsw.ef_search', :ef, true), "
                "set_config('hnsw.iterative_scan', :scan, true), "
                "set_config('hnsw.max_scan_tuples', :tuples, true)"
            ),
            {"ef": str(ef), "scan": self.scan, "tuples": str(tuples)},
        )

    def nearest(
        self,
        table: str,
        kind: str,
        pairs: Sequence[tuple[np.ndarray, int]],
        dim: int,
        filters: Filters,
        plan: Plan,
    ) -> list[tuple[int, float]]:
        """(organisation id, cosine) of the `k` nearest rows per (query vector, k) of one
        source, by HNSW (`exact` answers all sources of an exact plan at once)."""
        return self._nearest_all([(table, kind, pairs)], dim, filters, plan)[0]

    def _nearest_all(
        self,
        sources: Sequence[tuple[str, str, Sequence[tuple[np.ndarray, int]]]],
        dim: int,
        filters: Filters,
        plan: Plan,
    ) -> list[list[tuple[int, float]]]:
        """`nearest` of each (table, condition, pairs), the settings and scans of all of them
        sent in one round trip."""
        statements: list[tuple[Any, dict[str, Any]]] = []
        scans = []
        for table, kind, pairs in sources:
            settings, sql, params, after = self._nearest_sql(table, kind, pairs, dim, filters, plan)
            statements += [settings, (text(sql), params)]
            scans.append((pairs, after))
        rows = pipelined(self.session, statements)
        out = []
        for (pairs, after), found in zip(scans, rows[1::2], strict=True):
            # re-rank what was read (relaxed order), without the excluded ids, k per vector
            per: dict[int, list[tuple[float, int]]] = {}
            for i, owner_id, d in found:
                if int(owner_id) not in after:
                    per.setdefault(int(i), []).append((float(d), int(owner_id)))
            hits: list[tuple[int, float]] = []
            for i, (_, k) in enumerate(pairs):
                hits.extend((o, 1.0 - d) for d, o in sorted(per.get(i, []))[:k])
            out.append(hits)
        return out

    def _nearest_sql(
        self,
        table: str,
        kind: str,
        pairs: Sequence[tuple[np.ndarray, int]],
        dim: int,
        filters: Filters,
        plan: Plan,
    ) -> tuple[tuple[Any, dict[str, Any]], str, dict[str, Any], frozenset[int]]:
        """(settings statement, scan SQL, its parameters, ids dropped after the scan) of one
        source."""
        after = frozenset(filters.exclude_ids)
        if table != "organizations" or len(after) > self.max_excluded_after:
            # competence rows are checked against their organisation row by row anyway
            after = frozenset()
        conditions, params = _filter_sql(filters, excluded=not after)
        # relaxed order misplaces rows near the k-th: the margin read past it is
        # `overfetch` - 1 times k, at most 50 rows (a pool of 300 is a set, not an order)
        fetch = [
            k + math.ceil(min(k, 50) * max(self.overfetch - 1.0, 0.0)) + len(after)
            for _, k in pairs
        ]
        # the profile graph holds every organisation: a filter thins out each batch of its
        # scan, so the list grows with 1 / selectivity; the graph of distinct competence
        # vectors is small and the scan's rows are their many organisations' rows
        settings = self._settings_statement(plan, widen=table == "organizations")
        where = " AND ".join(conditions)
        model = _literal(self.encoder_name)
        # the indexed expression: the planner walks the HNSW index
        if table == "competences":
            distance = f"(v.vec::halfvec({dim})) <=> q.v"
            source = (
                "competence_vectors v JOIN competences c ON c.vector_id = v.id "
                "JOIN organizations o ON o.id = c.organization_id "
                f"WHERE v.embedding_model = {model} AND {kind} AND "
            )
            owner = "c.organization_id"
        else:
            distance = f"(o.profile_vec::halfvec({dim})) <=> q.v"
            source = f"organizations o WHERE o.embedding_model = {model} AND "
            owner = "o.id"
        values = []
        for i, ((vector, _), f) in enumerate(zip(pairs, fetch, strict=True)):
            params[f"v{i}"] = vector_text(vector)
            values.append(f"({i}, CAST(:v{i} AS halfvec({dim})), {int(f)})")
        sql = (
            f"SELECT hit.i, hit.owner, hit.distance "
            f"FROM (VALUES {', '.join(values)}) AS q(i, v, f) "
            "CROSS JOIN LATERAL ("
            f"SELECT q.i, {owner} AS owner, {distance} AS distance FROM {source}{where} "
            "ORDER BY distance LIMIT q.f) AS hit"
        )
        return settings, sql, params, after

    def exact(self, query: QueryVectors, k: int, filters: Filters) -> dict[int, float]:
        """All sources in one statement over the passing organisations only: they are found on
        the filter columns' btree indexes, their competence rows grouped by distinct vector
        (each distinct vector compared once per query vector, the groups taken nearest first
        until `k` rows are reached), their profile vectors compared one by one. The distances
        are written on the plain columns, not the indexed expressions, so the planner cannot
        walk an HNSW index instead. {organisation id: best cosine}."""
        hits = self._exact_rows(query, k, filters)
        best: dict[int, float] = {}
        for _, owner_id, d in hits:
            if 1.0 - d > best.get(owner_id, -2.0):
                best[owner_id] = 1.0 - d
        return best

    def _exact_rows(
        self, query: QueryVectors, k: int, filters: Filters
    ) -> list[tuple[int, int, float]]:
        """(query vector, organisation id, distance), the `k` nearest per query vector of the
        competence sources (numbered as `_sources` lists them, cores then needs) and the
        profile (the last number)."""
        conditions, params = _filter_sql(filters)
        model = _literal(self.encoder_name)
        values: list[str] = []
        shares: dict[int, int] = {}
        profile_i: int | None = None
        n = 0
        for table, where, pairs in _sources(query, k):
            for vector, kk in pairs:
                params[f"v{n}"] = vector_text(vector)
                shares[n] = kk
                if table == "competences":
                    core = "true" if where == "c.kind = 'core'" else "false"
                    values.append(f"({n}, CAST(:v{n} AS halfvec), {core}, {int(kk)})")
                else:
                    profile_i = n
                n += 1
        parts = []
        if values:
            parts.append(
                "SELECT r.i, unnest(r.owners) AS owner, r.d FROM ("
                "SELECT s.i, s.owners, s.d, sum(cardinality(s.owners)) OVER ("
                "PARTITION BY s.i ORDER BY s.d ROWS UNBOUNDED PRECEDING) "
                "- cardinality(s.owners) AS before, s.k FROM ("
                "SELECT q.i, q.k, l.owners, v.vec <=> q.v AS d "
                f"FROM (VALUES {', '.join(values)}) AS q(i, v, core, k) "
                "JOIN labels l ON l.core = q.core "
                f"JOIN competence_vectors v ON v.id = l.vector_id AND v.embedding_model = {model}"
                ") AS s) AS r WHERE r.before < r.k"
            )
        # the profile distance is computed in the same pass over the passing rows
        profile = "NULL::float8"
        if profile_i is not None:
            params["profile_k"] = shares[profile_i]
            profile = (
                f"CASE WHEN o.embedding_model = {model} "
                f"THEN o.profile_vec <=> CAST(:v{profile_i} AS halfvec) END"
            )
            parts.append(
                f"(SELECT {profile_i} AS i, a.id AS owner, a.d FROM allowed a "
                "WHERE a.d IS NOT NULL ORDER BY a.d LIMIT :profile_k)"
            )
        if not parts:
            return []
        sql = (
            f"WITH allowed AS MATERIALIZED (SELECT o.id, {profile} AS d FROM organizations o "
            f"WHERE {' AND '.join(conditions)}), "
            # per passing organisation its rows, on the organisation index (OFFSET 0 keeps
            # the planner from a scan of every competence)
            "labels AS MATERIALIZED (SELECT c.vector_id, c.core, "
            "array_agg(c.organization_id) AS owners FROM allowed a "
            "CROSS JOIN LATERAL (SELECT c.vector_id, c.kind = 'core' AS core, c.organization_id "
            "FROM competences c WHERE c.organization_id = a.id AND c.vector_id IS NOT NULL "
            "OFFSET 0) AS c GROUP BY 1, 2) " + " UNION ALL ".join(parts)
        )
        rows = self.session.execute(text(sql), params).all()
        per: dict[int, list[tuple[float, int]]] = {}
        for i, owner_id, d in rows:
            per.setdefault(int(i), []).append((float(d), int(owner_id)))
        out: list[tuple[int, int, float]] = []
        for i, found in per.items():
            out.extend((i, o, d) for d, o in sorted(found)[: shares[i]])
        return out


def pipelined(
    session: Session,
    statements: Sequence[tuple[Any, dict[str, Any]]],
    *,
    named: Collection[int] = (),
) -> list[list[Any]]:
    """The rows of each (`text()` statement, parameters), all sent in one round trip in the
    session's transaction (psycopg's pipeline mode): on a busy server every round trip waits
    for the server's turn. Statements run in order, so a `set_config` applies to the ones
    after it. `named`: the positions of the statements whose rows are named tuples."""
    connection = session.connection()
    dialect = connection.dialect
    driver = connection.connection.driver_connection
    assert driver is not None  # a checked-out connection
    cursors = []
    with driver.pipeline():
        for i, (statement, params) in enumerate(statements):
            compiled = statement.compile(dialect=dialect)
            cursor = driver.cursor(row_factory=namedtuple_row) if i in named else driver.cursor()
            cursor.execute(compiled.string, compiled.construct_params(params))
            cursors.append(cursor)
    out = []
    for cursor in cursors:
        out.append(cursor.fetchall() if cursor.description is not None else [])
        cursor.close()
    return out


def _sources(query: QueryVectors, k: int) -> list[tuple[str, str, list[tuple[np.ndarray, int]]]]:
    """(table, condition, [(query vector, rows)]): the engine's sources and their shares."""
    kn, kc = per_vector(k, len(query.needs)), per_vector(k, len(query.cores))
    sources: list[tuple[str, str, list[tuple[np.ndarray, int]]]] = []
    if len(query.needs) or len(query.cores):
        # my needs and my offers against their cores
        pairs = [(v, kn) for v in query.needs] + [(v, kc) for v in query.cores]
        sources.append(("competences", "c.kind = 'core'", pairs))
    if len(query.cores):
        # my offers against their needs
        sources.append(("competences", "c.kind <> 'core'", [(v, kc) for v in query.cores]))
    if query.profile is not None:
        sources.append(("organizations", "", [(query.profile, k)]))
    return sources


def _filter_sql(filters: Filters, *, excluded: bool = True) -> tuple[list[str], dict[str, Any]]:
    """SQL conditions on `organizations o` for what the filters say (the engine checks all of
    them again; distance, cooperation interests and known partners are left to it).

    Conditions are on the plain columns, so the planner estimates them from the columns'
    statistics: a condition it cannot estimate counts as very selective, and the planner then
    filters and sorts every row instead of walking the HNSW index."""
    conditions = ["o.visibility <> 'private'"]
    params: dict[str, Any] = {}
    if filters.countries:
        conditions.append("o.country = ANY(:countries)")
        params["countries"] = sorted(
            {c.upper() for c in filters.countries} | {c.lower() for c in filters.countries}
        )
    if filters.nace_include:
        prefixes = _nace_patterns(filters.nace_include)
        likes = []
        for j, pattern in enumerate(prefixes):
            likes.append(f"o.nace_code LIKE :nace_in{j}")
            params[f"nace_in{j}"] = pattern
        # one LIKE per prefix, not LIKE ANY: each is a range of the pattern index (0020)
        conditions.append("(" + " OR ".join(likes) + ")" if likes else "false")
    if filters.nace_exclude:
        prefixes = _nace_patterns(filters.nace_exclude)
        if prefixes:
            conditions.append("(o.nace_code IS NULL OR NOT (o.nace_code LIKE ANY(:nace_out)))")
            params["nace_out"] = prefixes
    if filters.min_employees is not None:
        conditions.append("o.employees >= :min_employees")
        params["min_employees"] = filters.min_employees
    if filters.max_employees is not None:
        conditions.append("o.employees <= :max_employees")
        params["max_employees"] = filters.max_employees
    if excluded and filters.exclude_ids:
        conditions.append("o.id <> ALL(:exclude_ids)")
        params["exclude_ids"] = sorted(filters.exclude_ids)
    if filters.only_ids is not None:
        conditions.append("o.id = ANY(:only_ids)")
        params["only_ids"] = sorted(filters.only_ids)
    return conditions, params


def _nace_patterns(codes: Sequence[str]) -> list[str]:
    """LIKE patterns of NACE prefixes, for codes stored with or without the dot ("26.51",
    "2651"): the engine ignores dots and spaces; a letter section in front matches nothing
    there either."""
    out: set[str] = set()
    for code in codes:
        key = code.strip().replace(".", "").replace(" ", "").upper()
        if not key or not key[0].isdigit():
            continue
        key = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        out.add(key + "%")
        if len(key) > 2:
            out.add(key[:2] + "." + key[2:] + "%")
    return sorted(out)
