"""Which retriever finds a match's candidates: pgvector on PostgreSQL, the fitted index on
SQLite (`matching.retrieval`). The engine then scores only what it returns."""

from __future__ import annotations

import hashlib
import threading

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.matches.index import FittedIndex
from app.matches.pgvector import PgvectorRetriever, ensure_indexes, has_indexes
from matching.retrieval import InProcessRetriever, QueryVectors, Retriever, narrowed
from matching.types import Filters

# (database URL, encoder, dimension) whose HNSW indexes this process has seen
_INDEXED: set[tuple[str, str, int]] = set()
_INDEXED_LOCK = threading.Lock()


def retriever_for(session: Session, index: FittedIndex) -> Retriever:
    """pgvector where the database has it (PostgreSQL), otherwise the in-process index."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        if index.dim is not None:
            _ensure_indexed(session, index.encoder_name, index.dim)
        return PgvectorRetriever(session, index.encoder_name)
    return InProcessRetriever(index.matcher)


def _ensure_indexed(session: Session, encoder_name: str, dim: int) -> None:
    key = (str(session.get_bind().engine.url), encoder_name, dim)
    if key in _INDEXED:
        return
    with _INDEXED_LOCK:
        connection = session.connection()
        # one creator at a time, across processes: a concurrent request waits until the
        # creating transaction has committed, then finds the indexes (without the lock both
        # would create them and the second fail on the catalogue's unique name)
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(encoder_name, dim)}
        )
        if not has_indexes(connection, encoder_name, dim):
            # an encoder met for the first time after the migration
            ensure_indexes(connection, encoder_name, dim)
        # (an index made inside a transaction that rolls back is gone again: the queries
        # stay correct, only slower, until the next process start)
        _INDEXED.add(key)


def _lock_key(encoder_name: str, dim: int) -> int:
    """A signed 64-bit advisory lock key for creating one encoder's HNSW indexes."""
    digest = hashlib.sha256(f"koopmatch-hnsw\0{encoder_name}\0{dim}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def candidate_filters(
    session: Session, index: FittedIndex, query: QueryVectors, filters: Filters
) -> Filters:
    """`filters` narrowed to the candidates the backend's retriever finds for `query`
    (the engine's `candidate_pool` nearest rows per source)."""
    if query.dim is None or index.dim is None:
        return filters  # nothing to search with: the engine ranks by what it has
    retriever = retriever_for(session, index)
    found = retriever.candidates(query, index.matcher.candidate_pool, filters)
    return narrowed(filters, found)
