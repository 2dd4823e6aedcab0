"""Typed search finds a firm by what it is (the titles of its NACE code), over HTTP.

The small network of test_api (hashing encoder): Delta Logistik's core competence is
"Kontraktlogistik", its NACE code 49.41 "Freight transport by road". The hashing encoder has
no measured identity floors, so the test gives it some; without them nothing changes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.matches import service
from tests.app.matches.test_api import ids, names

__all__ = ["ids"]  # the fixture

SEARCH = "/api/v1/matches/search"
TEXT = "Freight transport by road"


def test_a_firm_is_found_by_its_nace_title_and_says_so(
    client: TestClient, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "wordless_floors", lambda name: (0.6,) * 8)
    body = client.post(SEARCH, json={"text": TEXT, "lang": "en"}).json()
    first = body["items"][0]
    assert first["organization"]["external_id"] == "D"
    assert first["weak"] is False
    assert [m["weak"] for m in body["items"][1:]] == [True] * (len(body["items"]) - 1)
    assert first["reasons"][0] == {
        "direction": "what_they_are",
        "mine": {"id": None, "label": TEXT, "kind": "complementary"},
        "theirs": {"id": None, "label": "Freight transport by road", "kind": "nace"},
        "similarity": 1.0,
        "covers": True,
        "text": "Their line of business “Freight transport by road” matches your search "
        "“Freight transport by road”.",
    }
    assert body["answer"] == (
        "1 of 1 result offers this according to its core competences or line of business."
    )
    german = client.post(SEARCH, json={"text": TEXT, "lang": "de"}).json()
    assert german["answer"] == (
        "1 von 1 Ergebnis bietet das laut seinen Kernkompetenzen oder seinem Wirtschaftszweig an."
    )
    assert german["items"][0]["reasons"][0]["text"] == (
        "Der Wirtschaftszweig des Unternehmens „Freight transport by road“ entspricht "
        "Ihrer Suche „Freight transport by road“."
    )
    hidden = client.post(SEARCH, json={"text": TEXT, "hide_weak": True}).json()
    assert names(hidden["items"]) == ["D"]


def test_without_identity_floors_the_title_is_no_evidence(
    client: TestClient, ids: dict[str, int]
) -> None:
    body = client.post(SEARCH, json={"text": TEXT, "lang": "en"}).json()
    assert all(m["weak"] for m in body["items"])
    assert all(r["direction"] != "what_they_are" for m in body["items"] for r in m["reasons"])
