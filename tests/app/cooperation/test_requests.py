"""Sending, answering and recording outcomes of cooperation requests; who may do what."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models.cooperation import CooperationRequest
from tests.app.cooperation.conftest import BASE, Scene

HIDDEN_FROM_MEMBERS = ["contacts", "employees", "name", "relationships", "website"]


def _steps(history: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (s["action"], s["status"], s["outcome"], s["actor_user_id"], s["actor_name"])
        for s in history
    ]


def test_send_accept_outcome_and_history(scene: Scene) -> None:
    a, b = scene.member_a, scene.member_b
    response = scene.client(a).post(
        BASE,
        json={
            "to_organization_id": scene.beta.id,
            "type": "product_development",
            "message": "  Gemeinsamer Füllstandsensor mit Cloud-Anbindung?  ",
        },
    )
    assert response.status_code == 201, response.text
    sent = response.json()
    request_id = sent["id"]
    assert response.headers["location"] == f"{BASE}/{request_id}"
    assert (sent["status"], sent["type"], sent["message"]) == (
        "pending",
        "product_development",
        "Gemeinsamer Füllstandsensor mit Cloud-Anbindung?",
    )
    assert (sent["sender_user_id"], sent["responder_user_id"]) == (a.user.id, None)
    assert (sent["responded_at"], sent["outcome"], sent["outcome_at"]) == (None, None, None)
    # the sender sees its own organisation whole and the recipient as an anonymous teaser
    assert sent["from_organization"]["name"] == "Alpha Sensorik GmbH"
    assert sent["from_organization"]["disclosure_level"] == "owner"
    assert sent["to_organization"] == {
        "id": scene.beta.id,
        "external_id": None,
        "name": None,
        "website": None,
        "contact_name": None,
        "contact_email": None,
        "contact_phone": None,
        "employees": None,
        "size_class": "medium",
        "nace_code": "62.01",
        "country": "DE",
        "region": "DE-8",
        "hidden_fields": HIDDEN_FROM_MEMBERS,
        "disclosure_level": "member",
    }

    # the recipient sees who asked (the sender's opt-in), but not its contacts
    seen_by_b = scene.client(b).get(f"{BASE}/{request_id}").json()
    assert seen_by_b["from_organization"]["name"] == "Alpha Sensorik GmbH"
    assert seen_by_b["from_organization"]["contact_email"] is None
    assert seen_by_b["from_organization"]["disclosure_level"] == "addressee"
    assert seen_by_b["from_organization"]["hidden_fields"] == [
        "contacts",
        "employees",
        "relationships",
        "website",
    ]

    accepted = scene.step(b, request_id, "accept")
    assert (accepted["status"], accepted["responder_user_id"]) == ("accepted", b.user.id)
    assert accepted["responded_at"] is not None
    # double opt-in done: both sides see each other's partner fields
    assert accepted["from_organization"]["contact_email"] == "anna@alpha.example"
    assert accepted["from_organization"]["disclosure_level"] == "partner"
    seen_by_a = scene.client(a).get(f"{BASE}/{request_id}").json()
    recipient = seen_by_a["to_organization"]
    assert (recipient["name"], recipient["contact_name"], recipient["contact_email"]) == (
        "Beta Software AG",
        "Bernd Beta",
        "bernd@beta.example",
    )
    assert (recipient["website"], recipient["employees"]) == ("https://beta.example", 120)
    assert (recipient["hidden_fields"], recipient["disclosure_level"]) == ([], "partner")

    done = scene.step(a, request_id, "outcome", outcome="talks_started", note="Termin am 3.3.")
    assert (done["status"], done["outcome"], done["outcome_note"]) == (
        "accepted",
        "talks_started",
        "Termin am 3.3.",
    )
    assert done["outcome_at"] is not None

    history = scene.client(a).get(f"{BASE}/{request_id}/history")
    assert history.status_code == 200
    # a member sees the names of its own organisation's actors only
    assert _steps(history.json()) == [
        ("sent", "pending", None, a.user.id, "Anna Alpha"),
        ("accepted", "accepted", None, b.user.id, None),
        ("outcome", "accepted", "talks_started", a.user.id, "Anna Alpha"),
    ]
    assert [
        s["actor_name"] for s in scene.client(b).get(f"{BASE}/{request_id}/history").json()
    ] == [
        None,
        "Bernd Beta",
        None,
    ]
    assert [
        s["actor_name"]
        for s in scene.client(scene.curator).get(f"{BASE}/{request_id}/history").json()
    ] == ["Anna Alpha", "Bernd Beta", "Anna Alpha"]


def test_outcome_is_updated_later_and_every_change_is_a_step(scene: Scene) -> None:
    a, b = scene.member_a, scene.member_b
    request_id = scene.send(a, scene.beta, "data_sharing")
    scene.step(b, request_id, "accept")
    scene.step(a, request_id, "outcome", outcome="talks_started", note="Erstes Gespräch")
    # no note given: the stored one stays
    second = scene.step(b, request_id, "outcome", outcome="agreement_reached")
    assert (second["outcome"], second["outcome_note"]) == ("agreement_reached", "Erstes Gespräch")
    # an admin may record it too, and a note is replaced when given
    third = scene.step(scene.admin, request_id, "outcome", outcome="no_fit", note="")
    assert (third["outcome"], third["outcome_note"]) == ("no_fit", None)
    history = scene.client(scene.admin).get(f"{BASE}/{request_id}/history").json()
    assert _steps(history) == [
        ("sent", "pending", None, a.user.id, "Anna Alpha"),
        ("accepted", "accepted", None, b.user.id, "Bernd Beta"),
        ("outcome", "accepted", "talks_started", a.user.id, "Anna Alpha"),
        ("outcome", "accepted", "agreement_reached", b.user.id, "Bernd Beta"),
        ("outcome", "accepted", "no_fit", scene.admin.user.id, "Ada Admin"),
    ]
    # members do not see the names of staff who acted
    assert _steps(scene.client(a).get(f"{BASE}/{request_id}/history").json())[-1] == (
        "outcome",
        "accepted",
        "no_fit",
        scene.admin.user.id,
        None,
    )


def test_decline_keeps_the_recipient_anonymous(scene: Scene) -> None:
    request_id = scene.send(scene.member_a, scene.beta, "training")
    declined = scene.step(scene.member_b, request_id, "decline")
    assert (declined["status"], declined["responder_user_id"]) == (
        "declined",
        scene.member_b.user.id,
    )
    seen_by_a = scene.client(scene.member_a).get(f"{BASE}/{request_id}").json()
    assert seen_by_a["to_organization"]["name"] is None
    assert seen_by_a["to_organization"]["hidden_fields"] == HIDDEN_FROM_MEMBERS
    # the sender's opt-in stands: the recipient still sees who asked
    seen_by_b = scene.client(scene.member_b).get(f"{BASE}/{request_id}").json()
    assert seen_by_b["from_organization"]["name"] == "Alpha Sensorik GmbH"
    history = scene.client(scene.member_b).get(f"{BASE}/{request_id}/history").json()
    assert [(s["action"], s["status"]) for s in history] == [
        ("sent", "pending"),
        ("declined", "declined"),
    ]


def test_withdraw_takes_back_the_senders_name(scene: Scene) -> None:
    request_id = scene.send(scene.member_a, scene.beta, "training")
    withdrawn = scene.step(scene.member_a, request_id, "withdraw")
    assert (withdrawn["status"], withdrawn["responder_user_id"], withdrawn["responded_at"]) == (
        "withdrawn",
        None,
        None,
    )
    seen_by_b = scene.client(scene.member_b).get(f"{BASE}/{request_id}").json()
    assert seen_by_b["from_organization"]["name"] is None
    assert seen_by_b["from_organization"]["disclosure_level"] == "member"
    history = scene.client(scene.member_a).get(f"{BASE}/{request_id}/history").json()
    assert [(s["action"], s["status"], s["actor_user_id"]) for s in history] == [
        ("sent", "pending", scene.member_a.user.id),
        ("withdrawn", "withdrawn", scene.member_a.user.id),
    ]


def test_admin_answers_for_the_recipient(scene: Scene) -> None:
    request_id = scene.send(scene.member_a, scene.beta, "training")
    accepted = scene.step(scene.admin, request_id, "accept")
    assert (accepted["status"], accepted["responder_user_id"]) == (
        "accepted",
        scene.admin.user.id,
    )


# --- state conflicts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "then", "who_then", "status_now"),
    [
        ("accept", "accept", "member_b", "accepted"),
        ("accept", "decline", "member_b", "accepted"),
        ("accept", "withdraw", "member_a", "accepted"),
        ("decline", "accept", "member_b", "declined"),
        ("decline", "withdraw", "member_a", "declined"),
        ("withdraw", "decline", "member_b", "withdrawn"),
        ("withdraw", "withdraw", "member_a", "withdrawn"),
    ],
)
def test_only_a_pending_request_is_answered(
    scene: Scene, first: str, then: str, who_then: str, status_now: str
) -> None:
    request_id = scene.send(scene.member_a, scene.beta, "training")
    scene.step(scene.member_a if first == "withdraw" else scene.member_b, request_id, first)
    response = scene.client(getattr(scene, who_then)).post(f"{BASE}/{request_id}/{then}")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    target = {"accept": "accepted", "decline": "declined", "withdraw": "withdrawn"}[then]
    assert body["detail"] == (
        f"Cooperation request {request_id} is {status_now}; only a pending request can be {target}."
    )
    assert body["current_status"] == status_now
    # nothing was recorded
    history = scene.client(scene.admin).get(f"{BASE}/{request_id}/history").json()
    assert len(history) == 2


@pytest.mark.parametrize("before", [None, "decline", "withdraw"])
def test_outcome_only_for_an_accepted_request(scene: Scene, before: str | None) -> None:
    request_id = scene.send(scene.member_a, scene.beta, "training")
    if before is not None:
        scene.step(scene.member_a if before == "withdraw" else scene.member_b, request_id, before)
    status_now = {None: "pending", "decline": "declined", "withdraw": "withdrawn"}[before]
    response = scene.client(scene.member_a).post(
        f"{BASE}/{request_id}/outcome", json={"outcome": "talks_started"}
    )
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"Cooperation request {request_id} is {status_now}; an outcome is recorded only for "
        "an accepted request."
    )
    assert response.json()["current_status"] == status_now


def test_one_pending_request_per_pair_and_type(scene: Scene) -> None:
    first = scene.send(scene.member_a, scene.beta, "training")
    response = scene.client(scene.member_a).post(
        BASE, json={"to_organization_id": scene.beta.id, "type": "training"}
    )
    assert response.status_code == 409
    body = response.json()
    assert (body["request_id"], body["current_status"]) == (first, "pending")
    assert body["detail"] == (
        f"Request {first} of type training from organisation {scene.alpha.id} to "
        f"{scene.beta.id} is already pending; withdraw it or wait for the answer."
    )
    # staff sending for the same organisation hit the same rule
    response = scene.client(scene.curator).post(
        BASE,
        json={
            "to_organization_id": scene.beta.id,
            "type": "training",
            "from_organization_id": scene.alpha.id,
        },
    )
    assert response.status_code == 409
    # another type, the other direction, and the same type once answered are fine
    scene.send(scene.member_a, scene.beta, "data_sharing")
    scene.send(scene.member_b, scene.alpha, "training")
    scene.step(scene.member_a, first, "withdraw")
    again = scene.send(scene.member_a, scene.beta, "training")
    assert again > first


# --- who may send --------------------------------------------------------------------------


def test_members_send_for_their_own_organisation_only(scene: Scene) -> None:
    client = scene.client(scene.member_a)
    own = client.post(
        BASE,
        json={
            "to_organization_id": scene.gamma.id,
            "type": "purchasing_sales",
            "from_organization_id": scene.alpha.id,
        },
    )
    assert own.status_code == 201
    assert own.json()["from_organization"]["id"] == scene.alpha.id
    other = client.post(
        BASE,
        json={
            "to_organization_id": scene.gamma.id,
            "type": "purchasing_sales",
            "from_organization_id": scene.beta.id,
        },
    )
    assert other.status_code == 403
    assert other.json()["detail"] == (
        "Members send cooperation requests for their own organisation only."
    )


def test_staff_name_the_sender_and_organizers_may_not_send(scene: Scene) -> None:
    body = {"to_organization_id": scene.beta.id, "type": "training"}
    missing = scene.client(scene.curator).post(BASE, json=body)
    assert missing.status_code == 422
    assert missing.json()["errors"] == [
        {"field": "from_organization_id", "message": "required for hub staff"}
    ]
    unknown = scene.client(scene.admin).post(
        BASE, json={**body, "from_organization_id": 2_000_000_000}
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [
        {"field": "from_organization_id", "message": "no such organisation"}
    ]
    sent = scene.client(scene.curator).post(
        BASE, json={**body, "from_organization_id": scene.gamma.id}
    )
    assert sent.status_code == 201
    assert (sent.json()["from_organization"]["id"], sent.json()["sender_user_id"]) == (
        scene.gamma.id,
        scene.curator.user.id,
    )
    assert scene.client(scene.organizer).post(BASE, json=body).status_code == 403
    assert scene.client(None).post(BASE, json=body).status_code == 401


def test_a_target_the_sender_may_not_see_is_not_found(scene: Scene) -> None:
    for account, body in (
        (scene.member_a, {}),
        # staff see the private profile, but the sending organisation does not
        (scene.admin, {"from_organization_id": scene.alpha.id}),
    ):
        for target in (scene.delta.id, 2_000_000_000):
            response = scene.client(account).post(
                BASE, json={"to_organization_id": target, "type": "training", **body}
            )
            assert response.status_code == 404
            assert response.json()["detail"] == f"No organisation with id {target}."
    # members of the private organisation send requests like anyone
    scene.send(scene.member_d, scene.alpha, "training")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"type": "joint_venture"}, "type", None),
        ({"type": None}, "type", None),
        ({"message": "x" * 5001}, "message", "String should have at most 5000 characters"),
        (
            {"to_organization_id": 0},
            "to_organization_id",
            "Input should be greater than or equal to 1",
        ),
        ({"cc": "x"}, "cc", "Extra inputs are not permitted"),
    ],
)
def test_invalid_bodies_name_the_field(
    scene: Scene, body: dict[str, Any], field: str, message: str | None
) -> None:
    payload = {"to_organization_id": scene.beta.id, "type": "training", **body}
    response = scene.client(scene.member_a).post(BASE, json=payload)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    if message is not None:
        assert errors[0]["message"] == message
    else:
        assert errors[0]["message"] == (
            "Input should be 'data_sharing', 'product_development', 'purchasing_sales', "
            "'competence_building' or 'training'"
        )


def test_a_message_of_the_maximum_length_and_a_request_to_itself(scene: Scene) -> None:
    longest = scene.client(scene.member_a).post(
        BASE, json={"to_organization_id": scene.beta.id, "type": "training", "message": "x" * 5000}
    )
    assert longest.status_code == 201
    assert len(longest.json()["message"]) == 5000
    itself = scene.client(scene.member_a).post(
        BASE, json={"to_organization_id": scene.alpha.id, "type": "training"}
    )
    assert itself.status_code == 422
    assert itself.json()["errors"] == [
        {"field": "to_organization_id", "message": "an organisation cannot ask itself"}
    ]


def test_an_outcome_must_be_one_of_three(scene: Scene) -> None:
    request_id = scene.send(scene.member_a, scene.beta, "training")
    scene.step(scene.member_b, request_id, "accept")
    for body, field in (
        ({"outcome": "signed"}, "outcome"),
        ({}, "outcome"),
        ({"outcome": "no_fit", "note": "n" * 5001}, "note"),
    ):
        response = scene.client(scene.member_a).post(f"{BASE}/{request_id}/outcome", json=body)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == [field]


# --- who may see and act ---------------------------------------------------------------------


def test_who_may_act_on_a_request(scene: Scene) -> None:
    """403 for those who know the request but may not take the step, 404 for the others."""
    expected = {
        # GET, history, accept, decline, withdraw, outcome (409: allowed, but still pending)
        "member_a": (200, 200, 403, 403, 200, 409),
        "member_b": (200, 200, 200, 200, 403, 409),
        "member_g": (404, 404, 404, 404, 404, 404),
        "member_d": (404, 404, 404, 404, 404, 404),
        "organizer": (404, 404, 404, 404, 404, 404),
        "curator": (200, 200, 403, 403, 403, 403),
        "admin": (200, 200, 200, 200, 200, 409),
    }
    probes = [
        ("GET", ""),
        ("GET", "/history"),
        ("POST", "/accept"),
        ("POST", "/decline"),
        ("POST", "/withdraw"),
        ("POST", "/outcome"),
    ]
    seen = {}
    for who in expected:
        client = scene.client(getattr(scene, who))
        codes = []
        for method, tail in probes:
            # each probe on a fresh pending request
            request_id = scene.send(scene.member_a, scene.beta, "training")
            body = {"outcome": "no_fit"} if tail == "/outcome" else None
            codes.append(
                client.request(method, f"{BASE}/{request_id}{tail}", json=body).status_code
            )
            scene.client(scene.admin).post(f"{BASE}/{request_id}/withdraw")
        seen[who] = tuple(codes)
    assert seen == expected


def test_unknown_ids_are_not_found(scene: Scene) -> None:
    for method, tail in (
        ("GET", ""),
        ("GET", "/history"),
        ("POST", "/accept"),
        ("POST", "/decline"),
        ("POST", "/withdraw"),
    ):
        response = scene.client(scene.admin).request(method, f"{BASE}/2147483647{tail}")
        assert response.status_code == 404
        assert response.json()["detail"] == "No cooperation request with id 2147483647."
    response = scene.client(scene.admin).post(
        f"{BASE}/2147483647/outcome", json={"outcome": "no_fit"}
    )
    assert response.status_code == 404


def test_staff_see_both_sides_whole_and_a_private_sender_is_named(scene: Scene) -> None:
    request_id = scene.send(scene.member_a, scene.beta, "training")
    for staff in (scene.curator, scene.admin):
        body = scene.client(staff).get(f"{BASE}/{request_id}").json()
        assert body["to_organization"]["contact_email"] == "bernd@beta.example"
        assert body["from_organization"]["contact_phone"] == "+49 711 1"
        assert (
            body["to_organization"]["hidden_fields"],
            body["to_organization"]["disclosure_level"],
        ) == (
            [],
            "owner",
        )
    # a private organisation that sends a request shows its name to the recipient
    from_delta = scene.send(scene.member_d, scene.alpha, "data_sharing")
    seen = scene.client(scene.member_a).get(f"{BASE}/{from_delta}").json()["from_organization"]
    assert (seen["name"], seen["disclosure_level"]) == ("Delta Geheim GmbH", "addressee")


def test_the_database_holds_one_pending_request_per_pair_and_type(
    scene: Scene, db_session: Session
) -> None:
    def pending(kind: str, status: str = "pending") -> CooperationRequest:
        return CooperationRequest(
            from_organization_id=scene.alpha.id,
            to_organization_id=scene.beta.id,
            type=kind,
            status=status,
        )

    # answered requests of the same kind and an open one of another kind may coexist
    db_session.add_all(
        [pending("training", "declined"), pending("training"), pending("data_sharing")]
    )
    db_session.flush()
    savepoint = db_session.begin_nested()
    db_session.add(pending("training"))
    with pytest.raises(IntegrityError):
        db_session.flush()
    savepoint.rollback()
