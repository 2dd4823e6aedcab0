"""Candidate retrieval behind one interface: pgvector on PostgreSQL, the fitted index on SQLite.

The labelled firms of `benchmarks.labelled` (96 organisations, hashing encoder) are stored
through the ORM; a small `candidate_pool` makes retrieval choose among them instead of
letting the engine score everyone.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from app.cli import alembic_config
from app.db import make_engine
from app.embeddings import embed_organizations, to_bytes
from app.matches import service
from app.matches.index import FittedIndex, IndexCache
from app.matches.pgvector import PgvectorRetriever, index_name
from app.matches.retrieval import candidate_filters, retriever_for
from app.models import Competence, Organization
from benchmarks.labelled import Firm, firm_texts, generate
from matching.encoders import Encoder
from matching.retrieval import InProcessRetriever, QueryVectors, narrowed
from matching.types import Filters
from tests.app.matches.raw_rows import store_vectors
from tests.conftest import migrated_url

POOL = 24


def _store(session: Session, encoder: Encoder) -> dict[int, Firm]:
    """The labelled firms as organisations; {organisation id: firm}."""
    firms = generate()
    orgs: list[tuple[Organization, Firm]] = []
    for f in firms:
        items, description = firm_texts(f, "en" if f.lang == "mixed" else f.lang)
        o = Organization(
            name=f"{f.role.en} {f.id}",
            description=description,
            country=f.city[1],
            city=f.city[0],
            latitude=f.city[2],
            longitude=f.city[3],
            nace_code=f.role.nace,
            employees=f.employees,
            cooperation_interests=sorted(f.interests),
            visibility="public",
        )
        o.competences = [Competence(kind=kind, label=label) for kind, _, label in items]
        o.relationships = []
        orgs.append((o, f))
    session.add_all([o for o, _ in orgs])
    session.flush()
    embed_organizations([o for o, _ in orgs], encoder)
    session.commit()
    return {o.id: f for o, f in orgs}


@pytest.fixture
def stored(db_session: Session, encoder: Encoder) -> dict[int, Firm]:
    return _store(db_session, encoder)


def _index(session: Session, encoder: Encoder) -> tuple[IndexCache, FittedIndex]:
    cache = IndexCache(matcher_params={"candidate_pool": POOL})
    return cache, cache.get(session, encoder.name)


def _top10(index: FittedIndex, org_id: int, filters: Filters) -> list[int]:
    query = index.profiles[org_id]
    return [m.target_id for m in index.matcher.match(query, filters=filters, limit=10)]


def test_the_backend_retriever_and_the_engine_rank_alike(
    db_session: Session, encoder: Encoder, stored: dict[int, Firm], backend: str
) -> None:
    _, index = _index(db_session, encoder)
    retriever = retriever_for(db_session, index)
    assert isinstance(
        retriever, PgvectorRetriever if backend == "postgresql" else InProcessRetriever
    )
    in_process = InProcessRetriever(index.matcher)
    same = 0
    for org_id in stored:
        query = QueryVectors.of_profile(index.profiles[org_id])
        found = retriever.candidates(query, POOL, Filters())
        assert 0 < len(found.ids) < len(stored)  # retrieval chose, not everyone
        assert org_id not in found.ids
        by_backend = _top10(index, org_id, replace(Filters(), only_ids=frozenset(found.ids)))
        own = in_process.candidates(query, POOL, Filters())
        by_engine = _top10(index, org_id, replace(Filters(), only_ids=frozenset(own.ids)))
        if backend == "sqlite":
            # the engine's own search, unchanged by the interface
            assert by_engine == _top10(index, org_id, Filters())
        same += by_backend == by_engine
    # halfvec and HNSW against float32 and an exact search: the same top 10 for 95%
    assert same >= 0.95 * len(stored), (same, len(stored))


def test_filters_hold_inside_the_scan(
    db_session: Session, encoder: Encoder, stored: dict[int, Firm]
) -> None:
    ids = sorted(stored)
    hidden, opted_out = ids[1], ids[2]
    db_session.execute(
        text("UPDATE organizations SET visibility = 'private' WHERE id = :i"), {"i": hidden}
    )
    db_session.commit()
    # no vector at all (linked by known relationships only): a candidate where few pass
    bare = Organization(name="Ohne Text", country="LU", visibility="public")
    bare.competences = []
    bare.relationships = []
    db_session.add(bare)
    db_session.commit()
    _, index = _index(db_session, encoder)
    retriever = retriever_for(db_session, index)
    # the nearest organisations of the hidden one's twin (same role, other instance)
    twin = next(i for i in ids if i != hidden and stored[i].role == stored[hidden].role)
    query = QueryVectors.of_profile(index.profiles[twin])
    everyone = retriever.candidates(query, POOL, Filters())
    assert hidden not in everyone.ids
    excluded = retriever.candidates(query, POOL, Filters(exclude_ids=frozenset({opted_out})))
    assert opted_out not in excluded.ids

    # a rare country: the scan goes on until the few organisations that pass are found
    countries = [stored[i].city[1] for i in ids if i != hidden]
    rare = min(set(countries), key=countries.count)
    in_rare = {i for i in ids if stored[i].city[1] == rare and i not in (hidden, twin)}
    assert 0 < len(in_rare) < POOL
    found = retriever.candidates(query, len(in_rare), Filters(countries=frozenset({rare.lower()})))
    assert set(found.ids.tolist()) == in_rare
    only_bare = retriever.candidates(query, POOL, Filters(countries=frozenset({"LU"})))
    assert only_bare.ids.tolist() == [bare.id]
    nace = stored[twin].role.nace[:2]
    by_nace = retriever.candidates(query, POOL, Filters(nace_include=(nace,)))
    expected = {i for i in ids if stored[i].role.nace.startswith(nace)} - {hidden, twin}
    assert set(by_nace.ids.tolist()) <= expected
    assert by_nace.ids.size > 0
    others = retriever.candidates(query, POOL, Filters(nace_exclude=(nace,)))
    assert not set(others.ids.tolist()) & expected


def test_a_request_narrows_to_the_in_process_candidates_without_their_cosines(
    db_session: Session, encoder: Encoder, stored: dict[int, Firm], backend: str
) -> None:
    """`candidate_ids` answers exactly the ids of `candidates`, for profiles and typed
    searches under filters; on SQLite a request's filters are narrowed to them."""
    _, index = _index(db_session, encoder)
    in_process = InProcessRetriever(index.matcher)
    ids = sorted(stored)
    nace = stored[ids[0]].role.nace[:2]
    country = stored[ids[0]].city[1]
    searched = QueryVectors.of_search(
        np.asarray(encoder.encode(["Spritzguss", "Drucksensoren"]), dtype=np.float32)
    )
    checked = 0
    for filters in (
        Filters(),
        Filters(countries=frozenset({country})),
        Filters(nace_include=(nace,)),
        Filters(exclude_ids=frozenset(ids[:10])),
        Filters(only_ids=frozenset(ids[::3])),
    ):
        for query in [QueryVectors.of_profile(index.profiles[i]) for i in ids] + [searched]:
            found = in_process.candidates(query, POOL, filters)
            only = in_process.candidate_ids(query, POOL, filters)
            assert only.dtype == np.int64
            assert only.tolist() == found.ids.tolist()
            if backend == "sqlite":
                assert candidate_filters(db_session, index, query, filters) == narrowed(
                    filters, found
                )
            checked += len(only) > 0
    # every query found candidates under every filter: no comparison above was of two empties
    assert checked == 5 * (len(ids) + 1)
    # the pool chose: a profile's candidates are fewer than everyone
    assert (
        len(
            in_process.candidate_ids(
                QueryVectors.of_profile(index.profiles[ids[0]]), POOL, Filters()
            )
        )
        < len(ids) - 1
    )


