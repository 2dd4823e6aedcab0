"""Attributes derived from a profile and shown in place of what it may hide: size class,
industry, region, and the point that stands for a region in distance filters.

Nothing here reads the database or knows who is asking.
"""

from __future__ import annotations

from typing import Literal

SizeClass = Literal["micro", "small", "medium", "large"]

# lower head-count bounds of the EU SME size classes, in order
SIZE_BOUNDS: tuple[tuple[SizeClass, int], ...] = (
    ("micro", 0),
    ("small", 10),
    ("medium", 50),
    ("large", 250),
)
SIZE_LOWER_BOUNDS: tuple[int, ...] = tuple(low for _, low in SIZE_BOUNDS)


def size_class(employees: int | None) -> SizeClass | None:
    """The EU SME size class by head count: micro < 10, small < 50, medium < 250."""
    if employees is None:
        return None
    found: SizeClass = "micro"
    for name, low in SIZE_BOUNDS:
        if employees >= low:
            found = name
    return found


def industry_of(nace_code: str | None) -> str | None:
    """The NACE division ('26' of '26.51'), or the section letter when only that is known."""
    if nace_code is None:
        return None
    return nace_code[:2] if nace_code[:2].isdigit() else nace_code[:1]


# countries whose postal codes start with a digit that names a region
_POSTAL_REGIONS = frozenset({"DE", "AT", "CH"})


def region(country: str | None, postal_code: str | None) -> str | None:
    """Country plus the first postal-code digit for DE/AT/CH ("DE-7"), else the country."""
    if country is None:
        return None
    code = (postal_code or "").strip()
    if country in _POSTAL_REGIONS and code[:1].isdigit():
        return f"{country}-{code[0]}"
    return country


# The point that stands for a region where the caller may not see an address: distances to
# such an organisation are measured to it, so a distance filter tells no more than the region
# (rounded to 0.1 degree; approximate centres of the postal-code areas and countries).
REGION_CENTRES: dict[str, tuple[float, float]] = {
    "DE-0": (51.1, 12.9),
    "DE-1": (52.8, 13.3),
    "DE-2": (53.6, 9.6),
    "DE-3": (52.0, 10.2),
    "DE-4": (51.8, 7.5),
    "DE-5": (50.6, 7.1),
    "DE-6": (49.8, 8.2),
    "DE-7": (48.5, 9.0),
    "DE-8": (47.9, 10.9),
    "DE-9": (49.7, 11.2),
    "DE": (51.2, 10.4),
    "AT-1": (48.2, 16.4),
    "AT-2": (48.0, 16.2),
    "AT-3": (48.3, 15.4),
    "AT-4": (48.2, 14.0),
    "AT-5": (47.6, 13.1),
    "AT-6": (47.2, 11.0),
    "AT-7": (47.5, 16.4),
    "AT-8": (47.2, 15.3),
    "AT-9": (46.7, 13.8),
    "AT": (47.6, 14.1),
    "CH-1": (46.4, 6.8),
    "CH-2": (47.0, 6.9),
    "CH-3": (46.9, 7.5),
    "CH-4": (47.5, 7.7),
    "CH-5": (47.4, 8.1),
    "CH-6": (46.6, 8.6),
    "CH-7": (46.7, 9.6),
    "CH-8": (47.4, 8.6),
    "CH-9": (47.4, 9.3),
    "CH": (46.8, 8.2),
    "BE": (50.6, 4.7),
    "BG": (42.7, 25.5),
    "CY": (35.0, 33.2),
    "CZ": (49.8, 15.5),
    "DK": (56.0, 10.0),
    "EE": (58.6, 25.0),
    "ES": (40.2, -3.6),
    "FI": (64.5, 26.0),
    "FR": (46.6, 2.4),
    "GB": (54.0, -2.5),
    "GR": (39.1, 22.0),
    "HR": (45.1, 15.2),
    "HU": (47.2, 19.5),
    "IE": (53.2, -8.2),
    "IS": (64.9, -18.6),
    "IT": (42.8, 12.6),
    "LI": (47.2, 9.6),
    "LT": (55.2, 23.9),
    "LU": (49.8, 6.1),
    "LV": (56.9, 24.6),
    "MT": (35.9, 14.4),
    "NL": (52.2, 5.3),
    "NO": (61.5, 9.0),
    "PL": (52.0, 19.1),
    "PT": (39.6, -8.0),
    "RO": (45.9, 25.0),
    "SE": (62.0, 15.0),
    "SI": (46.1, 14.8),
    "SK": (48.7, 19.7),
}


def region_centre(country: str | None, postal_code: str | None) -> tuple[float, float] | None:
    """The point that stands for the organisation's region (the country's where the region
    has none); None when neither is known."""
    name = region(country, postal_code)
    if name is None:
        return None
    centre = REGION_CENTRES.get(name)
    if centre is None and country is not None:
        centre = REGION_CENTRES.get(country)
    return centre
