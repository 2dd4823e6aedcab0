"""Every route x role, with the exact status, generated from the app's route table.

A route that is not in ROUTES fails `test_route_has_an_entry`, so a new endpoint needs its
row here. Roles: anonymous, a member of the target organisation, a member of another one,
organizer, curator, admin. Routes on an organisation are run against a `members` profile and,
where the answer differs, a `private` and a `public` one. Event routes run against an event in
which the member's own organisation, another one and a third take part, with a published
schedule and, where the answer differs, a `draft` one or none (`unscheduled`).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from app.auth.security import password_hasher
from app.auth.service import issue_token, login_lifetime
from app.db import get_session
from app.embeddings import Encoder, embed_organizations
from app.events import service as events
from app.events.schemas import (
    EventCreate,
    ParticipantCreate,
    RequestCreate,
    ScheduleRequest,
    SlotGeneration,
    TablesSet,
)
from app.main import create_app
from app.matches.index import IndexCache
from app.models import Competence, Organization
from app.models.event import Event, EventInvitation
from app.models.user import ApiToken, Role, TokenKind, User
from tests.app.authz import (
    ADMIN_ONLY,
    ALL_200,
    MANAGER,
    OWN_OR_MANAGER,
    ROLES,
    STAFF_ONLY,
    TOKEN_ONLY,
    VARIANTS,
    Case,
)
from tests.app.conftest import Account

# event managers and members of the registered organisations (both members' are)
ATTENDEES = "401 200 200 200 403 200"
LOGIN_EMAIL = "login@test.example"
LOGIN_PASSWORD = "matrix password 1"

# routes whose access rules come in a later step; each is expected to lack an entry
# (strict xfail): give the routes their entries, then drop the prefix from here
PENDING_PREFIXES: tuple[str, ...] = ()
# modules with the rows (and world objects) of further domains
MATRIX_PARTS: tuple[str, ...] = (
    "tests.app.auth.onboarding_matrix",
    "tests.app.cooperation.matrix",
    "tests.app.curation.labels_matrix",
    "tests.app.matches.ranking_matrix",
    "tests.app.privacy.matrix",
)

EVENTS = "/api/v1/events"
EVENT = "/api/v1/events/{event_id}"
PARTICIPANT = EVENT + "/participants/{participant_id}"
PERSON = EVENT + "/people/{person_id}"
REQUEST = EVENT + "/requests/{request_id}"
PREFERENCE = PARTICIPANT + "/preferences/{target_participant_id}"
PERSON_PREFERENCE = PERSON + "/preferences/{target_person_id}"
INVITATION = EVENT + "/invitations/{invitation_id}"
NEW_EVENT = {
    "name": "Matrix-Treffen",
    "timezone": "Europe/Berlin",
    "dates": ["2026-03-11"],
    "max_meetings": 3,
    "min_meetings": 1,
}

ROUTES: dict[tuple[str, str], Case] = {
    ("GET", "/health"): Case(ALL_200),
    ("GET", "/openapi.json"): Case(ALL_200),
    ("GET", "/docs"): Case(ALL_200),
    ("GET", "/docs/oauth2-redirect"): Case(ALL_200),
    ("GET", "/favicon.ico"): Case(ALL_200),
    # accounts and credentials
    ("POST", "/api/v1/auth/token"): Case(
        ALL_200, data={"username": LOGIN_EMAIL, "password": LOGIN_PASSWORD}
    ),
    ("POST", "/api/v1/auth/logout"): Case("401 204 204 204 204 204"),
    ("GET", "/api/v1/auth/me"): Case(TOKEN_ONLY),
    # a wrong current password is refused before anything changes
    ("POST", "/api/v1/auth/password"): Case(
        "401 422 422 422 422 422",
        json={"current_password": "not the password", "new_password": "Zebra-Lampe-42"},
    ),
    # a key needs the password typed again; these accounts have none (tests/app/auth covers 201)
    ("POST", "/api/v1/auth/api-keys"): Case(
        "401 422 422 422 422 422", json={"name": "matrix", "current_password": "not it"}
    ),
    ("GET", "/api/v1/auth/api-keys"): Case(TOKEN_ONLY),
    # the key belongs to member_own; admins may revoke anyone's
    ("DELETE", "/api/v1/auth/api-keys/{key_id}"): Case("401 204 404 404 404 204"),
    ("POST", "/api/v1/users"): Case(
        "401 403 403 403 403 201",
        json={"email": "new@test.example", "name": "New", "role": "organizer"},
    ),
    ("GET", "/api/v1/users"): Case(ADMIN_ONLY),
    ("GET", "/api/v1/users/{user_id}"): Case(ADMIN_ONLY),
    ("PATCH", "/api/v1/users/{user_id}"): Case(ADMIN_ONLY, json={"name": "Renamed"}),
    ("DELETE", "/api/v1/users/{user_id}"): Case("401 403 403 403 403 204"),
    # organisations
    ("POST", "/api/v1/organizations/import"): Case(
        STAFF_ONLY, json=[{"external_id": "IMP-1", "name": "Imported GmbH"}]
    ),
    ("GET", "/api/v1/organizations"): Case(ALL_200),
    ("POST", "/api/v1/organizations"): Case("401 403 403 403 201 201", json={"name": "New GmbH"}),
    ("GET", "/api/v1/organizations/{organization_id}"): Case(
        TOKEN_ONLY, private="404 200 404 404 200 200", public=ALL_200
    ),
    ("PATCH", "/api/v1/organizations/{organization_id}"): Case(
        "401 200 403 403 200 200",
        private="401 200 404 404 200 200",
        public="401 200 403 403 200 200",
        json={"city": "Ulm"},
    ),
    # member_own is the organisation's only member account, so it may; it types the name
    ("DELETE", "/api/v1/organizations/{organization_id}"): Case(
        "401 204 403 403 204 204",
        private="401 204 404 404 204 204",
        public="401 204 403 403 204 204",
        params={"confirm": "Target GmbH"},
    ),
    # its member accounts: read by its members and admins; organisation admins name others
    ("GET", "/api/v1/organizations/{organization_id}/members"): Case(
        "401 200 403 403 403 200", private="401 200 404 404 403 200"
    ),
    ("PATCH", "/api/v1/organizations/{organization_id}/members/{user_id}"): Case(
        "401 200 403 403 403 200",
        private="401 200 404 404 403 200",
        json={"organization_admin": True},
    ),
    ("GET", "/api/v1/organizations/{organization_id}/matches"): Case(
        TOKEN_ONLY, private="401 200 404 404 200 200", public=TOKEN_ONLY
    ),
    ("POST", "/api/v1/matches/search"): Case(TOKEN_ONLY, json={"text": "Füllstandsensorik"}),
    # curation: hub staff only
    ("GET", "/api/v1/curation/duplicates"): Case(STAFF_ONLY),
    ("POST", "/api/v1/curation/organizations/{organization_id}/verify"): Case(STAFF_ONLY),
    ("DELETE", "/api/v1/curation/organizations/{organization_id}/verify"): Case(STAFF_ONLY),
    ("GET", "/api/v1/curation/stale"): Case(STAFF_ONLY),
    ("POST", "/api/v1/curation/merge"): Case(
        STAFF_ONLY,
        json={"keep_id": "{organization_id}", "merge_id": "{unregistered_organization_id}"},
    ),
    # the taxonomy is public
    ("GET", "/api/v1/taxonomy/nace"): Case(ALL_200),
    ("GET", "/api/v1/taxonomy/nace/{code}"): Case(ALL_200),
    # events: reading needs a token, running the event is for managers
    ("GET", EVENTS): Case(TOKEN_ONLY),
    ("POST", EVENTS): Case("401 403 403 201 403 201", json=NEW_EVENT),
    ("GET", EVENT): Case(TOKEN_ONLY),
    ("PATCH", EVENT): Case(MANAGER, json={"venue": "Halle 2"}),
    ("DELETE", EVENT): Case("401 403 403 204 403 204"),
    ("GET", EVENT + "/slots"): Case(TOKEN_ONLY),
    # slots and tables stay as they are while a schedule exists
    ("POST", EVENT + "/slots"): Case(
        "401 403 403 409 403 409",
        unscheduled=MANAGER,
        json={"date": "2026-03-10", "start": "13:00", "end": "14:00", "slot_minutes": 30},
    ),
    ("GET", EVENT + "/tables"): Case(TOKEN_ONLY),
    ("PUT", EVENT + "/tables"): Case(
        "401 403 403 409 403 409", unscheduled=MANAGER, json={"count": 3}
    ),
    # participants and people: read by event managers and members of registered organisations
    # (curators 403), managed by event managers; members manage their own organisation's
    # registration until the schedule is published (409 after)
    ("GET", EVENT + "/participants"): Case(ATTENDEES),
    # (an organiser registers a public profile whose name it may see; the world's fourth
    # organisation shows its name to members, so the organiser's request invites it: 202)
    ("POST", EVENT + "/participants"): Case(
        "401 403 403 202 403 201",
        json={
            "organization_id": "{unregistered_organization_id}",
            "people": [{"name": "Fritz Vier", "email": "fritz@fourth.example"}],
        },
    ),
    ("GET", PARTICIPANT): Case(ATTENDEES),
    # invitations (an organiser's registration of a profile that is not public): the world's
    # invites member_own's organisation, which is registered already (409 on accepting)
    ("GET", EVENT + "/invitations"): Case("401 200 200 200 403 200"),
    ("POST", INVITATION + "/accept"): Case(
        "401 409 403 403 403 403", json={"people": [{"name": "Ida", "email": "ida@t.example"}]}
    ),
    ("DELETE", INVITATION): Case("401 204 403 204 403 204"),
    ("DELETE", PARTICIPANT): Case(
        "401 409 403 204 403 204",
        draft="401 204 403 204 403 204",
        unscheduled="401 204 403 204 403 204",
    ),
    ("POST", PARTICIPANT + "/people"): Case(
        "401 409 403 201 403 201",
        draft="401 201 403 201 403 201",
        unscheduled="401 201 403 201 403 201",
        json={"name": "Nina Neu", "email": "nina@target.example"},
    ),
    ("GET", PERSON): Case(ATTENDEES),
    ("PATCH", PERSON): Case(
        "401 409 403 200 403 200",
        draft=OWN_OR_MANAGER,
        unscheduled=OWN_OR_MANAGER,
        json={"role": "CTO"},
    ),
    ("DELETE", PERSON): Case(
        "401 409 403 204 403 204",
        draft="401 204 403 204 403 204",
        unscheduled="401 204 403 204 403 204",
    ),
    ("PUT", PERSON + "/unavailable"): Case(
        "401 409 403 200 403 200",
        draft=OWN_OR_MANAGER,
        unscheduled=OWN_OR_MANAGER,
        json={"unavailable_slot_ids": ["{slot_id}"]},
    ),
    # requests: the request in the world goes from member_own's person to member_other's;
    # the list is filtered (test_members_list_only_their_organisations_requests)
    ("GET", EVENT + "/requests"): Case(TOKEN_ONLY),
    ("POST", EVENT + "/requests"): Case(
        "401 201 403 201 403 201",
        json={"from_person_id": "{person_id}", "to_person_id": "{third_person_id}"},
    ),
    ("GET", REQUEST): Case("401 200 200 200 403 200"),
    ("POST", REQUEST + "/accept"): Case("401 403 200 200 403 200"),
    ("POST", REQUEST + "/decline"): Case("401 403 200 200 403 200"),
    ("POST", REQUEST + "/withdraw"): Case(OWN_OR_MANAGER),
    # preferences and recommendations of member_own's participant
    ("GET", PARTICIPANT + "/preferences"): Case(OWN_OR_MANAGER),
    ("PUT", PREFERENCE): Case(OWN_OR_MANAGER, json={"kind": "would_like"}),
    ("DELETE", PREFERENCE): Case("401 204 403 204 403 204"),
    ("GET", PARTICIPANT + "/recommendations"): Case(OWN_OR_MANAGER),
    # preferences of member_own's person
    ("GET", PERSON + "/preferences"): Case(OWN_OR_MANAGER),
    ("PUT", PERSON_PREFERENCE): Case(OWN_OR_MANAGER, json={"kind": "would_like"}),
    ("DELETE", PERSON_PREFERENCE): Case("401 204 403 204 403 204"),
    # the schedule: a published one is solved again only by rescheduling
    ("POST", EVENT + "/schedule"): Case(
        "401 403 403 409 403 409", draft=MANAGER, json={"recommendations_per_participant": 0}
    ),
    ("POST", EVENT + "/reschedule"): Case(
        MANAGER, json={"from_slot_id": "{slot_id}", "recommendations_per_participant": 0}
    ),
    ("GET", EVENT + "/schedule"): Case(TOKEN_ONLY, draft=MANAGER),
    ("DELETE", EVENT + "/schedule"): Case("401 403 403 204 403 204"),
    ("POST", EVENT + "/schedule/publish"): Case(MANAGER),
    ("PATCH", EVENT + "/meetings/{meeting_id}"): Case(MANAGER, json={"locked": True}),
    ("GET", EVENT + "/schedule/table-plan.csv"): Case(MANAGER, draft=MANAGER),
    ("GET", EVENT + "/agenda.html"): Case(MANAGER, draft=MANAGER),
    # a person's agenda: their organisation and event managers, once published
    ("GET", PERSON + "/agenda.ics"): Case(OWN_OR_MANAGER, draft="401 409 403 409 403 409"),
    ("GET", PERSON + "/agenda.csv"): Case(OWN_OR_MANAGER, draft="401 409 403 409 403 409"),
    ("GET", PERSON + "/agenda.json"): Case(OWN_OR_MANAGER, draft="401 409 403 409 403 409"),
    ("GET", PERSON + "/agenda.html"): Case(OWN_OR_MANAGER, draft="401 409 403 409 403 409"),
    ("GET", PERSON + "/cancellations.ics"): Case(OWN_OR_MANAGER, draft="401 409 403 409 403 409"),
}

_PARTS = [importlib.import_module(name) for name in MATRIX_PARTS]
for _part in _PARTS:
    assert not set(_part.ROUTES) & set(ROUTES), f"{_part.__name__} repeats rows"
    ROUTES.update(_part.ROUTES)


# modules of pages (session cookie, not bearer token); their access tables are in tests/web
WEB_PAGE_MODULES = frozenset({"app.web.router", "app.web.organizer", "app.web.curator"})


def _app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route, including those of included routers; HEAD left out."""
    try:
        from fastapi.routing import iter_route_contexts

        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:  # FastAPI versions that keep a flat route list
        routes = list(app.routes)
    # the web pages (app.web) take a session cookie, not a bearer token: their own access
    # tables are tests/web/test_page_access.py and tests/web/test_curator_pages.py
    found = {
        (method, route.path)
        for route in routes
        for method in (getattr(route, "methods", None) or ())
        if method != "HEAD"
        and getattr(getattr(route, "endpoint", None), "__module__", "") not in WEB_PAGE_MODULES
    }
    return sorted(found, key=lambda r: (r[1], r[0]))


