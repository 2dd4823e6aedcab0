"""Authorization-matrix rows of the cooperation-request routes.

The world holds one pending request from member_own's organisation to member_other's. Every
cell gets a fresh world, so the steps that change it (accept, decline, withdraw) are checked
from the same starting state. An outcome needs an accepted request: the roles that may set one
get 409 here, which tells them apart from those refused (403, 404).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.cooperation import CooperationRequest, CooperationRequestEvent
from tests.app.authz import STAFF_ONLY, Case
from tests.app.conftest import Account

BASE = "/api/v1/cooperation-requests"
ONE = BASE + "/{cooperation_request_id}"

# anonymous, member_own (sender), member_other (recipient), organizer, curator, admin
READERS = "401 200 200 404 200 200"

ROUTES: dict[tuple[str, str], Case] = {
    # sent from member_own's organisation to the third one; staff name the sender
    ("POST", BASE): Case(
        "401 201 403 403 201 201",
        json={
            "to_organization_id": "{third_organization_id}",
            "from_organization_id": "{organization_id}",
            "type": "training",
            "message": "Schulung zur Füllstandsmessung?",
        },
    ),
    ("GET", BASE): Case("401 200 200 403 200 200"),
    ("GET", BASE + "/outcomes"): Case(STAFF_ONLY),
    ("GET", ONE): Case(READERS),
    ("GET", ONE + "/history"): Case(READERS),
    ("POST", ONE + "/accept"): Case("401 403 200 404 403 200"),
    ("POST", ONE + "/decline"): Case("401 403 200 404 403 200"),
    ("POST", ONE + "/withdraw"): Case("401 200 403 404 403 200"),
    ("POST", ONE + "/outcome"): Case("401 409 409 404 403 409", json={"outcome": "no_fit"}),
}


def extend_world(
    session: Session, values: dict[str, str], accounts: dict[str, Account | None]
) -> dict[str, str]:
    """A pending request from member_own's organisation to member_other's."""
    sender = accounts["member_own"]
    assert sender is not None
    now = utcnow()
    request = CooperationRequest(
        from_organization_id=int(values["organization_id"]),
        to_organization_id=int(values["other_organization_id"]),
        type="product_development",
        message="Gemeinsamer Sensor-Prototyp?",
        status="pending",
        sender_user_id=sender.user.id,
        created_at=now,
    )
    request.history = [
        CooperationRequestEvent(
            action="sent", status="pending", actor_user_id=sender.user.id, at=now
        )
    ]
    session.add(request)
    session.flush()
    return {"cooperation_request_id": str(request.id)}
