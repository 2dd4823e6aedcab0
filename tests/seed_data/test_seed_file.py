"""Checks of the demo seed files: seed_data/organizations.json and the German NACE labels.

These tests read the files directly (json, csv, naceconverter) and do not need the application.
"""

import csv
import json
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from naceconverter import NACEConverter

SEED_DIR = Path(__file__).resolve().parents[2] / "seed_data"
ORGS_FILE = SEED_DIR / "organizations.json"
LABELS_FILE = SEED_DIR / "nace_sections_divisions_de.csv"

# fmt: off
FIELDS = {
    "external_id", "name", "description", "nace_code", "country", "city", "postal_code",
    "latitude", "longitude", "employees", "website", "founded", "competences", "relationships",
    "cooperation_interests", "visibility", "contact_name", "contact_email", "contact_phone",
}
# what a firm chose to show beyond the defaults, given by some records only
OPTIONAL_FIELDS = {"disclosure", "hide_from_competitors"}
KINDS = {"core", "complementary", "peripheral"}
REL_TYPES = {"customer", "supplier", "partner"}
INTERESTS = {
    "data_sharing", "product_development", "purchasing_sales", "competence_building", "training",
}
VISIBILITIES = {"public", "members", "private"}
# ISO 3166-1 alpha-2 codes of European states: the demo data is European.
EUROPE = {
    "AD", "AL", "AT", "BA", "BE", "BG", "BY", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI",
    "FR", "GB", "GR", "HR", "HU", "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MC", "MD", "ME",
    "MK", "MT", "NL", "NO", "PL", "PT", "RO", "RS", "SE", "SI", "SK", "SM", "UA", "VA",
}
# Function words that are frequent in one language and (almost) absent from the other; a sentence
# belongs to the language whose words it contains more of.
GERMAN_WORDS = {
    "und", "wir", "die", "der", "das", "für", "mit", "unsere", "unser", "ist", "sind", "ein",
    "eine", "von", "bei", "auf", "den", "dem", "des", "zu", "nach", "wird", "werden", "uns",
    "sich", "auch", "aus", "oder", "im", "am",
}
ENGLISH_WORDS = {
    "and", "we", "the", "for", "with", "our", "are", "is", "a", "an", "of", "to", "on", "by",
    "from", "that", "us", "it", "at", "as", "or", "who", "into", "their",
}
# The industries the demo must show (NACE divisions), among others.
REQUIRED_DIVISIONS = {
    "10", "20", "21", "22", "25", "26", "27", "28", "29", "33", "35", "43", "46", "49", "62", "63",
    "71", "72", "85", "86",
}
# fmt: on


