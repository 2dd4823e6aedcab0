"""An invitation to an event expires: it cannot be accepted afterwards and is listed as
expired; inviting again renews it."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.models.event import INVITATION_LIFETIME, EventInvitation
from app.models.user import Role
from tests.app.conftest import AccountFactory, ClientFactory

EVENTS = "/api/v1/events"
PEOPLE = {"people": [{"name": "Ida Invited", "email": "ida@invited.example"}]}


def test_an_expired_invitation_cannot_be_accepted_and_is_listed_as_expired(
    client: TestClient,
    client_for: ClientFactory,
    make_account: AccountFactory,
    db_session: Session,
) -> None:
    org = client.post(
        "/api/v1/organizations",
        json={"name": "Eingeladen GmbH", "country": "DE", "visibility": "members"},
    )
    assert org.status_code == 201, org.text
    org_id = org.json()["id"]
    organiser = client_for(make_account(Role.organizer))
    member = client_for(make_account(Role.member, org_id))
    event = organiser.post(
        EVENTS,
        json={
            "name": "Ablauftag",
            "timezone": "Europe/Berlin",
            "dates": ["2026-06-01"],
            "max_meetings": 3,
            "min_meetings": 1,
        },
    )
    assert event.status_code == 201, event.text
    url = f"{EVENTS}/{event.json()['id']}"
    invited = organiser.post(f"{url}/participants", json={"organization_id": org_id, **PEOPLE})
    assert invited.status_code == 202, invited.text
    invitation = invited.json()
    created = dt.datetime.fromisoformat(invitation["created_at"])
    expires = dt.datetime.fromisoformat(invitation["expires_at"])
    assert expires - created == INVITATION_LIFETIME
    assert invitation["expired"] is False

    # the invitation's time runs out
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    db_session.execute(
        update(EventInvitation)
        .where(EventInvitation.id == invitation["id"])
        .values(expires_at=past)
    )
    db_session.commit()
    db_session.expire_all()
    for reader in (organiser, member):
        listed = reader.get(f"{url}/invitations")
        assert listed.status_code == 200, listed.text
        assert [(i["id"], i["expired"]) for i in listed.json()] == [(invitation["id"], True)]
    accept = f"{url}/invitations/{invitation['id']}/accept"
    refused = member.post(accept, json=PEOPLE)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["detail"].startswith("The invitation expired at ")
    assert problem["errors"] == [{"field": "invitation", "message": "expired"}]
    assert organiser.get(f"{url}/participants").json() == []

    # inviting again renews the same invitation, which can then be accepted
    again = organiser.post(f"{url}/participants", json={"organization_id": org_id, **PEOPLE})
    assert again.status_code == 202, again.text
    assert (again.json()["id"], again.json()["expired"]) == (invitation["id"], False)
    accepted = member.post(accept, json=PEOPLE)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["organization_id"] == org_id
