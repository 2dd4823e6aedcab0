"""German and English catalogues, plural forms, dates and numbers, bound to one locale.

Shared by the pages (`app.web.i18n` adds the locale of a request) and by the domain services
that word an answer in the caller's language (the search's answer in `app.matches.service`).
The catalogues (`locale/<lang>/LC_MESSAGES/messages.po`, `make messages`) are compiled in
memory when first used, so no compiled file has to be built or committed.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, get_timezone_name
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

LOCALES = ("de", "en")
DEFAULT_LOCALE = "en"
LOCALE_DIR = Path(__file__).with_name("locale")
# the platform serves German-speaking regions first; times are shown in their zone, and name it
# (MEZ / MESZ in German; the offset in English, whose CLDR data has no abbreviation for it)
DISPLAY_ZONE = ZoneInfo("Europe/Berlin")


def N_(message: str) -> str:
    """Marks a message for the catalogues (`make messages`) where it is defined; it is
    translated where it is shown."""
    return message


class Message:
    """A sentence as a template marked for the catalogues (`N_`) and its named values: `str()`
    is the English text the API answers; pages translate the template and fill in the same
    values (`Formatter.gettext(message.template, **message.values)`)."""

    __slots__ = ("template", "values")

    def __init__(self, template: str, **values: Any) -> None:
        self.template = template
        self.values = values

    def __str__(self) -> str:
        return self.template % self.values if self.values else self.template

    def __repr__(self) -> str:
        return f"Message({self.template!r}, **{self.values!r})"

    def dump(self) -> dict[str, Any]:
        """The template and values as JSON, for a sentence stored now and shown later in the
        language of whoever reads it (`load`). A value that is itself a message, or a `Number`,
        is kept as one; other values that JSON has no type for are stored as their text."""
        return {"template": self.template, "values": _dump_values(self.values)}

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> Message:
        """The message `dump` stored."""
        values = {
            name: cls.load(value)
            if _is_dumped(value)
            else Number(value["number"])
            if _is_number(value)
            else value
            for name, value in dict(data.get("values") or {}).items()
        }
        return cls(str(data["template"]), **values)


class Number(int):
    """A count or limit inside a message: its English text has thousands separators ("50,000",
    as the API words it); pages write it as the reader's language does ("50.000")."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"{int(self):,}"

    def __repr__(self) -> str:
        return f"Number({int(self)})"


def _is_dumped(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"template", "values"}


def _is_number(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"number"}


def _dump_values(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, Message):
            out[name] = value.dump()
        elif isinstance(value, Number):
            out[name] = {"number": int(value)}
        elif value is None or isinstance(value, bool | int | float | str):
            out[name] = value
        else:
            out[name] = str(value)
    return out


class FieldProblem(ValueError):
    """A validator's complaint with values (`message`): its text is the English the API
    answers; pages translate the template and fill in the same values."""

    def __init__(self, template: str, **values: Any) -> None:
        self.message = Message(template, **values)
        super().__init__(str(self.message))


def catalogue_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


@cache
def translations(locale: str) -> Translations:
    """The compiled catalogue of a locale."""
    with catalogue_path(locale).open("rb") as po:
        catalog = read_po(po, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


class Formatter:
    """gettext and Babel formatting bound to one locale, for templates and views."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._babel = Locale.parse(locale)
        self._translations = translations(locale)

    def gettext(self, message: str, **values: Any) -> str:
        text = self._translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        text = self._translations.ngettext(singular, plural, n)
        return text % {"num": n, **values}

    def number(self, value: float | int | None) -> str:
        return "" if value is None else format_decimal(value, locale=self._babel)

    def percent(self, value: float | None) -> str:
        return "" if value is None else format_percent(value, locale=self._babel)

    def datetime(self, value: dt.datetime | None) -> str:
        """The locale's medium date and short time in DISPLAY_ZONE, followed by the zone's
        short name for that moment (summer or winter time)."""
        if value is None:
            return ""
        # a naive value is UTC, as the database stores it (not the server's local time)
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        local = aware.astimezone(DISPLAY_ZONE)
        date = format_date(local, "medium", locale=self._babel)
        time = format_datetime(local, self._babel.time_formats["short"], locale=self._babel)
        moment = self._babel.datetime_formats["medium"].format(time, date)
        return f"{moment} {get_timezone_name(local, 'short', locale=self._babel)}"

    def date(self, value: dt.date | None) -> str:
        return "" if value is None else format_date(value, "medium", locale=self._babel)

    def region(self, code: str | None) -> str:
        """A region as the pages name it ("DE-7": "Germany, postcode area 7"; "FR":
        "France"): the country's name from Babel's CLDR data in this locale, the code where
        CLDR has none."""
        if not code:
            return ""
        country, _, area = code.partition("-")
        name = self._babel.territories.get(country.upper(), country)
        if area:
            return self.gettext("%(country)s, postcode area %(area)s", country=name, area=area)
        return str(name)

    def callables(self) -> dict[str, Callable[..., str]]:
        return {
            "_": self.gettext,
            "gettext": self.gettext,
            "ngettext": self.ngettext,
            "fmt_number": self.number,
            "fmt_percent": self.percent,
            "fmt_datetime": self.datetime,
            "fmt_date": self.date,
            "fmt_region": self.region,
        }
