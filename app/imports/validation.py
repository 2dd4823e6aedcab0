"""Checking parsed rows against the import contract (`OrganizationRecord`).

Every problem becomes a `RowError` with the record's line, a field path in contract terms
("competences[1].kind") and a sentence hub staff understand: a template marked for the
catalogues and its values (`RowError.of`), whose English text the API answers and which pages
show in their language; nothing here raises. Relationships that
name an external_id are not looked up: the import service resolves them against the file and the
database.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from app.i18n import N_, FieldProblem, Message
from app.imports.parsing import RowError, SourceRow
from app.organizations.disclosure import GROUPS, LEVELS
from app.organizations.schemas import (
    SCALAR_FIELDS,
    CompetenceKind,
    CooperationInterest,
    OrganizationRecord,
    RelationshipType,
    Visibility,
)


@dataclass(frozen=True, slots=True)
class ValidRow:
    """A checked record. `given` names the contract fields the file states for it, an explicit
    null or empty cell included (it clears the stored value); a field not in `given` was absent
    (no column, no key) and leaves the stored value alone. `covers` as in `SourceRow`."""

    line: int
    record: OrganizationRecord
    given: frozenset[str] = frozenset(OrganizationRecord.model_fields)
    covers: dict[str, frozenset[str]] | None = None


# Fields an explicitly empty cell (or a JSON null) clears. The others keep their stored value
# when empty: a blank visibility, opt-out or disclosure cell is not taken as "make it public".
CLEARABLE = (frozenset(SCALAR_FIELDS) - {"name", "visibility", "hide_from_competitors"}) | {
    "competences",
    "relationships",
    "cooperation_interests",
}
_CONTRACT_FIELDS = frozenset(OrganizationRecord.model_fields)


def given_fields(data: dict[str, Any]) -> frozenset[str]:
    """The contract fields a record states: present with a value, or empty where that clears."""
    return frozenset(
        key
        for key, value in data.items()
        if key in _CONTRACT_FIELDS and (value is not None or key in CLEARABLE)
    )


# Spreadsheets turn ids, postal codes and NACE codes into numbers; as text they are what was meant.
_TEXT_FIELDS = ("external_id", "postal_code", "nace_code")
_REQUIRED_FIELDS = frozenset({"external_id", "name"})
# Enum values as hub staff write them: any case, spaces or hyphens for underscores, some German.
_ENUM_ALIASES: dict[str, str] = {
    "öffentlich": "public",
    "oeffentlich": "public",
    "mitglieder": "members",
    "nur_mitglieder": "members",
    "privat": "private",
    "kern": "core",
    "kernkompetenz": "core",
    "komplementär": "complementary",
    "komplementaer": "complementary",
    "peripher": "peripheral",
    "kunde": "customer",
    "lieferant": "supplier",
    "datenaustausch": "data_sharing",
    "produktentwicklung": "product_development",
    "einkauf_vertrieb": "purchasing_sales",
    "einkauf_und_vertrieb": "purchasing_sales",
    "kompetenzaufbau": "competence_building",
    "weiterbildung": "training",
    "schulung": "training",
}
# Disclosure groups and levels as hub staff write them (keys after `_ENUM_SEPARATORS`).
_GROUP_ALIASES: dict[str, str] = {
    "firmenname": "name",
    "firma": "name",
    "webseite": "website",
    "homepage": "website",
    "kontakt": "contacts",
    "kontakte": "contacts",
    "contact": "contacts",
    "mitarbeiter": "employees",
    "mitarbeitende": "employees",
    "beschäftigte": "employees",
    "beschaeftigte": "employees",
    "adresse": "address",
    "anschrift": "address",
    "standort": "address",
    "beschreibung": "description",
    "beziehungen": "relationships",
    "gründung": "founded",
    "gruendung": "founded",
    "gründungsjahr": "founded",
    "gruendungsjahr": "founded",
}
_LEVEL_ALIASES: dict[str, str] = {
    "öffentlich": "public",
    "oeffentlich": "public",
    "alle": "public",
    "mitglieder": "members",
    "partner": "partners",
}
_BOOLEAN_WORDS: dict[str, bool] = {
    "ja": True,
    "j": True,
    "wahr": True,
    "x": True,
    "nein": False,
    "falsch": False,
}
_PAIR_SEPARATORS = re.compile(r"[;,\n]+")
_ENUM_SEPARATORS = re.compile(r"[\s\-/]+")
_VISIBILITIES = frozenset(item.value for item in Visibility)
_INTERESTS = frozenset(item.value for item in CooperationInterest)
_KINDS = frozenset(item.value for item in CompetenceKind)
_TYPES = frozenset(item.value for item in RelationshipType)


def validate_rows(rows: Sequence[SourceRow]) -> tuple[list[ValidRow], list[RowError]]:
    """Valid records and the errors of the others, both in file order; never raises.

    A repeated external_id is an error on every occurrence after the first (the first stays valid
    if it is otherwise valid).
    """
    valid: list[ValidRow] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    for row in rows:
        data = row.data if isinstance(row.data, dict) else {}
        external_id = _raw_external_id(data)
        if external_id is not None:
            if external_id in first_line:
                errors.append(
                    RowError.of(
                        row.line,
                        "external_id",
                        Message(
                            N_(
                                "external_id '%(external_id)s' appears more than once in the "
                                "file; it was first used on line %(first)s"
                            ),
                            external_id=external_id,
                            first=first_line[external_id],
                        ),
                        external_id,
                    )
                )
                continue
            first_line[external_id] = row.line
        if not isinstance(row.data, dict):
            errors.append(
                RowError.of(row.line, None, Message(N_("the record is not an object")), external_id)
            )
            continue
        try:
            outcome = _check(row, external_id)
        except Exception as exc:  # a checker tripped over an input nobody foresaw: reject the row
            outcome = [
                RowError.of(
                    row.line,
                    None,
                    Message(N_("the record cannot be checked (%(reason)s)"), reason=str(exc)),
                    external_id,
                )
            ]
        if isinstance(outcome, ValidRow):
            valid.append(outcome)
        else:
            errors.extend(outcome)
    return valid, errors


def _check(row: SourceRow, external_id: str | None) -> ValidRow | list[RowError]:
    try:
        record = OrganizationRecord.model_validate(_prepare(row.data))
    except ValidationError as exc:
        return [
            RowError.of(row.line, _path(error["loc"]), _reason(error, row.data), external_id)
            for error in exc.errors(include_url=False)
        ]
    return ValidRow(row.line, record, given_fields(row.data), row.covers)


def _raw_external_id(data: dict[str, Any]) -> str | None:
    value = _as_text(data.get("external_id"))
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _as_text(value: Any) -> Any:
    """Numbers from spreadsheets as the text they stand for (1017.0 -> "1017")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return value


