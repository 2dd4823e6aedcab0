"""The matching index: a change counter instead of table scans, updates instead of refits,
and one database state shared by every server process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from app.db import get_session, make_engine
from app.embeddings import embed_organizations
from app.main import create_app
from app.matches import index as index_module
from app.matches.index import IndexCache
from app.models import Competence, KnownRelationship, Organization
from app.session_hooks import index_changes as changes
from app.session_hooks.index_changes import changes_since, current_version, pending
from matching.encoders import Encoder
from tests.app.conftest import Account
from tests.app.matches.test_api import API, NETWORK, matches, names
from tests.conftest import migrated_url


def org(name: str, *labels: str, partner: Organization | None = None) -> Organization:
    o = Organization(name=name, country="DE", visibility="public")
    o.competences = [Competence(kind="core", label=label) for label in labels]
    o.relationships = []
    if partner is not None:
        o.relationships = [
            KnownRelationship(type="partner", name=partner.name, related_organization=partner)
        ]
    return o


def test_every_write_counts_once_and_names_its_organisations(db_session: Session) -> None:
    v0 = current_version(db_session)
    a = org("Alpha", "Drucksensoren")
    db_session.add(a)
    db_session.flush()
    # counted when the transaction commits, not at each flush
    assert pending(db_session) == {a.id}
    assert current_version(db_session) == v0
    db_session.commit()
    assert pending(db_session) == set()
    assert current_version(db_session) == v0 + 1
    assert changes_since(db_session, v0, v0 + 1) == {a.id}

    b = org("Beta", "Spritzguss", partner=a)
    db_session.add(b)
    db_session.commit()
    # a relationship changes the partner lists of both sides
    assert changes_since(db_session, v0 + 1, v0 + 2) == {a.id, b.id}

    db_session.add(Competence(organization_id=a.id, kind="core", label="Gehäuse"))
    db_session.flush()
    db_session.rollback()
    assert current_version(db_session) == v0 + 2  # a rollback counts nothing
    assert pending(db_session) == set()
    db_session.commit()
    assert current_version(db_session) == v0 + 2  # a transaction without writes neither

    # verifying a profile changes nothing the engine reads; renaming in bulk may change anything
    db_session.execute(
        update(Organization).where(Organization.id == a.id).values(verified_by="x@hub.example")
    )
    db_session.commit()
    assert current_version(db_session) == v0 + 2
    db_session.execute(update(Organization).where(Organization.id == a.id).values(name="A2"))
    db_session.commit()
    assert current_version(db_session) == v0 + 3
    assert changes_since(db_session, v0 + 2, v0 + 3) == {None}


def found(client: TestClient, org_id: int) -> list[int]:
    return [m["organization"]["id"] for m in matches(client, org_id)]


def _second_app(db_session: Session, encoder: Encoder) -> FastAPI:
    """Another app instance on the same database: its own index cache, as another worker."""
    other = create_app(encoder=encoder)

    def _session() -> Iterator[Session]:
        yield db_session
        db_session.commit()

    other.dependency_overrides[get_session] = _session
    return other


def test_a_write_through_one_instance_is_used_by_the_next_match_of_another(
    app: FastAPI, client: TestClient, admin: Account, db_session: Session, encoder: Encoder
) -> None:
    ids = {}
    for body in sorted(NETWORK, key=lambda b: b["external_id"] == "A"):
        response = client.post(API, json=body)
        assert response.status_code == 201, response.text
        ids[body["external_id"]] = response.json()["id"]
    other = _second_app(db_session, encoder)
    with TestClient(other, headers=admin.headers) as worker2:
        assert names(matches(worker2, ids["A"])) == ["B", "C"]
        cache2: IndexCache = other.state.match_index
        assert dict(cache2.stats) == {"fits": 1}

        # written through the first instance, matched through the second
        assert client.delete(f"{API}/{ids['B']}").status_code == 204
        assert names(matches(worker2, ids["A"])) == ["C"]
        body = {"name": "Zeta Spritzguss GmbH", "competences": [NETWORK[2]["competences"][0]]}
        response = client.post(API, json=body)
        assert response.status_code == 201, response.text
        zeta = response.json()["id"]
        assert found(worker2, ids["A"]) == [ids["C"], zeta]
        assert client.patch(f"{API}/{ids['C']}", json={"visibility": "private"}).status_code == 200
        assert found(worker2, ids["A"]) == [zeta]
        # three updates applied in place; the engine was fitted once
        assert dict(cache2.stats) == {"fits": 1, "updates": 3}
        index = cache2.current
        assert index is not None
        assert ids["B"] not in index.profiles
        assert ids["C"] in index.profiles  # private: may still ask, never offered
        assert ids["C"] not in index.matcher.row_of_id_


def test_uncommitted_writes_are_not_kept_in_the_shared_index(
    db_session: Session, encoder: Encoder
) -> None:
    a = org("Alpha", "Drucksensoren")
    db_session.add(a)
    embed_organizations([a], encoder)
    db_session.commit()
    cache = IndexCache()
    first = cache.get(db_session, encoder.name)
    assert set(first.profiles) >= {a.id}
    b = org("Beta", "Drucksensoren")
    db_session.add(b)
    embed_organizations([b], encoder)
    db_session.flush()
    # this session sees its own write; the shared index does not take it before the commit
    assert b.id in cache.get(db_session, encoder.name).profiles
    assert cache.current is first
    db_session.commit()
    assert b.id in cache.get(db_session, encoder.name).profiles
    assert cache.current is not first
    assert dict(cache.stats) == {"fits": 1, "private": 1, "updates": 1}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def committed_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A database of its own whose writes are committed, as between server processes."""
    url = migrated_url(request.param, request, Path(tmp_path_factory.mktemp("index")))
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _write(engine: Engine, encoder: Encoder, *orgs: Organization) -> list[int]:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        session.add_all(orgs)
        embed_organizations(list(orgs), encoder)
    return [o.id for o in orgs]


