"""Re-scheduling a published schedule changes only the agendas it has to, and calendars learn of
each change: a moved meeting's SEQUENCE and DTSTAMP grow, a removed one is cancelled."""

from __future__ import annotations

import datetime as dt
from typing import Any

import icalendar
import pytest
from fastapi.testclient import TestClient

from app.events.exports import meeting_uid
from tests.app.events import EVENTS, ORGS, SLOTS, ok

NO_ENGINE = {"recommendations_per_participant": 0}

# eight firms with one person each; everybody must meet the next three round the circle
N = 8


def build(client: TestClient) -> tuple[str, list[int], list[int], dict[int, int]]:
    """The event's url, slot ids, person ids (one per firm) and participant id by person."""
    orgs = [
        ok(
            client.post(
                ORGS,
                json={
                    "external_id": f"rs-{i}",
                    "name": f"Firma {i}",
                    "nace_code": "22.26",
                    "country": "DE",
                    "competences": [{"kind": "core", "label": f"Fertigung {i}"}],
                },
            ),
            201,
        )["id"]
        for i in range(N)
    ]
    body = {
        "name": "Kooperationsbörse",
        "timezone": "Europe/Berlin",
        "dates": ["2026-03-10"],
        "max_meetings": 3,
        "min_meetings": 2,
    }
    url = f"{EVENTS}/{ok(client.post(EVENTS, json=body), 201)['id']}"
    slots = [s["id"] for s in ok(client.post(f"{url}/slots", json=SLOTS))]
    ok(client.put(f"{url}/tables", json={"names": ["1", "2", "3", "4"]}))
    people: list[int] = []
    participant: dict[int, int] = {}
    for i, org in enumerate(orgs):
        person = {"name": f"Person {i}", "email": f"p{i}@firma{i}.example"}
        created = ok(
            client.post(f"{url}/participants", json={"organization_id": org, "people": [person]}),
            201,
        )
        people.append(created["people"][0]["id"])
        participant[created["people"][0]["id"]] = created["id"]
    for i in range(N):
        for step in (1, 2, 3):
            target = participant[people[(i + step) % N]]
            ok(
                client.put(
                    f"{url}/participants/{participant[people[i]]}/preferences/{target}",
                    json={"kind": "must_meet" if step == 1 else "would_like"},
                )
            )
    return url, slots, people, participant


