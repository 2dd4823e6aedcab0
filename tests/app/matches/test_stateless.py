"""Matches scored per request from rows (KOOPMATCH_MATCH_STATE=database) against the
in-process engine: the same lists on the demo data and on the labelled benchmark's firms.

PostgreSQL is where the per-request path runs; on SQLite the setting changes nothing (the
in-process engine answers), which the SQLite half checks.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.config import get_settings
from app.db import make_engine
from app.embeddings import embed_organizations
from app.imports.service import run_import
from app.matches import service, stateless
from app.matches.index import IndexCache
from app.matches.pgvector import pipelined
from app.matches.schemas import MatchOut
from app.models import Competence, Organization
from app.models.user import Role, TokenKind, User
from matching.encoders import Encoder
from matching.types import Filters
from matching.weights import Weights
from tests.app.conftest import AccountFactory
from tests.app.matches.test_api import API, NETWORK
from tests.app.matches.test_index_processes import (
    _create_network,
    _found,
    _free_port,
    _ready,
    _visible,
)
from tests.app.matches.test_retrieval import POOL, _store
from tests.conftest import migrated_url


@pytest.fixture
def state() -> Iterator[object]:
    settings = get_settings()
    before = settings.match_state
    yield settings
    settings.match_state = before


def _ranked(
    session: Session,
    settings: object,
    mode: str,
    cache: IndexCache,
    encoder: Encoder,
    org_id: int,
    filters: Filters = Filters(),
    user: object = None,
) -> list[MatchOut]:
    settings.match_state = mode  # type: ignore[attr-defined]
    return service.matches_for(
        session,
        user=user,  # type: ignore[arg-type]
        organization_id=org_id,
        filters=filters,
        limit=10,
        cache=cache,
        encoder=encoder,
    )


def _key(items: list[MatchOut]) -> list[tuple[int, str]]:
    return [(m.organization.id, m.relation) for m in items]


@pytest.fixture
def demo(db_session: Session, encoder: Encoder) -> dict[str, int]:
    """The demo organisations (with their relationships); {external id: id}."""
    data = get_settings().seed_file.read_bytes()
    run_import(db_session, data=data, filename="organizations.json", encoder=encoder)
    db_session.commit()
    rows = db_session.execute(select(Organization.external_id, Organization.id)).all()
    return {str(e): int(i) for e, i in rows}


def test_demo_matches_are_the_engines(
    db_session: Session,
    encoder: Encoder,
    demo: dict[str, int],
    make_account: AccountFactory,
    backend: str,
    state: object,
) -> None:
    admin = make_account(Role.admin).user
    cache = IndexCache()
    assert stateless.enabled(db_session, "database") == (backend == "postgresql")
    # every 10th organisation keeps the test short; `python -m benchmarks.scale_pg equivalence`
    # compares all of them
    queries = sorted(demo.values())[::10]
    same = 0
    for org_id in queries:
        memory = _ranked(db_session, state, "memory", cache, encoder, org_id, user=admin)
        per_request = _ranked(db_session, state, "database", cache, encoder, org_id, user=admin)
        same += _key(memory) == _key(per_request)
    assert same >= 0.95 * len(queries), (same, len(queries))

    # fixed cases: the whole answer, scores and components, is the engine's
    sensotec, telematik = demo["KM-DE-0001"], demo["KM-DE-0074"]
    for org_id, filters in (
        (sensotec, Filters()),
        (sensotec, Filters(countries=frozenset({"DE"}), include_competitors=False)),
        (telematik, Filters(exclude_known=False)),
    ):
        memory = _ranked(db_session, state, "memory", cache, encoder, org_id, filters, admin)
        per_request = _ranked(db_session, state, "database", cache, encoder, org_id, filters, admin)
        assert len(memory) == 10
        assert [m.organization.id for m in per_request] == [m.organization.id for m in memory]
        for a, b in zip(memory, per_request, strict=True):
            assert b.score == pytest.approx(a.score, abs=1e-5)
            assert b.components == pytest.approx(a.components, abs=1e-5)
            assert [r.text for r in b.reasons] == [r.text for r in a.reasons]
    if backend == "postgresql":
        # statistics stored once, by the first per-request match
        assert db_session.execute(text("SELECT count(*) FROM match_corpus_stats")).scalar_one() == 1


def test_labelled_firms_rank_alike_with_retrieval_deciding(
    db_session: Session,
    encoder: Encoder,
    make_account: AccountFactory,
    backend: str,
    state: object,
) -> None:
    stored = _store(db_session, encoder)
    admin = make_account(Role.admin).user
    cache = IndexCache(matcher_params={"candidate_pool": POOL})
    queries = sorted(stored)[::4]
    same = 0
    for org_id in queries:
        memory = _ranked(db_session, state, "memory", cache, encoder, org_id, user=admin)
        per_request = _ranked(db_session, state, "database", cache, encoder, org_id, user=admin)
        same += _key(memory) == _key(per_request)
    assert same >= 0.95 * len(queries), (same, len(queries))


def test_a_profile_written_after_the_statistics_is_matched_without_a_refit(
    db_session: Session,
    encoder: Encoder,
    demo: dict[str, int],
    make_account: AccountFactory,
    backend: str,
    state: object,
) -> None:
    pg = backend == "postgresql"  # SQLite: the setting falls back to the in-process engine
    admin = make_account(Role.admin).user
    cache = IndexCache()
    sensotec = demo["KM-DE-0001"]
    before = _ranked(db_session, state, "database", cache, encoder, sensotec, user=admin)
    stats = "SELECT index_version FROM match_corpus_stats"
    version = db_session.execute(text(stats)).scalar_one() if pg else None
    needs = db_session.scalars(
        select(Competence.label).where(
            Competence.organization_id == sensotec, Competence.kind != "core"
        )
    ).all()
    newcomer = Organization(name="Funk Neu GmbH", country="DE", visibility="public")
    newcomer.competences = [Competence(kind="core", label=label) for label in needs]
    newcomer.relationships = []
    db_session.add(newcomer)
    db_session.flush()
    embed_organizations([newcomer], encoder)
    db_session.commit()
    after = _ranked(db_session, state, "database", cache, encoder, sensotec, user=admin)
    # it offers exactly what Sensotec seeks: first, from rows read for this request
    assert after[0].organization.id == newcomer.id
    assert newcomer.id not in [m.organization.id for m in before]
    if pg:
        # the stored statistics were not refitted, and this process fitted no engine
        assert db_session.execute(text(stats)).scalar_one() == version
        assert cache.current is None
    else:
        assert cache.current is not None


# per-request statistics are stored on PostgreSQL only
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_sampled_refresh_counts_degrees_and_words_over_the_whole_corpus(
    db_session: Session, encoder: Encoder, demo: dict[str, int]
) -> None:
    # demo relationships state joint projects and years: give the weights a half-life too
    db_session.execute(text("UPDATE relationships SET joint_projects = 3 WHERE id % 3 = 0"))
    db_session.execute(text("UPDATE relationships SET last_year = 2015 + id % 10"))
    db_session.execute(text("UPDATE organizations SET visibility = 'private' WHERE id % 17 = 0"))
    whole = stateless.refresh_stats(db_session, encoder.name)
    part = stateless.refresh_stats(db_session, encoder.name, sample=40)
    assert whole.max_degree > 1
    assert part.max_degree == pytest.approx(whole.max_degree)
    assert part.n_core_labels == whole.n_core_labels
    assert part.core_df == whole.core_df
    # hub values of the sampled organisations' vectors only; the rest is computed per request
    assert 0 < len(part.hub_values) < len(whole.hub_values)
    assert part.hub_reference is not None and whole.hub_reference is not None
    # weighted ties (joint projects to a power, halved with age): the same sum in SQL
    params = {"weights": Weights(tie_strength=0.5, tie_half_life=3.0)}
    weighted = stateless.refresh_stats(db_session, encoder.name, matcher_params=params)
    part = stateless.refresh_stats(db_session, encoder.name, matcher_params=params, sample=40)
    assert weighted.max_degree != pytest.approx(whole.max_degree)
    assert part.max_degree == pytest.approx(weighted.max_degree)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_the_stored_statistics_are_read_with_every_hub_value_once_per_refresh(
    db_session: Session, encoder: Encoder, demo: dict[str, int]
) -> None:
    whole = stateless.refresh_stats(db_session, encoder.name)
    first_id, _, first = stateless.stored_stats(db_session, encoder.name)
    stored = db_session.execute(text("SELECT count(*) FROM match_hub_values")).scalar_one()
    assert len(first.hub_values) == stored == len(whole.hub_values)
    assert first.hub_values == whole.hub_values  # double precision: the same floats
    # a request reads them from the process, not again from the table
    assert stateless.stored_stats(db_session, encoder.name)[2] is first
    part = stateless.refresh_stats(db_session, encoder.name, sample=40)
    second_id, _, second = stateless.stored_stats(db_session, encoder.name)
    assert second_id != first_id
    assert second.hub_values == part.hub_values
    assert len(second.hub_values) < len(first.hub_values)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_pipelined_statements_run_in_order_in_the_sessions_transaction(
    db_session: Session,
) -> None:
    newcomer = Organization(name="Pipeline Neu GmbH", country="DE", visibility="public")
    db_session.add(newcomer)
    db_session.flush()  # not committed: only the session's transaction sees it
    setting, seen, found = pipelined(
        db_session,
        [
            (text("SELECT set_config('hnsw.ef_search', :ef, true)"), {"ef": "77"}),
            (text("SELECT current_setting('hnsw.ef_search')"), {}),
            (
                text("SELECT id, name, country FROM organizations WHERE id = ANY(:ids)"),
                {"ids": [newcomer.id, -1]},
            ),
        ],
        named={2},
    )
    assert setting == [("77",)]
    assert seen == [("77",)]  # set by the statement before it
    assert [(r.id, r.name, r.country) for r in found] == [(newcomer.id, "Pipeline Neu GmbH", "DE")]
    # a statement without rows gives none
    assert pipelined(db_session, [(text("SELECT 1 WHERE false"), {})]) == [[]]


@pytest.fixture
def two_stateless_servers(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[httpx.Client, httpx.Client, str]]:
    """Two uvicorn processes on one PostgreSQL database, both scoring per request; and the
    database's URL."""
    url = migrated_url("postgresql", request, tmp_path)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        user = User(email="admin@hub.example", name="Admin", role=Role.admin.value)
        session.add(user)
        session.flush()
        _, token = auth_service.issue_token(
            session, user=user, kind=TokenKind.api_key, lifetime=dt.timedelta(hours=1)
        )
    engine.dispose()
    servers = []
    for i in (1, 2):
        log = tmp_path / f"server{i}.log"
        port = _free_port()
        env = {
            **os.environ,
            "KOOPMATCH_DATABASE_URL": url,
            "KOOPMATCH_EMBEDDING_MODEL": "hashing",
            "KOOPMATCH_MATCH_STATE": "database",
        }
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "app.asgi:app"),
                *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
            ],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        servers.append((proc, f"http://127.0.0.1:{port}", log))
    try:
        for proc, base, log in servers:
            _ready(proc, base, log)
        headers = {"Authorization": f"Bearer {token}"}
        with (
            httpx.Client(base_url=servers[0][1], headers=headers, timeout=60) as one,
            httpx.Client(base_url=servers[1][1], headers=headers, timeout=60) as two,
        ):
            yield one, two, url
    finally:
        for proc, _, _ in servers:
            proc.terminate()
            proc.wait(20)


