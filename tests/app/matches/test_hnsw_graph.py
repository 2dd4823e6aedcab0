"""The HNSW indexes are built with the graph parameters of `app.matches.pgvector`, and
migration 0028 rebuilds indexes of the earlier parameters in place (PostgreSQL only: SQLite
retrieves in process)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Connection, text

from app.cli import alembic_config
from app.db import make_engine
from app.matches.pgvector import (
    HNSW_EF_CONSTRUCTION,
    HNSW_M,
    ensure_stored_indexes,
    graph_parameters,
    index_name,
    rebuild_indexes,
)
from tests.app.matches.raw_rows import store_vectors
from tests.conftest import migrated_url

NAMES = [index_name("competence_vectors", "m", 8), index_name("organizations", "m", 8)]


def _definitions(conn: Connection) -> dict[str, str]:
    rows = conn.execute(
        text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(:names)"),
        {"names": NAMES},
    )
    return {str(name): str(definition) for name, definition in rows}


@pytest.mark.filterwarnings("ignore:Did not recognize type .halfvec.")
def test_the_graph_parameters_of_built_and_migrated_indexes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert (HNSW_M, HNSW_EF_CONSTRUCTION) == (24, 128)
    url = migrated_url("postgresql", request, tmp_path_factory.mktemp("hnsw"))
    engine = make_engine(url)
    with engine.begin() as conn:
        store_vectors(conn)
        assert ensure_stored_indexes(conn) == [("m", 8)]
        definitions = _definitions(conn)
        assert sorted(definitions) == sorted(NAMES)
        for definition in definitions.values():
            assert "USING hnsw" in definition
            assert "WITH (m='24', ef_construction='128')" in definition
        assert [graph_parameters(conn, name) for name in NAMES] == [(24, 128)] * 2

    config = alembic_config(url)
    command.downgrade(config, "0027")  # the graphs of before, under the same names
    with engine.connect() as conn:
        assert [graph_parameters(conn, name) for name in NAMES] == [(16, 64)] * 2
        assert all("m='16', ef_construction='64'" in d for d in _definitions(conn).values())
    command.upgrade(config, "heads")
    with engine.connect() as conn:
        assert [graph_parameters(conn, name) for name in NAMES] == [(24, 128)] * 2
        valid = conn.execute(
            text(
                "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname LIKE '%hnsw%' AND i.indisvalid"
            )
        ).scalar_one()
        assert valid == 2  # no index left over from the rebuild
        # the profile index still answers: the nearest profile to its own vector is itself
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        found = conn.execute(
            text(
                "SELECT id FROM organizations WHERE embedding_model = 'm' "
                "ORDER BY profile_vec::halfvec(8) <=> (SELECT profile_vec FROM organizations "
                "LIMIT 1)::halfvec(8) LIMIT 1"
            )
        ).scalar_one()
        assert found == conn.execute(text("SELECT max(id) FROM organizations")).scalar_one()
    with engine.begin() as conn:
        # an index built with a graph of its own choosing is left alone
        assert rebuild_indexes(conn, built_with=(24, 128), m=32, ef_construction=200) == NAMES
        assert rebuild_indexes(conn, built_with=(16, 64), m=24, ef_construction=128) == []
        assert [graph_parameters(conn, name) for name in NAMES] == [(32, 200)] * 2
    engine.dispose()
