"""The locale of a request: the switch's cookie, else Accept-Language, else English.

Catalogues, plural forms and formatting bound to a locale live in `app.i18n` (the domain
services word answers with them too); they are re-exported here for the pages.
"""

from __future__ import annotations

from starlette.requests import Request

from app.i18n import (
    DEFAULT_LOCALE,
    DISPLAY_ZONE,
    LOCALE_DIR,
    LOCALES,
    Formatter,
    catalogue_path,
    translations,
)

__all__ = [
    "DEFAULT_LOCALE",
    "DISPLAY_ZONE",
    "LOCALES",
    "LOCALE_COOKIE",
    "LOCALE_DIR",
    "Formatter",
    "catalogue_path",
    "request_locale",
    "translations",
]

LOCALE_COOKIE = "km_lang"


def _from_accept_language(header: str) -> str | None:
    """The best of LOCALES by the q-values of an Accept-Language header."""
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = tag.strip().lower().split("-")[0]
        if language in LOCALES and quality > 0:
            choices.append((-quality, position, language))
    return min(choices)[2] if choices else None


def request_locale(request: Request) -> str:
    """The switch's choice (a cookie), else Accept-Language, else English."""
    chosen = request.cookies.get(LOCALE_COOKIE)
    if chosen in LOCALES:
        return chosen
    return _from_accept_language(request.headers.get("accept-language", "")) or DEFAULT_LOCALE