def _enum_value(value: Any, allowed: frozenset[str]) -> Any:
    if not isinstance(value, str) or value in allowed:
        return value
    key = _ENUM_SEPARATORS.sub("_", value.strip().casefold())
    key = _ENUM_ALIASES.get(key, key)
    # An unknown value stays as written, so the error message quotes what the file says.
    return key if key in allowed else value


def _prepare(data: dict[str, Any]) -> dict[str, Any]:
    """Lenient conversions the contract model does not make itself; the rest is left as is."""
    # null means "not given": the optional fields then take their defaults. (It also keeps explicit
    # nulls away from the model's constrained optional fields, which reject them with a TypeError.)
    prepared = {
        key: value for key, value in data.items() if value is not None or key in _REQUIRED_FIELDS
    }
    for field in _TEXT_FIELDS:
        if field in prepared:
            prepared[field] = _as_text(prepared[field])
    founded = prepared.get("founded")
    if isinstance(founded, dt.date):  # a date cell in a spreadsheet (datetime is a date too)
        prepared["founded"] = founded.year
    if "visibility" in prepared:
        prepared["visibility"] = _enum_value(prepared["visibility"], _VISIBILITIES)
    if "disclosure" in prepared:
        prepared["disclosure"] = _disclosure(prepared["disclosure"])
    hide = prepared.get("hide_from_competitors")
    if isinstance(hide, str) and hide.strip().casefold() in _BOOLEAN_WORDS:
        prepared["hide_from_competitors"] = _BOOLEAN_WORDS[hide.strip().casefold()]
    interests = prepared.get("cooperation_interests")
    if isinstance(interests, list):
        prepared["cooperation_interests"] = [_enum_value(item, _INTERESTS) for item in interests]
    for field, key, allowed in (
        ("competences", "kind", _KINDS),
        ("relationships", "type", _TYPES),
    ):
        items = prepared.get(field)
        if isinstance(items, list):
            prepared[field] = [_prepare_entry(item, key, allowed) for item in items]
    return prepared


