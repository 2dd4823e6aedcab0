"""Honest search answers over HTTP: weak results say so in every sentence, a search bound to a
place that nobody there answers names the closest fit outside it, components stay in [0, 1]."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from app.matches.index import FittedIndex
from app.matches.schemas import MatchedOrganization, MatchOut
from app.matches.service import reason_floor, reason_text, search_answer
from matching import Reason
from matching.relevance import FIRM_FLOORS, RELEVANCE_FLOORS
from tests.app.matches.test_api import ids, names

__all__ = ["ids"]  # the fixture

SEARCH = "/api/v1/matches/search"


def search(client: TestClient, headers: dict[str, str] | None = None, **body: Any) -> Any:
    response = client.post(SEARCH, json=body, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def test_nobody_in_the_place_answers_and_the_closest_fit_outside_is_named(
    client: TestClient, ids: dict[str, int]
) -> None:
    # pressure sensors in Austria: only Delta (contract logistics) sits there, unrelated
    body = search(client, text="Drucksensoren in Österreich", lang="en")
    assert body["applied_filters"]["country"] == ["AT"]
    assert body["items"] == []
    assert names(body["closest_outside"]) == ["A"]
    assert body["closest_outside"][0]["weak"] is False
    assert body["answer"] == (
        "No firm in the region you asked for offers this; the closest fit outside it is "
        "Alpha Sensorik GmbH, DE."
    )
    german = search(
        client, headers={"Accept-Language": "de-AT,de;q=0.9"}, text="Drucksensoren in Österreich"
    )
    assert german["answer"] == (
        "Kein Unternehmen im gesuchten Gebiet bietet das an; am nächsten kommt außerhalb "
        "Alpha Sensorik GmbH, DE."
    )


def reason(direction: str, mine: str | None, theirs: str | None, similarity: float) -> Reason:
    return Reason(
        direction=direction,  # type: ignore[arg-type]
        query_competence_id=None,
        query_label=mine,
        target_competence_id=None,
        target_label=theirs,
        need_kind="complementary",
        similarity=similarity,
    )


INDEX = cast(
    FittedIndex,
    SimpleNamespace(
        encoder_name="use-multilingual-v3",
        matcher=SimpleNamespace(sim_floor_=0.2, description_floor_=0.05),
    ),
)


def test_covers_only_above_the_floor_for_the_pairs_compared() -> None:
    pair = RELEVANCE_FLOORS["use-multilingual-v3"]
    firm = FIRM_FLOORS["use-multilingual-v3"]
    mes = reason("they_cover_my_need", "Baugruppenfertigung", "Manufacturing Execution System", 0.4)
    # one pair: 0.4 reaches 0.311; the best of five cores must reach the floor for five pairs
    assert reason_floor(INDEX, mes) == pair
    assert reason_floor(INDEX, mes, compared=5) == firm[4]
    assert reason_text(mes, lang="en", floor=reason_floor(INDEX, mes, compared=5)) == (
        "Their core competence “Manufacturing Execution System” is only loosely related to "
        "your strategic need “Baugruppenfertigung”."
    )
    assert reason_text(mes, lang="de", floor=reason_floor(INDEX, mes, compared=1)) == (
        "Die Kernkompetenz „Manufacturing Execution System“ deckt Ihren strategischen Bedarf "
        "„Baugruppenfertigung“ ab."
    )
    # more pairs than measured: the last floor
    assert reason_floor(INDEX, mes, compared=50) == firm[-1]
    # a profile description is held to the single-pair floor, not the fitted 0.05
    described = reason("they_cover_my_need", "Cloud-Auswertung", None, 0.13)
    assert reason_floor(INDEX, described, compared=7) == pair
    assert reason_text(described, lang="de", floor=pair) == (
        "Die Profilbeschreibung des Unternehmens passt nur entfernt zu Ihrem strategischen "
        "Bedarf „Cloud-Auswertung“."
    )
    # a weak search result covers nothing, however close one pair is
    assert reason_floor(INDEX, mes, weak=True) == float("inf")
    searched = reason("they_cover_my_need", "OPC-UA-Anbindung", "Monomaterialverbunde aus PP", 0.34)
    assert reason_text(
        searched, typed_need=True, lang="de", floor=reason_floor(INDEX, searched, weak=True)
    ) == (
        "Die Kernkompetenz „Monomaterialverbunde aus PP“ passt nur entfernt zu Ihrer Suche "
        "„OPC-UA-Anbindung“."
    )


def test_an_answered_search_says_how_many_results_offer_it(
    client: TestClient, ids: dict[str, int]
) -> None:
    body = search(client, text="Kunststoffspritzguss", lang="en")
    assert body["closest_outside"] == []
    offering = [m for m in body["items"] if not m["weak"]]
    assert names(offering) == ["C", "B"]
    assert body["answer"] == (
        f"2 of {len(body['items'])} results offer this according to their core competences."
    )
    assert body["items"][0]["reasons"][0]["text"] == (
        "Their core competence “Kunststoffspritzguss” covers your search “Kunststoffspritzguss”."
    )
    # nothing related at all: no result, and no place, so no closest fit outside it
    unanswered = search(client, text="Brückenbau aus Spannbeton", lang="de")
    assert (unanswered["items"], unanswered["closest_outside"]) == ([], [])
    assert unanswered["answer"] == "Kein Ergebnis."


def shown_as(name: str | None, city: str | None, weak: bool) -> MatchOut:
    org = MatchedOrganization.model_construct(name=name, city=city, region="AT-1", country="AT")
    return MatchOut.model_construct(organization=org, weak=weak)


def test_the_answer_sentence_for_weak_results() -> None:
    weak = [shown_as("Folienwerk Lech GmbH", "Landsberg", True)] * 3
    assert search_answer(weak, [], place_bound=False, lang="en", weak_count=3) == (
        "No firm offers this according to its core competences; the results are only "
        "loosely related."
    )
    # hide_weak left them all out: still no firm offers it, not "no results"
    assert search_answer([], [], place_bound=False, lang="de", weak_count=3) == (
        "Kein Unternehmen bietet das laut seinen Kernkompetenzen an; die Ergebnisse passen "
        "nur entfernt."
    )
    assert search_answer(weak, [], place_bound=True, lang="en", weak_count=3) == (
        "No firm in the region you asked for offers this, nor does any firm elsewhere."
    )
    assert search_answer(weak, [], place_bound=True, lang="de", weak_count=3) == (
        "Kein Unternehmen im gesuchten Gebiet bietet das an; auch anderswo nicht."
    )
    # a hidden name and city: what the caller may see of the closest fit
    hidden = [shown_as(None, None, False)]
    assert search_answer(weak, hidden, place_bound=True, lang="en", weak_count=3) == (
        "No firm in the region you asked for offers this; the closest fit outside it is an "
        "organisation, AT-1."
    )


def test_components_lie_in_the_unit_interval_and_reasons_never_cite_none(
    client: TestClient, ids: dict[str, int]
) -> None:
    pages = [
        client.get(f"/api/v1/organizations/{ids[x]}/matches", params={"lang": lang}).json()
        for x in ("A", "B", "C", "D")
        for lang in ("de", "en")
    ]
    pages.append(search(client, text="Drucksensoren; Kontraktlogistik"))
    items = [m for page in pages for m in page["items"]]
    assert len(items) >= 8
    for m in items:
        assert all(0.0 <= v <= 1.0 for v in m["components"].values()), m["components"]
        for r in m["reasons"]:
            assert "None" not in r["text"]
            assert "“”" not in r["text"] and "„“" not in r["text"]


def offering(count: int, *, by_line: bool = False) -> MatchOut:
    org = MatchedOrganization.model_construct(name="Alpha", city="Ulm", region=None, country="DE")
    reasons = [reason("what_they_are" if by_line else "they_offer", "x", "x", 0.9)]
    return MatchOut.model_construct(organization=org, weak=False, reasons=reasons)


@pytest.mark.parametrize(
    ("strong", "weak", "lang", "answer"),
    [
        (1, 0, "en", "1 of 1 result offers this according to its core competences."),
        (1, 0, "de", "1 von 1 Ergebnis bietet das laut seinen Kernkompetenzen an."),
        (1, 2, "en", "1 of 3 results offers this according to its core competences."),
        (1, 2, "de", "1 von 3 Ergebnissen bietet das laut seinen Kernkompetenzen an."),
        (2, 1, "en", "2 of 3 results offer this according to their core competences."),
        (2, 1, "de", "2 von 3 Ergebnissen bieten das laut ihren Kernkompetenzen an."),
    ],
)
def test_the_answer_sentence_counts_in_the_language_s_plural_forms(
    strong: int, weak: int, lang: str, answer: str
) -> None:
    items = [offering(1)] * strong + [shown_as("Beta", "Graz", True)] * weak
    assert search_answer(items, [], place_bound=False, lang=lang, weak_count=weak) == answer  # type: ignore[arg-type]


def test_the_answer_sentence_by_line_of_business_in_the_singular() -> None:
    items = [offering(1, by_line=True)]
    assert search_answer(items, [], place_bound=False, lang="de") == (
        "1 von 1 Ergebnis bietet das laut seinen Kernkompetenzen oder seinem Wirtschaftszweig an."
    )
    assert search_answer(items * 2, [], place_bound=False, lang="en") == (
        "2 of 2 results offer this according to their core competences or line of business."
    )
