"""Candidate retrieval in PostgreSQL with pgvector (`matching.retrieval.Retriever`).

Migration 0017 keeps a `halfvec` copy of every stored vector (`competences.embedding_vec`,
`organizations.profile_vec`), written by a trigger in the same statement as the bytes. An
HNSW index (cosine) needs one dimension, so each encoder gets partial expression indexes:
``(embedding_vec::halfvec(d)) halfvec_cosine_ops WHERE embedding_model = '<encoder>'``
(`ensure_indexes`). Queries repeat that expression and that literal predicate, so the planner
can use the index.

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
_TABLES = (("competences", "embedding_vec"), ("organizations", "profile_vec"))
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
    blocks writes to the table: done by the migration, or once when an encoder is first used)."""
    for statement in index_statements(encoder_name, dim):
        connection.execute(text(statement))


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

    `ef_search`: HNSW candidate list (at least `2 k` per query vector is used); `scan`: the
    iterative scan mode (`relaxed_order` returns rows slightly out of order, each query's
    rows are ordered again after the scan); `max_scan_tuples`: where an iterative scan stops.
    """

    def __init__(
        self,
        session: Session,
        encoder_name: str,
        *,
        ef_search: int = 100,
        scan: ScanOrder = "relaxed_order",
        max_scan_tuples: int = 20_000,
    ) -> None:
        self.session = session
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
        for table, where, pairs in sources:
            for org_id, similarity in self._nearest(table, where, pairs, dim, filters):
                if similarity > best.get(org_id, -2.0):
                    best[org_id] = similarity
        best.pop(query.asking_id, None)  # type: ignore[arg-type]
        return Candidates.of(best)

    def _settings(self, k: int) -> None:
        ef = max(self.ef_search, 2 * k)
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
    ) -> list[tuple[int, float]]:
        """(organisation id, cosine) of the `k` nearest rows per (query vector, k)."""
        self._settings(max(k for _, k in pairs))
        params: dict[str, Any] = {}
        conditions, filter_params = _filter_sql(filters)
        params.update(filter_params)
        model = _literal(self.encoder_name)
        if table == "competences":
            distance = f"(c.embedding_vec::halfvec({dim})) <=> q.v"
            source = (
                "competences c JOIN organizations o ON o.id = c.organization_id "
                f"WHERE c.embedding_model = {model} AND {kind} AND "
            )
            owner = "c.organization_id"
        else:
            distance = f"(o.profile_vec::halfvec({dim})) <=> q.v"
            source = f"organizations o WHERE o.embedding_model = {model} AND "
            owner = "o.id"
        values = []
        for i, (vector, k) in enumerate(pairs):
            params[f"v{i}"] = vector_text(vector)
            values.append(f"({i}, CAST(:v{i} AS halfvec({dim})), {int(k)})")
        sql = (
            f"SELECT hit.owner, hit.distance FROM (VALUES {', '.join(values)}) AS q(i, v, k) "
            f"CROSS JOIN LATERAL (SELECT {owner} AS owner, {distance} AS distance "
            f"FROM {source}{' AND '.join(conditions)} "
            "ORDER BY distance LIMIT q.k) AS hit"
        )
        rows = self.session.execute(text(sql), params).all()
        return [(int(owner_id), 1.0 - float(d)) for owner_id, d in rows]


def _filter_sql(filters: Filters) -> tuple[list[str], dict[str, Any]]:
    """SQL conditions on `organizations o` for what the filters say (the engine checks all of
    them again; distance, cooperation interests and known partners are left to it)."""
    conditions = ["o.visibility <> 'private'"]
    params: dict[str, Any] = {}
    if filters.countries:
        conditions.append("upper(o.country) = ANY(:countries)")
        params["countries"] = sorted(c.upper() for c in filters.countries)
    key = "upper(replace(replace(o.nace_code, '.', ''), ' ', ''))"
    if filters.nace_include:
        prefixes = _nace_prefixes(filters.nace_include)
        if prefixes:
            conditions.append(f"o.nace_code ~ '^[0-9]' AND {key} LIKE ANY(:nace_in)")
            params["nace_in"] = prefixes
        else:
            conditions.append("false")
    if filters.nace_exclude:
        prefixes = _nace_prefixes(filters.nace_exclude)
        if prefixes:
            conditions.append(
                f"(o.nace_code IS NULL OR o.nace_code !~ '^[0-9]' "
                f"OR NOT ({key} LIKE ANY(:nace_out)))"
            )
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


def _nace_prefixes(codes: Sequence[str]) -> list[str]:
    """LIKE patterns of NACE prefixes as the engine compares them (dots and spaces ignored)."""
    out = []
    for code in codes:
        key = code.strip().replace(".", "").replace(" ", "").upper()
        if key:
            out.append(key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    return out