APP_ROUTES = _app_routes(create_app(load_encoder=False))


def _pending(path: str) -> bool:
    return path.startswith(PENDING_PREFIXES)


def test_route_table_is_complete_and_current() -> None:
    app = create_app(load_encoder=False)
    documented = {
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    }
    # the enumeration sees every documented operation, and the table names no stale route
    assert documented <= set(APP_ROUTES)
    assert set(ROUTES) - set(APP_ROUTES) == set()


@pytest.mark.parametrize(
    "route",
    [
        pytest.param(
            r,
            marks=pytest.mark.xfail(
                _pending(r[1]) and r not in ROUTES, reason="access rules pending", strict=True
            ),
        )
        for r in APP_ROUTES
    ],
    ids=[f"{m} {p}" for m, p in APP_ROUTES],
)
def test_route_has_an_entry(route: tuple[str, str]) -> None:
    assert route in ROUTES, f"{route} has no row in the authorization matrix"


@dataclass
class World:
    accounts: dict[str, Account | None]
    path_values: dict[str, str]


@cache
def _login_hash() -> str:
    # argon2 is slow on purpose: hash once per run, not once per cell
    return password_hasher().hash(LOGIN_PASSWORD)


def _organization(
    session: Session, encoder: Encoder, name: str, visibility: str, labels: list[str]
) -> int:
    org = Organization(
        name=name,
        visibility=visibility,
        country="DE",
        nace_code="26.51",
        cooperation_interests=[],
        competences=[Competence(kind="core", label=label) for label in labels],
    )
    embed_organizations([org], encoder)
    session.add(org)
    session.flush()
    return org.id


