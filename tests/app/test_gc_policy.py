"""The server's garbage-collector policy: collected and frozen after start-up and after every
load or replacement of the matching index, not after an update of a few organisations; an
old index's objects are not kept by an earlier freeze."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.gc_policy import GcPolicy
from app.main import create_app
from app.matches.index import IndexCache
from app.models import Organization
from app.session_hooks.index_changes import current_version
from matching.encoders import Encoder
from tests.app.matches.test_index import _write, committed_engine, org

__all__ = ["committed_engine"]  # the fixture, used by the tests below


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    """Each test leaves the interpreter's collector as it found it."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


class _Node:
    """An object that can take part in a reference cycle and be watched by a weakref."""

    def __init__(self) -> None:
        self.other: _Node | None = None


def test_start_up_sets_the_threshold_and_freezes() -> None:
    gc.unfreeze()
    _, second, third = gc.get_threshold()
    policy = GcPolicy(freeze=True, gen0_threshold=50_000)
    policy.started()
    assert gc.get_threshold() == (50_000, second, third)
    assert gc.get_freeze_count() > 0
    assert policy.freezes == 1


def test_switched_off_it_leaves_the_collector_alone() -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    policy = GcPolicy.from_settings(Settings(gc_freeze=False, gc_gen0_threshold=0))
    policy.started()
    policy.index_replaced()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert policy.freezes == 0


def test_the_defaults_freeze_and_raise_the_threshold_only_for_per_request_matches() -> None:
    policy = GcPolicy.from_settings(Settings())
    assert (policy.freeze, policy.gen0_threshold) == (True, 0)
    pg = "postgresql+psycopg://u:p@127.0.0.1/db"
    per_request = Settings(database_url=pg, match_state="database")
    assert GcPolicy.from_settings(per_request).gen0_threshold == 50_000
    # SQLite always keeps the in-process index, whatever match_state says
    sqlite = Settings(database_url="sqlite:///x.db", match_state="database")
    assert GcPolicy.from_settings(sqlite).gen0_threshold == 0
    assert GcPolicy.from_settings(Settings(database_url=pg)).gen0_threshold == 0
    # a value set is used as it is
    chosen = Settings(database_url=pg, match_state="database", gc_gen0_threshold=0)
    assert GcPolicy.from_settings(chosen).gen0_threshold == 0
    with pytest.raises(ValueError, match="gen0_threshold"):
        GcPolicy(gen0_threshold=-1)


def test_a_replacement_collects_what_an_earlier_freeze_held() -> None:
    gc.unfreeze()
    policy = GcPolicy()
    a, b = _Node(), _Node()
    a.other, b.other = b, a  # a cycle: only the cyclic collector frees it
    watched = weakref.ref(a)
    policy.index_replaced()  # alive now, so frozen
    del a, b
    gc.collect()
    assert watched() is not None  # frozen: the collector does not look at it
    policy.index_replaced()  # the next index: unfrozen, collected, the rest frozen again
    assert watched() is None
    assert policy.freezes == 2


def test_a_server_app_applies_it_at_start_up(encoder: Encoder) -> None:
    gc.unfreeze()
    policy = GcPolicy(gen0_threshold=20_000)
    app = create_app(encoder=encoder, gc_policy=policy)
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert policy.freezes == 1
        assert gc.get_threshold()[0] == 20_000
        cache: IndexCache = app.state.match_index
        assert cache.on_replaced == policy.index_replaced
    # an app built without one (tests, commands) leaves the collector to the interpreter
    assert create_app(encoder=encoder).state.match_index.on_replaced is None


def test_the_index_calls_it_after_a_fit_and_a_replacement_not_after_an_update(
    committed_engine: Engine, encoder: Encoder
) -> None:
    gc.unfreeze()
    replaced: list[int] = []
    cache = IndexCache(sync_limit=1, on_replaced=lambda: replaced.append(gc.get_freeze_count()))
    _write(committed_engine, encoder, org("Alpha", "Drucksensoren"))
    with Session(committed_engine) as session:
        first = cache.get(session, encoder.name)
    assert len(replaced) == 1  # the fit

    # one organisation: updated in the request, the freeze stays as it is
    _write(committed_engine, encoder, org("Beta", "Drucksensoren"))
    with Session(committed_engine) as session:
        assert cache.get(session, encoder.name) is not first
    assert dict(cache.stats) == {"fits": 1, "updates": 1}
    assert len(replaced) == 1

    # more than sync_limit: a background update replaces the index
    _write(committed_engine, encoder, *(org(f"Gamma {i}", "Gehäuse") for i in range(3)))
    with Session(committed_engine) as session:
        cache.get(session, encoder.name)
    cache.wait(timeout=60)
    assert cache.stats["background_updates"] == 1
    assert len(replaced) == 2

    # a bulk statement: a full fit in the background replaces it again
    with Session(committed_engine) as session, session.begin():
        session.execute(update(Organization).values(country="AT"))
    with Session(committed_engine) as session:
        cache.get(session, encoder.name)
    cache.wait(timeout=60)
    with Session(committed_engine) as session:
        assert cache.get(session, encoder.name).version == current_version(session)
    assert cache.stats["background_fits"] == 1
    assert len(replaced) == 3


def test_a_served_index_is_frozen_after_the_fit_and_after_a_restore(
    committed_engine: Engine, encoder: Encoder, tmp_path_factory: pytest.TempPathFactory
) -> None:
    saved = tmp_path_factory.mktemp("saved")
    _write(committed_engine, encoder, org("Delta", "Spritzguss"))
    for expected in ({"fits": 1}, {"restores": 1}):
        gc.unfreeze()
        policy = GcPolicy()
        cache = IndexCache(snapshot_dir=saved, on_replaced=policy.index_replaced)
        with Session(committed_engine) as session:
            index = cache.get(session, encoder.name)
        cache.wait(timeout=60)
        assert dict(cache.stats) == expected
        assert policy.freezes == 1
        assert gc.get_freeze_count() > 0
        # the index's objects are in the permanent generation: no collection visits them
        assert gc.is_tracked(index.profiles)
        young = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
        assert id(index.profiles) not in young
        assert id(next(iter(index.profiles.values())).competences) not in young
