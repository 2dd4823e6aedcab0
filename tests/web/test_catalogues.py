"""German and English are complete: every string of the pages is in both catalogues, translated."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract, extract_from_dir
from babel.messages.pofile import read_po

from app.web import i18n

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "app" / "web"
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]


# other modules whose wording is in the catalogues, as app/babel.cfg names them one by one: the
# search's answer, the names of regions, the profile's validation messages, the services' errors
OTHER_SOURCES = [
    ROOT / path
    for path in re.findall(
        r"^\[python: (app/[^*\]]+\.py)\]$", (ROOT / "app" / "babel.cfg").read_text(), re.M
    )
]


def _source_messages() -> set[str | tuple[str, str]]:
    found: set[str | tuple[str, str]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(WEB), METHODS, keywords=KEYWORDS, options_map={"**/templates/**.html": {}}
    ):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    for path in OTHER_SOURCES:
        with path.open("rb") as source:
            for _line, message, _comments, _context in extract("python", source, KEYWORDS):
                found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_page_string_is_translated(locale: str) -> None:
    with i18n.catalogue_path(locale).open("rb") as po:
        catalog = read_po(po, locale=locale)
    translated = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else tuple(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        translated[key] = all(s.strip() for s in strings) and not message.fuzzy
    source = _source_messages()
    assert len(source) > 200  # the extraction found the pages' strings
    assert sorted(map(str, source - set(translated))) == []
    assert sorted(str(k) for k, ok in translated.items() if not ok) == []
    # no leftovers: the catalogue has no string the pages no longer use
    assert sorted(map(str, set(translated) - source)) == []


def test_the_catalogues_translate_at_run_time() -> None:
    assert i18n.Formatter("de").gettext("Sign in") == "Anmelden"
    assert i18n.Formatter("en").gettext("Sign in") == "Sign in"
    german = i18n.Formatter("de")
    assert (
        german.ngettext("%(num)d partner found", "%(num)d partners found", 3)
        == "3 Partner gefunden"
    )
    assert german.number(1234.5) == "1.234,5"
    assert i18n.Formatter("en").number(1234.5) == "1,234.5"
    assert german.percent(0.55) == "55\xa0%"  # a no-break space, as German typesetting wants


def test_dates_times_and_numbers_follow_the_locale() -> None:
    german, english = i18n.Formatter("de"), i18n.Formatter("en")
    winter = dt.datetime(2026, 12, 7, 9, 43, tzinfo=dt.UTC)
    # shortly after midnight in Berlin's summer time, still the day before in UTC
    summer = dt.datetime(2026, 7, 1, 22, 5, tzinfo=dt.UTC)
    assert german.datetime(winter) == "07.12.2026, 10:43 MEZ"
    assert german.datetime(summer) == "02.07.2026, 00:05 MESZ"
    assert english.datetime(winter) == "Dec 7, 2026, 10:43\u202fAM +0100"
    assert english.datetime(summer) == "Jul 2, 2026, 12:05\u202fAM +0200"
    # a naive value is read as UTC, as the database stores it
    assert german.datetime(winter.replace(tzinfo=None)) == "07.12.2026, 10:43 MEZ"
    assert german.date(dt.date(2026, 7, 1)) == "01.07.2026"
    assert english.date(dt.date(2026, 7, 1)) == "Jul 1, 2026"
    assert german.number(1234567.5) == "1.234.567,5"
    assert english.number(1234567.5) == "1,234,567.5"
    assert english.percent(0.55) == "55%"
    assert german.datetime(None) == english.date(None) == german.number(None) == ""
