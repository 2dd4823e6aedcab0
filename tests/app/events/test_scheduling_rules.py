"""Who meets whom: whole organisations by default, declined requests and not-interested marks,
filling with recommendations, per-person maxima and person-level preferences."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from tests.app.conftest import AccountFactory, ClientFactory
from tests.app.events import Scenario, build_event, ok, pair, pairs_of

NO_ENGINE = {"recommendations_per_participant": 0, "time_limit": 5}
WITH_ENGINE = {"recommendations_per_participant": 3, "time_limit": 5}
DEFAULTS = {"person_level_meetings": False, "fill_with_recommendations": False}


def request(client: TestClient, s: Scenario, frm: str, to: str, answer: str | None = None) -> int:
    body = {"from_person_id": s.people[frm], "to_person_id": s.people[to]}
    rid = int(ok(client.post(s.url("/requests"), json=body), 201)["id"])
    if answer is not None:
        ok(client.post(s.url(f"/requests/{rid}/{answer}")))
    return rid


def prefer_person(client: TestClient, s: Scenario, who: str, whom: str, kind: str) -> Any:
    url = s.url(f"/people/{s.people[who]}/preferences/{s.people[whom]}")
    return client.put(url, json={"kind": kind})


def kinds_of(out: dict[str, Any]) -> dict[tuple[int, int], str]:
    return {(m["person_a_id"], m["person_b_id"]): m["kind"] for m in out["meetings"]}


def test_defaults_are_stored_and_shown(client: TestClient) -> None:
    body = {"name": "Leer", "timezone": "UTC", "dates": ["2026-01-05"]}
    event = ok(client.post("/api/v1/events", json=body), 201)
    assert event["person_level_meetings"] is False
    assert event["fill_with_recommendations"] is False
    url = f"/api/v1/events/{event['id']}"
    changed = ok(client.patch(url, json={"fill_with_recommendations": True}))
    assert changed["fill_with_recommendations"] is True
    answer = client.patch(url, json={"person_level_meetings": None})
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "person_level_meetings", "message": "must not be null"}
    ]


def test_two_companies_meet_once_with_all_their_people(client: TestClient) -> None:
    s = build_event(client, **DEFAULTS)
    p = s.people
    # a1 and a2 both asked b1; b1 accepted both: still one meeting of A and B
    request(client, s, "a1", "b1", "accept")
    request(client, s, "a2", "b1", "accept")
    # a2 is away in all but the last slot: the whole company meets only when all can
    away = {"unavailable_slot_ids": s.slots[:-1]}
    ok(client.put(s.url(f"/people/{p['a2']}/unavailable"), json=away))
    out = ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    assert [(m["person_a_id"], m["person_b_id"], m["slot_id"]) for m in out["meetings"]] == [
        (p["a1"], p["b1"], s.slots[-1])
    ]
    meeting = out["meetings"][0]
    assert meeting["whole_organizations"] is True
    assert meeting["kind"] == "accepted_request"
    report = out["report"]
    assert report["requested"]["accepted_request"] == 1
    assert report["requests_satisfied"]["accepted_request"] == 1
    assert (report["wanted_both"], report["wanted_one"], report["filled_in"]) == (1, 0, 0)
    # both people of A have the meeting on their agenda
    ok(client.post(s.url("/schedule/publish")))
    for who in ("a1", "a2", "b1"):
        agenda = ok(client.get(s.url(f"/people/{p[who]}/agenda.json")))
        assert [m["meeting_id"] for m in agenda["meetings"]] == [meeting["id"]]
    assert ok(client.get(s.url(f"/people/{p['c1']}/agenda.json")))["meetings"] == []
    # the kind of meetings cannot change under a stored schedule
    answer = client.patch(s.url(), json={"person_level_meetings": True})
    assert answer.status_code == 409
    assert answer.json()["errors"] == [
        {"field": "person_level_meetings", "message": "schedule exists"}
    ]


def test_an_overridden_accepted_request_is_reported_unmet(client: TestClient) -> None:
    s = build_event(client, **DEFAULTS)
    p = s.people
    request(client, s, "a1", "b1", "accept")
    request(client, s, "c1", "d1", "accept")
    url = s.url(f"/participants/{s.participants['B']}/preferences/{s.participants['A']}")
    ok(client.put(url, json={"kind": "not_interested"}))
    out = ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    assert pairs_of(out["meetings"]) == {pair(p["c1"], p["d1"])}
    report = out["report"]
    assert report["requested"]["accepted_request"] == 2
    assert report["requests_satisfied"]["accepted_request"] == 1
    assert report["overridden"] == [list(pair(p["a1"], p["b1"]))]


@pytest.mark.parametrize("person_level", [False, True])
def test_a_declined_request_forbids_the_pair_even_with_filling(
    client: TestClient, person_level: bool
) -> None:
    s = build_event(client, person_level_meetings=person_level, fill_with_recommendations=True)
    p = s.people
    # without the decline, the engine recommends A and B to each other first
    filled = ok(client.post(s.url("/schedule"), json=WITH_ENGINE))
    assert kinds_of(filled)[pair(p["a1"], p["b1"])] == "recommended"
    ok(client.delete(s.url("/schedule")), 204)
    request(client, s, "b1", "a1", "decline")
    out = ok(client.post(s.url("/schedule"), json=WITH_ENGINE))
    kinds = kinds_of(out)
    assert pair(p["a1"], p["b1"]) not in kinds
    if person_level:
        # only a1 declined: a2 may still meet b1
        assert kinds[pair(p["a2"], p["b1"])] == "recommended"
    else:
        assert all(p["b1"] not in key or p["a1"] not in key for key in kinds)
    assert out["report"]["overridden"] == []  # a declined recommendation is nobody's wish


def test_recommendations_fill_free_slots_only_when_the_event_allows(client: TestClient) -> None:
    s = build_event(client, **DEFAULTS)
    p = s.people
    request(client, s, "a1", "b1", "accept")
    request(client, s, "d1", "c1")  # pending: a wish of D
    out = ok(client.post(s.url("/schedule"), json=WITH_ENGINE))
    assert kinds_of(out) == {
        pair(p["a1"], p["b1"]): "accepted_request",
        pair(p["c1"], p["d1"]): "would_like",
    }
    assert out["report"]["requested"]["recommended"] == 0
    assert (out["report"]["wanted_both"], out["report"]["wanted_one"]) == (1, 1)
    assert out["report"]["filled_in"] == 0
    ok(client.delete(s.url("/schedule")), 204)

    ok(client.patch(s.url(), json={"fill_with_recommendations": True}))
    out = ok(client.post(s.url("/schedule"), json=WITH_ENGINE))
    kinds = kinds_of(out)
    filled = [k for k in kinds.values() if k == "recommended"]
    assert kinds[pair(p["a1"], p["b1"])] == "accepted_request"
    assert kinds[pair(p["c1"], p["d1"])] == "would_like"
    assert len(filled) >= 1
    report = out["report"]
    assert (report["wanted_both"], report["wanted_one"], report["filled_in"]) == (
        1,
        1,
        len(filled),
    )


def test_a_persons_own_maximum_limits_their_meetings(client: TestClient) -> None:
    s = build_event(client, person_level_meetings=True, fill_with_recommendations=False)
    p = s.people
    for who in ("a1", "b1", "c1"):
        request(client, s, who, "d1", "accept")
    person = ok(client.patch(s.url(f"/people/{p['d1']}"), json={"max_meetings": 2}))
    assert person["max_meetings"] == 2
    out = ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    assert len(out["meetings"]) == 2
    assert all(p["d1"] in (m["person_a_id"], m["person_b_id"]) for m in out["meetings"])
    assert out["report"]["requests_satisfied"]["accepted_request"] == 2
    # null gives the event's maximum back
    person = ok(client.patch(s.url(f"/people/{p['d1']}"), json={"max_meetings": None}))
    assert person["max_meetings"] is None
    bad = client.patch(s.url(f"/people/{p['d1']}"), json={"max_meetings": -1})
    assert bad.status_code == 422


def test_a_companys_maximum_is_its_strictest_persons(client: TestClient) -> None:
    s = build_event(client, **DEFAULTS)
    p = s.people
    for who in ("b1", "c1", "d1"):
        request(client, s, "a1", who, "accept")
    ok(client.patch(s.url(f"/people/{p['a2']}"), json={"max_meetings": 1}))
    out = ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    assert len(out["meetings"]) == 1
    assert out["report"]["requested"]["accepted_request"] == 3


def test_person_level_preferences(
    client: TestClient, make_account: AccountFactory, client_for: ClientFactory
) -> None:
    s = build_event(client, person_level_meetings=True, fill_with_recommendations=False)
    p = s.people
    stored = ok(prefer_person(client, s, "a2", "c1", "must_meet"))
    assert stored == {"person_id": p["a2"], "target_person_id": p["c1"], "kind": "must_meet"}
    ok(prefer_person(client, s, "b1", "d1", "would_like"))
    ok(prefer_person(client, s, "d1", "b1", "would_like"))
    ok(prefer_person(client, s, "a1", "d1", "would_like"))
    ok(prefer_person(client, s, "d1", "a1", "not_interested"))
    listed = ok(client.get(s.url(f"/people/{p['d1']}/preferences")))
    assert [(x["target_person_id"], x["kind"]) for x in listed] == [
        (p["a1"], "not_interested"),
        (p["b1"], "would_like"),
    ]
    # the organisation of C would like to meet A: every person pair, next to a2's must-meet
    url = s.url(f"/participants/{s.participants['C']}/preferences/{s.participants['A']}")
    ok(client.put(url, json={"kind": "would_like"}))
    out = ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    kinds = kinds_of(out)
    assert kinds[pair(p["a2"], p["c1"])] == "must_meet"
    assert kinds[pair(p["b1"], p["d1"])] == "would_like"
    assert pair(p["a1"], p["d1"]) not in kinds
    report = out["report"]
    assert report["overridden"] == [list(pair(p["a1"], p["d1"]))]
    # b1 and d1 asked each other, and so did a2 (must-meet) and C (for all of A)
    assert report["wanted_both"] == 2
    assert report["requested"] == {
        "accepted_request": 0,
        "must_meet": 1,
        "would_like": 3,
        "recommended": 0,
    }

    # changing and deleting; bad targets; other organisations' members
    assert ok(prefer_person(client, s, "d1", "a1", "would_like"))["kind"] == "would_like"
    assert client.delete(s.url(f"/people/{p['d1']}/preferences/{p['a1']}")).status_code == 204
    assert client.delete(s.url(f"/people/{p['d1']}/preferences/{p['a1']}")).status_code == 404
    answer = prefer_person(client, s, "a1", "a2", "must_meet")
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "target_person_id", "message": "both people belong to the same organisation"}
    ]
    assert prefer_person(client, s, "a1", "a1", "must_meet").status_code == 422
    missing = client.put(s.url(f"/people/{p['a1']}/preferences/999999"), json={"kind": "must_meet"})
    assert missing.status_code == 404
    member_b = client_for(make_account(Role.member, s.orgs["B"]))
    assert prefer_person(member_b, s, "a1", "c1", "must_meet").status_code == 403
    assert member_b.get(s.url(f"/people/{p['a1']}/preferences")).status_code == 403
    assert ok(prefer_person(member_b, s, "b1", "c1", "must_meet"))["kind"] == "must_meet"


def test_no_shows_do_not_attend_nor_restrict_their_company(client: TestClient) -> None:
    s = build_event(client, **DEFAULTS)
    p = s.people
    request(client, s, "a1", "b1", "accept")
    request(client, s, "c1", "d1", "accept")
    # a1 only in the last slot, a2 in all others: A as a whole has no slot
    only_last = {"unavailable_slot_ids": s.slots[:-1]}
    ok(client.put(s.url(f"/people/{p['a1']}/unavailable"), json=only_last))
    ok(
        client.put(
            s.url(f"/people/{p['a2']}/unavailable"), json={"unavailable_slot_ids": s.slots[-1:]}
        )
    )
    out = ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    assert pairs_of(out["meetings"]) == {pair(p["c1"], p["d1"])}
    ok(client.delete(s.url("/schedule")), 204)
    # a2 does not come: A meets B in the last slot; d1 does not come: D meets nobody
    ok(client.patch(s.url(f"/people/{p['a2']}"), json={"no_show": True}))
    ok(client.patch(s.url(f"/people/{p['d1']}"), json={"no_show": True}))
    out = ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    assert [(m["person_a_id"], m["person_b_id"], m["slot_id"]) for m in out["meetings"]] == [
        (p["a1"], p["b1"], s.slots[-1])
    ]
    assert out["report"]["requests_satisfied"]["accepted_request"] == 1


def test_an_organisations_wish_brings_one_meeting_when_people_meet_one_to_one(
    client: TestClient,
) -> None:
    s = build_event(client, person_level_meetings=True, fill_with_recommendations=False)
    p = s.people
    # B would like to meet A (two people): one wish, which one meeting of a1 or a2 with b1
    # fulfils; before, both colleagues were pulled into a meeting nobody of them asked for
    url = s.url(f"/participants/{s.participants['B']}/preferences/{s.participants['A']}")
    ok(client.put(url, json={"kind": "would_like"}))
    out = ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    assert len(out["meetings"]) == 1
    assert pairs_of(out["meetings"]) <= {pair(p["a1"], p["b1"]), pair(p["a2"], p["b1"])}
    report = out["report"]
    assert report["requested"]["would_like"] == 1
    assert report["requests_satisfied"]["would_like"] == 1
    ok(client.delete(s.url("/schedule")), 204)

    # a2's own wish to meet b1 is a wish of its own, next to the organisation's
    ok(prefer_person(client, s, "a2", "b1", "would_like"))
    out = ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    assert pairs_of(out["meetings"]) == {pair(p["a1"], p["b1"]), pair(p["a2"], p["b1"])}
    assert out["report"]["requested"]["would_like"] == 2
    ok(client.delete(s.url("/schedule")), 204)

    # whole organisations (the default) meet once anyway
    ok(client.patch(s.url(), json={"person_level_meetings": False}))
    out = ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    assert len(out["meetings"]) == 1
    assert out["meetings"][0]["whole_organizations"] is True


def test_a_reschedule_names_every_person_whose_agenda_changed(client: TestClient) -> None:
    s = build_event(client, **DEFAULTS)
    p = s.people
    request(client, s, "a1", "b1", "accept")
    request(client, s, "c1", "d1", "accept")
    out = ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    assert pairs_of(out["meetings"]) == {pair(p["a1"], p["b1"]), pair(p["c1"], p["d1"])}
    ok(client.post(s.url("/schedule/publish")))
    # b1 does not come: the meeting of A and B is cancelled, on the agendas of a1, a2 and b1
    body = {"from_slot_id": s.slots[0], "no_show_person_ids": [p["b1"]], **NO_ENGINE}
    changes = ok(client.post(s.url("/reschedule"), json=body))["changes"]
    assert [(m["person_a_id"], m["person_b_id"]) for m in changes["removed"]] == [
        pair(p["a1"], p["b1"])
    ]
    assert changes["affected_person_ids"] == sorted([p["a1"], p["a2"], p["b1"]])
    assert ok(client.get(s.url("/schedule")))["changes"]["affected_person_ids"] == sorted(
        [p["a1"], p["a2"], p["b1"]]
    )
    calendar = client.get(s.url(f"/people/{p['a2']}/agenda.ics")).text
    assert "STATUS:CANCELLED" in calendar
    assert "STATUS:CANCELLED" not in client.get(s.url(f"/people/{p['c1']}/agenda.ics")).text