def _event(session: Session, encoder: Encoder, own: int, other: int, third: int) -> dict[str, str]:
    """An event with a published schedule; the path and body values of the event routes.

    Own, other and third organisation take part with one person each; own's person asked
    other's for a meeting (pending), other's asked third's (pending). Own is not interested
    in other, other must meet third: the schedule has that one meeting, own has none.
    """
    event = events.create_event(
        session,
        data=EventCreate.model_validate(
            {
                "name": "Matrix-Brokerage",
                "timezone": "Europe/Berlin",
                "dates": ["2026-03-10"],
                "max_meetings": 3,
                "min_meetings": 1,
            }
        ),
    )
    slots = events.generate_slots(
        session,
        event=event,
        data=SlotGeneration.model_validate(
            {"date": "2026-03-10", "start": "09:00", "end": "10:00", "slot_minutes": 20}
        ),
    )
    events.set_tables(session, event=event, data=TablesSet(count=2))

    def register(organization_id: int, name: str, email: str) -> tuple[int, int]:
        body = {"organization_id": organization_id, "people": [{"name": name, "email": email}]}
        participant = events.register_participant(
            session, event=event, data=ParticipantCreate.model_validate(body)
        )
        return participant.id, participant.people[0].id

    own_participant, own_person = register(own, "Olga Eigen", "olga@target.example")
    other_participant, other_person = register(other, "Otto Anders", "otto@other.example")
    third_participant, third_person = register(third, "Thea Dritt", "thea@third.example")
    request = events.create_request(
        session,
        event=event,
        data=RequestCreate(from_person_id=own_person, to_person_id=other_person),
    )
    other_request = events.create_request(
        session,
        event=event,
        data=RequestCreate(from_person_id=other_person, to_person_id=third_person),
    )
    events.set_preference(
        session,
        event=event,
        participant=events.get_participant(session, event=event, participant_id=own_participant),
        target_id=other_participant,
        kind="not_interested",
    )
    events.set_preference(
        session,
        event=event,
        participant=events.get_participant(session, event=event, participant_id=other_participant),
        target_id=third_participant,
        kind="must_meet",
    )
    events.set_person_preference(
        session,
        event=event,
        person=events.get_person(session, event=event, person_id=own_person),
        target_id=third_person,
        kind="not_interested",
    )
    row = events.run_schedule(
        session,
        event=event,
        options=ScheduleRequest(recommendations_per_participant=0),
        cache=IndexCache(),
        encoder=encoder,
    )
    events.publish_schedule(session, event=event)
    meetings = events.schedule_out(session, event=event, row=row).meetings
    assert [(m.person_a_id, m.person_b_id) for m in meetings] == [
        tuple(sorted((other_person, third_person)))
    ]
    return {
        "event_id": str(event.id),
        "participant_id": str(own_participant),
        "target_participant_id": str(other_participant),
        "person_id": str(own_person),
        "third_person_id": str(third_person),
        "target_person_id": str(third_person),
        "request_id": str(request.id),
        "other_request_id": str(other_request.id),
        "meeting_id": str(meetings[0].id),
        "slot_id": str(slots[1].id),
    }


