"""Matching reads on a read replica (`KOOPMATCH_READ_REPLICA_URL`), writes and read-your-writes
on the primary.

The replica is stood in for by a second database migrated like the primary (on SQLite a
second file, on PostgreSQL a second database of the test server) that holds different rows,
so that each answer shows which database it came from. A real replica would be a streaming
copy of the primary; what is tested here is which reads go where.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import WRITE_OPTION, get_replica_engine, reads_replica
from app.embeddings import embed_organizations
from app.matches.index import IndexCache
from app.matches.retrieval import candidate_filters, reading
from app.models import Competence, Organization
from matching.encoders import Encoder
from matching.retrieval import QueryVectors
from matching.types import Filters
from tests.conftest import migrated_url

LABEL = "Spritzguss technischer Kunststoffteile nach Zeichnung"


@pytest.fixture
def replica(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A second migrated database standing in for a read replica, configured as one."""
    url = migrated_url(backend, request, tmp_path)
    settings = get_settings()
    get_replica_engine.cache_clear()
    settings.read_replica_url = url
    engine = get_replica_engine()
    assert engine is not None
    try:
        yield engine
    finally:
        settings.read_replica_url = None
        engine.dispose()
        get_replica_engine.cache_clear()


def _organization(session: Session, name: str, country: str, encoder: Encoder) -> int:
    org = Organization(name=name, country=country, visibility="public")
    org.competences = [Competence(kind="core", label=LABEL)]
    org.relationships = []
    session.add(org)
    session.flush()
    embed_organizations([org], encoder)
    session.commit()
    return org.id


def _names(session: Session) -> list[str]:
    return list(session.execute(text("SELECT name FROM organizations ORDER BY name")).scalars())


def test_reads_go_to_the_replica_writes_and_own_writes_to_the_primary(
    db_session: Session, engine: Engine, replica: Engine, encoder: Encoder
) -> None:
    with Session(replica) as session:
        _organization(session, "Nur im Replikat", "LU", encoder)
    _organization(db_session, "Nur im Primaer", "DE", encoder)

    # a read: its retrieval reads the replica
    reader = Session(bind=engine)
    assert reads_replica(reader)
    with reading(reader) as chosen:
        assert chosen is not reader
        assert _names(chosen) == ["Nur im Replikat"]
    reader.close()

    # a writing request's session (bound with the write option) keeps the primary
    writer = Session(bind=engine.execution_options(**{WRITE_OPTION: True}))
    assert not reads_replica(writer)
    with reading(writer) as chosen:
        assert chosen is writer
    writer.close()

    # a session that has written keeps the primary, also after its commit
    assert not reads_replica(db_session)  # it stored "Nur im Primaer" above
    with reading(db_session) as chosen:
        assert chosen is db_session
        assert "Nur im Primaer" in _names(chosen)

    # pending changes, not flushed yet: the primary too
    pending = Session(bind=engine)
    pending.add(Organization(name="Noch nicht gespeichert", country="DE", visibility="public"))
    assert not reads_replica(pending)
    pending.rollback()
    pending.close()


def test_without_a_replica_everything_reads_the_primary(
    db_session: Session, engine: Engine
) -> None:
    get_replica_engine.cache_clear()
    assert get_settings().read_replica_url is None
    reader = Session(bind=engine)
    assert not reads_replica(reader)
    with reading(reader) as chosen:
        assert chosen is reader
    reader.close()


def test_candidate_retrieval_reads_the_replica(
    db_session: Session, engine: Engine, replica: Engine, encoder: Encoder, backend: str
) -> None:
    """On PostgreSQL the candidates come from SQL: from the replica for a read, from the
    primary for a session that wrote. On SQLite retrieval runs in process over the fitted
    index (the primary's rows), whichever session asks."""
    with Session(replica) as session:
        in_replica = _organization(session, "Nur im Replikat", "LU", encoder)
    in_primary = _organization(db_session, "Nur im Primaer", "DE", encoder)
    index = IndexCache().get(db_session, encoder.name)
    query = QueryVectors.of_search(np.asarray(encoder.encode([LABEL]), dtype=np.float32))
    luxembourg = Filters(countries=frozenset({"LU"}))
    germany = Filters(countries=frozenset({"DE"}))

    reader = Session(bind=db_session.connection())  # the primary's transaction, nothing written
    assert reads_replica(reader)
    from_reader_lu = candidate_filters(reader, index, query, luxembourg).only_ids
    from_reader_de = candidate_filters(reader, index, query, germany).only_ids
    from_writer_lu = candidate_filters(db_session, index, query, luxembourg).only_ids
    from_writer_de = candidate_filters(db_session, index, query, germany).only_ids
    if backend == "postgresql":
        assert from_reader_lu == {in_replica}
        assert from_reader_de == set()
    else:
        assert from_reader_lu == set()
        assert from_reader_de == {in_primary}
    assert from_writer_lu == set()
    assert from_writer_de == {in_primary}


@pytest.fixture(autouse=True)
def _no_replica_left() -> Iterator[None]:
    yield
    assert get_settings().read_replica_url is None