def test_a_write_is_found_by_the_next_retrieval(
    db_session: Session, encoder: Encoder, stored: dict[int, Firm], backend: str
) -> None:
    cache, index = _index(db_session, encoder)
    need = "Spritzguss technischer Kunststoffteile nach Zeichnung"
    newcomer = Organization(name="Neu Spritzguss KG", country="MT", visibility="public")
    newcomer.competences = [Competence(kind="core", label=need)]
    newcomer.relationships = []
    db_session.add(newcomer)
    db_session.flush()
    embed_organizations([newcomer], encoder)
    db_session.commit()

    if backend == "postgresql":
        stored_vec = db_session.execute(
            text(
                "SELECT v.vec::real[] FROM competences c JOIN competence_vectors v"
                " ON v.id = c.vector_id WHERE c.organization_id = :i"
            ),
            {"i": newcomer.id},
        ).scalar_one()
        expected = np.asarray(encoder.encode([need])[0], dtype=np.float16).astype(np.float32)
        assert np.array_equal(np.asarray(stored_vec, dtype=np.float32), expected)
    index = cache.get(db_session, encoder.name)
    vectors = np.asarray(encoder.encode([need]), dtype=np.float32)
    filters = candidate_filters(
        db_session, index, QueryVectors.of_search(vectors), Filters(countries=frozenset({"MT"}))
    )
    assert filters.only_ids == {newcomer.id}
    result = service.search(
        db_session,
        need_phrases=[need],
        filters=Filters(include_competitors=True, exclude_known=False),
        limit=5,
        cache=cache,
        encoder=encoder,
    )
    assert result.items[0].organization.id == newcomer.id

    # an edit re-encodes: the next retrieval finds it by its new label, not the old one
    other = "Pulverbeschichtung von Stahlteilen"
    newcomer_competence = db_session.scalars(
        select(Competence).where(Competence.organization_id == newcomer.id)
    ).one()
    newcomer_competence.label = other
    newcomer_competence.embedding = to_bytes(encoder.encode([other])[0])
    db_session.commit()
    index = cache.get(db_session, encoder.name)
    mt = Filters(countries=frozenset({"MT"}))
    edited = QueryVectors.of_search(np.asarray(encoder.encode([other]), dtype=np.float32))
    found_new = retriever_for(db_session, index).candidates(edited, 1, mt).as_dict()
    assert found_new.keys() == {newcomer.id}
    assert found_new[newcomer.id] > 0.99  # its competence is the new label's vector

    # hidden again: the next retrieval leaves it out, in the same way on both backends
    newcomer.visibility = "private"
    db_session.commit()
    index = cache.get(db_session, encoder.name)
    again = retriever_for(db_session, index).candidates(
        QueryVectors.of_search(vectors), POOL, Filters()
    )
    assert newcomer.id not in again.ids