def test_bulk_changes_are_applied_in_the_background_while_requests_use_the_last_index(
    committed_engine: Engine, encoder: Encoder
) -> None:
    first = _write(committed_engine, encoder, org("Alpha", "Drucksensoren"))
    cache = IndexCache(sync_limit=1)
    with Session(committed_engine) as session:
        index = cache.get(session, encoder.name)
    assert first[0] in index.profiles

    # another process writes three organisations: more than this cache applies in a request
    more = _write(
        committed_engine,
        encoder,
        *(org(f"Beta {i}", "Drucksensoren") for i in range(3)),
    )
    with Session(committed_engine) as session:
        assert cache.get(session, encoder.name) is index  # answered at once, from the last index
    cache.wait(timeout=60)
    with Session(committed_engine) as session:
        latest = cache.get(session, encoder.name)
        assert latest.version == current_version(session)
    assert set(more) <= set(latest.profiles)
    assert dict(cache.stats) == {"fits": 1, "background_updates": 1}

    # one more organisation: applied in the next request, no fit
    last = _write(committed_engine, encoder, org("Gamma", "Drucksensoren", partner=None))
    with Session(committed_engine) as session:
        assert last[0] in cache.get(session, encoder.name).profiles
    assert dict(cache.stats) == {"fits": 1, "background_updates": 1, "updates": 1}

    # a bulk statement names no rows: a full fit in the background, the last index meanwhile
    with Session(committed_engine) as session, session.begin():
        session.execute(update(Organization).values(country="AT"))
    with Session(committed_engine) as session:
        assert cache.get(session, encoder.name).version < current_version(session)
    cache.wait(timeout=60)
    with Session(committed_engine) as session:
        latest = cache.get(session, encoder.name)
        assert latest.version == current_version(session)
    assert {p.country for p in latest.profiles.values()} == {"AT"}
    assert cache.stats["background_fits"] == 1
    assert cache.stats["fits"] == 1


