"""Text and number bounds shared by every request schema, query parameter and import cell.

The two databases disagree about odd input: PostgreSQL refuses a NUL character (U+0000) in
text and any string that is not valid Unicode (a lone surrogate such as U+D800), SQLite stores
both; PostgreSQL's INTEGER stops at 2**31 - 1, SQLite's at 2**63 - 1. So input is checked here,
before it reaches either, and both answer alike: 422 problem+json naming the field.

- Single-line text (names, ids, codes, e-mail addresses) may hold no control character at all
  (Unicode category Cc: U+0000-U+001F, U+007F-U+009F) and no surrogate.
- Multi-line text (descriptions, messages, notes) may hold tab, line feed and carriage return,
  nothing else of that kind.

`reject_control_characters` applies the single-line rule to every path and query parameter of
every route; schemas use `Line` and `MultiLine` (or `check_line` / `check_text` after their own
constraints). This module imports no domain package.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Request
from pydantic import AfterValidator

from app.errors import Invalid
from app.i18n import N_

# PostgreSQL INTEGER, the type of every id and count column
MAX_INT = 2**31 - 1

_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_MULTI_LINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def control_character_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be stored ("contains the control character U+0000 at position 3"),
    or None when it can."""
    found = (_MULTI_LINE if multiline else _SINGLE_LINE).search(value)
    if found is None:
        return None
    code = ord(found.group())
    kind = "a lone surrogate" if 0xD800 <= code <= 0xDFFF else "the control character"
    return f"contains {kind} U+{code:04X} at position {found.start() + 1}; remove it"


def check_line(value: str) -> str:
    """Pydantic validator: single-line text without control characters."""
    problem = control_character_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def check_text(value: str) -> str:
    """Pydantic validator: multi-line text (tab, CR and LF allowed) without other controls."""
    problem = control_character_problem(value, multiline=True)
    if problem is not None:
        raise ValueError(problem)
    return value


Line = Annotated[str, AfterValidator(check_line)]
MultiLine = Annotated[str, AfterValidator(check_text)]


async def reject_control_characters(request: Request) -> None:
    """App-wide dependency: a path or query parameter with a control character is a 422.

    It runs before the route's own parameters are validated, so no route has to repeat it.
    """
    errors = [
        {"field": name, "in": "path", "message": problem}
        for name, value in request.path_params.items()
        if isinstance(value, str) and (problem := control_character_problem(value))
    ]
    for name, value in request.query_params.multi_items():
        problem = control_character_problem(name) or control_character_problem(value)
        if problem is not None:
            errors.append({"field": _printable(name), "in": "query", "message": problem})
    if errors:
        fields = ", ".join(sorted({e["field"] for e in errors}))
        raise Invalid(N_("Invalid value for: %(fields)s"), values={"fields": fields}, errors=errors)


def _printable(name: str) -> str:
    """A parameter name fit for an error message (its control characters escaped)."""
    return _SINGLE_LINE.sub(lambda m: f"\\u{ord(m.group()):04x}", name)
