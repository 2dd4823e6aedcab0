"""Which retriever finds a match's candidates: pgvector on PostgreSQL, the fitted index on
SQLite (`matching.retrieval`). The engine then scores only what it returns."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from app.db import get_replica_engine, reads_replica
from app.matches.index import FittedIndex
from app.matches.pgvector import PgvectorRetriever
from matching.retrieval import (
    InProcessRetriever,
    QueryVectors,
    Retriever,
    narrowed_to,
)
from matching.types import Filters


def retriever_for(session: Session, index: FittedIndex) -> Retriever:
    """pgvector where the database has it (PostgreSQL), otherwise the in-process index.

    A request never builds an HNSW index: without one the same query is answered exactly (a
    scan), and the commands that write vectors create them (`ensure_stored_indexes`)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        return PgvectorRetriever(session, index.encoder_name)
    return InProcessRetriever(index.matcher)


def candidate_filters(
    session: Session, index: FittedIndex, query: QueryVectors, filters: Filters
) -> Filters:
    """`filters` narrowed to the candidates the backend's retriever finds for `query`
    (the engine's `candidate_pool` nearest rows per source)."""
    if query.dim is None or index.dim is None:
        return filters  # nothing to search with: the engine ranks by what it has
    with reading(session) as reader:
        retriever = retriever_for(reader, index)
        ids = retriever.candidate_ids(query, index.matcher.candidate_pool, filters)
    return narrowed_to(filters, ids)


@contextmanager
def reading(session: Session) -> Iterator[Session]:
    """The session for a match's or a search's candidate retrieval: a read-only transaction
    on the read replica where one is configured (`KOOPMATCH_READ_REPLICA_URL`) and `session`
    may read there (`app.db.reads_replica`), else `session` itself."""
    replica = get_replica_engine()
    if replica is None or not reads_replica(session):
        yield session
        return
    with Session(replica) as reader, reader.begin():
        yield reader