def _account(session: Session, role: Role, organization_id: int | None, n: int) -> Account:
    user = User(
        email=f"{role.value}{n}@test.example",
        name=f"Test {role.value}",
        role=role.value,
        organization_id=organization_id,
        is_active=True,
    )
    session.add(user)
    session.flush()
    _, secret = issue_token(session, user=user, kind=TokenKind.login, lifetime=login_lifetime())
    return Account(user=user, token=secret)


def _build_world(session: Session, encoder: Encoder, visibility: str = "members") -> World:
    target = _organization(session, encoder, "Target GmbH", visibility, ["Füllstandsensorik"])
    other = _organization(session, encoder, "Other AG", "public", ["IoT-Plattform"])
    third = _organization(session, encoder, "Third KG", "members", ["Kunststoffspritzguss"])
    unregistered = _organization(session, encoder, "Vierte SE", "public", ["Drucksensoren"])
    event_values = _event(session, encoder, target, other, third)
    login_user = User(
        email=LOGIN_EMAIL,
        name="Login",
        role=Role.curator.value,
        password_hash=_login_hash(),
        is_active=True,
    )
    session.add(login_user)
    accounts: dict[str, Account | None] = {
        "anonymous": None,
        "member_own": _account(session, Role.member, target, 1),
        "member_other": _account(session, Role.member, other, 2),
        "organizer": _account(session, Role.organizer, None, 3),
        "curator": _account(session, Role.curator, None, 4),
        "admin": _account(session, Role.admin, None, 5),
    }
    invitation = EventInvitation(event_id=int(event_values["event_id"]), organization_id=target)
    session.add(invitation)
    own = accounts["member_own"]
    assert own is not None
    key: ApiToken
    key, _ = issue_token(
        session, user=own.user, kind=TokenKind.api_key, name="k", lifetime=login_lifetime()
    )
    session.flush()
    path_values = {
        "organization_id": str(target),
        "key_id": str(key.id),
        "user_id": str(own.user.id),
        "code": "26",
        "unregistered_organization_id": str(unregistered),
        "invitation_id": str(invitation.id),
        "other_organization_id": str(other),
        "third_organization_id": str(third),
        **event_values,
    }
    for part in _PARTS:
        extend = getattr(part, "extend_world", None)
        if extend is not None:
            path_values.update(extend(session, dict(path_values), accounts))
    session.commit()
    return World(accounts=accounts, path_values=path_values)


