from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.curation.service import months_before
from app.models import Organization
from app.models.base import utcnow
from tests.app.conftest import Account

CURATION = "/api/v1/curation"


def _org(session: Session, name: str) -> Organization:
    org = Organization(name=name, cooperation_interests=[], competences=[])
    session.add(org)
    session.flush()
    return org


def test_verify_and_unverify(client: TestClient, admin: Account, db_session: Session) -> None:
    org = _org(db_session, "Sensotec GmbH")
    db_session.commit()
    before = client.get(f"/api/v1/organizations/{org.id}").json()
    url = f"{CURATION}/organizations/{org.id}/verify"

    started = utcnow()
    verified = client.post(url)

    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["id"] == org.id
    assert body["verified_by"] == admin.user.email
    verified_at = dt.datetime.fromisoformat(body["verified_at"])
    assert started - dt.timedelta(seconds=1) <= verified_at <= utcnow()
    # a verification is no edit: the profile's version and modified_at stay
    after = client.get(f"/api/v1/organizations/{org.id}").json()
    assert (after["version"], after["modified_at"]) == (before["version"], before["modified_at"])
    assert "verified_at" not in after
    db_session.expire_all()
    stored = db_session.get(Organization, org.id)
    assert stored is not None
    assert stored.verified_by == admin.user.email

    cleared = client.delete(url)

    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["verified_at"], cleared.json()["verified_by"]) == (None, None)
    db_session.expire_all()
    stored = db_session.get(Organization, org.id)
    assert stored is not None
    assert (stored.verified_at, stored.verified_by) == (None, None)


def test_verify_an_unknown_organisation_is_404(client: TestClient) -> None:
    response = client.post(f"{CURATION}/organizations/2147483647/verify")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (
            dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC),
            1,
            dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC),
        ),
        (dt.datetime(2026, 1, 15, tzinfo=dt.UTC), 1, dt.datetime(2025, 12, 15, tzinfo=dt.UTC)),
        (dt.datetime(2024, 2, 29, tzinfo=dt.UTC), 12, dt.datetime(2023, 2, 28, tzinfo=dt.UTC)),
        (dt.datetime(2026, 11, 26, tzinfo=dt.UTC), 23, dt.datetime(2024, 12, 26, tzinfo=dt.UTC)),
    ],
)
def test_months_before(moment: dt.datetime, months: int, expected: dt.datetime) -> None:
    assert months_before(moment, months) == expected


def test_stale_profiles_oldest_first(client: TestClient, db_session: Session) -> None:
    now = utcnow()
    thirteen = _org(db_session, "Dreizehn GmbH")
    fresh = _org(db_session, "Frisch AG")
    twenty_five = _org(db_session, "Fünfundzwanzig KG")
    # an explicit value is written as given, not replaced by onupdate
    thirteen.modified_at = now - dt.timedelta(days=396)
    twenty_five.modified_at = now - dt.timedelta(days=761)
    db_session.commit()

    default = client.get(f"{CURATION}/stale")
    assert default.status_code == 200, default.text
    assert [o["id"] for o in default.json()["items"]] == [twenty_five.id, thirteen.id]
    assert default.json()["total"] == 2
    assert fresh.id not in [o["id"] for o in default.json()["items"]]

    two_years = client.get(f"{CURATION}/stale", params={"months": 24}).json()
    assert [o["id"] for o in two_years["items"]] == [twenty_five.id]
    assert two_years["total"] == 1

    paged = client.get(f"{CURATION}/stale", params={"limit": 1, "offset": 1}).json()
    assert ([o["id"] for o in paged["items"]], paged["total"]) == ([thirteen.id], 2)

    assert client.get(f"{CURATION}/stale", params={"months": 0}).status_code == 422
