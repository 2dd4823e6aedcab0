"""Per-field disclosure of profiles: defaults, levels, staged disclosure by cooperation requests."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Organization
from app.models.cooperation import CooperationRequest
from app.models.user import Role
from app.organizations import access, disclosure, views
from matching.geo import haversine_km
from tests.app.conftest import AccountFactory, ClientFactory

API = "/api/v1/organizations"

OWNER = {
    "external_id": "O-1",
    "name": "Sensotec GmbH",
    "description": "Kapazitive Füllstandsensoren",
    "nace_code": "26.51",
    "country": "DE",
    "city": "Stuttgart",
    "postal_code": "70173",
    "latitude": 48.7758,
    "longitude": 9.1829,
    "employees": 30,
    "website": "https://sensotec.example",
    "founded": 1998,
    "contact_name": "Erika Muster",
    "contact_email": "Erika.Muster@Sensotec.EXAMPLE",
    "contact_phone": "+49 711 123456",
    "competences": [{"kind": "core", "label": "Füllstandsensorik"}],
    "relationships": [{"type": "customer", "external_id": "T-1", "revenue_share": 0.3}],
    "cooperation_interests": ["product_development"],
}
HIDDEN_BY_DEFAULT = ["contacts", "employees", "name", "relationships", "website"]


@pytest.fixture
def ids(client: TestClient) -> dict[str, int]:
    """O (the profile under test, public), V (the viewer's organisation), T (O's customer)."""
    out = {}
    for body in (
        {"external_id": "T-1", "name": "Tertia KG", "country": "AT", "postal_code": "1010"},
        {"external_id": "V-1", "name": "Viewer AG", "country": "CH", "employees": 300},
        OWNER,
        {"external_id": "X-1", "name": "Privat GmbH", "visibility": "private"},
    ):
        response = client.post(API, json=body)
        assert response.status_code == 201, response.text
        out[body["external_id"][0]] = response.json()["id"]
    return out


@pytest.fixture
def viewer(
    client_for: ClientFactory, make_account: AccountFactory, ids: dict[str, int]
) -> TestClient:
    """A member of V."""
    return client_for(make_account(Role.member, ids["V"]))


@pytest.fixture
def owner(
    client_for: ClientFactory, make_account: AccountFactory, ids: dict[str, int]
) -> TestClient:
    """A member of O."""
    return client_for(make_account(Role.member, ids["O"]))


def request(session: Session, from_id: int, to_id: int, status: str) -> None:
    session.add(
        CooperationRequest(
            from_organization_id=from_id,
            to_organization_id=to_id,
            type="product_development",
            status=status,
        )
    )
    session.commit()


def read(client: TestClient, org_id: int) -> dict[str, Any]:
    response = client.get(f"{API}/{org_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_defaults_for_a_member_of_another_organisation(
    viewer: TestClient, ids: dict[str, int]
) -> None:
    body = read(viewer, ids["O"])
    hidden_or_shown = (
        "name",
        "external_id",
        "website",
        "contact_name",
        "contact_email",
        "contact_phone",
        "employees",
        "relationships",
        "description",
        "founded",
    )
    assert {k: body[k] for k in hidden_or_shown} == {
        "name": None,
        "external_id": None,
        "website": None,
        "contact_name": None,
        "contact_email": None,
        "contact_phone": None,
        "employees": None,
        "relationships": [],
        "description": "Kapazitive Füllstandsensoren",
        "founded": 1998,
    }
    assert body["employees"] is None
    assert (body["size_class"], body["region"], body["nace_code"]) == ("small", "DE-7", "26.51")
    assert (body["city"], body["postal_code"], body["latitude"]) == ("Stuttgart", "70173", 48.7758)
    assert [c["label"] for c in body["competences"]] == ["Füllstandsensorik"]
    assert body["hidden_fields"] == HIDDEN_BY_DEFAULT
    assert body["disclosure_level"] == "member"
    assert body["disclosure"] is None
    assert body["hide_from_competitors"] is None
    assert body["verified"] is False
    assert body["id"] == ids["O"]


def test_own_members_and_staff_see_everything(
    owner: TestClient,
    client: TestClient,
    client_for: ClientFactory,
    make_account: AccountFactory,
    ids: dict[str, int],
) -> None:
    curator = client_for(make_account(Role.curator))
    for caller in (owner, client, curator):
        body = read(caller, ids["O"])
        assert body["name"] == "Sensotec GmbH"
        assert body["external_id"] == "O-1"
        assert (body["contact_name"], body["contact_email"], body["contact_phone"]) == (
            "Erika Muster",
            "Erika.Muster@sensotec.example",
            "+49 711 123456",
        )
        assert (body["employees"], body["website"]) == (30, "https://sensotec.example")
        # T hides its name (and external_id) from O's members: they keep the name O stated,
        # not the link to T's profile; hub staff see the link
        linked = (ids["T"], "T-1") if caller is not owner else (None, None)
        assert [
            (r["related_organization_id"], r["external_id"], r["name"])
            for r in body["relationships"]
        ] == [(*linked, "T-1")]
        assert body["hidden_fields"] == []
        assert body["disclosure_level"] == "owner"
        assert body["disclosure"] == disclosure.DEFAULTS
        assert body["hide_from_competitors"] is False


def test_a_level_changed_to_members_or_public_shows_the_group(
    owner: TestClient, viewer: TestClient, anon_client: TestClient, ids: dict[str, int]
) -> None:
    patched = owner.patch(
        f"{API}/{ids['O']}", json={"disclosure": {"name": "members", "contacts": "public"}}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["disclosure"] == disclosure.DEFAULTS | {
        "name": "members",
        "contacts": "public",
    }
    body = read(viewer, ids["O"])
    assert (body["name"], body["external_id"]) == ("Sensotec GmbH", "O-1")
    assert body["contact_email"] == "Erika.Muster@sensotec.example"
    assert body["website"] is None
    assert body["hidden_fields"] == ["employees", "relationships", "website"]
    teaser = read(anon_client, ids["O"])
    assert teaser["name"] is None  # members only
    assert teaser["contact_phone"] == "+49 711 123456"
    assert teaser["hidden_fields"] == [
        "address",
        "description",
        "employees",
        "name",
        "relationships",
        "website",
    ]
    # a second PATCH changes only the groups it names; null restores the default
    again = owner.patch(
        f"{API}/{ids['O']}", json={"disclosure": {"contacts": None, "website": "members"}}
    )
    assert again.status_code == 200, again.text
    assert again.json()["disclosure"] == disclosure.DEFAULTS | {
        "name": "members",
        "website": "members",
    }
    body = read(viewer, ids["O"])
    assert (body["name"], body["website"], body["contact_email"]) == (
        "Sensotec GmbH",
        "https://sensotec.example",
        None,
    )


def test_an_accepted_request_reveals_both_sides(
    db_session: Session, owner: TestClient, viewer: TestClient, ids: dict[str, int]
) -> None:
    request(db_session, ids["V"], ids["O"], "accepted")
    body = read(viewer, ids["O"])
    assert body["disclosure_level"] == "partner"
    assert body["hidden_fields"] == []
    assert (body["name"], body["contact_email"], body["employees"]) == (
        "Sensotec GmbH",
        "Erika.Muster@sensotec.example",
        30,
    )
    # partners do not see the settings
    assert (body["disclosure"], body["hide_from_competitors"]) == (None, None)
    other_way = read(owner, ids["V"])
    assert other_way["disclosure_level"] == "partner"
    assert (other_way["name"], other_way["employees"]) == ("Viewer AG", 300)
    assert access.partner_ids(db_session, ids["O"]) == {ids["V"]}
    assert access.partner_ids(db_session, ids["V"]) == {ids["O"]}
    assert access.partner_ids(db_session, ids["T"]) == set()


@pytest.mark.parametrize("status", ["pending", "declined"])
def test_a_request_sent_reveals_the_senders_name_to_the_addressee(
    db_session: Session, owner: TestClient, viewer: TestClient, ids: dict[str, int], status: str
) -> None:
    request(db_session, ids["O"], ids["V"], status)
    body = read(viewer, ids["O"])
    assert body["disclosure_level"] == "addressee"
    assert (body["name"], body["external_id"]) == ("Sensotec GmbH", "O-1")
    assert (body["contact_name"], body["contact_email"], body["website"]) == (None, None, None)
    assert body["hidden_fields"] == ["contacts", "employees", "relationships", "website"]
    # the sender does not learn the addressee's name
    back = read(owner, ids["V"])
    assert (back["name"], back["disclosure_level"]) == (None, "member")


def test_a_withdrawn_request_reveals_nothing(
    db_session: Session, viewer: TestClient, ids: dict[str, int]
) -> None:
    request(db_session, ids["O"], ids["V"], "withdrawn")
    request(db_session, ids["V"], ids["O"], "withdrawn")
    body = read(viewer, ids["O"])
    assert (body["name"], body["disclosure_level"]) == (None, "member")
    assert body["hidden_fields"] == HIDDEN_BY_DEFAULT


def test_views_of_uses_one_query_for_a_page(
    db_session: Session, ids: dict[str, int], make_account: AccountFactory
) -> None:
    from sqlalchemy import event

    from app.models import Organization

    request(db_session, ids["O"], ids["V"], "pending")
    request(db_session, ids["T"], ids["V"], "accepted")
    user = make_account(Role.member, ids["V"]).user
    orgs = [db_session.get(Organization, i) for i in (ids["O"], ids["T"], ids["V"], ids["X"])]
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    bind = db_session.get_bind()
    event.listen(bind, "before_cursor_execute", count)
    try:
        views = access.views_of(db_session, user, [o for o in orgs if o is not None])
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert len(statements) == 1
    assert {i: v.level for i, v in views.items()} == {
        ids["O"]: "addressee",
        ids["T"]: "partner",
        ids["V"]: "owner",
        ids["X"]: "member",
    }
    assert views[ids["T"]].full
    assert views[ids["O"]].hidden == frozenset(
        {"website", "contact_name", "contact_email", "contact_phone", "employees", "relationships"}
    )
    assert access.views_of(db_session, None, [orgs[0]])[ids["O"]].level == "anonymous"


def test_list_applies_the_view_and_shows_the_own_private_organisation(
    db_session: Session,
    viewer: TestClient,
    client_for: ClientFactory,
    make_account: AccountFactory,
    ids: dict[str, int],
) -> None:
    request(db_session, ids["V"], ids["T"], "accepted")
    page = viewer.get(API).json()
    # by id, not by (partly hidden) name
    assert [(i["id"], i["name"], i["disclosure_level"]) for i in page["items"]] == [
        (ids["T"], "Tertia KG", "partner"),
        (ids["V"], "Viewer AG", "owner"),
        (ids["O"], None, "member"),
    ]
    entry = page["items"][2]
    assert (entry["employees"], entry["size_class"], entry["region"]) == (None, "small", "DE-7")
    assert (entry["contact_email"], entry["website"], entry["city"]) == (None, None, "Stuttgart")
    assert entry["hidden_fields"] == HIDDEN_BY_DEFAULT
    assert page["total"] == 3
    insider = client_for(make_account(Role.member, ids["X"]))
    own = insider.get(API).json()
    assert [(i["id"], i["name"]) for i in own["items"]] == [
        (ids["T"], None),
        (ids["V"], None),
        (ids["O"], None),
        (ids["X"], "Privat GmbH"),
    ]
    assert own["total"] == 4


def test_text_search_only_hits_disclosed_names(
    db_session: Session, owner: TestClient, viewer: TestClient, ids: dict[str, int]
) -> None:
    def found(**params: str) -> list[int]:
        response = viewer.get(API, params=params)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    # the description is shown to members, the name is not
    assert found(q="Sensotec") == []
    assert found(external_id="O-1") == []
    assert found(q="Füllstandsensoren") == [ids["O"]]
    assert found(q="Viewer") == [ids["V"]]
    assert (
        owner.patch(
            f"{API}/{ids['O']}", json={"disclosure": {"description": "partners"}}
        ).status_code
        == 200
    )
    assert found(q="Füllstandsensoren") == []
    assert found(q="Füllstandsensorik") == [ids["O"]]  # competences are always shown
    assert (
        owner.patch(f"{API}/{ids['O']}", json={"disclosure": {"name": "members"}}).status_code
        == 200
    )
    assert found(q="Sensotec") == [ids["O"]]
    assert found(external_id="O-1") == [ids["O"]]
    assert owner.patch(f"{API}/{ids['O']}", json={"disclosure": {"name": None}}).status_code == 200
    request(db_session, ids["O"], ids["V"], "pending")
    assert found(q="Sensotec") == [ids["O"]]
    assert found(q="Füllstandsensoren") == []  # a request reveals the name only


def test_relationships_do_not_reveal_hidden_names_of_linked_organisations(
    db_session: Session, owner: TestClient, viewer: TestClient, ids: dict[str, int]
) -> None:
    request(db_session, ids["V"], ids["O"], "accepted")
    rels = read(viewer, ids["O"])["relationships"]
    # O is a partner of V, T is not: T stays anonymous in O's list
    assert rels == [
        {
            "id": rels[0]["id"],
            "type": "customer",
            "related_organization_id": None,
            "external_id": None,
            "name": None,
            "revenue_share": 0.3,
            "joint_projects": None,
            "last_year": None,
        }
    ]
    request(db_session, ids["V"], ids["T"], "accepted")
    rels = read(viewer, ids["O"])["relationships"]
    assert (rels[0]["related_organization_id"], rels[0]["external_id"]) == (ids["T"], "T-1")


def test_anonymous_teaser_shows_only_public_groups(
    owner: TestClient, anon_client: TestClient, ids: dict[str, int]
) -> None:
    teaser = read(anon_client, ids["O"])
    assert teaser == {
        "id": ids["O"],
        "industry": "26",
        "country": "DE",
        "region": "DE-7",
        "city": None,
        "size_class": "small",
        "competences": [{"kind": "core", "label": "Füllstandsensorik"}],
        "cooperation_interests": ["product_development"],
        "name": None,
        "external_id": None,
        "website": None,
        "contact_name": None,
        "contact_email": None,
        "contact_phone": None,
        "employees": None,
        "postal_code": None,
        "latitude": None,
        "longitude": None,
        "description": None,
        "founded": 1998,
        "relationships": [],
        "verified": False,
        "hidden_fields": [
            "address",
            "contacts",
            "description",
            "employees",
            "name",
            "relationships",
            "website",
        ],
        "disclosure_level": "anonymous",
    }
    everything_public = dict.fromkeys(disclosure.GROUPS, "public")
    assert (
        owner.patch(f"{API}/{ids['O']}", json={"disclosure": everything_public}).status_code == 200
    )
    teaser = read(anon_client, ids["O"])
    assert (teaser["name"], teaser["city"], teaser["employees"]) == (
        "Sensotec GmbH",
        "Stuttgart",
        30,
    )
    assert teaser["hidden_fields"] == []
    # T's name is not public: the link stays anonymous
    assert [(r["related_organization_id"], r["name"]) for r in teaser["relationships"]] == [
        (None, None)
    ]
    listed = anon_client.get(API).json()["items"]
    assert [(i["id"], i["name"], i["founded"]) for i in listed] == [
        (ids["T"], None, None),
        (ids["V"], None, None),
        (ids["O"], "Sensotec GmbH", 1998),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"disclosure": {"contactz": "public"}}, "disclosure.contactz"),
        ({"disclosure": {"contacts": "everyone"}}, "disclosure.contacts"),
        ({"disclosure": ["contacts"]}, "disclosure"),
        ({"disclosure": None}, "disclosure"),
        ({"hide_from_competitors": None}, "hide_from_competitors"),
        ({"contact_email": "erika at sensotec"}, "contact_email"),
        ({"contact_phone": "call us"}, "contact_phone"),
        ({"contact_name": "x" * 201}, "contact_name"),
    ],
)
def test_bad_sovereignty_input_is_422_naming_the_field(
    owner: TestClient, ids: dict[str, int], body: dict[str, Any], field: str
) -> None:
    response = owner.patch(f"{API}/{ids['O']}", json=body)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_create_validates_disclosure_too(client: TestClient) -> None:
    response = client.post(API, json={"name": "Neu GmbH", "disclosure": {"founded": "secret"}})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["disclosure.founded"]
    created = client.post(
        API,
        json={
            "name": "Neu GmbH",
            "disclosure": {"website": "public"},
            "hide_from_competitors": True,
            "contact_email": "info@neu.example",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["disclosure"] == disclosure.DEFAULTS | {"website": "public"}
    assert (body["hide_from_competitors"], body["contact_email"]) == (True, "info@neu.example")


def test_members_of_other_organisations_cannot_change_disclosure(
    viewer: TestClient, owner: TestClient, ids: dict[str, int]
) -> None:
    for body in ({"disclosure": {"name": "public"}}, {"hide_from_competitors": True}):
        response = viewer.patch(f"{API}/{ids['O']}", json=body)
        assert response.status_code == 403
    opted = owner.patch(f"{API}/{ids['O']}", json={"hide_from_competitors": True})
    assert opted.status_code == 200
    assert opted.json()["hide_from_competitors"] is True
    assert read(viewer, ids["O"])["hide_from_competitors"] is None


def test_size_class_and_region() -> None:
    assert [disclosure.size_class(n) for n in (None, 0, 9, 10, 49, 50, 249, 250)] == [
        None,
        "micro",
        "micro",
        "small",
        "small",
        "medium",
        "medium",
        "large",
    ]
    assert [
        disclosure.region(c, p)
        for c, p in (
            ("DE", "70173"),
            ("AT", "1010"),
            ("CH", " 8001"),
            ("DE", None),
            ("DE", "D-70173"),
            ("FR", "75001"),
            (None, "70173"),
        )
    ] == ["DE-7", "AT-1", "CH-8", "DE", "DE", "FR", None]


def test_a_members_list_page_reads_its_request_relations_once(
    db_session: Session, viewer: TestClient, ids: dict[str, int]
) -> None:
    from sqlalchemy import event

    request(db_session, ids["O"], ids["V"], "pending")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    bind = db_session.get_bind()
    event.listen(bind, "before_cursor_execute", count)
    try:
        response = viewer.get("/api/v1/organizations", params={"limit": 500})
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert response.status_code == 200, response.text
    relation_reads = [s for s in statements if "FROM cooperation_requests" in s]
    assert len(relation_reads) == 1, relation_reads
    named = {i["id"]: i["name"] for i in response.json()["items"]}
    assert named[ids["O"]] is not None  # the addressee sees the sender's name


# --- leaks closed: a hidden name in the text, relationship targets, distances, the CLI ----

DATENHAFEN = {
    "external_id": "DH-1",
    "name": "Datenhafen GmbH",
    "website": "https://www.datenhafen-bayern.example",
    "description": "Datenhafen betreibt Rechenzentren; mehr auf datenhafen-bayern.example.",
    "nace_code": "63.11",
    "country": "DE",
    "city": "München",
    "postal_code": "80331",
    "latitude": 48.1351,
    "longitude": 11.5820,
    "visibility": "public",
    "disclosure": {"address": "partners", "description": "public"},
    "competences": [
        {"kind": "core", "label": "Rechenzentrumsbetrieb"},
        {"kind": "core", "label": "Datenhafen Cloud"},
    ],
}


@pytest.fixture
def datenhafen(client: TestClient, ids: dict[str, int]) -> int:
    response = client.post(API, json=DATENHAFEN)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_a_hidden_name_is_masked_in_the_text_and_not_found_by_search(
    client: TestClient,
    anon_client: TestClient,
    viewer: TestClient,
    owner: TestClient,
    datenhafen: int,
) -> None:
    def found(caller: TestClient, q: str) -> list[int]:
        response = caller.get(API, params={"q": q})
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    masked = "[…] betreibt Rechenzentren; mehr auf […]."
    seen = read(viewer, datenhafen)
    assert (seen["name"], seen["description"]) == (None, masked)
    assert [c["label"] for c in seen["competences"]] == ["Rechenzentrumsbetrieb", "[…] Cloud"]
    teaser = read(anon_client, datenhafen)
    assert (teaser["name"], teaser["description"]) == (None, masked)
    assert [c["label"] for c in teaser["competences"]] == ["Rechenzentrumsbetrieb", "[…] Cloud"]
    assert "atenhafen" not in str(seen) + str(teaser)
    # search: only what the caller sees, masked
    assert found(viewer, "Datenhafen") == []
    assert found(viewer, "datenhafen-bayern") == []
    assert found(viewer, "Rechenzentren") == [datenhafen]
    assert found(viewer, "Cloud") == [datenhafen]
    assert found(owner, "Datenhafen") == []  # a member of another organisation (O)
    # staff and partners see the text as written
    assert read(client, datenhafen)["description"] == DATENHAFEN["description"]
    assert found(client, "Datenhafen") == [datenhafen]


def test_relationship_targets_resolve_only_to_organisations_the_editor_may_see(
    viewer: TestClient, ids: dict[str, int]
) -> None:
    url = f"{API}/{ids['V']}"

    def link(external_id: str) -> Any:
        return viewer.patch(
            url, json={"relationships": [{"type": "partner", "external_id": external_id}]}
        )

    nonexistent = link("NOPE-1")
    assert nonexistent.status_code == 422
    # X-1 is private, O-1 hides its name (and external_id) from V's members: as unknown as NOPE-1
    for hidden in ("X-1", "O-1"):
        answer = link(hidden)
        assert answer.status_code == 422, answer.text
        assert answer.json() == {
            **nonexistent.json(),
            "errors": [
                {
                    "field": "relationships[0].external_id",
                    "message": f"no organisation with external_id {hidden!r}",
                }
            ],
        }
    # by name, a hidden external_id is not linked either
    by_name = viewer.patch(url, json={"relationships": [{"type": "partner", "name": "X-1"}]})
    assert by_name.status_code == 200, by_name.text
    assert by_name.json()["relationships"][0]["related_organization_id"] is None
    # T-1 shows nothing but is a members profile whose name is hidden too; V-1 itself is fine
    assert link("T-1").status_code == 422


def test_a_profile_saved_again_keeps_the_hidden_organisations_it_names_already(
    client: TestClient, viewer: TestClient, ids: dict[str, int]
) -> None:
    url = f"{API}/{ids['V']}"
    # hub staff linked V to O, whose external_id V's members may not see
    staff = client.patch(url, json={"relationships": [{"type": "customer", "external_id": "O-1"}]})
    assert staff.status_code == 200, staff.text
    again = viewer.patch(
        url,
        json={
            "relationships": [
                {"type": "customer", "external_id": "O-1", "revenue_share": 0.6},
                {"type": "supplier", "name": "Zulieferer GmbH"},
            ]
        },
    )
    assert again.status_code == 200, again.text
    # the link is kept, but V's members are not shown which profile it is
    assert [
        (r["type"], r["related_organization_id"], r["name"], r["revenue_share"])
        for r in again.json()["relationships"]
    ] == [("customer", None, "O-1", 0.6), ("supplier", None, "Zulieferer GmbH", None)]
    stored = read(client, ids["V"])["relationships"]
    assert [(r["type"], r["related_organization_id"]) for r in stored] == [
        ("customer", ids["O"]),
        ("supplier", None),
    ]
    # a hidden organisation the profile does not name yet still resolves as unknown
    added = viewer.patch(
        url,
        json={
            "relationships": [
                {"type": "customer", "external_id": "O-1"},
                {"type": "partner", "external_id": "T-1"},
            ]
        },
    )
    assert added.status_code == 422, added.text
    assert added.json()["errors"] == [
        {
            "field": "relationships[1].external_id",
            "message": "no organisation with external_id 'T-1'",
        }
    ]


REGION_CENTRE = (47.9, 10.9)  # DE-8, app.organizations.derived.REGION_CENTRES
ORIGINS = [(48.7758, 9.1829), (49.4521, 11.0767), (47.2692, 11.4041)]


def _bisect(
    caller: TestClient, origin: tuple[float, float], target: int, matches_of: int | None = None
) -> float:
    """The radius from `origin` at which `target` enters a search (or the match list of
    `matches_of`, located at `origin`), to 1 m, as an attacker would find it."""
    low, high = 0.0, 1000.0
    while high - low > 0.001:
        radius = (low + high) / 2
        if matches_of is not None:
            listed = caller.get(
                f"{API}/{matches_of}/matches", params={"max_distance_km": radius, "limit": 100}
            )
            assert listed.status_code == 200, listed.text
            hit = target in [m["organization"]["id"] for m in listed.json()["items"]]
            low, high = (low, radius) if hit else (radius, high)
            continue
        response = caller.post(
            "/api/v1/matches/search",
            json={
                "text": "Rechenzentrumsbetrieb",
                "use_place_names": False,
                "origin": {"latitude": origin[0], "longitude": origin[1]},
                "max_distance_km": radius,
            },
        )
        assert response.status_code == 200, response.text
        hit = target in [m["organization"]["id"] for m in response.json()["items"]]
        low, high = (low, radius) if hit else (radius, high)
    return high


def _trilaterate(distances: list[float]) -> tuple[float, float]:
    """The point whose distances to ORIGINS fit best, on a 0.005 degree grid over Bavaria."""
    lat = np.arange(46.5, 50.5, 0.005)
    lon = np.arange(8.5, 13.5, 0.005)
    grid_lat, grid_lon = np.meshgrid(lat, lon, indexing="ij")
    error = np.zeros_like(grid_lat)
    for (o_lat, o_lon), d in zip(ORIGINS, distances, strict=True):
        error += (haversine_km(o_lat, o_lon, grid_lat, grid_lon) - d) ** 2
    i, j = np.unravel_index(np.argmin(error), error.shape)
    return float(grid_lat[i, j]), float(grid_lon[i, j])


def test_bisecting_distances_to_a_hidden_address_finds_only_its_region(
    client: TestClient, viewer: TestClient, datenhafen: int
) -> None:
    true = (DATENHAFEN["latitude"], DATENHAFEN["longitude"])
    as_member = _trilaterate([_bisect(viewer, origin, datenhafen) for origin in ORIGINS])
    # the member ends at the region's centre, tens of kilometres from the address
    assert float(haversine_km(*as_member, *REGION_CENTRE)) < 1.0
    assert float(haversine_km(*as_member, *true)) > 50.0
    # moving the own organisation to the origin and filtering its own matches: the same
    viewer_org = viewer.get(API, params={"q": "Viewer"}).json()["items"][0]["id"]
    body = {
        "latitude": ORIGINS[0][0],
        "longitude": ORIGINS[0][1],
        "competences": [{"kind": "complementary", "label": "Rechenzentrumsbetrieb"}],
    }
    assert viewer.patch(f"{API}/{viewer_org}", json=body).status_code == 200
    own = _bisect(viewer, ORIGINS[0], datenhafen, matches_of=viewer_org)
    assert abs(own - float(haversine_km(*ORIGINS[0], *REGION_CENTRE))) < 0.01
    # hub staff see the address: the same attack finds it (the control)
    as_staff = _trilaterate([_bisect(client, origin, datenhafen) for origin in ORIGINS])
    assert float(haversine_km(*as_staff, *true)) < 1.0


def test_koopmatch_match_runs_as_the_operator_and_shows_names(
    client: TestClient,
    db_session: Session,
    encoder: Any,
    datenhafen: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app import cli

    asker = {
        "external_id": "SW-1",
        "name": "Speicherwerk AG",
        "nace_code": "62.01",
        "country": "DE",
        "competences": [
            {"kind": "core", "label": "Softwareentwicklung"},
            {"kind": "complementary", "label": "Rechenzentrumsbetrieb"},
        ],
    }
    assert client.post(API, json=asker).status_code == 201
    monkeypatch.setattr(cli, "_session", lambda: db_session)
    monkeypatch.setattr(cli, "_encoder", lambda args: encoder)
    args = argparse.Namespace(
        organization="SW-1",
        limit=1,
        reasons=0,
        country=[],
        no_competitors=False,
        include_known=True,
    )
    assert cli.cmd_match(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert " Datenhafen GmbH (München, DE; NACE 63.11) [complementary]" in lines[0]


def test_the_export_leaves_out_others_partners_only_statements(
    client: TestClient,
    client_for: ClientFactory,
    make_account: AccountFactory,
    db_session: Session,
    ids: dict[str, int],
) -> None:
    # O names T as its customer; O keeps its relationships for partners (the default)
    url = f"{API}/{ids['T']}/export"
    tertia = client_for(make_account(Role.member, ids["T"]))

    def incoming(caller: TestClient) -> list[tuple[int, str]]:
        response = caller.get(url)
        assert response.status_code == 200, response.text
        return [
            (r["organization_id"], r["type"]) for r in response.json()["relationships"]["incoming"]
        ]

    assert incoming(tertia) == []
    assert incoming(client) == [(ids["O"], "customer")]  # an admin
    request(db_session, ids["O"], ids["T"], "accepted")  # partners now
    assert incoming(tertia) == [(ids["O"], "customer")]


def test_reasons_do_not_cite_a_description_the_caller_may_not_see(
    client: TestClient, viewer: TestClient, ids: dict[str, int]
) -> None:
    body = {
        "external_id": "N-1",
        "name": "Nebelwerk KG",
        "description": "Nebelmaschinen",
        "country": "DE",
        "disclosure": {"description": "partners"},
    }
    created = client.post(API, json=body)
    assert created.status_code == 201, created.text

    def reasons(caller: TestClient) -> list[str]:
        response = caller.post("/api/v1/matches/search", json={"text": "Nebelmaschinen"})
        assert response.status_code == 200, response.text
        [item] = [
            i for i in response.json()["items"] if i["organization"]["id"] == created.json()["id"]
        ]
        return [r["text"] for r in item["reasons"] if r["direction"] == "they_cover_my_need"]

    [staff] = reasons(client)
    assert staff.startswith("Their profile description covers your search “Nebelmaschinen”")
    [member] = reasons(viewer)
    assert member == staff.replace("Their profile description", "Their profile")


def test_a_profile_that_hides_its_name_is_warned_where_its_text_gives_it_away(
    client: TestClient, owner: TestClient, ids: dict[str, int]
) -> None:
    created = client.post(API, json=DATENHAFEN)
    assert created.status_code == 201, created.text
    message = (
        "mentions {}, which gives away the name you do not show to everyone; "
        "callers who may not see the name read it masked"
    )
    assert created.json()["warnings"] == [
        {
            "field": "description",
            "message": message.format(
                "“datenhafen-bayern.example”, “datenhafen-bayern”, “Datenhafen”"
            ),
        },
        {"field": "competences[1].label", "message": message.format("“Datenhafen”")},
    ]
    # O's description does not name it; a rewrite that does is warned, a public name is not
    url = f"{API}/{ids['O']}"
    assert owner.patch(url, json={"founded": 1999}).json()["warnings"] == []
    rewritten = owner.patch(url, json={"description": "Sensotec baut Füllstandsensoren"})
    assert rewritten.json()["warnings"] == [
        {"field": "description", "message": message.format("“Sensotec”")}
    ]
    public = owner.patch(url, json={"disclosure": {"name": "public"}})
    assert public.json()["warnings"] == []
    assert read(owner, ids["O"])["warnings"] == []


def test_an_import_warns_where_a_hidden_name_is_in_the_text(client: TestClient) -> None:
    rows = [
        {"external_id": "IM-1", "name": "Kaltwerk GmbH", "description": "Kaltwerk kühlt."},
        {
            "external_id": "IM-2",
            "name": "Offen AG",
            "description": "Offen kühlt.",
            "disclosure": {"name": "public"},
        },
    ]
    response = client.post(f"{API}/import", json=rows)
    assert response.status_code == 200, response.text
    assert [w for w in response.json()["warnings"] if "IM-" in w] == [
        "line 1 (IM-1): description mentions “Kaltwerk”, which gives away the name you do not "
        "show to everyone; callers who may not see the name read it masked"
    ]


def test_an_events_attendees_see_the_name_of_a_registered_organisation_and_no_more() -> None:
    """The "attendee" view of the policy: the name group at every level (registering is the
    consent), every other group as a member of another organisation sees it."""
    for group in disclosure.GROUPS:
        for level in disclosure.LEVELS:
            expected = group == "name" or level in ("public", "members")
            assert disclosure.group_shown("attendee", group, level) is expected, (group, level)
    hidden = Organization(name="Verdeckt Messtechnik GmbH", disclosure={"name": "partners"})
    assert views.attendee_name(hidden) == "Verdeckt Messtechnik GmbH"
