"""Concurrent clients of a real server: no 5xx, no lost write, one winner per race."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Organization
from app.models.cooperation import CooperationRequest
from app.models.user import Role
from tests.app.uow.conftest import Live
from tests.app.uow.live import API, client, make_token, org_body

REQUESTS = "/api/v1/cooperation-requests"


def _create(http: httpx.Client, external_id: str) -> int:
    response = http.post(API, json=org_body(external_id))
    assert response.status_code == 201, response.text
    org_id: int = response.json()["id"]
    return org_id


def test_fifty_patches_of_one_version_have_one_winner_and_lose_no_field(live: Live) -> None:
    with client(live.server, live.token) as http:
        org_id = _create(http, f"RACE-{live.backend}")
    url = f"{API}/{org_id}"
    start = threading.Barrier(50)

    def patch(i: int) -> tuple[int, int]:
        with client(live.server, live.token) as http:
            start.wait()
            body = {"version": 1, "employees": 100 + i, "city": f"Stadt {i}"}
            if i % 2:  # half send the version as If-Match instead
                del body["version"]
                return i, http.patch(url, json=body, headers={"If-Match": '"1"'}).status_code
            return i, http.patch(url, json=body).status_code

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(patch, range(50)))
    winners = [i for i, status in results if status == 200]
    losers = sorted({status for _, status in results if status != 200})
    assert len(winners) == 1
    assert set(losers) <= {409, 412} and len(results) - 1 == sum(
        1 for _, s in results if s in (409, 412)
    )
    (winner,) = winners
    with Session(live.engine) as session:
        org = session.get(Organization, org_id)
        assert org is not None
        assert (org.version, org.employees, org.city) == (2, 100 + winner, f"Stadt {winner}")


def test_a_client_chaining_a_hundred_patches_gets_a_hundred_200s(live: Live) -> None:
    with client(live.server, live.token) as http:
        org_id = _create(http, f"CHAIN-{live.backend}")
        version = 1
        statuses = []
        for n in range(100):
            response = http.patch(f"{API}/{org_id}", json={"version": version, "employees": n})
            statuses.append(response.status_code)
            version = response.json()["version"]
    assert statuses == [200] * 100
    assert version == 101
    with Session(live.engine) as session:
        org = session.get(Organization, org_id)
        assert org is not None and (org.version, org.employees) == (101, 99)


def test_two_members_accepting_one_request_at_once_one_wins_the_other_gets_409(
    live: Live,
) -> None:
    with client(live.server, live.token) as http:
        sender = _create(http, f"SEND-{live.backend}")
        receiver = _create(http, f"RECV-{live.backend}")
        request_ids = []
        for kind in ("data_sharing", "product_development", "training"):
            made = http.post(
                REQUESTS,
                json={
                    "from_organization_id": sender,
                    "to_organization_id": receiver,
                    "type": kind,
                },
            )
            assert made.status_code == 201, made.text
            request_ids.append(made.json()["id"])
    members = [make_token(live.engine, Role.member, receiver) for _ in range(2)]
    for request_id in request_ids:
        start = threading.Barrier(2)

        def accept(
            token: str, request_id: int = request_id, start: threading.Barrier = start
        ) -> int:
            with client(live.server, token) as http:
                start.wait()
                return http.post(f"{REQUESTS}/{request_id}/accept").status_code

        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(accept, members))
        assert statuses == [200, 409]
    with Session(live.engine) as session:
        stored = session.scalars(
            select(CooperationRequest.status).where(CooperationRequest.id.in_(request_ids))
        ).all()
    assert stored == ["accepted"] * 3


@dataclass
class Record:
    statuses: list[int] = field(default_factory=list)
    # organisation id -> employees of its last answered 2xx write
    written: dict[int, int] = field(default_factory=dict)
    unreadable_after_create: list[int] = field(default_factory=list)
    # every answer that is not a 2xx: method, path and the problem document, to say which failed
    failures: list[tuple[str, str, int, str]] = field(default_factory=list)

    def note(self, response: httpx.Response) -> None:
        self.statuses.append(response.status_code)
        if response.status_code >= 300:
            request = response.request
            self.failures.append(
                (request.method, request.url.path, response.status_code, response.text[:300])
            )


def _mixing_client(live: Live, number: int, until: float, record: Record) -> None:
    rnd = random.Random(number)
    own: list[tuple[int, int]] = []  # (id, version)
    with client(live.server, live.token) as http:
        n = 0
        while time.monotonic() < until:
            n += 1
            choice = rnd.random()
            if not own or choice < 0.25:
                response = http.post(API, json=org_body(f"MIX-{live.backend}-{number}-{n}"))
                record.note(response)
                if response.status_code == 201:
                    org_id = response.json()["id"]
                    record.written[org_id] = 12
                    own.append((org_id, 1))
                    # the very next request of this client reads it
                    read = http.get(f"{API}/{org_id}")
                    record.note(read)
                    if read.status_code != 200:
                        record.unreadable_after_create.append(org_id)
                continue
            index = rnd.randrange(len(own))
            org_id, version = own[index]
            if choice < 0.45:
                employees = rnd.randrange(1, 5000)
                response = http.patch(
                    f"{API}/{org_id}", json={"version": version, "employees": employees}
                )
                if response.status_code == 200:
                    own[index] = (org_id, response.json()["version"])
                    record.written[org_id] = employees
            elif choice < 0.65:
                response = http.get(API, params={"limit": 20})
            elif choice < 0.8:
                response = http.get(f"{API}/{org_id}")
            elif choice < 0.9:
                response = http.get(f"{API}/{org_id}/matches", params={"limit": 5})
            else:
                response = http.post(
                    "/api/v1/matches/search", json={"text": "Sensorik und Spritzguss", "limit": 5}
                )
            record.note(response)


def test_eight_clients_mixing_reads_and_writes_get_no_5xx_and_lose_nothing(live: Live) -> None:
    record = Record()
    until = time.monotonic() + 5.0
    threads = [
        threading.Thread(target=_mixing_client, args=(live, n, until, record)) for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert record.failures == []
    assert sorted(set(record.statuses)) == [200, 201]
    assert record.unreadable_after_create == []
    with Session(live.engine) as session:
        rows = session.execute(
            select(Organization.id, Organization.employees).where(
                Organization.id.in_(record.written)
            )
        ).all()
    stored = {org_id: employees for org_id, employees in rows}
    assert len(record.written) > 8
    assert stored == record.written
