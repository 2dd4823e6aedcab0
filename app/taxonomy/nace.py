"""NACE Rev. 2.1 code list, read from the `naceconverter` package (levels 1-4 only)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

LEVELS = {1: "section", 2: "division", 3: "group", 4: "class"}
_GERMAN_LABELS = (
    Path(__file__).resolve().parents[2] / "seed_data" / "nace_sections_divisions_de.csv"
)
_CODE = re.compile(r"^(?:[A-Za-z](?=\d))?(\d{2})(?:\.?(\d)(\d)?)?$")


@dataclass(frozen=True, slots=True)
class NaceEntry:
    code: str
    parent_code: str | None
    level: int
    label_en: str


@cache
def nace_entries() -> dict[str, NaceEntry]:
    """All sections, divisions, groups and classes keyed by code ("C", "26", "26.5", "26.51")."""
    text = resources.files("naceconverter").joinpath("nacecodes.csv").read_text(encoding="utf-8")
    entries: dict[str, NaceEntry] = {}
    for row in csv.DictReader(text.splitlines(), delimiter=";"):
        level = int(row["level"])
        if level not in LEVELS:  # level 5 is a national extension, not NACE
            continue
        entries[row["code"]] = NaceEntry(
            code=row["code"],
            parent_code=row["parentCode"] or None,
            level=level,
            label_en=row["name"].strip(),
        )
    return entries


@cache
def german_labels() -> dict[str, str]:
    """German labels for sections and divisions (seed_data/nace_sections_divisions_de.csv)."""
    if not _GERMAN_LABELS.exists():
        return {}
    with _GERMAN_LABELS.open(encoding="utf-8", newline="") as fh:
        return {row["code"]: row["label_de"] for row in csv.DictReader(fh)}


def normalize_nace_code(raw: str) -> str | None:
    """Canonical form of a NACE code ("C26.51", "2651", "26.51" -> "26.51"); None if malformed.

    A lone section letter is upper-cased. Existence is not checked here.
    """
    value = raw.strip().replace(" ", "")
    if len(value) == 1 and value.isalpha():
        return value.upper()
    match = _CODE.match(value)
    if match is None:
        return None
    division, group, klass = match.groups()
    if group is None:
        return division
    if klass is None:
        return f"{division}.{group}"
    return f"{division}.{group}{klass}"


def section_of(code: str) -> str | None:
    """The section letter a code belongs to."""
    entries = nace_entries()
    current = entries.get(code)
    while current is not None and current.level > 1:
        current = entries.get(current.parent_code or "")
    return current.code if current is not None else None


def division_of(code: str | None) -> str | None:
    """The two-digit division of a code, None for a section or no code."""
    if code is None or not code[:2].isdigit():
        return None
    return code[:2]