@dataclass
class Shared:
    """The world, built once per backend inside a transaction that is never committed; each
    cell runs in a savepoint of it that is rolled back, so no cell sees another's writes."""

    world: World
    connection: Connection
    clients: dict[str, TestClient]
    session: Session | None = None  # the current cell's


@pytest.fixture(scope="module")
def shared(engine: Engine, encoder: Encoder) -> Iterator[Shared]:
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    world = _build_world(session, encoder)
    session.close()
    app = create_app(encoder=encoder)
    holder = Shared(world=world, connection=connection, clients={})

    def _session() -> Iterator[Session]:
        current = holder.session
        assert current is not None
        try:
            yield current
            current.commit()
        except Exception:
            current.rollback()
            raise

    app.dependency_overrides[get_session] = _session
    with ExitStack() as stack:
        for role, account in world.accounts.items():
            headers = account.headers if account is not None else {}
            holder.clients[role] = stack.enter_context(
                TestClient(app, raise_server_exceptions=False, headers=headers)
            )
        try:
            yield holder
        finally:
            outer.rollback()
            connection.close()


@pytest.fixture
def cell(shared: Shared) -> Iterator[Session]:
    """The session of one cell: a savepoint of the shared world, rolled back afterwards."""
    savepoint = shared.connection.begin_nested()
    session = Session(
        bind=shared.connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    shared.session = session
    try:
        yield session
    finally:
        shared.session = None
        session.close()
        savepoint.rollback()


def _cells() -> Iterator[Any]:
    for method, path in APP_ROUTES:
        case = ROUTES.get((method, path))
        if case is None:
            continue
        for variant in VARIANTS:
            if variant != "members" and getattr(case, variant) is None:
                continue
            for role in ROLES:
                yield pytest.param(
                    method,
                    path,
                    variant,
                    role,
                    id=f"{method} {path} [{variant}] {role}",
                )


def _fill(value: Any, values: dict[str, str]) -> Any:
    """`value` with every "{name}" string replaced by the world's value, as an int."""
    if isinstance(value, str):
        found = re.fullmatch(r"\{(\w+)\}", value)
        return int(values[found.group(1)]) if found else value
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def _set_variant(session: Session, world: World, variant: str) -> None:
    if variant in ("private", "public"):
        org = session.get(Organization, int(world.path_values["organization_id"]))
        assert org is not None
        org.visibility = variant
    elif variant in ("draft", "unscheduled"):
        event = session.get(Event, int(world.path_values["event_id"]))
        assert event is not None
        if variant == "draft":
            row = events.get_schedule(session, event=event)
            row.status, row.published_at = "draft", None
        else:
            events.delete_schedule(session, event=event)
    session.commit()


@pytest.mark.parametrize(("method", "path", "variant", "role"), list(_cells()))
def test_status(
    method: str,
    path: str,
    variant: str,
    role: str,
    shared: Shared,
    cell: Session,
) -> None:
    case = ROUTES[(method, path)]
    world = shared.world
    _set_variant(cell, world, variant)
    expected = case.statuses(variant)[ROLES.index(role)]
    url = re.sub(r"\{(\w+)\}", lambda m: world.path_values[m.group(1)], path)
    response = shared.clients[role].request(
        method,
        url,
        json=_fill(case.json, world.path_values),
        data=case.data,
        params=cast(dict[str, str], _fill(case.params, world.path_values)),
    )
    assert response.status_code == expected, response.text
    if expected in (401, 403, 404):
        assert response.headers["content-type"] == "application/problem+json"
    if expected == 401:
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_new_route_without_a_row_is_caught() -> None:
    app = create_app(load_encoder=False)

    @app.get("/api/v1/something-new")
    def something_new() -> dict[str, str]:
        return {}

    missing = [r for r in _app_routes(app) if r not in ROUTES and not _pending(r[1])]
    assert missing == [("GET", "/api/v1/something-new")]


def test_members_list_only_their_organisations_requests(shared: Shared, cell: Session) -> None:
    world = shared.world
    url = f"{EVENTS}/{world.path_values['event_id']}/requests"
    own, others = int(world.path_values["request_id"]), int(world.path_values["other_request_id"])
    seen = {
        role: sorted(r["id"] for r in shared.clients[role].get(url).json()) for role in ROLES[1:]
    }
    both = sorted([own, others])
    assert seen == {
        "member_own": [own],
        "member_other": both,
        "organizer": both,
        "curator": [],
        "admin": both,
    }


@pytest.mark.parametrize(
    ("method", "tail"),
    [
        ("GET", ""),
        ("GET", "/participants/{missing}/preferences"),
        ("GET", "/participants/{missing}/recommendations"),
        ("GET", "/requests/{missing}"),
        ("POST", "/requests/{missing}/accept"),
        ("POST", "/requests/{missing}/withdraw"),
        ("GET", "/people/{missing}/agenda.ics"),
    ],
)
def test_ids_that_do_not_exist_are_404_for_members(
    method: str, tail: str, shared: Shared, cell: Session
) -> None:
    world = shared.world
    missing = "2147483647"
    event_id = missing if tail == "" else world.path_values["event_id"]
    url = f"{EVENTS}/{event_id}{tail.replace('{missing}', missing)}"
    response = shared.clients["member_other"].request(method, url)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
