"""A 2xx means stored: the commit ends before the answer is sent (real server, both backends)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Competence, Organization
from app.models.user import ApiToken
from tests.app.uow.conftest import Live
from tests.app.uow.live import API, client, org_body


def _stored(live: Live, external_id: str) -> int:
    with Session(live.engine) as session:
        return (
            session.scalar(select(func.count()).where(Organization.external_id == external_id)) or 0
        )


def test_a_create_is_read_and_patched_by_the_very_next_requests(live: Live) -> None:
    with client(live.server, live.token) as http, client(live.server, live.token) as other:
        for n in range(20):
            ext = f"NEXT-{live.backend}-{n}"
            created = http.post(API, json=org_body(ext))
            assert created.status_code == 201, created.text
            org_id = created.json()["id"]
            # another connection, at once: the row is committed already
            read = other.get(f"{API}/{org_id}")
            assert read.status_code == 200, read.text
            assert read.json()["external_id"] == ext
            patched = other.patch(f"{API}/{org_id}", json={"version": 1, "employees": 40 + n})
            assert patched.status_code == 200, patched.text
            assert patched.json()["version"] == 2
            assert http.get(f"{API}/{org_id}").json()["employees"] == 40 + n
    with Session(live.engine) as session:
        stored = session.scalars(
            select(Organization.employees)
            .where(Organization.external_id.like(f"NEXT-{live.backend}-%"))
            .order_by(Organization.id)
        ).all()
    assert stored == [40 + n for n in range(20)]


def test_a_failed_commit_is_an_error_answer_and_nothing_is_stored(faulty: Live) -> None:
    with client(faulty.server, faulty.token) as http:
        failed = http.post(API, json=org_body("FAILED-1", name="FAIL-COMMIT Sensorik GmbH"))
        assert failed.status_code == 500
        assert failed.headers["content-type"] == "application/problem+json"
        assert failed.json()["title"] == "Not stored"
        assert _stored(faulty, "FAILED-1") == 0
        with Session(faulty.engine) as session:
            orphans = session.scalar(
                select(func.count())
                .select_from(Competence)
                .where(Competence.label == "Sensorik FAILED-1")
            )
        assert orphans == 0
        # the server goes on: the next write is stored
        ok = http.post(API, json=org_body("AFTER-1"))
        assert ok.status_code == 201, ok.text
        assert _stored(faulty, "AFTER-1") == 1


def test_a_token_first_used_by_concurrent_reads_is_recorded_outside_their_transactions(
    live: Live,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tests.app.uow.live import make_token

    token = make_token(live.engine)

    def read(_: int) -> int:
        with client(live.server, token) as http:
            return http.get(API, params={"limit": 5}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(read, range(16)))
    assert statuses == [200] * 16
    with Session(live.engine) as session:
        last_used = session.scalars(
            select(ApiToken.last_used_at).order_by(ApiToken.id.desc()).limit(1)
        ).one()
    assert last_used is not None