def test_two_processes_see_one_state(committed_engine: Engine, encoder: Encoder) -> None:
    """Two caches on their own connections (two workers): a partner link written by one
    process reaches both sides' profiles in the other's index."""
    a, b = _write(committed_engine, encoder, org("Alpha", "Sensoren"), org("Beta", "Guss"))
    worker1, worker2 = IndexCache(), IndexCache()
    for cache in (worker1, worker2):
        with Session(committed_engine) as session:
            assert cache.get(session, encoder.name).profiles[a].known_partner_ids == frozenset()
    with Session(committed_engine) as session, session.begin():
        session.add(
            KnownRelationship(
                organization_id=a, related_organization_id=b, type="partner", name="Beta"
            )
        )
    for cache in (worker1, worker2):
        with Session(committed_engine) as session:
            index = cache.get(session, encoder.name)
        assert index.profiles[a].known_partner_ids == frozenset({b})
        assert index.profiles[b].known_partner_ids == frozenset({a})
        assert index.matcher.adjacency_[a] == frozenset({b})
        assert cache.stats["updates"] == 1
        assert cache.stats["fits"] == 1


def test_a_failed_update_falls_back_to_a_fit_in_the_background(
    committed_engine: Engine, encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(committed_engine, encoder, org("Alpha", "Sensoren"))
    cache = IndexCache()
    with Session(committed_engine) as session:
        index = cache.get(session, encoder.name)
    (new,) = _write(committed_engine, encoder, org("Beta", "Sensoren"))

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as patched:
        patched.setattr(cache, "_apply", broken)
        with Session(committed_engine) as session:
            assert cache.get(session, encoder.name) is index  # the request still gets an answer
        cache.wait(timeout=60)
    with Session(committed_engine) as session:
        assert new in cache.get(session, encoder.name).profiles
    assert dict(cache.stats) == {"fits": 1, "background_fits": 1}


def _change_versions(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return sorted(
            v for (v,) in connection.execute(select(changes.CHANGES.c.version).distinct())
        )


def test_old_changes_are_pruned_and_a_process_behind_them_fits_afresh(
    committed_engine: Engine, encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(committed_engine, encoder, org("Alpha", "Sensoren"))
    behind, recent = IndexCache(), IndexCache()
    with Session(committed_engine) as session:
        old_index = behind.get(session, encoder.name)
        v0 = current_version(session)
    written = [_write(committed_engine, encoder, org(f"Beta {i}", "Sensoren"))[0] for i in range(3)]
    with Session(committed_engine) as session:
        recent.get(session, encoder.name)
    # one more write after `recent` caught up: the only change it still needs
    (last,) = _write(committed_engine, encoder, org("Gamma", "Sensoren"))
    assert _change_versions(committed_engine)[-4:] == [v0 + 1, v0 + 2, v0 + 3, v0 + 4]

    with committed_engine.connect() as connection:
        older = connection.scalar(select(func.count()).where(changes.CHANGES.c.version <= v0 + 3))
    with committed_engine.begin() as connection:
        assert changes.prune(connection, keep=1) == older
    assert _change_versions(committed_engine) == [v0 + 4]
    with Session(committed_engine) as session:
        assert changes_since(session, v0, v0 + 4) == {None}
        assert changes_since(session, v0 + 3, v0 + 4) == {last}
        assert changes_since(session, v0 + 4, v0 + 4) == set()

        # the process that missed pruned changes answers from its index and fits in the
        # background; the one a version behind applies the one change in the request
        assert behind.get(session, encoder.name) is old_index
        assert last in recent.get(session, encoder.name).profiles
    behind.wait(timeout=60)
    with Session(committed_engine) as session:
        caught_up = behind.get(session, encoder.name)
    assert set(written) | {last} <= set(caught_up.profiles)
    assert dict(behind.stats) == {"fits": 1, "background_fits": 1}
    assert dict(recent.stats) == {"fits": 1, "updates": 1}

    # writers prune by themselves every PRUNE_EVERY versions, keeping KEEP_VERSIONS
    monkeypatch.setattr(changes, "PRUNE_EVERY", 1)
    monkeypatch.setattr(changes, "KEEP_VERSIONS", 2)
    for i in range(3):
        _write(committed_engine, encoder, org(f"Delta {i}", "Sensoren"))
    assert _change_versions(committed_engine) == [v0 + 6, v0 + 7]


def test_a_restart_answers_from_the_persisted_index_brought_up_to_date(
    committed_engine: Engine, encoder: Encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = _write(
        committed_engine,
        encoder,
        org("Alpha", "Drucksensoren", "Gehäuse"),
        org("Beta", "Drucksensoren"),
    )
    # every array written to a file of its own, as the large ones of a real index are
    monkeypatch.setattr(index_module, "_MAPPED_BYTES", 1)
    first = IndexCache(snapshot_dir=tmp_path)
    with Session(committed_engine) as session:
        first.get(session, encoder.name)
    first.wait(timeout=60)
    # a pointer to the directory of the save: the pickle and its large arrays as .npy files
    pointer = tmp_path / f"match-index-{encoder.name}.current"
    saved = tmp_path / pointer.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([pointer.name, saved.name])
    assert saved.name.startswith(f"match-index-{encoder.name}.saved-")
    assert "state.pickle" in {p.name for p in saved.iterdir()}

    # written while no server ran: the restarted one applies it to what it read back
    (c,) = _write(committed_engine, encoder, org("Gamma", "Drucksensoren", partner=None))
    restarted, fitted = IndexCache(snapshot_dir=tmp_path), IndexCache()
    with Session(committed_engine) as session:
        back = restarted.get(session, encoder.name)
        fresh = fitted.get(session, encoder.name)
    assert dict(restarted.stats) == {"restores": 1}
    assert back.version == fresh.version
    assert set(back.profiles) == set(fresh.profiles) >= {a, b, c}
    assert back.info == fresh.info
    for pid in (a, b, c):
        query = fresh.profiles[pid]
        assert back.matcher.match(query, limit=10) == fresh.matcher.match(query, limit=10)
    # the read-back vectors are views of its matrices, held once
    m = back.matcher
    assert np.shares_memory(back.profiles[a].competences[0].vector, m.core_mat_)
    # the matrices are the saved files mapped (copy-on-write), not read into this process:
    # what Gamma's update appended went to this process's pages, the file is unchanged
    for buffer in (m.core_buf_, m.profile_buf_):
        assert isinstance(buffer.data.base, np.memmap)
        assert Path(buffer.data.base.filename).parent == saved
    on_disk = np.load(Path(m.profile_buf_.data.base.filename))
    gamma_row = m.row_of_id_[c]
    assert np.any(m.profile_buf_.data[gamma_row] != 0)
    assert not np.any(on_disk[gamma_row])

    # a file written by other code (an upgrade) or other engine settings is not read back
    other = IndexCache(snapshot_dir=tmp_path, matcher_params={"candidate_pool": 50})
    with Session(committed_engine) as session:
        assert c in other.get(session, encoder.name).profiles
    other.wait(timeout=60)
    assert dict(other.stats) == {"fits": 1}
    with monkeypatch.context() as patched:
        patched.setattr(index_module, "_code_version", lambda: "other code")
        upgraded = IndexCache(snapshot_dir=tmp_path)
        with Session(committed_engine) as session:
            upgraded.get(session, encoder.name)
        upgraded.wait(timeout=60)
    assert dict(upgraded.stats) == {"fits": 1}

    # a bulk statement since: which rows changed is unknown, so the next start fits
    with Session(committed_engine) as session, session.begin():
        session.execute(update(Organization).values(country="AT"))
    again = IndexCache(snapshot_dir=tmp_path)
    with Session(committed_engine) as session:
        assert {p.country for p in again.get(session, encoder.name).profiles.values()} == {"AT"}
    assert dict(again.stats) == {"fits": 1}