def test_a_write_through_one_process_is_scored_by_the_other(
    two_stateless_servers: tuple[httpx.Client, httpx.Client, str],
) -> None:
    one, two, url = two_stateless_servers
    ids = _create_network(one)
    # the first match computes and stores the statistics; the other process reads them
    assert _found(two, ids["A"]) == [ids["B"], ids["C"]]
    assert _found(one, ids["A"]) == [ids["B"], ids["C"]]
    assert one.patch(f"{API}/{ids['C']}", json={"visibility": "private"}).status_code == 200
    _visible(one, ids["C"], visibility="private")
    assert _found(two, ids["A"]) == [ids["B"]]
    response = two.post(API, json={"name": "Zeta", "competences": [NETWORK[2]["competences"][0]]})
    assert response.status_code == 201, response.text
    _visible(two, response.json()["id"])
    assert _found(one, ids["A"]) == [ids["B"], response.json()["id"]]
    # scored per request: the statistics stored once, before any of the writes after them
    engine = make_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT index_version FROM match_corpus_stats")).all()
        version = conn.execute(text("SELECT version FROM index_state")).scalar_one()
    engine.dispose()
    assert len(stored) == 1
    assert stored[0][0] < version


# the walk's neighbourhood is read in SQL on PostgreSQL only
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_the_candidates_partner_sets_read_with_their_rows_are_not_asked_again(
    db_session: Session, encoder: Encoder, demo: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = sorted(demo.values())
    profiles, info = stateless.load_rows(db_session, encoder.name, ids)
    public = [i for i in ids if info[i].visibility != "private"]
    asked: list[int] = []
    real = stateless._graph_edges

    def counted(session: Session, nodes: list[int]) -> dict[int, set[int]]:
        asked.extend(nodes)
        return real(session, nodes)

    monkeypatch.setattr(stateless, "_graph_edges", counted)
    compared = 0
    for query_id in public[::12]:
        query = profiles[query_id]
        candidates = [i for i in public if i != query_id][::3]
        known = {i: profiles[i].known_partner_ids for i in candidates}
        assert any(known.values())
        for steps, bound in ((6, stateless.MAX_GRAPH_NODES), (6, 40), (3, 25)):
            asked.clear()
            read = stateless.neighbourhood(db_session, query, candidates, steps, max_nodes=bound)
            assert set(candidates) & set(asked)
            asked.clear()
            given = stateless.neighbourhood(
                db_session, query, candidates, steps, max_nodes=bound, known=known
            )
            # the same adjacency, without asking for the candidates' edges
            assert given == read
            assert not set(candidates) & set(asked)
            compared += sum(len(v) for v in read.values())
    assert compared > 100


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_ids_go_to_the_database_as_one_array_literal(
    db_session: Session, demo: dict[str, int]
) -> None:
    assert stateless.id_array([3, 1, 2]) == "{3,1,2}"
    assert stateless.id_array([]) == "{}"
    ids = sorted(demo.values())[::5]
    found = db_session.execute(
        text("SELECT id FROM organizations WHERE id = ANY(CAST(:ids AS integer[])) ORDER BY id"),
        {"ids": stateless.id_array([*ids, 10**9])},
    ).scalars()
    assert list(found) == ids
    assert not db_session.execute(
        text("SELECT id FROM organizations WHERE id = ANY(CAST(:ids AS integer[]))"),
        {"ids": stateless.id_array([])},
    ).all()
