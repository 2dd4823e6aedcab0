"""Free-text need queries: find place words ("Süddeutschland", "Österreich", "Bayern"), turn them
into filter hints, and strip them and the request phrasing from the need text.

"wir suchen jemanden für OPC-UA-Anbindung in Süddeutschland" becomes the need
"OPC-UA-Anbindung" plus a hint: country DE, within 250 km of the centre of southern Germany.

Typical use:

    hint = parse_need(text)
    matches = matcher.search(encoder.encode([hint.need_text]), [hint.need_text],
                             filters=hint.apply(filters))
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from matching.types import Filters


@dataclass(frozen=True, slots=True)
class Place:
    """A place word: the countries it lies in and, for regions, a centre and a radius."""

    countries: frozenset[str]
    centre: tuple[float, float] | None = None
    radius_km: float | None = None


def _c(*codes: str) -> frozenset[str]:
    return frozenset(codes)


def _r(country: str, lat: float, lon: float, radius: float) -> Place:
    return Place(_c(country), (lat, lon), radius)


# Names are matched case-insensitively, as whole words, with ä/ö/ü/ß also written ae/oe/ue/ss.
# Radii are generous: a region hint should not drop a firm just across its border.
PLACES: dict[str, Place] = {
    # countries
    "Deutschland": Place(_c("DE")),
    "Germany": Place(_c("DE")),
    "BRD": Place(_c("DE")),
    "Österreich": Place(_c("AT")),
    "Austria": Place(_c("AT")),
    "Schweiz": Place(_c("CH")),
    "Switzerland": Place(_c("CH")),
    "DACH": Place(_c("DE", "AT", "CH")),
    "D-A-CH": Place(_c("DE", "AT", "CH")),
    "Liechtenstein": Place(_c("LI")),
    "Luxemburg": Place(_c("LU")),
    "Luxembourg": Place(_c("LU")),
    "Frankreich": Place(_c("FR")),
    "France": Place(_c("FR")),
    "Italien": Place(_c("IT")),
    "Italy": Place(_c("IT")),
    "Niederlande": Place(_c("NL")),
    "Netherlands": Place(_c("NL")),
    "Holland": Place(_c("NL")),
    "Belgien": Place(_c("BE")),
    "Belgium": Place(_c("BE")),
    "Polen": Place(_c("PL")),
    "Poland": Place(_c("PL")),
    "Tschechien": Place(_c("CZ")),
    "Czechia": Place(_c("CZ")),
    "Czech Republic": Place(_c("CZ")),
    "Dänemark": Place(_c("DK")),
    "Denmark": Place(_c("DK")),
    "Spanien": Place(_c("ES")),
    "Spain": Place(_c("ES")),
    "Schweden": Place(_c("SE")),
    "Sweden": Place(_c("SE")),
    # parts of Germany
    "Süddeutschland": _r("DE", 48.6, 10.2, 250),
    "southern Germany": _r("DE", 48.6, 10.2, 250),
    "south Germany": _r("DE", 48.6, 10.2, 250),
    "Norddeutschland": _r("DE", 53.3, 9.8, 250),
    "northern Germany": _r("DE", 53.3, 9.8, 250),
    "Westdeutschland": _r("DE", 51.0, 7.2, 200),
    "western Germany": _r("DE", 51.0, 7.2, 200),
    "Ostdeutschland": _r("DE", 51.8, 12.8, 250),
    "eastern Germany": _r("DE", 51.8, 12.8, 250),
    "Mitteldeutschland": _r("DE", 51.2, 11.5, 180),
    "Bayern": _r("DE", 48.95, 11.4, 200),
    "Bavaria": _r("DE", 48.95, 11.4, 200),
    "Baden-Württemberg": _r("DE", 48.6, 9.0, 150),
    "BaWü": _r("DE", 48.6, 9.0, 150),
    "Nordrhein-Westfalen": _r("DE", 51.45, 7.6, 140),
    "NRW": _r("DE", 51.45, 7.6, 140),
    "Ruhrgebiet": _r("DE", 51.5, 7.3, 60),
    "Hessen": _r("DE", 50.6, 9.0, 120),
    "Niedersachsen": _r("DE", 52.7, 9.2, 180),
    "Sachsen": _r("DE", 51.05, 13.3, 120),
    "Sachsen-Anhalt": _r("DE", 51.95, 11.7, 120),
    "Thüringen": _r("DE", 50.9, 11.0, 100),
    "Rheinland-Pfalz": _r("DE", 49.9, 7.4, 120),
    "Saarland": _r("DE", 49.4, 6.95, 50),
    "Schleswig-Holstein": _r("DE", 54.2, 9.8, 120),
    "Mecklenburg-Vorpommern": _r("DE", 53.8, 12.5, 150),
    "Brandenburg": _r("DE", 52.4, 13.0, 150),
    "Berlin": _r("DE", 52.52, 13.40, 50),
    "Hamburg": _r("DE", 53.55, 10.0, 50),
    "Bremen": _r("DE", 53.08, 8.8, 40),
    "München": _r("DE", 48.14, 11.58, 50),
    "Munich": _r("DE", 48.14, 11.58, 50),
    "Stuttgart": _r("DE", 48.78, 9.18, 50),
    "Köln": _r("DE", 50.94, 6.96, 50),
    "Cologne": _r("DE", 50.94, 6.96, 50),
    "Frankfurt": _r("DE", 50.11, 8.68, 50),
    "Nürnberg": _r("DE", 49.45, 11.08, 50),
    "Dresden": _r("DE", 51.05, 13.74, 50),
    "Leipzig": _r("DE", 51.34, 12.37, 50),
    # parts of Austria and Switzerland
    "Wien": _r("AT", 48.21, 16.37, 50),
    "Vienna": _r("AT", 48.21, 16.37, 50),
    "Oberösterreich": _r("AT", 48.2, 14.0, 90),
    "Niederösterreich": _r("AT", 48.3, 15.7, 110),
    "Steiermark": _r("AT", 47.25, 15.0, 100),
    "Tirol": _r("AT", 47.2, 11.4, 100),
    "Vorarlberg": _r("AT", 47.25, 9.9, 50),
    "Salzburg": _r("AT", 47.6, 13.1, 70),
    "Kärnten": _r("AT", 46.75, 13.8, 80),
    "Graz": _r("AT", 47.07, 15.44, 40),
    "Linz": _r("AT", 48.31, 14.29, 40),
    "Zürich": _r("CH", 47.37, 8.54, 50),
    "Zurich": _r("CH", 47.37, 8.54, 50),
    "Basel": _r("CH", 47.56, 7.59, 40),
    "Bern": _r("CH", 46.95, 7.45, 50),
    "Ostschweiz": _r("CH", 47.4, 9.3, 70),
}

_FOLD = {"ä": "(?:ä|ae)", "ö": "(?:ö|oe)", "ü": "(?:ü|ue)", "ß": "(?:ß|ss)"}
# "im Umkreis von 100 km um", "bis 80 km von", "within 100 km of", "100 km around": a radius
_RADIUS = (
    r"(?:(?:im\s+)?umkreis\s+von\s+|bis\s+(?:zu\s+)?|maximal\s+|max\.?\s+|höchstens\s+"
    r"|hoechstens\s+|within\s+|up\s+to\s+|at\s+most\s+)?"
    r"(?P<km>\d{1,4}(?:[.,]\d+)?)\s*(?:km|kilometer[ns]?|kilometres?)\s*"
    r"(?:(?:um|rund\s+um|von|vom|ab|of|from|around)\s+)?"
)
_PREP = (
    r"(?:(?:oder|und|sowie|or|and)\s+)?"
    r"(?:" + _RADIUS + "|"
    r"(?:(?:in|im|aus|um|bei|nahe|rund\s+um|near|from|around|within|close\s+to"
    r"|in\s+der\s+n(?:ä|ae)he\s+von|in\s+der\s+n(?:ä|ae)he|n(?:ä|ae)he"
    r"|in\s+the\s+vicinity\s+of|in\s+the\s+area\s+of|in\s+the\s+region\s+of|im\s+raum"
    r"|in\s+der\s+region|in\s+der\s+gegend\s+um|in\s+the\s+region)\s+)?)"
    r"(?:(?:der|die|dem|den|the)\s+)?"
)
_SUFFIX = r"(?:[-\s]?(?:raum|region|gebiet|area))?"
# a radius named after the place: "Köln, im Umkreis von 30 km", "Cologne within 30 km",
# "München (+50 km)"
_TRAILING_RADIUS = (
    r"(?:\s*[,(]?\s*(?:(?:im\s+)?umkreis\s+von|bis|within|up\s+to|\+)?\s*"
    r"(?P<km_after>\d{1,4}(?:[.,]\d+)?)\s*(?:km|kilometer[ns]?|kilometres?)"
    r"(?:\s+(?:umkreis|radius|around))?\s*\)?)?"
)
# Longest names first, so "Sachsen-Anhalt" wins over "Sachsen" and "Oberösterreich" over
# "Österreich".
_PLACE_RE = [
    (
        name,
        re.compile(
            _PREP
            + r"(?<![\w-])"
            + "".join(_FOLD.get(ch, re.escape(ch)) for ch in name.lower())
            + _SUFFIX
            + r"(?![\w-])"
            + _TRAILING_RADIUS,
            re.IGNORECASE,
        ),
    )
    for name in sorted(PLACES, key=len, reverse=True)
]
_REQUEST_RE = re.compile(
    r"^\s*(?:"
    r"(?:wir|ich)\s+(?:suchen|suche|brauchen|brauche|benötigen|benoetigen)\s+"
    r"(?:(?:dringend|noch|aktuell)\s+)?"
    r"(?:(?:jemanden|einen\s+partner|eine\s+partnerin|partner|ein\s+unternehmen|eine\s+firma|"
    r"einen\s+dienstleister|einen\s+lieferanten|unterstützung|hilfe|firmen|unternehmen)\s+)?"
    r"(?:(?:für|fuer|zur|zum|bei|mit|der|die|das|im\s+bereich)\s+)?"
    r"|gesucht(?:\s+wird)?:?\s+|suche:?\s+"
    r"|(?:we\s+are|we're|i\s+am|i'm)\s+(?:looking|searching)\s+for\s+"
    r"(?:(?:someone|a\s+partner|partners|a\s+company|companies|a\s+supplier|a\s+provider|"
    r"help|support)\s+)?(?:(?:for|with|in|to|who\s+can|that\s+can)\s+)?"
    r"|(?:we|i)\s+need\s+(?:(?:someone|a\s+partner|help|support)\s+)?"
    r"(?:(?:for|with|in|to|who\s+can)\s+)?"
    r"|looking\s+for\s+(?:(?:someone|a\s+partner|a\s+company)\s+)?(?:(?:for|with|to)\s+)?"
    r")",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class QueryHint:
    """What a typed need says besides the need itself."""

    need_text: str
    places: tuple[str, ...] = ()
    countries: frozenset[str] = frozenset()
    origin: tuple[float, float] | None = None
    max_distance_km: float | None = None

    def apply(self, filters: Filters) -> Filters:
        """`filters` completed with the hint; whatever the caller set explicitly wins."""
        changes: dict[str, object] = {}
        if not filters.countries and self.countries:
            changes["countries"] = self.countries
        if filters.max_distance_km is None and filters.origin is None and self.origin:
            changes["origin"] = self.origin
            changes["max_distance_km"] = self.max_distance_km
        return replace(filters, **changes) if changes else filters  # type: ignore[arg-type]


def parse_need(text: str) -> QueryHint:
    """Split a typed need into the need text and place hints.

    Several places give the union of their countries; a radius is kept only when exactly one
    region is named (two circles cannot be expressed as one origin and radius); a country
    named with it that contains the region ("Stuttgart, Germany") does not count as a second
    place. A radius stated before or after the place ("im Umkreis von 100 km um Stuttgart",
    "Cologne within 30 km") beats the region's default.
    """
    rest = text
    found: list[str] = []
    radii: list[float] = []
    for name, pattern in _PLACE_RE:
        for m in pattern.finditer(rest):
            for group in ("km", "km_after"):
                if m.group(group):
                    radii.append(float(m.group(group).replace(",", ".")))
        rest, n = pattern.subn(" ", rest)
        if n:
            found.append(name)
    countries: set[str] = set()
    for name in found:
        countries |= PLACES[name].countries
    regions = [PLACES[n] for n in found if PLACES[n].centre is not None]
    origin, radius = None, None
    others = [PLACES[n] for n in found if PLACES[n].centre is None]
    if len(regions) == 1 and all(p.countries >= regions[0].countries for p in others):
        origin, radius = regions[0].centre, regions[0].radius_km
        if len(radii) == 1 and radii[0] > 0:
            radius = radii[0]  # the radius the text names beats the region's default
    need = _REQUEST_RE.sub("", rest, count=1)
    # Connectives left dangling by the removal ("und", "oder", commas) go too.
    need = re.sub(r"\s+(?:und|oder|and|or|bzw\.?)\s*$", "", need.strip(), flags=re.IGNORECASE)
    need = re.sub(r"\s+([,.;:!?])", r"\1", re.sub(r"\s{2,}", " ", need)).strip(" ,.;:!?-")
    return QueryHint(
        need_text=need or text.strip(),
        places=tuple(sorted(found)),
        countries=frozenset(countries),
        origin=origin,
        max_distance_km=radius,
    )
