"""SQLite and PostgreSQL (pgvector) give the same top 10 on one small fixed world.

The demo organisations are imported through the import service into a SQLite database and into
a PostgreSQL database side by side (one test, both backends); every 5th organisation asks its
matches without and with competitors, and typed searches are asked, through the service layer
both API routes call. With the engine's default candidate pool (300 > 170 organisations) the
retrieval of either backend passes everyone, so the lists must be equal, in order: what differs
between the backends (float32 bytes against halfvec columns, the engine fitted in process
against SQL retrieval) must not reach a ranking. `python -m benchmarks.backend_agreement` asks
the same of real servers over HTTP on the labelled and the judged sets.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import make_engine
from app.imports.service import run_import
from app.matches import service
from app.matches.index import IndexCache
from app.matches.schemas import MatchOut
from app.models import Organization
from app.taxonomy.service import sync_taxonomy
from matching.encoders import Encoder
from matching.types import Filters
from tests.conftest import migrated_url

SEARCHES = [
    "Spritzguss technischer Kunststoffteile",
    "CNC-Fräsen von Aluminiumteilen in Kleinserie",
    "printed circuit board assembly",
    "software for production planning",
    "Pulverbeschichtung",
    "energy efficiency consulting for SMEs",
]


@pytest.fixture
def worlds(request: pytest.FixtureRequest, tmp_path: Path, encoder: Encoder) -> Iterator[
    dict[str, tuple[Session, dict[int, str]]]
]:  # fmt: skip
    """The demo organisations on each backend: {backend: (session, {id: external id})}."""
    data = get_settings().seed_file.read_bytes()
    out: dict[str, tuple[Session, dict[int, str]]] = {}
    engines = []
    for backend in ("sqlite", "postgresql"):
        folder = tmp_path / backend
        folder.mkdir()
        engine = make_engine(migrated_url(backend, request, folder))
        engines.append(engine)
        session = Session(engine, expire_on_commit=False)
        sync_taxonomy(session)
        run_import(session, data=data, filename="organizations.json", encoder=encoder)
        session.commit()
        rows = session.execute(select(Organization.id, Organization.external_id)).all()
        out[backend] = (session, {int(i): str(e) for i, e in rows})
    yield out
    for session, _ in out.values():
        session.close()
    for engine in engines:
        engine.dispose()


def _names(items: list[MatchOut], external: dict[int, str]) -> list[str]:
    return [external[m.organization.id] for m in items]


def test_both_backends_give_the_same_top_10(
    worlds: dict[str, tuple[Session, dict[int, str]]], encoder: Encoder
) -> None:
    lite, lite_ext = worlds["sqlite"]
    pg, pg_ext = worlds["postgresql"]
    assert sorted(lite_ext.values()) == sorted(pg_ext.values())
    assert len(lite_ext) == 170
    lite_id = {e: i for i, e in lite_ext.items()}
    pg_id = {e: i for i, e in pg_ext.items()}
    caches = {"sqlite": IndexCache(), "postgresql": IndexCache()}
    compared = 0
    for ext in sorted(lite_id)[::5]:
        for with_competitors in (False, True):
            filters = Filters(include_competitors=with_competitors)
            lists = [
                _names(
                    service.matches_for(
                        session,
                        organization_id=ids[ext],
                        filters=filters,
                        limit=10,
                        cache=caches[backend],
                        encoder=encoder,
                    ),
                    external,
                )
                for backend, session, ids, external in (
                    ("sqlite", lite, lite_id, lite_ext),
                    ("postgresql", pg, pg_id, pg_ext),
                )
            ]
            assert len(lists[0]) == 10
            assert lists[1] == lists[0], (ext, with_competitors)
            compared += 1
    assert compared == 68
    for text in SEARCHES:
        found = [
            _names(
                service.search(
                    session,
                    need_phrases=[text],
                    filters=Filters(),
                    limit=10,
                    cache=caches[backend],
                    encoder=encoder,
                ).items,
                external,
            )
            for backend, session, external in (
                ("sqlite", lite, lite_ext),
                ("postgresql", pg, pg_ext),
            )
        ]
        assert len(found[0]) == 10
        assert found[1] == found[0], text
