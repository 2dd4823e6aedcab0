"""Every shape x every field group x every level x every caller: a field is shown exactly when
the disclosure policy says so.

The policy, written out here on its own (not read from app.organizations.disclosure, so that
a change there has to be made twice on purpose): a group at level "public" is shown to
everyone, "members" to every signed-in account, "partners" only to organisations with an
accepted cooperation request with the profile's organisation; hub staff (curator, admin) see
everything. An organiser, also one who runs an event the organisation attends, is a signed-in
account like any other.

Shapes and routes: the full profile (GET /organizations/{id}; anonymous callers: the teaser),
the list entry (GET /organizations; anonymous: teasers), the match target in an
organisation's match list, in a typed search and in event recommendations, the cooperation
party (a request's other side) and the event participant (named to the attendees: registering
is consent to that, whatever the profile hides).

`groups_in_text` checks a rendered page (HTML, CSV, iCalendar) the same way: which groups'
values occur in it. The member pages (match cards in /partners and /search, the request's other
side in /requests and on the dashboard, the addressee of a new request) are read with a
signed-in session cookie; callers without a member's session are sent to sign in or refused,
and their answer names nothing either. The event exports (agendas as iCalendar, CSV, JSON and
printable HTML, the table plan, the managers' export page) name the attendees and nothing else
of a profile; the curators' pages show hub staff every profile in full; the member's own
profile names a linked organisation only where the member may see its name; the start, sign-in
and account-without-organisation dashboard pages name no organisation.

The world is built once per backend (a transaction rolled back at the end); every test sets
the levels it reads.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.db import finish, get_session
from app.embeddings import Encoder
from app.main import create_app
from app.models.cooperation import CooperationRequest
from app.models.user import Role, TokenKind, User
from app.web.session import SESSION_COOKIE

API = "/api/v1/organizations"
EVENTS = "/api/v1/events"
LEVELS = ("public", "members", "partners")
CALLERS = ("anonymous", "member", "partner", "organiser", "curator", "admin")
# which levels each caller sees
SEES: dict[str, frozenset[str]] = {
    "anonymous": frozenset({"public"}),
    "member": frozenset({"public", "members"}),
    "partner": frozenset(LEVELS),
    "organiser": frozenset({"public", "members"}),
    "curator": frozenset(LEVELS),
    "admin": frozenset(LEVELS),
}

# the profile under test: every field filled with a value found nowhere else
TARGET: dict[str, Any] = {
    "external_id": "ZETA-1",
    "name": "Zeta Messgeräte GmbH",
    "website": "https://zeta-messgeraete.example",
    "contact_name": "Zora Zander",
    "contact_email": "zora.zander@zeta-messgeraete.example",
    "contact_phone": "+49 375 999 1234",
    "employees": 42,
    "city": "Zwickau",
    "postal_code": "08056",
    "latitude": 50.7189,
    "longitude": 12.4961,
    "description": "Unverwechselbare Füllstandmessung für Silos",
    "relationships": [{"type": "customer", "name": "Kundin Quirin KG"}],
    "founded": 1977,
    "nace_code": "26.51",
    "country": "DE",
    "visibility": "public",
    "competences": [{"kind": "core", "label": "Füllstandsensorik"}],
}
# the attributes of each group, as the API names them, with the value it must show
GROUP_VALUES: dict[str, dict[str, Any]] = {
    "name": {"name": TARGET["name"], "external_id": TARGET["external_id"]},
    "website": {"website": TARGET["website"]},
    "contacts": {
        "contact_name": TARGET["contact_name"],
        "contact_email": TARGET["contact_email"],
        "contact_phone": TARGET["contact_phone"],
    },
    "employees": {"employees": TARGET["employees"]},
    "address": {
        "city": TARGET["city"],
        "postal_code": TARGET["postal_code"],
        "latitude": TARGET["latitude"],
        "longitude": TARGET["longitude"],
    },
    "description": {"description": TARGET["description"]},
    "relationships": {"relationships": "Kundin Quirin KG"},
    "founded": {"founded": TARGET["founded"]},
}
GROUPS = tuple(GROUP_VALUES)


def expected_groups(caller: str, level: str) -> set[str]:
    """The groups a caller sees when every group is at `level`."""
    return set(GROUPS) if level in SEES[caller] else set()


def groups_in_json(item: dict[str, Any]) -> set[str]:
    """The groups whose attributes the shape carries with their values; a group is shown
    when all of its attributes in the shape are (and none is when it is hidden)."""
    shown: set[str] = set()
    for group, values in GROUP_VALUES.items():
        present = [name for name in values if name in item]
        if not present:
            continue
        states = {_shows(item[name], values[name]) for name in present}
        assert len(states) == 1, f"{group} half shown: {item}"
        if states == {True}:
            shown.add(group)
    return shown


def _shows(value: Any, expected: Any) -> bool:
    if value is None or value == []:
        return False
    if isinstance(value, list):
        assert [r["name"] for r in value] == [expected]
        return True
    assert value == expected
    return True


def groups_in_text(text: str) -> set[str]:
    """The groups whose values occur in a rendered page (HTML, CSV, iCalendar), each value as
    a whole word (so 42 employees are not found in a token's hex digits); a number counts only
    standing alone, not as a clock time's minutes, a date's part, a path's id or a JSON id."""
    return {
        group
        for group, values in GROUP_VALUES.items()
        if any(_occurs(v, text) for v in values.values() if not isinstance(v, float))
    }


def _occurs(value: Any, text: str) -> bool:
    if isinstance(value, int):
        # nor as the value of an id in JSON or a Python dict ("id": 42, 'person_id': 42)
        pattern = rf"(?<![\w:./=#-])(?<!id\": )(?<!id': ){value}(?![\w:]|[.,]\d)"
        return re.search(pattern, text) is not None
    return re.search(rf"(?<!\w){re.escape(str(value))}(?!\w)", text) is not None


def groups_in_shape(shape: str, groups: set[str]) -> set[str]:
    """The groups a shape carries at all."""
    carried = {
        "profile": set(GROUPS),
        "teaser": set(GROUPS),
        "summary": {"name", "website", "contacts", "employees", "address"},
        "match": {"name", "address"},
        "party": {"name", "website", "contacts", "employees"},
    }[shape]
    return groups & carried


@dataclass
class World:
    clients: dict[str, TestClient]
    pages: dict[str, TestClient]  # the same callers with a signed-in session cookie
    target: int
    member_org: int
    partner_org: int
    participants: dict[str, int]
    event_id: int
    requests: dict[str, int]  # cooperation requests with the target, by the caller that reads it


def _account(session: Session, role: Role, organization_id: int | None) -> str:
    user = User(
        email=f"{role.value}-{organization_id}@matrix.example",
        name=f"Matrix {role.value}",
        role=role.value,
        organization_id=organization_id,
        is_active=True,
    )
    session.add(user)
    session.flush()
    _, secret = auth_service.issue_token(
        session, user=user, kind=TokenKind.login, lifetime=dt.timedelta(hours=1)
    )
    session.commit()
    return secret


@pytest.fixture(scope="module")
def world(engine: Engine, encoder: Encoder) -> Iterator[World]:
    """The world, built once per backend inside a transaction that is rolled back at the end;
    each test sets the levels it needs before it reads."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    app = create_app(encoder=encoder)

    def _session() -> Iterator[Session]:
        try:
            yield session
            finish(session)
        except Exception:
            session.rollback()
            raise

    app.dependency_overrides[get_session] = _session
    with ExitStack() as stack:

        def api(secret: str | None) -> TestClient:
            headers = {"Authorization": f"Bearer {secret}"} if secret else {}
            return stack.enter_context(
                TestClient(app, raise_server_exceptions=False, headers=headers)
            )

        def page(secret: str | None) -> TestClient:
            client = stack.enter_context(
                TestClient(
                    app,
                    raise_server_exceptions=False,
                    follow_redirects=False,
                    headers={"accept": "text/html"},
                )
            )
            if secret is not None:
                client.cookies.set(SESSION_COOKIE, secret)
            return client

        admin_secret = _account(session, Role.admin, None)
        admin = api(admin_secret)

        def create(body: dict[str, Any]) -> int:
            response = admin.post(API, json=body)
            assert response.status_code == 201, response.text
            return int(response.json()["id"])

        needs = [
            {"kind": "core", "label": "Silologistik"},
            {"kind": "complementary", "label": "Füllstandsensorik"},
        ]
        target = create(TARGET)
        member_org = create(
            {"external_id": "M-1", "name": "Mitglied AG", "country": "DE", "competences": needs}
        )
        partner_org = create(
            {"external_id": "P-1", "name": "Partnerin KG", "country": "DE", "competences": needs}
        )
        accepted = CooperationRequest(
            from_organization_id=partner_org,
            to_organization_id=target,
            type="product_development",
            status="accepted",
        )
        pending = CooperationRequest(
            from_organization_id=member_org,
            to_organization_id=target,
            type="product_development",
            status="pending",
        )
        session.add_all([accepted, pending])
        session.commit()
        requests = {
            "member": pending.id,
            "partner": accepted.id,
            "curator": pending.id,
            "admin": pending.id,
        }
        event = admin.post(
            EVENTS,
            json={
                "name": "Silotag",
                "timezone": "Europe/Berlin",
                "dates": ["2026-05-05"],
                "max_meetings": 3,
                "min_meetings": 1,
            },
        )
        assert event.status_code == 201, event.text
        event_id = event.json()["id"]
        participants = {}
        for key, org in (("target", target), ("member", member_org), ("partner", partner_org)):
            body = {
                "organization_id": org,
                "people": [{"name": f"P {key}", "email": f"{key}@x.de"}],
            }
            registered = admin.post(f"{EVENTS}/{event_id}/participants", json=body)
            assert registered.status_code == 201, registered.text
            participants[key] = registered.json()["id"]
        secrets = {
            "anonymous": None,
            "member": _account(session, Role.member, member_org),
            "partner": _account(session, Role.member, partner_org),
            "organiser": _account(session, Role.organizer, None),
            "curator": _account(session, Role.curator, None),
            "admin": admin_secret,
        }
        clients = {caller: api(secret) for caller, secret in secrets.items()}
        pages = {caller: page(secret) for caller, secret in secrets.items()}
        try:
            yield World(
                clients,
                pages,
                target,
                member_org,
                partner_org,
                participants,
                event_id,
                requests,
            )
        finally:
            session.close()
            outer.rollback()
            connection.close()


def _set_all(world: World, level: str) -> None:
    response = world.clients["admin"].patch(
        f"{API}/{world.target}", json={"disclosure": dict.fromkeys(GROUPS, level)}
    )
    assert response.status_code == 200, response.text


def _profile(world: World, caller: str) -> dict[str, Any]:
    response = world.clients[caller].get(f"{API}/{world.target}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _list_entry(world: World, caller: str) -> dict[str, Any]:
    response = world.clients[caller].get(API, params={"limit": 500})
    assert response.status_code == 200, response.text
    [item] = [i for i in response.json()["items"] if i["id"] == world.target]
    return dict(item)


def _match_target(items: list[dict[str, Any]], target: int) -> dict[str, Any]:
    [item] = [i["organization"] for i in items if i["organization"]["id"] == target]
    return dict(item)


def _own_org(world: World, caller: str) -> int:
    return world.partner_org if caller == "partner" else world.member_org


def _matches(world: World, caller: str) -> dict[str, Any]:
    response = world.clients[caller].get(f"{API}/{_own_org(world, caller)}/matches")
    assert response.status_code == 200, response.text
    return _match_target(response.json()["items"], world.target)


def _search(world: World, caller: str) -> dict[str, Any]:
    response = world.clients[caller].post(
        "/api/v1/matches/search", json={"text": "Füllstandsensorik", "use_place_names": False}
    )
    assert response.status_code == 200, response.text
    return _match_target(response.json()["items"], world.target)


def _recommendations(world: World, caller: str) -> dict[str, Any]:
    participant = world.participants["partner" if caller == "partner" else "member"]
    url = f"{EVENTS}/{world.event_id}/participants/{participant}/recommendations"
    response = world.clients[caller].get(url)
    assert response.status_code == 200, response.text
    return _match_target(response.json()["items"], world.target)


def _cooperation_party(world: World, caller: str) -> dict[str, Any]:
    url = f"/api/v1/cooperation-requests/{world.requests[caller]}"
    response = world.clients[caller].get(url)
    assert response.status_code == 200, response.text
    party = response.json()["to_organization"]
    assert party["id"] == world.target
    return dict(party)


def _event_participant(world: World, caller: str) -> dict[str, Any]:
    url = f"{EVENTS}/{world.event_id}/participants/{world.participants['target']}"
    response = world.clients[caller].get(url)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["organization_id"] == world.target
    # registering is consent to be listed to the attendees by name; nothing else is shown
    assert body["organization_name"] == TARGET["name"]
    return {"name": body["organization_name"], "external_id": TARGET["external_id"]}


# (route, shape, the callers that reach it: the others are refused by the authorization matrix)
ROUTES = [
    ("GET /organizations/{id}", _profile, CALLERS),
    ("GET /organizations", _list_entry, CALLERS),
    ("GET /organizations/{id}/matches", _matches, CALLERS[1:]),
    ("POST /matches/search", _search, CALLERS[1:]),
    (
        "GET /events/{e}/participants/{p}/recommendations",
        _recommendations,
        ("member", "partner", "organiser", "admin"),
    ),
    (
        "GET /cooperation-requests/{id}",
        _cooperation_party,
        ("member", "partner", "curator", "admin"),
    ),
    (
        "GET /events/{e}/participants/{p}",
        _event_participant,
        ("member", "partner", "organiser", "admin"),
    ),
]
SHAPE_OF = {
    "GET /organizations/{id}": "profile",
    "GET /organizations": "summary",
    "GET /organizations/{id}/matches": "match",
    "POST /matches/search": "match",
    "GET /events/{e}/participants/{p}/recommendations": "match",
    "GET /cooperation-requests/{id}": "party",
    "GET /events/{e}/participants/{p}": "participant",
}


@pytest.mark.parametrize("level", LEVELS)
def test_every_group_is_shown_exactly_as_the_policy_says(world: World, level: str) -> None:
    _set_all(world, level)
    seen: dict[tuple[str, str], set[str]] = {}
    wanted: dict[tuple[str, str], set[str]] = {}
    for route, read, callers in ROUTES:
        for caller in callers:
            item = read(world, caller)
            shape = SHAPE_OF[route]
            if caller == "anonymous" and shape in ("profile", "summary"):
                shape = "teaser"
            if shape == "participant":
                expected = {"name"}  # the attendees' list names every registered organisation
            else:
                expected = groups_in_shape(shape, expected_groups(caller, level))
            seen[(route, caller)] = groups_in_json(item)
            wanted[(route, caller)] = expected
            if "hidden_fields" in item and shape in ("profile", "summary", "teaser"):
                hidden = set(GROUPS) - expected_groups(caller, level)
                assert set(item["hidden_fields"]) == hidden, (route, caller)
            if shape != "teaser" and shape != "summary":
                continue
            # the teaser page of anonymous callers renders the same groups
            assert groups_in_text(str(item)) == expected, (route, caller)
    assert seen == wanted


def test_each_group_on_its_own_level(world: World) -> None:
    """One group at a time at each level, the others at partners: only that group moves."""
    for group in GROUPS:
        for level in LEVELS:
            disclosure = dict.fromkeys(GROUPS, "partners") | {group: level}
            response = world.clients["admin"].patch(
                f"{API}/{world.target}", json={"disclosure": disclosure}
            )
            assert response.status_code == 200, response.text
            for caller in ("anonymous", "member", "partner", "curator"):
                shown = groups_in_json(_profile(world, caller))
                full = caller in ("partner", "curator")
                expected = set(GROUPS) if full else ({group} if level in SEES[caller] else set())
                assert shown == expected, (group, level, caller)


def test_the_matrix_helpers_see_hidden_fields() -> None:
    """The checks themselves: a shown and a hidden value are told apart."""
    assert groups_in_json({"name": TARGET["name"], "external_id": TARGET["external_id"]}) == {
        "name"
    }
    assert groups_in_json({"name": None, "external_id": None, "city": "Zwickau"}) == {"address"}
    assert groups_in_text("<td>Zwickau</td><td>Zeta Messgeräte GmbH</td>") == {"address", "name"}
    assert groups_in_text("<td>[…]</td>") == set()
    assert groups_in_text('<input value="a42b77">') == set()
    assert groups_in_text("<dd>42</dd>") == {"employees"}
    assert groups_in_text("<dd>42 Beschäftigte</dd>") == {"employees"}
    # a request sent at 22:42, an id in a link, a date: not the employee count
    assert groups_in_text('<time>6. Dez. 2026, 22:42</time><a href="/requests/42">') == set()
    assert groups_in_text("<td>1977</td>") == {"founded"}
    # an id in JSON is not the employee count; the count is
    assert groups_in_text('{"id": 42, "audit_id": 42}') == set()
    assert groups_in_text('{"employees": 42}') == {"employees"}
    assert groups_in_text("{'employees': 42}") == {"employees"}


# --- the web pages ---------------------------------------------------------------------------

# the member pages that show the target, with the groups each renders of it and the mark that
# says the target is on the page at all (the callers without a member's session are refused)
PAGES: dict[str, tuple[frozenset[str], str]] = {
    # match cards: the name (or "anonymous profile") and the city (or only the region)
    "/partners": (frozenset({"name", "address"}), 'id="match-{target}"'),
    "/search?q=Füllstandsensorik": (frozenset({"name", "address"}), 'id="match-{target}"'),
    # the request's other side: its name, contacts and website
    "/requests": (frozenset({"name", "contacts", "website"}), 'id="request-{request}"'),
    # the addressee of a new request: its name
    "/requests/new?to={target}": (frozenset({"name"}), 'name="to" value="{target}"'),
}
# the dashboard lists the member's open requests by the other side's name
DASHBOARD = frozenset({"name"})
# status of a member page per caller without a member's session: the way to sign in, or refused
REFUSED = {"anonymous": 303, "organiser": 403, "curator": 403, "admin": 403}
PAGE_CALLERS = ("member", "partner")


def _page(world: World, caller: str, url: str) -> tuple[int, str]:
    values = {
        "target": world.target,
        "member": world.member_org,
        "request": world.requests.get(caller, 0),
    }
    response = world.pages[caller].get(url.format(**values))
    return response.status_code, response.text


@pytest.mark.parametrize("level", LEVELS)
def test_every_page_shows_exactly_what_the_policy_says(world: World, level: str) -> None:
    _set_all(world, level)
    seen: dict[tuple[str, str], set[str]] = {}
    wanted: dict[tuple[str, str], set[str]] = {}
    for url, (carried, mark) in PAGES.items():
        for caller in PAGE_CALLERS:
            status, html = _page(world, caller, url)
            assert status == 200, (url, caller, html[:500])
            values = {"target": world.target, "request": world.requests[caller]}
            assert mark.format(**values) in html, (url, caller)
            seen[(url, caller)] = groups_in_text(html)
            wanted[(url, caller)] = set(carried) & expected_groups(caller, level)
        for caller, refused in REFUSED.items():
            status, html = _page(world, caller, url)
            assert status == refused, (url, caller)
            seen[(url, caller)] = groups_in_text(html)
            wanted[(url, caller)] = set()
    # the member's dashboard lists its open request to the target
    status, html = _page(world, "member", "/dashboard")
    assert status == 200
    seen[("/dashboard", "member")] = groups_in_text(html)
    wanted[("/dashboard", "member")] = set(DASHBOARD) & expected_groups("member", level)
    assert seen == wanted


def test_a_page_names_a_hidden_name_nowhere(world: World) -> None:
    """With the name at partners, the member's pages call the target anonymous and mask its
    name's words, while the partner's pages name it."""
    _set_all(world, "partners")
    for url in PAGES:
        _, member_html = _page(world, "member", url)
        _, partner_html = _page(world, "partner", url)
        assert "Zeta" not in member_html, url
        assert TARGET["name"] in partner_html, url


# the event managers' pages: the attendees' list names every registered organisation (its
# registration is the consent) and nothing else of its profile; the search for organisations
# to register finds and names only those whose name the manager may see
MANAGER_PAGES = ("organiser", "admin")
NOT_MANAGER = {"anonymous": 303, "member": 403, "partner": 403, "curator": 403}
# the same asked by HTMX: a caller without a session is sent to sign in by an HX-Redirect
NOT_MANAGER_HX = NOT_MANAGER | {"anonymous": 204}


@pytest.mark.parametrize("level", LEVELS)
def test_the_event_managers_pages_show_exactly_what_the_policy_says(
    world: World, level: str
) -> None:
    _set_all(world, level)
    participants = f"/events/{world.event_id}/participants"
    found = {"hx-request": "true", "hx-target": "found"}
    seen: dict[tuple[str, str], set[str]] = {}
    wanted: dict[tuple[str, str], set[str]] = {}
    for caller in CALLERS:
        listed = world.pages[caller].get(participants)
        searched = world.pages[caller].get(participants, params={"q": "Zeta"}, headers=found)
        if caller in MANAGER_PAGES:
            assert (listed.status_code, searched.status_code) == (200, 200), caller
            assert "P target" in listed.text, caller  # the target's attendee
            seen[("list", caller)] = groups_in_text(listed.text)
            wanted[("list", caller)] = {"name"}
            seen[("search", caller)] = groups_in_text(searched.text)
            wanted[("search", caller)] = {"name"} & expected_groups(caller, level)
            assert (f'id="org-{world.target}"' in searched.text) == (
                "name" in wanted[("search", caller)]
            ), caller
        else:
            statuses = (listed.status_code, searched.status_code)
            assert statuses == (NOT_MANAGER[caller], NOT_MANAGER_HX[caller]), caller
            seen[("list", caller)] = groups_in_text(listed.text) | groups_in_text(searched.text)
            wanted[("list", caller)] = set()
    assert seen == wanted


# --- the event exports -----------------------------------------------------------------------

# the exports name the attendees (their people and their organisations: registering is the
# consent) and nothing else of a profile, to whoever may read them: event managers every
# export, an organisation's own members the agendas of its own people
PERSON_EXPORTS = (
    "agenda.ics",
    "cancellations.ics",
    "agenda.csv",
    "agenda.json",
    "agenda.html",
)
MANAGER_EXPORTS = ("schedule/table-plan.csv", "agenda.html")
WEB_EXPORTS = (
    "",
    "/table-plan.csv",
    "/agendas.html",
    *(f"/people/{{person}}.{fmt}" for fmt in ("ics", "csv", "json", "html")),
)
EXPORT_REFUSED = {"anonymous": 401, "curator": 403}
MANAGER_REFUSED = EXPORT_REFUSED | {"member": 403, "partner": 403}


@dataclass
class Published:
    people: dict[str, int]  # the one person of each registered organisation


@pytest.fixture(scope="module")
def published(world: World) -> Published:
    """The world's event with three slots, two tables and a published schedule in which the
    member's and the partner's people each meet the target's person (built once)."""
    admin = world.clients["admin"]
    url = f"{EVENTS}/{world.event_id}"
    slots = {"date": "2026-05-05", "start": "09:00", "end": "10:00", "slot_minutes": 20}
    assert admin.post(f"{url}/slots", json=slots).status_code == 200
    assert admin.put(f"{url}/tables", json={"names": ["1", "2"]}).status_code == 200
    for key in ("member", "partner"):
        pair = f"{url}/participants/{world.participants[key]}/preferences/"
        must = admin.put(f"{pair}{world.participants['target']}", json={"kind": "must_meet"})
        assert must.status_code == 200, must.text
    people = {}
    for key, participant in world.participants.items():
        body = admin.get(f"{url}/participants/{participant}").json()
        [person] = body["people"]
        people[key] = person["id"]
    computed = admin.post(f"{url}/schedule", json={"recommendations_per_participant": 0})
    assert computed.status_code == 200, computed.text
    assert admin.post(f"{url}/schedule/publish").status_code == 200
    return Published(people)


def _export_person(published: Published, caller: str) -> int:
    return published.people["partner" if caller == "partner" else "member"]


@pytest.mark.parametrize("level", LEVELS)
def test_the_event_exports_name_the_attendees_and_nothing_else(
    world: World, published: Published, level: str
) -> None:
    _set_all(world, level)
    url = f"{EVENTS}/{world.event_id}"
    seen: dict[tuple[str, str], set[str]] = {}
    wanted: dict[tuple[str, str], set[str]] = {}
    for caller in CALLERS:
        person = _export_person(published, caller)
        reads = [(f"people/{person}/{tail}", EXPORT_REFUSED) for tail in PERSON_EXPORTS]
        reads += [(tail, MANAGER_REFUSED) for tail in MANAGER_EXPORTS]
        for tail, refused in reads:
            response = world.clients[caller].get(f"{url}/{tail}")
            key = (tail.replace(str(person), "{p}"), caller)
            seen[key] = groups_in_text(response.text)
            if caller in refused:
                assert response.status_code == refused[caller], key
                wanted[key] = set()
                continue
            assert response.status_code == 200, (key, response.text[:300])
            if "cancellations" not in tail:  # nothing was cancelled
                assert "P target" in response.text, key  # the target's attendee is met
            wanted[key] = set() if "cancellations" in tail else {"name"}
    assert seen == wanted


@pytest.mark.parametrize("level", LEVELS)
def test_the_event_managers_exports_name_the_attendees_and_nothing_else(
    world: World, published: Published, level: str
) -> None:
    _set_all(world, level)
    seen: dict[tuple[str, str], set[str]] = {}
    wanted: dict[tuple[str, str], set[str]] = {}
    for caller in CALLERS:
        for tail in WEB_EXPORTS:
            path = tail.format(person=published.people["member"])
            response = world.pages[caller].get(f"/events/{world.event_id}/exports{path}")
            key = (tail, caller)
            seen[key] = groups_in_text(response.text)
            if caller in MANAGER_PAGES:
                assert response.status_code == 200, key
                assert "P target" in response.text, key
                wanted[key] = {"name"}
            else:
                assert response.status_code == NOT_MANAGER[caller], key
                wanted[key] = set()
    assert seen == wanted


# the event's other JSON reads: the attendees' list names the registered organisations and a
# person only its own name and role (both to the attendees and managers only); the published
# schedule and the meeting requests carry ids, so every signed-in account reads them
EVENT_READS: dict[str, tuple[frozenset[str], dict[str, int]]] = {
    "participants": (frozenset({"name"}), EXPORT_REFUSED),
    "people/{target}": (frozenset(), EXPORT_REFUSED),
    "schedule": (frozenset(), {"anonymous": 401}),
    "requests": (frozenset(), {"anonymous": 401}),
}


@pytest.mark.parametrize("level", LEVELS)
def test_the_events_other_reads_name_the_attendees_and_nothing_else(
    world: World, published: Published, level: str
) -> None:
    _set_all(world, level)
    seen: dict[tuple[str, str], set[str]] = {}
    wanted: dict[tuple[str, str], set[str]] = {}
    for tail, (carried, refused) in EVENT_READS.items():
        path = tail.format(target=published.people["target"])
        for caller in CALLERS:
            response = world.clients[caller].get(f"{EVENTS}/{world.event_id}/{path}")
            key = (tail, caller)
            seen[key] = groups_in_text(response.text)
            if caller in refused:
                assert response.status_code == refused[caller], key
                wanted[key] = set()
                continue
            assert response.status_code == 200, (key, response.text[:300])
            if not tail.startswith(("schedule", "requests")):
                assert "P target" in response.text, key  # the target's attendee
            wanted[key] = set(carried)
    assert seen == wanted


# the event managers' other pages of the event (with its published schedule), with the groups
# each shows of the target: the attendees by name where the page lists them
MANAGER_EVENT_PAGES: dict[str, frozenset[str]] = {
    "/events": frozenset(),
    "/events/{event}": frozenset(),
    "/events/{event}/requests": frozenset({"name"}),
    "/events/{event}/schedule": frozenset({"name"}),
    "/events/{event}/day": frozenset({"name"}),
    "/events/{event}/figures": frozenset(),  # counts and charts, no one by name yet
}


@pytest.mark.parametrize("level", LEVELS)
def test_the_event_managers_other_pages_name_the_attendees_and_nothing_else(
    world: World, published: Published, level: str
) -> None:
    _set_all(world, level)
    seen: dict[tuple[str, str], set[str]] = {}
    wanted: dict[tuple[str, str], set[str]] = {}
    for url, carried in MANAGER_EVENT_PAGES.items():
        for caller in CALLERS:
            response = world.pages[caller].get(url.format(event=world.event_id))
            key = (url, caller)
            seen[key] = groups_in_text(response.text)
            if caller in MANAGER_PAGES:
                assert response.status_code == 200, key
                wanted[key] = set(carried)
            else:
                assert response.status_code == NOT_MANAGER[caller], key
                wanted[key] = set()
    assert seen == wanted


# --- the curators' pages, the own profile, the way in ----------------------------------------

# hub staff see every profile in full: each curator page shows the groups it carries of the
# target whatever its levels; every other caller is refused and shown nothing
CURATOR_PAGES: dict[str, frozenset[str]] = {
    "/curator": frozenset(),
    # the profiles to verify, by name
    "/curator/profiles": frozenset({"name"}),
    "/curator/duplicates": frozenset(),
    "/curator/labels": frozenset(),
    # the log names the changed rows by table and id, not their values
    "/curator/audit?organization_id={target}": frozenset(),
    # the organisations a new account may be invited to, by name
    "/curator/onboarding": frozenset({"name"}),
    "/curator/gaps": frozenset(),
    # both profiles of a merge side by side: name, external_id, place and website
    "/curator/duplicates/merge?keep={target}&merge={member}": frozenset(
        {"name", "address", "website"}
    ),
}
STAFF = ("curator", "admin")
NOT_STAFF = {"anonymous": 303, "member": 403, "partner": 403, "organiser": 403}


@pytest.mark.parametrize("level", LEVELS)
def test_the_curators_pages_show_staff_everything_and_others_nothing(
    world: World, level: str
) -> None:
    _set_all(world, level)
    seen: dict[tuple[str, str], set[str]] = {}
    wanted: dict[tuple[str, str], set[str]] = {}
    for url, carried in CURATOR_PAGES.items():
        for caller in CALLERS:
            status, html = _page(world, caller, url)
            seen[(url, caller)] = groups_in_text(html)
            if caller in STAFF:
                assert status == 200, (url, caller, html[:300])
                wanted[(url, caller)] = set(carried)
            else:
                assert status == NOT_STAFF[caller], (url, caller)
                wanted[(url, caller)] = set()
    assert seen == wanted


# the curation API, for hub staff only: the same at every level
CURATION_READS: dict[str, frozenset[str]] = {
    "duplicates": frozenset(),
    "stale?months=1": frozenset(),
    "labels": frozenset(),
    "labels/suggestions": frozenset(),
    "labels/synonyms": frozenset(),
    "gaps": frozenset(),
}
NOT_STAFF_API = {"anonymous": 401, "member": 403, "partner": 403, "organiser": 403}


@pytest.mark.parametrize("level", LEVELS)
def test_the_curation_api_shows_staff_everything_and_others_nothing(
    world: World, level: str
) -> None:
    _set_all(world, level)
    seen: dict[tuple[str, str], set[str]] = {}
    wanted: dict[tuple[str, str], set[str]] = {}
    for tail, carried in CURATION_READS.items():
        for caller in CALLERS:
            response = world.clients[caller].get(f"/api/v1/curation/{tail}")
            seen[(tail, caller)] = groups_in_text(response.text)
            if caller in STAFF:
                assert response.status_code == 200, (tail, caller, response.text[:300])
                wanted[(tail, caller)] = set(carried)
            else:
                assert response.status_code == NOT_STAFF_API[caller], (tail, caller)
                wanted[(tail, caller)] = set()
    assert seen == wanted


# the own profile's editor names the organisations its relationships link to only where the
# member may see their name; elsewhere it shows what the profile stated (a link by external_id
# states that external_id, so it is on the page whatever the level: only the name moves)
NOT_MEMBER = {"anonymous": 303, "organiser": 403, "curator": 403, "admin": 403}
# the profile's editor (the linked organisation's name where the member may see it) and the
# organisation's data export (the relationships as stated, by external_id)
OWN_PAGES = {"/profile": frozenset({"name"}), "/my-data/export": frozenset()}


def _groups_on_own_profile(html: str) -> set[str]:
    """The target's groups on a profile page that links to it by its external_id: the name
    group counts by the name alone (the external_id is the profile's own statement)."""
    others = groups_in_text(html.replace(TARGET["external_id"], ""))
    return others - {"name"} | ({"name"} if _occurs(TARGET["name"], html) else set())


@pytest.mark.parametrize("level", LEVELS)
def test_the_own_profile_names_a_linked_organisation_as_the_policy_says(
    world: World, level: str
) -> None:
    admin = world.clients["admin"]
    linked = [{"type": "supplier", "external_id": TARGET["external_id"]}]
    for org in (world.member_org, world.partner_org):
        response = admin.patch(f"{API}/{org}", json={"relationships": linked})
        assert response.status_code == 200, response.text
    _set_all(world, level)
    seen: dict[tuple[str, str], set[str]] = {}
    wanted: dict[tuple[str, str], set[str]] = {}
    try:
        for url, carried in OWN_PAGES.items():
            for caller in CALLERS:
                status, html = _page(world, caller, url)
                key = (url, caller)
                seen[key] = _groups_on_own_profile(html)
                if caller in PAGE_CALLERS:
                    assert status == 200, (key, html[:300])
                    assert TARGET["external_id"] in html, key  # the stated link
                    wanted[key] = set(carried) & expected_groups(caller, level)
                else:
                    assert status == NOT_MEMBER[caller], key
                    assert TARGET["external_id"] not in html, key
                    wanted[key] = set()
        # the name group on its own at the level, every other group at the other end: the
        # editor follows the name's level, not another group's
        other = "public" if level == "partners" else "partners"
        disclosure = dict.fromkeys(GROUPS, other) | {"name": level}
        response = admin.patch(f"{API}/{world.target}", json={"disclosure": disclosure})
        assert response.status_code == 200, response.text
        for caller in PAGE_CALLERS:
            _, html = _page(world, caller, "/profile")
            seen[("/profile, name alone", caller)] = _groups_on_own_profile(html)
            wanted[("/profile, name alone", caller)] = {"name"} & expected_groups(caller, level)
    finally:
        for org in (world.member_org, world.partner_org):
            response = admin.patch(f"{API}/{org}", json={"relationships": []})
            assert response.status_code == 200, response.text
    assert seen == wanted


# the way in: the start page sends every caller on (a visitor to sign in, an account to its
# dashboard) and the sign-in page names no organisation; the dashboards of accounts without
# an organisation (organiser, curator, admin) show none either
WAY_IN: dict[str, dict[str, int]] = {
    "/": dict.fromkeys(CALLERS, 303),
    "/login": {"anonymous": 200} | dict.fromkeys(CALLERS[1:], 303),
    "/dashboard": {"anonymous": 303} | dict.fromkeys(CALLERS[1:], 200),
}


@pytest.mark.parametrize("level", LEVELS)
def test_the_way_in_shows_exactly_what_the_policy_says(world: World, level: str) -> None:
    _set_all(world, level)
    seen: dict[tuple[str, str], set[str]] = {}
    wanted: dict[tuple[str, str], set[str]] = {}
    for url, statuses in WAY_IN.items():
        for caller in CALLERS:
            status, html = _page(world, caller, url)
            assert status == statuses[caller], (url, caller)
            seen[(url, caller)] = groups_in_text(html)
            wanted[(url, caller)] = set()
            if url == "/dashboard" and caller in PAGE_CALLERS:
                wanted[(url, caller)] = set(DASHBOARD) & expected_groups(caller, level)
    assert seen == wanted