@pytest.mark.filterwarnings("ignore:Did not recognize type .halfvec.")
@pytest.mark.parametrize("backend_name", ["sqlite", "postgresql"])
def test_migration_0017_up_and_down(
    backend_name: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = migrated_url(backend_name, request, tmp_path_factory.mktemp("m17"))
    config = alembic_config(url)
    command.downgrade(config, "0016")
    engine = make_engine(url)
    with engine.begin() as conn:
        vector = store_vectors(conn, ("x", "y"))  # one vector, stored twice
    columns = {c["name"] for c in inspect(engine).get_columns("competences")}
    assert "vector_id" not in columns
    command.upgrade(config, "0017")
    columns = {c["name"] for c in inspect(engine).get_columns("competences")}
    if backend_name == "sqlite":
        assert "vector_id" not in columns  # the in-process index serves SQLite
        assert "competence_vectors" not in inspect(engine).get_table_names()
    else:
        assert "vector_id" in columns
        with engine.connect() as conn:
            # filled from the stored bytes, one row per distinct vector, indexed
            shared = conn.execute(
                text("SELECT count(DISTINCT vector_id), count(*) FROM competences")
            ).one()
            assert tuple(shared) == (1, 2)
            comp = conn.execute(text("SELECT vec::real[] FROM competence_vectors")).scalar()
            prof = conn.execute(text("SELECT profile_vec::real[] FROM organizations")).scalar()
            half = vector.astype(np.float16).astype(np.float32)
            assert np.array_equal(np.asarray(comp, np.float32), -half)
            assert np.array_equal(np.asarray(prof, np.float32), half)
            names = set(conn.execute(text("SELECT indexname FROM pg_indexes")).scalars().all())
            assert {
                index_name("competence_vectors", "m", 8),
                index_name("organizations", "m", 8),
            } <= names
    command.downgrade(config, "0016")
    columns = {c["name"] for c in inspect(engine).get_columns("competences")}
    assert "vector_id" not in columns
    assert "competence_vectors" not in inspect(engine).get_table_names()
    command.upgrade(config, "heads")
    engine.dispose()


def test_a_request_never_builds_an_hnsw_index(
    db_session: Session, stored: dict[int, Firm], encoder: Encoder, backend: str
) -> None:
    """A build inside a request would lock the tables against writers (and two at once
    deadlocked with them): without an index the same query is answered exactly."""
    _, index = _index(db_session, encoder)
    query = QueryVectors.of_profile(index.profiles[next(iter(stored))])
    found = retriever_for(db_session, index).candidates(query, POOL, Filters())
    assert len(found.ids) > 0
    if backend == "postgresql":
        names = db_session.execute(
            text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%hnsw%'")
        ).scalars()
        assert list(names) == []
