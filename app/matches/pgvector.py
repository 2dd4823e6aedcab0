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
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from matching.retrieval import Candidates, QueryVectors, per_vector
from matching.types import Filters

ScanOrder = Literal["relaxed_order", "strict_order", "off"]
# (table, vector column): competence vectors and profile vectors
_TABLES = (("competence_vectors", "vec"), ("organizations", "profile_vec"))
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64


def _literal(value: str) -> str:
    """A string literal (standard_conforming_strings is on in every supported version)."""
    return "'" + value.replace("'", "''") + "'"


def index_name(table: str, encoder_name: str, dim: int) -> str:
    digest = hashlib.sha256(f"{encoder_name}\0{dim}".encode()).hexdigest()[:12]
    return f"ix_{table}_hnsw_{digest}"


def index_statements(encoder_name: str, dim: int) -> list[str]:
    """CREATE INDEX statements of the HNSW indexes of one encoder (idempotent)."""
    return [
        f"CREATE INDEX IF NOT EXISTS {index_name(table, encoder_name, dim)} ON {table} "
        f"USING hnsw (({column}::halfvec({int(dim)})) halfvec_cosine_ops) "
        f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
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
    stored = connection.execute(
        text(
            "SELECT DISTINCT embedding_model, vector_dims(vec) FROM competence_vectors "
            "UNION SELECT DISTINCT embedding_model, vector_dims(profile_vec) FROM organizations "
            "WHERE profile_vec IS NOT NULL AND embedding_model IS NOT NULL"
        )
    ).all()
    pairs = sorted({(str(model), int(dim)) for model, dim in stored})
    for model, dim in pairs:
        ensure_indexes(connection, model, dim)
    return pairs


def has_indexes(connection: Connection, encoder_name: str, dim: int) -> bool:
    names = [index_name(table, encoder_name, dim) for table, _ in _TABLES]
    found = connection.execute(
        text("SELECT count(*) FROM pg_indexes WHERE indexname = ANY(:names)"), {"names": names}
    ).scalar_one()
    return int(found) == len(names)


def vector_text(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in np.asarray(vector).ravel()) + "]"


class PgvectorRetriever:
    """`Retriever` over the pgvector columns of one encoder's vectors.

    `ef_search`: HNSW candidate list (of each batch of an iterative scan); `scan`: the
    iterative scan mode; `max_scan_tuples`: where an iterative scan stops. `relaxed_order`
    returns rows slightly out of order: `overfetch` times `k` rows are read per query vector
    and the nearest `k` of them kept.

    A filter that leaves fewer than `exact_below` organisations (a small country, a rare NACE
    class) is answered exactly instead: the few organisations first, then their vectors
    ordered by distance. An index scan would have to walk past almost everything else.
    """

    def __init__(
        self,
        session: Session,
        encoder_name: str,
        *,
        ef_search: int = 100,
        scan: ScanOrder = "relaxed_order",
        max_scan_tuples: int = 20_000,
        exact_below: int = 3000,
        overfetch: float = 2.0,
    ) -> None:
        self.session = session
        self.exact_below = exact_below
        self.overfetch = overfetch
        self.encoder_name = encoder_name
        self.ef_search = ef_search
        self.scan = scan
        self.max_scan_tuples = max_scan_tuples

    def candidates(self, query: QueryVectors, k: int, filters: Filters) -> Candidates:
        dim = query.dim
        if dim is None or k <= 0:
            return Candidates.of({})
        best: dict[int, float] = {}
        kn, kc = per_vector(k, len(query.needs)), per_vector(k, len(query.cores))
        # (table, condition, [(query vector, rows)]): the engine's sources and their shares
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
        exact = self._few_pass(filters)
        for table, where, pairs in sources:
            for org_id, similarity in self._nearest(table, where, pairs, dim, filters, exact):
                if similarity > best.get(org_id, -2.0):
                    best[org_id] = similarity
        if exact:
            # when no more than k pass, all of them are candidates, as in the engine (one
            # linked only by known relationships too)
            everyone = self._passing(filters, k + 1)
            if len(everyone) <= k:
                for org_id in everyone:
                    best.setdefault(org_id, -1.0)
        best.pop(query.asking_id, None)  # type: ignore[arg-type]
        return Candidates.of(best)

    def _passing(self, filters: Filters, cap: int) -> list[int]:
        """Up to `cap` organisations that pass the filters (visible ones only)."""
        conditions, params = _filter_sql(filters)
        params["cap"] = cap
        sql = f"SELECT o.id FROM organizations o WHERE {' AND '.join(conditions)} LIMIT :cap"
        return [int(i) for i in self.session.execute(text(sql), params).scalars()]

    def _few_pass(self, filters: Filters) -> bool:
        """Whether fewer than `exact_below` organisations pass the organisation filters
        (counted up to that many, on the columns' indexes where there are; a small
        database passes with any filter)."""
        conditions, params = _filter_sql(filters)
        params["cap"] = self.exact_below
        passing = self.session.execute(
            text(
                f"SELECT count(*) FROM (SELECT 1 FROM organizations o WHERE "
                f"{' AND '.join(conditions)} LIMIT :cap) AS s"
            ),
            params,
        ).scalar_one()
        return int(passing) < self.exact_below

    def _settings(self) -> None:
        # with an iterative scan, ef_search is the batch size: the scan goes on until the
        # query's LIMIT is met, so it need not grow with k
        ef = self.ef_search if self.scan != "off" else max(self.ef_search, 1000)
        self.session.execute(text(f"SET LOCAL hnsw.ef_search = {int(min(ef, 1000))}"))
        self.session.execute(text(f"SET LOCAL hnsw.iterative_scan = {self.scan}"))
        if self.scan != "off":
            self.session.execute(
                text(f"SET LOCAL hnsw.max_scan_tuples = {int(self.max_scan_tuples)}")
            )

    def _nearest(
        self,
        table: str,
        kind: str,
        pairs: Sequence[tuple[np.ndarray, int]],
        dim: int,
        filters: Filters,
        exact: bool = False,
    ) -> list[tuple[int, float]]:
        """(organisation id, cosine) of the `k` nearest rows per (query vector, k); `exact`:
        the organisations that pass the filters first, then all their vectors compared."""
        fetch = [max(k, int(k * self.overfetch)) for _, k in pairs]
        self._settings()
        params: dict[str, Any] = {}
        conditions, filter_params = _filter_sql(filters)
        params.update(filter_params)
        where = " AND ".join(conditions)
        model = _literal(self.encoder_name)
        prefix = ""
        if exact:
            prefix = (
                f"WITH allowed AS MATERIALIZED (SELECT o.id FROM organizations o WHERE {where}) "
            )
            where = "true"
        orgs = "allowed a JOIN organizations o ON o.id = a.id" if exact else "organizations o"
        if table == "competences":
            distance = f"(v.vec::halfvec({dim})) <=> q.v"
            source = (
                "competence_vectors v JOIN competences c ON c.vector_id = v.id "
                f"JOIN {orgs} ON o.id = c.organization_id "
                f"WHERE v.embedding_model = {model} AND {kind} AND "
            )
            owner = "c.organization_id"
        else:
            distance = f"(o.profile_vec::halfvec({dim})) <=> q.v"
            source = f"{orgs} WHERE o.embedding_model = {model} AND "
            owner = "o.id"
        values = []
        for i, ((vector, k), f) in enumerate(zip(pairs, fetch, strict=True)):
            params[f"v{i}"] = vector_text(vector)
            values.append(f"({i}, CAST(:v{i} AS halfvec({dim})), {int(k)}, {int(f)})")
        sql = (
            f"{prefix}SELECT hit.owner, hit.distance "
            f"FROM (VALUES {', '.join(values)}) AS q(i, v, k, f) "
            "CROSS JOIN LATERAL (SELECT r.owner, r.distance FROM ("
            f"SELECT {owner} AS owner, {distance} AS distance FROM {source}{where} "
            "ORDER BY distance LIMIT q.f) AS r ORDER BY r.distance LIMIT q.k) AS hit"
        )
        rows = self.session.execute(text(sql), params).all()
        return [(int(owner_id), 1.0 - float(d)) for owner_id, d in rows]


def _filter_sql(filters: Filters) -> tuple[list[str], dict[str, Any]]:
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
        conditions.append("o.nace_code LIKE ANY(:nace_in)" if prefixes else "false")
        params["nace_in"] = prefixes
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
    if filters.exclude_ids:
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