def _alias(value: str, aliases: dict[str, str]) -> str:
    key = _ENUM_SEPARATORS.sub("_", value.strip().casefold())
    return aliases.get(key, key)


def _disclosure(value: Any) -> Any:
    """`{group: level}` from a JSON object, JSON text or `group=level; group=level`; group and
    level names in any case, some German. What cannot be read stays as is for the error."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError:
                return value
        else:
            pairs: dict[str, Any] = {}
            for part in _PAIR_SEPARATORS.split(text):
                if not part.strip():
                    continue
                group, separator, level = part.partition("=")
                if not separator:
                    group, separator, level = part.partition(":")
                if not separator:
                    return value
                pairs[group.strip()] = level.strip()
            value = pairs
    if not isinstance(value, dict):
        return value
    out: dict[Any, Any] = {}
    for group, level in value.items():
        key = _alias(group, _GROUP_ALIASES) if isinstance(group, str) else group
        if key not in GROUPS:
            key = group  # the error then quotes what the file says
        out[key] = _alias(level, _LEVEL_ALIASES) if isinstance(level, str) else level
        if out[key] not in LEVELS:
            out[key] = level
    return out


def _prepare_entry(item: Any, enum_key: str, allowed: frozenset[str]) -> Any:
    if not isinstance(item, dict):
        return item
    entry = {key: value for key, value in item.items() if value is not None or key == "label"}
    if enum_key in entry:
        entry[enum_key] = _enum_value(entry[enum_key], allowed)
    return entry


def _path(loc: tuple[int | str, ...]) -> str | None:
    """("competences", 1, "kind") -> "competences[1].kind"; () -> None (the record as a whole)."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or None


_ALLOWED = {
    "visibility": [item.value for item in Visibility],
    "cooperation_interests": [item.value for item in CooperationInterest],
    "kind": [item.value for item in CompetenceKind],
    "type": [item.value for item in RelationshipType],
}


def _show(value: Any, limit: int = 60) -> str:
    if isinstance(value, str):
        return f"'{value}'" if len(value) + 2 <= limit else f"'{value[: limit - 5]}...'"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind_of(value: Any) -> Message | str:
    if isinstance(value, bool):
        return Message(N_("true/false"))
    if isinstance(value, int | float):
        return Message(N_("a number"))
    if isinstance(value, str):
        return Message(N_("text"))
    if isinstance(value, list):
        return Message(N_("a list"))
    if isinstance(value, dict):
        return Message(N_("an object"))
    if value is None:
        return Message(N_("empty"))
    return type(value).__name__


def _reason(error: ErrorDetails, data: dict[str, Any]) -> Message:
    """A sentence for one pydantic error, with the entry it concerns when it is in a list."""
    return _context(_message(error), error["loc"], data)


