"""Typed search: the caller's own organisation and known partners, firms that seek the same,
sentences in the caller's language."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.models.user import Role
from tests.app.conftest import AccountFactory, ClientFactory
from tests.app.matches.test_api import NETWORK, ids, names

__all__ = ["ids"]  # the fixture, shared with test_api

SEARCH = "/api/v1/matches/search"


def search(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post(SEARCH, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_firms_that_seek_the_same_are_listed_as_such(
    client: TestClient, ids: dict[str, int]
) -> None:
    body = search(client, text="Drucksensoren")
    # A offers pressure sensors; B states them as a need, so B seeks the same
    assert names(body["items"])[0] == "A"
    assert names(body["seeking_the_same"]) == ["B"]
    reason = body["seeking_the_same"][0]["reasons"][0]
    assert reason["direction"] == "shared_need"
    assert reason["theirs"]["label"] == "Drucksensoren"
    assert reason["text"] == (
        "They are looking for this too: their need “Drucksensoren” matches your search "
        "“Drucksensoren” (buy, train or bid together)."
    )
    assert search(client, text="Drucksensoren", include_seekers=False)["seeking_the_same"] == []


def test_reasons_follow_accept_language_and_lang(client: TestClient, ids: dict[str, int]) -> None:
    german = client.post(
        SEARCH, json={"text": "Drucksensoren"}, headers={"Accept-Language": "de-DE,de;q=0.9"}
    ).json()
    assert german["items"][0]["reasons"][0]["text"] == (
        "Die Kernkompetenz „Drucksensoren“ deckt Ihre Suche „Drucksensoren“ ab."
    )
    english = search(client, text="Drucksensoren", lang="en")
    assert english["items"][0]["reasons"][0]["text"] == (
        "Their core competence “Drucksensoren” covers your search “Drucksensoren”."
    )
    page = client.get(f"/api/v1/organizations/{ids['A']}/matches", params={"lang": "de"}).json()
    assert page["items"][0]["reasons"][0]["text"].startswith(("Die ", "Ihre "))


def test_a_member_never_finds_itself_and_may_leave_out_known_partners(
    client_for: ClientFactory, make_account: AccountFactory, ids: dict[str, int]
) -> None:
    member = client_for(make_account(Role.member, ids["A"]))

    def found(**body: Any) -> list[int]:
        items = search(member, text="Drucksensoren; Kontraktlogistik", **body)["items"]
        return [m["organization"]["id"] for m in items]

    assert ids["A"] not in found()
    assert ids["D"] in found()  # A's known partner, offered unless asked otherwise
    assert ids["D"] not in found(exclude_known=True)
    assert ids["A"] not in found(exclude_known=True)


def test_place_phrases_keep_their_radius(client: TestClient, ids: dict[str, int]) -> None:
    body = search(client, text="Drucksensoren im Umkreis von 100 km um Stuttgart")
    assert body["need"] == "Drucksensoren"
    assert body["applied_filters"]["max_distance_km"] == 100.0
    assert names(body["items"]) == ["A"]  # Stuttgart itself; Nürnberg lies 160 km away
    near = search(client, text="Kunststoffspritzguss in der Nähe von Nürnberg")
    assert near["need"] == "Kunststoffspritzguss"
    assert near["applied_filters"]["max_distance_km"] == 50
    assert names(near["items"]) == ["B"]
    assert len(NETWORK) == 5