@cache
def orgs() -> list[dict[str, Any]]:
    data = json.loads(ORGS_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


@cache
def nace() -> NACEConverter:
    return NACEConverter()


def by_name(name: str) -> dict[str, Any]:
    (org,) = [o for o in orgs() if o["name"] == name]
    return org


def sentence_language(sentence: str) -> str:
    tokens = re.findall(r"[a-zäöüß]+", sentence.lower())
    german = sum(t in GERMAN_WORDS for t in tokens)
    english = sum(t in ENGLISH_WORDS for t in tokens)
    return "de" if german > english else "en" if english > german else "?"


def description_language(text: str) -> str:
    """'de', 'en' or 'mix' (sentences of both languages)."""
    found = {sentence_language(s) for s in re.split(r"(?<=[.!?])\s+", text) if s}
    if {"de", "en"} <= found:
        return "mix"
    return "de" if "de" in found else "en" if "en" in found else "?"


def test_record_count_and_fields() -> None:
    assert len(orgs()) == 170
    for org in orgs():
        assert FIELDS <= set(org) <= FIELDS | OPTIONAL_FIELDS, org["external_id"]
        assert org["name"] and len(org["name"]) <= 300


def test_external_ids_unique_and_shaped() -> None:
    ids = [o["external_id"] for o in orgs()]
    assert len(set(ids)) == 170
    for org in orgs():
        assert re.fullmatch(r"KM-[A-Z]{2}-\d{4}", org["external_id"])
        assert org["external_id"][3:5] == org["country"]


def test_relationships_resolve_inside_the_file() -> None:
    ids = {o["external_id"] for o in orgs()}
    by_id = by_name_count = 0
    for org in orgs():
        for rel in org["relationships"]:
            assert rel["type"] in REL_TYPES
            share = rel["revenue_share"]
            assert share is None or 0 < share <= 1
            if "external_id" in rel:
                assert "name" not in rel
                assert rel["external_id"] in ids
                assert rel["external_id"] != org["external_id"]
                by_id += 1
            else:
                assert rel["name"]
                by_name_count += 1
    assert (by_id, by_name_count) == (366, 26)


def test_linked_relationships_are_mutually_consistent() -> None:
    """If both sides name each other, a customer on one side is a supplier on the other."""
    inverse = {"customer": "supplier", "supplier": "customer", "partner": "partner"}
    links = {
        (o["external_id"], r["external_id"]): r["type"]
        for o in orgs()
        for r in o["relationships"]
        if "external_id" in r
    }
    conflicts = [
        (a, b) for (a, b), t in links.items() if (b, a) in links and links[(b, a)] != inverse[t]
    ]
    assert conflicts == []


def test_customer_revenue_shares() -> None:
    for org in orgs():
        customers = [r for r in org["relationships"] if r["type"] == "customer"]
        total = sum(r["revenue_share"] or 0 for r in customers)
        assert total <= 1.0, org["external_id"]
        for rel in org["relationships"]:
            if rel["type"] != "customer":
                assert rel["revenue_share"] is None
    dependent = {
        o["external_id"]
        for o in orgs()
        for r in o["relationships"]
        if r["type"] == "customer" and r["revenue_share"] and 0.4 <= r["revenue_share"] <= 0.7
    }
    assert len(dependent) == 22
    assert "KM-DE-0034" in dependent  # Kessler: two thirds of revenue from one carmaker


def test_nace_codes_exist_in_naceconverter() -> None:
    codes = nace().codes_dict
    for org in orgs():
        assert org["nace_code"] in codes, (org["external_id"], org["nace_code"])
    divisions = Counter(o["nace_code"][:2] for o in orgs())
    assert len(divisions) == 38
    for required in REQUIRED_DIVISIONS:
        assert divisions[required] >= 1, required
    assert divisions["62"] == 19


def test_countries() -> None:
    countries = Counter(o["country"] for o in orgs())
    assert set(countries) <= EUROPE
    assert (countries["DE"], countries["AT"], countries["CH"]) == (106, 18, 12)
    assert len(set(countries) - {"DE", "AT", "CH"}) == 18


def test_location_and_profile_fields() -> None:
    for org in orgs():
        assert org["city"] and org["postal_code"]
        # Every seeded organisation sits in Europe, from Portugal to Finland.
        assert 38.0 <= org["latitude"] <= 62.0 and -9.5 <= org["longitude"] <= 25.0
        assert org["employees"] is None or org["employees"] >= 1
        assert org["founded"] is None or 1850 <= org["founded"] <= 2026
        if org["website"] is not None:
            assert re.fullmatch(r"https://www\.[a-z0-9-]+\.example", org["website"])
    assert sum(o["website"] is None for o in orgs()) == 3
    assert sum(o["employees"] is None for o in orgs()) == 1
    assert sum(o["founded"] is None for o in orgs()) == 1
    # A few large firms (1000 or more employees) among mostly small and medium-sized ones.
    sizes = Counter(
        "large" if o["employees"] >= 1000 else "smaller"
        for o in orgs()
        if o["employees"] is not None
    )
    assert sizes == {"smaller": 164, "large": 5}
    assert sum(o["employees"] < 250 for o in orgs() if o["employees"] is not None) == 148


def test_enums() -> None:
    visibility = Counter(o["visibility"] for o in orgs())
    assert set(visibility) == VISIBILITIES
    assert visibility == {"public": 159, "members": 8, "private": 3}
    for org in orgs():
        assert org["cooperation_interests"]
        assert set(org["cooperation_interests"]) <= INTERESTS
        assert len(set(org["cooperation_interests"])) == len(org["cooperation_interests"])
        assert {c["kind"] for c in org["competences"]} <= KINDS
    every_interest = {i for o in orgs() for i in o["cooperation_interests"]}
    assert every_interest == INTERESTS


def test_competences_per_organisation() -> None:
    for org in orgs():
        kinds = Counter(c["kind"] for c in org["competences"])
        assert 2 <= kinds["core"] <= 6, org["external_id"]
        assert 1 <= kinds["complementary"] <= 4, org["external_id"]
        assert kinds["peripheral"] <= 3, org["external_id"]
        labels = [c["label"].lower() for c in org["competences"]]
        assert len(labels) == len(set(labels)), org["external_id"]
        assert all(0 < len(label) <= 200 for label in labels)
    all_competences = [c for o in orgs() for c in o["competences"]]
    assert Counter(c["kind"] for c in all_competences) == {
        "core": 520,
        "complementary": 337,
        "peripheral": 219,
    }
    # Descriptions are optional; some competences carry one to show the field in the demo.
    assert sum(c["description"] is not None for c in all_competences) == 22


def test_description_languages() -> None:
    languages = Counter(description_language(o["description"]) for o in orgs())
    assert languages == {"de": 83, "en": 58, "mix": 29}
    for org in orgs():
        assert 2 <= len(re.split(r"(?<=[.!?])\s+", org["description"])) <= 5, org["external_id"]


def test_same_skill_phrased_independently_in_each_language() -> None:
    labels = {c["label"] for o in orgs() for c in o["competences"]}
    assert {"Kunststoffspritzguss", "plastic injection moulding"} <= labels
    assert {"Schwingungssensorik", "vibration sensing"} <= labels
    assert {
        "Rückverfolgbarkeits-Software für Lebensmittel",
        "farm-to-fork traceability platform",
    } <= labels


@pytest.mark.parametrize(
    ("names", "nace_code"),
    [
        (["Sensotec GmbH", "Vibronix Messtechnik GmbH", "SenseAlp AG"], "26.51"),
        (
            [
                "Kunststofftechnik Oberland GmbH & Co. KG",
                "PolyForm Präzisionsteile GmbH",
                "Moldline Plastics B.V.",
            ],
            "22.26",
        ),
        (["FDS Fertigungsdatensysteme GmbH", "Prodexa Software GmbH"], "62.10"),
        (
            [
                "Bergmolkerei Allgäu eG",
                "Käserei Oberemmental AG",
                "Sennereigenossenschaft Bregenzerwald eGen",
            ],
            "10.51",
        ),
        (
            ["Voltaris Batteriesysteme GmbH", "Nordic Pack Systems AB", "AkkuTech Steiermark GmbH"],
            "27.20",
        ),
        (["RecyPlast Rheinland GmbH", "Polymer Loop GmbH", "Circulo Plásticos S.L."], "38.21"),
        (["Transporte Gruber GmbH", "TransLub Sp. z o.o."], "49.41"),
    ],
)
def test_competitor_groups_share_niche_and_coopetition_interest(
    names: list[str], nace_code: str
) -> None:
    group = [by_name(n) for n in names]
    assert {o["nace_code"] for o in group} == {nace_code}
    shared = set.intersection(*(set(o["cooperation_interests"]) for o in group))
    assert shared & {"purchasing_sales", "training"}


@pytest.mark.parametrize(
    ("anchor", "divisions"),
    [
        ("Weserbergland Pumpenbau GmbH", {"22", "24", "25", "26", "33", "62", "63"}),
        ("Bergmolkerei Allgäu eG", {"18", "22", "49", "62", "71", "72"}),
        ("Voltaris Batteriesysteme GmbH", {"27", "29", "38", "62", "71"}),
        ("Hansen Bau GmbH & Co. KG", {"16", "25", "41", "43", "46", "62", "71", "77"}),
        ("Spedition Brandt GmbH & Co. KG", {"49", "52", "62", "63", "85"}),
        ("RecyPlast Rheinland GmbH", {"22", "28", "38", "46", "62", "72"}),
        ("Medilux Medizintechnik GmbH", {"26", "62", "70"}),
        ("Bildungszentrum Metall Südwestfalen gGmbH", {"25", "28", "85"}),
    ],
)
def test_value_networks_span_industries(anchor: str, divisions: set[str]) -> None:
    """Organisations linked to the anchor (either direction) come from these NACE divisions."""
    by_id = {o["external_id"]: o for o in orgs()}
    anchor_id = by_name(anchor)["external_id"]
    linked = {r["external_id"] for r in by_name(anchor)["relationships"] if "external_id" in r}
    linked |= {
        o["external_id"]
        for o in orgs()
        for r in o["relationships"]
        if r.get("external_id") == anchor_id
    }
    assert {by_id[i]["nace_code"][:2] for i in linked} == divisions


def test_german_labels_cover_every_section_and_division() -> None:
    with LABELS_FILE.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["code", "label_de"]
        rows = list(reader)
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes)) == 109
    expected = {c for c, info in nace().codes_dict.items() if info["level"] in (1, 2)}
    assert set(codes) == expected
    assert all(r["label_de"].strip() for r in rows)
    labels = {r["code"]: r["label_de"] for r in rows}
    assert labels["C"] == "Verarbeitendes Gewerbe"
    assert labels["28"] == "Maschinenbau"
    assert labels["72"] == "Forschung und Entwicklung"


def test_contacts_are_invented_and_disclosure_choices_vary() -> None:
    emails = [o["contact_email"] for o in orgs()]
    assert len(set(emails)) == 170
    # only reserved example domains: no real person or firm can be reached
    assert all(e.split("@")[1].endswith(".example") for e in emails)
    chosen = [o["disclosure"] for o in orgs() if "disclosure" in o]
    assert len(chosen) == 73
    assert sum(1 for d in chosen if d.get("name") == "public") == 16
    assert sum(1 for o in orgs() if o.get("hide_from_competitors")) == 15