def _message(error: ErrorDetails) -> Message:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    loc = error["loc"]
    last = next((part for part in reversed(loc) if isinstance(part, str)), "")
    if kind == "missing":
        return Message(N_("a value is required"))
    if kind == "extra_forbidden" and loc[:1] == ("disclosure",):
        return Message(N_("is not a group of fields; groups: %(groups)s"), groups=", ".join(GROUPS))
    if kind == "extra_forbidden":
        return Message(N_("is not a field of the import format"))
    if kind == "literal_error" and loc[:1] == ("disclosure",):
        return _not_allowed(value, ", ".join(LEVELS))
    if kind in ("model_type", "model_attributes_type", "dict_type") and loc == ("disclosure",):
        return Message(
            N_(
                "must be group=level pairs such as 'contacts=members; name=public', or a JSON object"
            )
        )
    if kind == "enum":
        allowed = _ALLOWED.get(last)
        return _not_allowed(value, ", ".join(allowed) if allowed else str(ctx.get("expected", "")))
    if kind in ("string_too_long", "too_long") and isinstance(value, str):
        return Message(
            N_("is too long: %(length)s characters, at most %(most)s are allowed"),
            length=len(value),
            most=ctx.get("max_length"),
        )
    if kind == "too_long":
        return Message(
            N_("has too many entries: %(count)s, at most %(most)s"),
            count=ctx.get("actual_length"),
            most=ctx.get("max_length"),
        )
    if kind == "string_too_short":
        return Message(N_("must not be empty"))
    if kind == "string_type" and value is None:
        return Message(N_("a value is required"))
    if kind == "string_type":
        return Message(N_("must be text, not %(kind)s"), kind=_kind_of(value))
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return Message(N_("must be a whole number, not %(value)s"), value=_show(value))
    if kind in ("float_parsing", "float_type"):
        return Message(N_("must be a number, not %(value)s"), value=_show(value))
    if kind == "finite_number" or (
        kind in ("greater_than_equal", "less_than_equal")
        and isinstance(value, float)
        and math.isnan(value)
    ):
        return Message(N_("must be a finite number, not %(value)s"), value=_show(value))
    if kind == "greater_than_equal":
        return Message(
            N_("must be at least %(bound)s, not %(value)s"),
            bound=_bound(ctx.get("ge")),
            value=_show(value),
        )
    if kind == "less_than_equal":
        return Message(
            N_("must be at most %(bound)s, not %(value)s"),
            bound=_bound(ctx.get("le")),
            value=_show(value),
        )
    if kind == "list_type":
        return Message(N_("must be a list, not %(kind)s"), kind=_kind_of(value))
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return Message(N_("must be an object {...}, not %(kind)s"), kind=_kind_of(value))
    if kind == "value_error":
        problem = ctx.get("error")
        if isinstance(problem, FieldProblem):
            return problem.message
        # the contract's own checks word their complaints as catalogue templates (`N_`);
        # another text stays as it is
        message = str(problem if problem is not None else error["msg"])
        return Message(message.removeprefix("Value error, "))
    own = _PYDANTIC_SENTENCES.get(kind)
    if own is not None and own == error["msg"]:
        return Message(own)
    # another sentence of pydantic's own, quoted as it is
    return Message("%(reason)s", reason=str(error["msg"]))


# pydantic's own sentences for the error kinds no check above words, as the API has always
# answered them: in the catalogue, so pages translate them, as long as pydantic words them so
_PYDANTIC_SENTENCES = {
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "bool_type": N_("Input should be a valid boolean"),
}


def _not_allowed(value: Any, allowed: str) -> Message:
    return Message(
        N_("%(value)s is not allowed; allowed values: %(allowed)s"),
        value=_show(value),
        allowed=allowed,
    )


def _bound(limit: Any) -> str:
    """A limit as people write it: 180, not 180.0."""
    return f"{limit:g}" if isinstance(limit, float) else str(limit)


# relationship types as the reasons name them ("customer 'A-7'")
_TYPE_WORDS = {
    "customer": N_("customer"),
    "supplier": N_("supplier"),
    "partner": N_("partner"),
    "relationship": N_("relationship"),
}


def _context(problem: Message, loc: tuple[int | str, ...], data: dict[str, Any]) -> Message:
    """The problem with the entry it concerns when it is inside a competence or relationship
    entry: "... (competence 'Sensorik')", "... (customer 'A-7')"."""
    if (
        len(loc) < 2
        or loc[0] not in ("competences", "relationships")
        or not isinstance(loc[1], int)
    ):
        return problem
    items = data.get(str(loc[0]))
    if not isinstance(items, list) or not 0 <= loc[1] < len(items):
        return problem
    item = items[loc[1]]
    if not isinstance(item, dict):
        return problem
    if loc[0] == "competences":
        label = item.get("label")
        if not isinstance(label, str):
            return problem
        return Message(
            N_("%(problem)s (competence %(label)s)"), problem=problem, label=_show(label, 40)
        )
    reference = item.get("external_id") or item.get("name")
    if not isinstance(reference, str):
        return problem
    kind = item.get("type", "relationship")
    word = _TYPE_WORDS.get(kind) if isinstance(kind, str) else None
    return Message(
        N_("%(problem)s (%(type)s %(reference)s)"),
        problem=problem,
        # a type the file misspells is quoted as it is
        type=Message(word) if word is not None else str(kind),
        reference=_show(reference, 40),
    )
