"""The export of one organisation: complete, without secrets, and empty of erased people."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Organization
from app.models.audit import AuditEntry
from app.models.user import ApiToken, Role
from tests.app.conftest import AccountFactory, ClientFactory
from tests.app.privacy.conftest import CURATOR_EMAIL, TARGET_PERSONAL, PrivacyWorld


def export_url(organization_id: int) -> str:
    return f"/api/v1/organizations/{organization_id}/export"


def test_the_export_holds_everything_about_the_organisation(
    privacy_world: PrivacyWorld, client_for: ClientFactory, db_session: Session
) -> None:
    w = privacy_world
    response = client_for(w.berta).get(export_url(w.target))
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == (
        f'attachment; filename="koopmatch-organization-{w.target}.json"'
    )
    doc = response.json()
    assert (doc["format"], doc["format_version"]) == ("koopmatch-organization-export", 1)
    generated = dt.datetime.fromisoformat(doc["generated_at"].replace("Z", "+00:00"))
    assert abs(dt.datetime.now(dt.UTC) - generated) < dt.timedelta(minutes=5)

    org = doc["organization"]
    assert (org["id"], org["name"], org["city"], org["visibility"]) == (
        w.target,
        "Target GmbH",
        "Stuttgart",
        "members",
    )
    assert (org["contact_name"], org["contact_email"], org["contact_phone"]) == (
        "Anna Kontakt",
        "anna.kontakt@target.example",
        "+49 711 555 0101",
    )
    assert (org["disclosure"], org["hide_from_competitors"]) == ({"contacts": "members"}, False)
    assert [c["label"] for c in doc["competences"]] == ["Target GmbH Kernkompetenz"]
    assert [
        (r["type"], r["related_organization_id"], r["revenue_share"])
        for r in doc["relationships"]["outgoing"]
    ] == [("supplier", w.other, 0.25)]
    assert [(r["organization_id"], r["type"]) for r in doc["relationships"]["incoming"]] == [
        (w.other, "customer")
    ]
    assert [(m["id"], m["email"], m["name"], m["has_password"]) for m in doc["members"]] == [
        (w.berta.user.id, "berta@target.example", "Berta Mitglied", False),
        (w.carl, "carl@target.example", "Carl Zweiter", False),
    ]
    assert [(t["user_id"], t["kind"], t["name"]) for t in doc["tokens"]] == [
        (w.berta.user.id, "login", None),
        (w.berta.user.id, "api_key", "Bertas Schluessel"),
    ]

    [event] = doc["events"]
    assert (event["event_id"], event["event_name"]) == (w.event, "Sensorik-Treffen")
    assert [
        (p["id"], p["name"], p["email"], p["role"], p["unavailable_slot_ids"])
        for p in event["people"]
    ] == [
        (w.erik, "Erik Person", "erik.person@target.example", "Leiter Einkauf", [w.slot]),
        (w.anna_person, "Anna Kontakt", "anna.kontakt@target.example", None, []),
    ]
    assert [(p["kind"]) for p in event["preferences"]] == ["must_meet"]
    assert [
        (r["from_person_id"], r["to_person_id"], r["message"]) for r in event["meeting_requests"]
    ] == [
        (w.erik, w.frieda, "Gruss von Erik"),
        (w.frieda, w.anna_person, "Gerne am Nachmittag"),
    ]
    assert [(m["id"], m["table"], m["starts_at"][:16]) for m in event["meetings"]] == [
        (w.meeting, "Tisch 1", "2026-03-10T08:00")
    ]

    requests = doc["cooperation_requests"]
    assert [(r["id"], r["direction"], r["message"]) for r in requests] == [
        (w.sent_request, "sent", "Hallo, hier schreibt Berta"),
        (w.received_request, "received", "Schulung gewuenscht?"),
    ]
    assert [s["action"] for s in requests[0]["history"]] == ["sent", "accepted", "outcome"]
    assert (requests[0]["outcome"], requests[0]["outcome_note"]) == (
        "talks_started",
        "Telefonat mit Berta",
    )
    [merge] = doc["merges"]
    assert (merge["merged_name"], merge["merged_by"]) == ("Target Alt GmbH", CURATOR_EMAIL)
    assert doc["verification"]["verified"] is True
    assert doc["verification"]["verified_by"] == CURATOR_EMAIL

    about = db_session.scalars(
        select(AuditEntry).where(AuditEntry.organization_id == w.target).order_by(AuditEntry.id)
    ).all()
    # everything written before the export is in it; after it, only the export request's own
    # token use, written after the request's commit
    assert [a["id"] for a in doc["audit"]] == [a.id for a in about[:-1]]
    assert (about[-1].entity, about[-1].action, sorted(about[-1].changes)) == (
        "api_tokens",
        "update",
        ["last_used_at"],
    )
    assert {a["organization_id"] for a in doc["audit"]} == {w.target}

    # no secrets: neither hashes nor the token itself
    text = response.text
    hashes = db_session.scalars(select(ApiToken.token_hash)).all()
    assert {key for m in doc["members"] for key in m} & {"password_hash"} == set()
    assert {key for t in doc["tokens"] for key in t} & {"token_hash"} == set()
    assert [h for h in hashes if h in text] == []
    assert w.berta.token not in text
    # nothing of other organisations' people but what was sent to this one
    assert "dora@other.example" not in text and "Otto Fremd" not in text


def test_after_erasure_the_export_has_no_trace_of_the_people(
    privacy_world: PrivacyWorld, client: TestClient
) -> None:
    w = privacy_world
    assert client.post(f"/api/v1/organizations/{w.target}/erase-personal-data").status_code == 200
    response = client.get(export_url(w.target))
    assert response.status_code == 200
    text = response.text
    assert [value for value in TARGET_PERSONAL if value in text] == []
    doc = response.json()
    assert doc["members"] == [] and doc["tokens"] == []
    assert [p["name"] for p in doc["events"][0]["people"]] == ["Erased person", "Erased person"]
    assert len(doc["events"][0]["meetings"]) == 1


def test_who_may_export(
    privacy_world: PrivacyWorld,
    client_for: ClientFactory,
    make_account: AccountFactory,
    db_session: Session,
) -> None:
    w = privacy_world
    url = export_url(w.target)
    others = [None, w.dora, w.curator, make_account(Role.organizer)]
    assert [client_for(a).get(url).status_code for a in others] == [401, 403, 403, 403]
    org = db_session.get(Organization, w.target)
    assert org is not None
    org.visibility = "private"
    db_session.commit()
    assert [client_for(a).get(url).status_code for a in others] == [401, 404, 403, 404]
    assert client_for(w.berta).get(url).status_code == 200
    assert client_for(w.berta).get(export_url(2_147_483_647)).status_code == 404
