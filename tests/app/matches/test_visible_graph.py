"""An organisation's match list ranks by the relationships the caller may see only."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.models.user import Role
from tests.app.conftest import AccountFactory, ClientFactory

API = "/api/v1/organizations"


def _create(client: TestClient, body: dict[str, Any]) -> int:
    response = client.post(API, json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _scores(caller: TestClient, organization_id: int) -> dict[int, float]:
    response = caller.get(
        f"{API}/{organization_id}/matches", params={"exclude_known": "false", "limit": 50}
    )
    assert response.status_code == 200, response.text
    return {m["organization"]["id"]: m["score"] for m in response.json()["items"]}


def test_hidden_relationships_of_others_do_not_move_the_own_match_list(
    client: TestClient, client_for: ClientFactory, make_account: AccountFactory
) -> None:
    """C states (partners only) that it works with A's partner B and with D. A's member ranks
    C and D exactly as if C stated nothing: no shared partner, degree or walk through C's
    list, although B shows its own list. Hub staff rank with every relationship."""
    a = _create(
        client,
        {
            "external_id": "A-1",
            "name": "Anfrage AG",
            "country": "DE",
            "competences": [
                {"kind": "core", "label": "Silologistik"},
                {"kind": "complementary", "label": "Füllstandsensorik"},
            ],
            "relationships": [],
        },
    )
    b = _create(
        client,
        {
            "external_id": "B-1",
            "name": "Bekannt GmbH",
            "country": "DE",
            "competences": [{"kind": "core", "label": "Füllstandsensorik"}],
            # B shows its own list to everyone: that shows nothing of what C states about B
            "disclosure": {"relationships": "public"},
        },
    )
    d = _create(
        client,
        {
            "external_id": "D-1",
            "name": "Dritte KG",
            "country": "DE",
            "competences": [{"kind": "core", "label": "Füllstandsensorik für Silos"}],
        },
    )
    c = _create(
        client,
        {
            "external_id": "C-1",
            "name": "Verdeckt GmbH",
            "country": "DE",
            "competences": [{"kind": "core", "label": "Füllstandsensorik und Radar"}],
            "relationships": [
                {"type": "partner", "external_id": "B-1"},
                {"type": "customer", "external_id": "D-1"},
            ],
        },
    )
    linked = client.patch(
        f"{API}/{a}", json={"relationships": [{"type": "partner", "external_id": "B-1"}]}
    )
    assert linked.status_code == 200, linked.text
    member = client_for(make_account(Role.member, a))
    with_list = _scores(member, a)
    staff_with_list = _scores(client, a)
    assert {b, c, d} <= set(with_list)
    # C's list stays where it is, but says nothing: now without it
    cleared = client.patch(f"{API}/{c}", json={"relationships": []})
    assert cleared.status_code == 200, cleared.text
    without_list = _scores(member, a)
    assert with_list == without_list
    # staff see C's list: it moved their ranking of C
    assert _scores(client, a)[c] != staff_with_list[c]


def test_a_search_without_known_partners_keeps_those_whose_lists_are_hidden(
    client: TestClient, client_for: ClientFactory, make_account: AccountFactory
) -> None:
    """L lists A as its customer, for partners only: A's member searching with exclude_known
    still finds L (leaving it out would tell L's list); once L shows its list to members, L
    is a known one and left out."""
    a = _create(
        client,
        {
            "external_id": "A-1",
            "name": "Anfrage AG",
            "country": "DE",
            "competences": [{"kind": "core", "label": "Silologistik"}],
        },
    )
    lister = _create(
        client,
        {
            "external_id": "L-1",
            "name": "Liste GmbH",
            "country": "DE",
            "competences": [{"kind": "core", "label": "Füllstandsensorik"}],
            "relationships": [{"type": "customer", "external_id": "A-1"}],
        },
    )
    member = client_for(make_account(Role.member, a))

    def found() -> list[int]:
        response = member.post(
            "/api/v1/matches/search",
            json={"text": "Füllstandsensorik", "use_place_names": False, "exclude_known": True},
        )
        assert response.status_code == 200, response.text
        return [m["organization"]["id"] for m in response.json()["items"]]

    assert lister in found()
    shown = client.patch(f"{API}/{lister}", json={"disclosure": {"relationships": "members"}})
    assert shown.status_code == 200, shown.text
    assert lister not in found()
