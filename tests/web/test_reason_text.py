"""A reason on a match card says "covers" only when the pair reaches the calibrated floor;
below it the card says the two are only loosely related, in German and English."""

from __future__ import annotations

import pytest

from app.matches.schemas import CompetenceRef, ReasonOut
from app.web import i18n
from app.web.rendering import environment


def _reason(
    direction: str, covers: bool, theirs: str | None = "Monomaterialverbunde aus PP"
) -> ReasonOut:
    return ReasonOut(
        direction=direction,  # type: ignore[arg-type]
        mine=CompetenceRef(id=1, kind="complementary", label="OPC-UA-Anbindung"),
        theirs=CompetenceRef(id=2, kind="core", label=theirs) if theirs else None,
        similarity=0.34 if covers else 0.12,
        covers=covers,
        text="",
    )


def _render(reason: ReasonOut, typed: bool, locale: str) -> str:
    template = environment.from_string(
        '{% import "macros.html" as m with context %}{{ m.reason_text(reason, typed) }}'
    )
    return template.render(
        reason=reason,
        typed=typed,
        csrf_field="csrf_token",
        csrf_token="",
        **i18n.Formatter(locale).callables(),
    ).strip()


@pytest.mark.parametrize(
    ("direction", "covers", "theirs", "typed", "locale", "expected"),
    [
        (
            "they_cover_my_need",
            True,
            "Monomaterialverbunde aus PP",
            True,
            "en",
            "Their core competence “Monomaterialverbunde aus PP” covers your search “OPC-UA-Anbindung”.",
        ),
        (
            "they_cover_my_need",
            False,
            "Monomaterialverbunde aus PP",
            True,
            "en",
            "Their core competence “Monomaterialverbunde aus PP” is only loosely related to your search “OPC-UA-Anbindung”.",
        ),
        (
            "they_cover_my_need",
            False,
            "Monomaterialverbunde aus PP",
            True,
            "de",
            "Deren Kernkompetenz „Monomaterialverbunde aus PP“ passt nur entfernt zu Ihrer Suche „OPC-UA-Anbindung“.",
        ),
        (
            "they_cover_my_need",
            False,
            None,
            False,
            "de",
            "Deren Profilbeschreibung passt nur entfernt zu Ihrem Bedarf „OPC-UA-Anbindung“.",
        ),
        (
            "i_cover_their_need",
            False,
            "Monomaterialverbunde aus PP",
            False,
            "en",
            "Your core competence “OPC-UA-Anbindung” is only loosely related to their need “Monomaterialverbunde aus PP”.",
        ),
        (
            "what_they_are",
            True,
            "Manufacture of food products",
            True,
            "en",
            "Their line of business “Manufacture of food products” matches your search “OPC-UA-Anbindung”.",
        ),
        (
            "what_they_are",
            True,
            "Herstellung von Nahrungs- und Futtermitteln",
            True,
            "de",
            "Deren Wirtschaftszweig „Herstellung von Nahrungs- und Futtermitteln“ entspricht Ihrer Suche „OPC-UA-Anbindung“.",
        ),
    ],
)
def test_a_reason_below_the_floor_never_says_covers(
    direction: str, covers: bool, theirs: str | None, typed: bool, locale: str, expected: str
) -> None:
    assert _render(_reason(direction, covers, theirs), typed, locale) == expected
