"""Reasons read as sentences in the caller's language and never overstate a weak pair."""

from __future__ import annotations

import pytest

from app.matches.service import detect_language, language_of, reason_text
from matching.types import Reason, ReasonDirection


def reason(
    direction: ReasonDirection = "they_cover_my_need",
    *,
    mine: str | None = "OPC-UA-Anbindung",
    theirs: str | None = "OPC UA and MQTT integration",
    similarity: float = 0.41,
    kind: str | None = "complementary",
) -> Reason:
    return Reason(
        direction=direction,
        query_competence_id=1 if mine else None,
        query_label=mine,
        target_competence_id=2 if theirs else None,
        target_label=theirs,
        need_kind=kind,  # type: ignore[arg-type]
        similarity=similarity,
    )


def test_covers_only_at_or_above_the_floor_in_english() -> None:
    assert reason_text(reason(), floor=0.31) == (
        "Their core competence “OPC UA and MQTT integration” covers your strategic need "
        "“OPC-UA-Anbindung”."
    )
    assert reason_text(reason(similarity=0.25), floor=0.31) == (
        "Their core competence “OPC UA and MQTT integration” is only loosely related to your "
        "strategic need “OPC-UA-Anbindung”."
    )


def test_german_sentences() -> None:
    assert reason_text(reason(kind="peripheral"), lang="de", floor=0.31) == (
        "Die Kernkompetenz „OPC UA and MQTT integration“ deckt Ihren Nebenbedarf "
        "„OPC-UA-Anbindung“ ab."
    )
    assert reason_text(reason(similarity=0.2), lang="de", floor=0.31, typed_need=True) == (
        "Die Kernkompetenz „OPC UA and MQTT integration“ passt nur entfernt zu Ihrer Suche "
        "„OPC-UA-Anbindung“."
    )
    assert reason_text(reason("similar_profile"), lang="de") == (
        "Ihre Profilbeschreibungen nennen verwandte Tätigkeiten."
    )


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize(
    "direction", ["they_cover_my_need", "i_cover_their_need", "shared_core", "shared_need"]
)
def test_a_missing_label_is_never_called_none(lang: str, direction: ReasonDirection) -> None:
    for mine, theirs in ((None, "Drucksensoren"), ("Drucksensoren", None)):
        text = reason_text(reason(direction, mine=mine, theirs=theirs), lang=lang)  # type: ignore[arg-type]
        assert "None" not in text
        offered_by_description = (direction == "they_cover_my_need" and theirs is None) or (
            direction == "i_cover_their_need" and mine is None
        )
        if offered_by_description:
            assert ("Profilbeschreibung" if lang == "de" else "profile description") in text


def test_description_reasons_name_the_description() -> None:
    assert reason_text(reason(theirs=None), typed_need=True) == (
        "Their profile description covers your search “OPC-UA-Anbindung”."
    )
    assert reason_text(reason("i_cover_their_need", mine=None, theirs="Spritzguss")) == (
        "Your profile description covers their strategic need “Spritzguss”."
    )


def test_language_of_the_caller() -> None:
    assert language_of("de", "en-GB,en;q=0.9", None) == "de"
    assert language_of(None, "fr-FR,de;q=0.8,en;q=0.5", None) == "de"
    assert language_of(None, "en-US,en;q=0.9,de;q=0.8", "Wir fertigen Drucksensoren") == "en"
    assert language_of(None, None, "Wir fertigen Drucksensoren für die Industrie") == "de"
    assert language_of(None, None, "We build pressure sensors for the industry") == "en"
    assert detect_language(None) == "en"
    assert detect_language("wir suchen jemanden für OPC-UA-Anbindung") == "de"