def second(text: str) -> dt.datetime:
    """An API time as iCalendar holds it: to the second."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(microsecond=0)


def involved(m: dict[str, Any], person: int) -> bool:
    return person in (m["person_a_id"], m["person_b_id"])


def key(m: dict[str, Any]) -> tuple[int, int, int, int]:
    return (m["slot_id"], m["table_id"], m["person_a_id"], m["person_b_id"])


def vevents(client: TestClient, url: str, person: int) -> dict[str, icalendar.Event]:
    answer = client.get(f"{url}/people/{person}/agenda.ics")
    assert answer.status_code == 200
    return {str(e["uid"]): e for e in icalendar.Calendar.from_ical(answer.content).walk("VEVENT")}


@pytest.fixture
def published(client: TestClient) -> tuple[str, list[int], list[int], dict[str, Any]]:
    url, slots, people, _ = build(client)
    ok(client.post(f"{url}/schedule", json={**NO_ENGINE, "time_limit": 5}))
    return url, slots, people, ok(client.post(f"{url}/schedule/publish"))


def test_a_no_show_frees_only_its_meetings(
    client: TestClient, published: tuple[str, list[int], list[int], dict[str, Any]]
) -> None:
    url, slots, people, before = published
    event_id = int(url.rsplit("/", 1)[1])
    cut = 2
    future = [m for m in before["meetings"] if slots.index(m["slot_id"]) >= cut]
    # the person with the most meetings from the cut on does not show up
    load = {p: sum(involved(m, p) for m in future) for p in people}
    no_show = max(people, key=lambda p: (load[p], -p))
    lost = [m for m in future if involved(m, no_show)]
    assert len(lost) == load[no_show] >= 1
    partners = {m["person_a_id"] + m["person_b_id"] - no_show for m in lost}
    ics_before = {p: client.get(f"{url}/people/{p}/agenda.ics").content for p in people}

    after = ok(
        client.post(
            f"{url}/reschedule",
            json={**NO_ENGINE, "from_slot_id": slots[cut], "no_show_person_ids": [no_show]},
        )
    )
    assert after["status"] == "published"
    changes = after["changes"]
    # every meeting that does not involve the no-show stays: same row, slot and table
    now = {m["id"]: m for m in after["meetings"]}
    for m in before["meetings"]:
        if not involved(m, no_show) or slots.index(m["slot_id"]) < cut:
            assert now[m["id"]] == m
    removed = sorted(
        (m["person_a_id"], m["person_b_id"], m["slot_id"], m["table_id"]) for m in lost
    )
    assert [
        (c["person_a_id"], c["person_b_id"], c["slot_id"], c["table_id"])
        for c in changes["removed"]
    ] == sorted(removed, key=lambda r: (r[2], r[3], r[0], r[1]))
    assert changes["moved"] == []
    assert changes["no_show_person_ids"] == [no_show]
    assert changes["from_slot_id"] == slots[cut]
    added = {(c["person_a_id"], c["person_b_id"]) for c in changes["added"]}
    new_meetings = {
        (m["person_a_id"], m["person_b_id"])
        for m in after["meetings"]
        if m["id"] not in {b["id"] for b in before["meetings"]}
    }
    assert added == new_meetings
    # refills involve someone who lost a meeting, or are a must-meet pair
    must = {tuple(sorted((people[i], people[(i + 1) % N]))) for i in range(N)}
    for a, b in added:
        assert {a, b} & partners or (a, b) in must
    affected = {no_show} | partners | {p for pair in added for p in pair}
    assert changes["affected_person_ids"] == sorted(affected)
    assert changes["kept"] == len(future) - len(lost)
    assert ok(client.get(f"{url}/schedule"))["changes"] == changes

    # calendars: the agendas of everyone else are byte for byte the same
    for p in people:
        if p not in affected:
            assert client.get(f"{url}/people/{p}/agenda.ics").content == ics_before[p]
    # the no-show's partners get each lost meeting as cancelled, same UID, SEQUENCE 1
    for m in lost:
        partner = m["person_a_id"] + m["person_b_id"] - no_show
        uid = meeting_uid(event_id, no_show, partner)
        gone = vevents(client, url, partner)[uid]
        assert str(gone["status"]) == "CANCELLED"
        assert gone["sequence"] == 1
        assert gone.decoded("dtstamp") == second(changes["rescheduled_at"])
        kept_uids = {
            meeting_uid(event_id, k["person_a_id"], k["person_b_id"])
            for k in after["meetings"]
            if involved(k, partner)
        }
        mine = vevents(client, url, partner)
        assert set(mine) == kept_uids | {meeting_uid(event_id, no_show, partner)}
        for uid_kept in kept_uids:
            assert str(mine[uid_kept]["status"]) == "CONFIRMED"
    cancel = client.get(f"{url}/people/{no_show}/cancellations.ics")
    assert cancel.status_code == 200
    cal = icalendar.Calendar.from_ical(cancel.content)
    assert str(cal["method"]) == "CANCEL"
    assert sorted(str(e["uid"]) for e in cal.walk("VEVENT")) == sorted(
        meeting_uid(event_id, m["person_a_id"], m["person_b_id"]) for m in lost
    )
    agenda = ok(client.get(f"{url}/people/{no_show}/agenda.json"))
    assert len(agenda["cancelled"]) == len(lost)
    assert {c["sequence"] for c in agenda["cancelled"]} == {1}


def test_a_moved_meeting_gets_a_new_sequence_and_stamp(
    client: TestClient, published: tuple[str, list[int], list[int], dict[str, Any]]
) -> None:
    url, slots, people, before = published
    event_id = int(url.rsplit("/", 1)[1])
    cut = 1
    future = [m for m in before["meetings"] if slots.index(m["slot_id"]) >= cut]
    busy = {
        (p, m["slot_id"]) for m in before["meetings"] for p in (m["person_a_id"], m["person_b_id"])
    }
    load = {sid: sum(m["slot_id"] == sid for m in before["meetings"]) for sid in slots}

    def free_slots(m: dict[str, Any]) -> list[int]:
        """Later slots where both of m's people and a table are free."""
        return [
            sid
            for sid in slots[cut:]
            if load[sid] < 4
            and (m["person_a_id"], sid) not in busy
            and (m["person_b_id"], sid) not in busy
        ]

    # one person can no longer make the slot of a later meeting that has somewhere else to go
    target = next(m for m in future if free_slots(m))
    person = target["person_a_id"]
    away = sorted(
        {s for s in ok(client.get(f"{url}/people/{person}"))["unavailable_slot_ids"]}
        | {target["slot_id"]}
    )
    ok(client.put(f"{url}/people/{person}/unavailable", json={"unavailable_slot_ids": away}))
    published_at = before["published_at"]
    after = ok(client.post(f"{url}/reschedule", json={**NO_ENGINE, "from_slot_id": slots[cut]}))
    changes = after["changes"]
    gone_or_moved = [
        (c["person_a_id"], c["person_b_id"]) for c in changes["moved"] + changes["removed"]
    ]
    assert gone_or_moved == [(target["person_a_id"], target["person_b_id"])]
    untouched = {key(m) for m in before["meetings"] if m["id"] != target["id"]}
    assert untouched <= {key(m) for m in after["meetings"]}
    uid = meeting_uid(event_id, target["person_a_id"], target["person_b_id"])
    item = vevents(client, url, person)[uid]
    assert item["sequence"] == 1
    assert item.decoded("dtstamp") == second(changes["rescheduled_at"])
    assert changes["removed"] == []
    [moved] = changes["moved"]
    assert (moved["from_slot_id"], moved["from_table_id"]) == (
        target["slot_id"],
        target["table_id"],
    )
    assert moved["slot_id"] in free_slots(target)
    assert str(item["status"]) == "CONFIRMED"
    pair = (target["person_a_id"], target["person_b_id"])
    now = next(m for m in after["meetings"] if (m["person_a_id"], m["person_b_id"]) == pair)
    assert item.decoded("dtstart") == second(now["starts_at"])
    # refills may join a person of the moved meeting or a must-meet pair, nobody else
    must = {tuple(sorted((people[i], people[(i + 1) % N]))) for i in range(N)}
    for c in changes["added"]:
        added = (c["person_a_id"], c["person_b_id"])
        assert set(added) & set(pair) or added in must
    # the person's other meetings from before are untouched in the calendar too
    others = {
        meeting_uid(event_id, m["person_a_id"], m["person_b_id"])
        for m in before["meetings"]
        if involved(m, person) and m["id"] != target["id"]
    }
    mine = vevents(client, url, person)
    assert others <= set(mine)
    for uid_other in others:
        assert mine[uid_other]["sequence"] == 0
        assert mine[uid_other].decoded("dtstamp") == second(published_at)
