"""Place words and request phrasing in typed needs."""

from __future__ import annotations

import pytest

from matching.text import parse_need
from matching.types import Filters


def test_region_gives_country_origin_and_radius() -> None:
    h = parse_need("wir suchen jemanden für OPC-UA-Anbindung in Süddeutschland")
    assert h.need_text == "OPC-UA-Anbindung"
    assert h.places == ("Süddeutschland",)
    assert h.countries == frozenset({"DE"})
    assert h.origin == (48.6, 10.2)
    assert h.max_distance_km == 250


def test_countries_union_without_radius() -> None:
    h = parse_need("Laserschweißen aus Österreich oder der Schweiz")
    assert h.need_text == "Laserschweißen"
    assert h.countries == frozenset({"AT", "CH"})
    assert h.origin is None
    assert h.max_distance_km is None


@pytest.mark.parametrize(
    ("text", "need", "countries"),
    [
        (
            "We are looking for a partner for injection moulding in Bavaria",
            "injection moulding",
            {"DE"},
        ),
        ("Oesterreich: Prüflabor für EMV", "Prüflabor für EMV", {"AT"}),
        (
            "Wir brauchen Unterstützung bei IT-Sicherheit im DACH-Raum",
            "IT-Sicherheit",
            {"DE", "AT", "CH"},
        ),
        ("CNC-Fräsen Sachsen-Anhalt", "CNC-Fräsen", {"DE"}),
        ("Kunststoffspritzguss", "Kunststoffspritzguss", set()),
        ("Hamburger Hafenlogistik", "Hamburger Hafenlogistik", set()),
        ("Sachsen und Thüringen: Galvanik", "Galvanik", {"DE"}),
    ],
)
def test_need_text_and_countries(text: str, need: str, countries: set[str]) -> None:
    h = parse_need(text)
    assert h.need_text == need
    assert h.countries == frozenset(countries)


def test_longer_name_wins_over_contained_name() -> None:
    h = parse_need("Galvanik in Sachsen-Anhalt")
    assert h.places == ("Sachsen-Anhalt",)
    assert h.origin == (51.95, 11.7)
    h = parse_need("Werkzeugbau Oberösterreich")
    assert h.places == ("Oberösterreich",)
    assert h.countries == frozenset({"AT"})


def test_text_that_is_only_a_place_keeps_the_text() -> None:
    h = parse_need("Bayern")
    assert h.need_text == "Bayern"
    assert h.places == ("Bayern",)


def test_apply_fills_unset_filters_only() -> None:
    h = parse_need("Spritzguss in Bayern")
    f = h.apply(Filters())
    assert f.countries == frozenset({"DE"})
    assert f.origin == (48.95, 11.4)
    assert f.max_distance_km == 200
    explicit = Filters(countries=frozenset({"AT"}), max_distance_km=20, origin=(48.2, 16.4))
    assert h.apply(explicit) == explicit
    assert parse_need("Spritzguss").apply(Filters()) == Filters()


@pytest.mark.parametrize(
    ("text", "need", "place", "radius"),
    [
        ("wir suchen jemanden für OPC-UA-Anbindung im Umkreis von 100 km um Stuttgart",
         "OPC-UA-Anbindung", "Stuttgart", 100.0),
        ("Lasertechnik in der Nähe von Stuttgart", "Lasertechnik", "Stuttgart", 50),
        ("PCB assembly near Munich", "PCB assembly", "Munich", 50),
        ("EMS partner within 120 km of Munich", "EMS partner", "Munich", 120.0),
        ("Fräsen bis 80 km um Nürnberg", "Fräsen", "Nürnberg", 80.0),
    ],
)  # fmt: skip
def test_place_phrases_are_read_with_their_radius(
    text: str, need: str, place: str, radius: float
) -> None:
    hint = parse_need(text)
    assert (hint.need_text, hint.places, hint.max_distance_km) == (need, (place,), radius)
    assert hint.countries == frozenset({"DE"})


@pytest.mark.parametrize(
    ("text", "need", "origin", "radius"),
    [
        ("CNC-Zerspanung im Umkreis von 100 km um Stuttgart", "CNC-Zerspanung", (48.78, 9.18), 100),
        ("MES-Software in der Nähe von Stuttgart", "MES-Software", (48.78, 9.18), 50),
        ("laser cutting near Munich", "laser cutting", (48.14, 11.58), 50),
        ("Laserschneiden rund um München", "Laserschneiden", (48.14, 11.58), 50),
        ("steel trading within 50 km of Hamburg", "steel trading", (53.55, 10.0), 50),
        ("welding in the Stuttgart area", "welding", (48.78, 9.18), 50),
        ("Schweißen in der Region Stuttgart", "Schweißen", (48.78, 9.18), 50),
        ("pumps around Cologne within 30 km", "pumps", (50.94, 6.96), 30),
        ("Pumpen in Köln, im Umkreis von 30 km", "Pumpen", (50.94, 6.96), 30),
        # the country that holds the city is no second place
        ("machining within 100 km of Stuttgart, Germany", "machining", (48.78, 9.18), 100),
    ],
)
def test_place_phrases_before_or_after_the_place_and_with_a_country(
    text: str, need: str, origin: tuple[float, float], radius: float
) -> None:
    hint = parse_need(text)
    assert hint.need_text == need
    assert hint.origin == origin
    assert hint.max_distance_km == radius
    assert hint.countries == frozenset({"DE"})


def test_two_regions_keep_no_circle() -> None:
    hint = parse_need("Sensoren in Stuttgart und München")
    assert hint.need_text == "Sensoren"
    assert (hint.origin, hint.max_distance_km) == (None, None)
    assert hint.countries == frozenset({"DE"})
