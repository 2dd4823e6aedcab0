"""Listing requests with filters and pages; the outcomes feed in JSON and CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest

from tests.app.cooperation.conftest import BASE, Scene

OUTCOMES = BASE + "/outcomes"


@dataclass
class Requests:
    ab: int  # Alpha -> Beta, product_development, pending
    ba: int  # Beta -> Alpha, data_sharing, accepted, outcome talks_started
    ag: int  # Alpha -> Gamma, training, declined
    gb: int  # Gamma -> Beta, purchasing_sales, pending


@pytest.fixture
def requests(scene: Scene) -> Requests:
    ab = scene.send(scene.member_a, scene.beta, "product_development")
    ba = scene.send(scene.member_b, scene.alpha, "data_sharing", message="Datenaustausch?")
    scene.step(scene.member_a, ba, "accept")
    scene.step(scene.member_a, ba, "outcome", outcome="talks_started")
    ag = scene.send(scene.member_a, scene.gamma, "training")
    scene.step(scene.member_g, ag, "decline")
    gb = scene.send(scene.member_g, scene.beta, "purchasing_sales")
    return Requests(ab=ab, ba=ba, ag=ag, gb=gb)


def _ids(scene: Scene, who: str, **params: str | int) -> list[int]:
    response = scene.client(getattr(scene, who)).get(BASE, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_members_list_their_organisations_requests(scene: Scene, requests: Requests) -> None:
    r = requests
    assert _ids(scene, "member_a") == [r.ag, r.ba, r.ab]
    assert _ids(scene, "member_a", direction="sent") == [r.ag, r.ab]
    assert _ids(scene, "member_a", direction="received") == [r.ba]
    assert _ids(scene, "member_a", status="pending") == [r.ab]
    assert _ids(scene, "member_a", type="training") == [r.ag]
    assert _ids(scene, "member_a", outcome="talks_started") == [r.ba]
    assert _ids(scene, "member_a", direction="sent", status="declined") == [r.ag]
    assert _ids(scene, "member_a", organization_id=scene.alpha.id) == [r.ag, r.ba, r.ab]
    assert _ids(scene, "member_b") == [r.gb, r.ba, r.ab]
    assert _ids(scene, "member_g", direction="received") == [r.ag]
    assert _ids(scene, "member_d") == []


def test_a_member_may_not_list_another_organisation(scene: Scene, requests: Requests) -> None:
    response = scene.client(scene.member_a).get(BASE, params={"organization_id": scene.beta.id})
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Members list the requests of their own organisation only."
    )
    assert scene.client(scene.organizer).get(BASE).status_code == 403


def test_staff_list_all_requests_and_filter_by_organisation(
    scene: Scene, requests: Requests
) -> None:
    r = requests
    everything = [r.gb, r.ag, r.ba, r.ab]
    assert _ids(scene, "admin") == everything
    assert _ids(scene, "curator") == everything
    assert _ids(scene, "curator", organization_id=scene.beta.id) == [r.gb, r.ba, r.ab]
    assert _ids(scene, "admin", organization_id=scene.beta.id, direction="received") == [
        r.gb,
        r.ab,
    ]
    assert _ids(scene, "admin", organization_id=scene.beta.id, direction="sent") == [r.ba]
    assert _ids(scene, "admin", status="pending") == [r.gb, r.ab]
    response = scene.client(scene.admin).get(BASE, params={"direction": "sent"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "direction", "message": "needs organization_id"}]


def test_pages(scene: Scene, requests: Requests) -> None:
    r = requests
    pages = []
    for offset in (0, 2, 4):
        body = scene.client(scene.admin).get(BASE, params={"limit": 2, "offset": offset}).json()
        pages.append(([item["id"] for item in body["items"]], body["total"], body["offset"]))
    assert pages == [([r.gb, r.ag], 4, 0), ([r.ba, r.ab], 4, 2), ([], 4, 4)]
    body = scene.client(scene.member_a).get(BASE, params={"limit": 1, "offset": 1}).json()
    assert ([i["id"] for i in body["items"]], body["total"], body["limit"]) == ([r.ba], 3, 1)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "open"}, "status"),
        ({"type": "merger"}, "type"),
        ({"direction": "both"}, "direction"),
        ({"outcome": "maybe"}, "outcome"),
    ],
)
def test_bad_list_parameters_name_the_field(
    scene: Scene, params: dict[str, str | int], field: str
) -> None:
    response = scene.client(scene.member_a).get(BASE, params=params)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_list_items_show_organisations_through_the_callers_view(
    scene: Scene, requests: Requests
) -> None:
    items = {i["id"]: i for i in scene.client(scene.member_a).get(BASE).json()["items"]}
    # Beta accepted a request between the two: partners, also in the other request
    assert items[requests.ab]["to_organization"]["name"] == "Beta Software AG"
    assert items[requests.ab]["to_organization"]["disclosure_level"] == "partner"
    # Gamma declined: it stays anonymous to Alpha
    gamma = items[requests.ag]["to_organization"]
    assert (gamma["name"], gamma["region"], gamma["size_class"]) == (None, "AT-4", "micro")
    # and Gamma still sees who asked it
    seen_by_g = scene.client(scene.member_g).get(BASE, params={"direction": "received"}).json()
    assert seen_by_g["items"][0]["from_organization"]["name"] == "Alpha Sensorik GmbH"


# --- the outcomes feed ---------------------------------------------------------------------


def test_outcomes_feed_has_one_flat_row_per_request(scene: Scene, requests: Requests) -> None:
    r = requests
    response = scene.client(scene.curator).get(OUTCOMES)
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (4, None, 0)
    rows = [
        (
            i["request_id"],
            i["from_organization_id"],
            i["to_organization_id"],
            i["from_nace_division"],
            i["to_nace_division"],
            i["type"],
            i["status"],
            i["outcome"],
        )
        for i in body["items"]
    ]
    a, b, g = scene.alpha.id, scene.beta.id, scene.gamma.id
    assert rows == [
        (r.ab, a, b, "26", "62", "product_development", "pending", None),
        (r.ba, b, a, "62", "26", "data_sharing", "accepted", "talks_started"),
        (r.ag, a, g, "26", "22", "training", "declined", None),
        (r.gb, g, b, "22", "62", "purchasing_sales", "pending", None),
    ]
    accepted = body["items"][1]
    stored = scene.client(scene.admin).get(f"{BASE}/{r.ba}").json()
    assert (
        accepted["match_score"],
        accepted["created_at"],
        accepted["responded_at"],
        accepted["outcome_at"],
    ) == (
        stored["match_score"],
        stored["created_at"],
        stored["responded_at"],
        stored["outcome_at"],
    )
    assert accepted["responded_at"] is not None and accepted["outcome_at"] is not None
    # no personal data in the feed
    assert "message" not in accepted and "outcome_note" not in accepted


def test_outcomes_feed_filters_and_pages(scene: Scene, requests: Requests) -> None:
    r = requests

    def ids(**params: str | int) -> list[int]:
        body = scene.client(scene.admin).get(OUTCOMES, params=params).json()
        return [i["request_id"] for i in body["items"]]

    assert ids(outcome="talks_started") == [r.ba]
    assert ids(status="pending") == [r.ab, r.gb]
    assert ids(type="training") == [r.ag]
    assert ids(limit=2, offset=1) == [r.ba, r.ag]
    body = scene.client(scene.admin).get(OUTCOMES, params={"limit": 2, "offset": 1}).json()
    assert (body["total"], body["limit"], body["offset"]) == (4, 2, 1)


def test_outcomes_feed_as_csv(scene: Scene, requests: Requests) -> None:
    r = requests
    response = scene.client(scene.admin).get(OUTCOMES, params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["x-total-count"] == "4"
    lines = response.text.splitlines()
    assert lines[0] == (
        "request_id,from_organization_id,to_organization_id,from_nace_division,"
        "to_nace_division,type,status,outcome,match_score,created_at,responded_at,outcome_at"
    )
    assert len(lines) == 5
    as_json = scene.client(scene.admin).get(OUTCOMES).json()["items"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(row["request_id"]) for row in rows] == [r.ab, r.ba, r.ag, r.gb]
    # every cell is the JSON value as text, null as an empty cell
    for row, item in zip(rows, as_json, strict=True):
        assert row == {k: "" if v is None else str(v) for k, v in item.items()}
    accepted = rows[1]
    assert (accepted["type"], accepted["status"], accepted["outcome"]) == (
        "data_sharing",
        "accepted",
        "talks_started",
    )
    pending = rows[0]
    assert (pending["outcome"], pending["responded_at"], pending["outcome_at"]) == ("", "", "")
    filtered = scene.client(scene.admin).get(
        OUTCOMES, params={"format": "csv", "status": "declined"}
    )
    assert list(csv.reader(io.StringIO(filtered.text)))[1][:8] == [
        str(r.ag),
        str(scene.alpha.id),
        str(scene.gamma.id),
        "26",
        "22",
        "training",
        "declined",
        "",
    ]


def test_outcomes_feed_is_for_staff(scene: Scene, requests: Requests) -> None:
    for who in ("member_a", "member_b", "organizer"):
        for params in ({}, {"format": "csv"}):
            response = scene.client(getattr(scene, who)).get(OUTCOMES, params=params)
            assert response.status_code == 403
    assert scene.client(None).get(OUTCOMES).status_code == 401
    bad = scene.client(scene.admin).get(OUTCOMES, params={"format": "xlsx"})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["format"]
