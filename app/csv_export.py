"""CSV files that spreadsheets open as data, never as formulas (every CSV export uses this).

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a line break runs as a formula in
Excel and LibreOffice. Guarding the first character is not enough: a spreadsheet that splits on
another separator than the file's (German ones split on ``;``) starts a new cell after any
``,``, ``;``, tab or line break inside a value, so ``Alice;=cmd|' /C calc'!A0;`` becomes a
formula cell. Every text cell is therefore quoted, and every formula start at the beginning of
the value or after any separator (leading blanks skipped) gets a ``'`` in front, which
spreadsheets show as text (OWASP's advice for CSV injection). Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Literal

Delimiter = Literal[",", ";"]
DELIMITERS: tuple[Delimiter, ...] = (",", ";")

# a formula start at the beginning or after a separator, after optional blanks
_FORMULA = re.compile(r"(^|[,;\t\r\n])([ ]*)(?=[=+\-@\t\r])")


def safe_text(value: str) -> str:
    """``value`` with a ``'`` before every formula start (see the module text)."""
    return _FORMULA.sub(r"\1\2'", value)


def cell(value: object) -> object:
    """A CSV cell: numbers as they are, None as an empty text, anything else as safe text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return safe_text(str(value).lower())
    if isinstance(value, int | float):
        return value
    return safe_text(str(value))


def write_csv(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    delimiter: Delimiter = ",",
    lineterminator: str = "\r\n",
) -> str:
    """The rows under ``header``; every text cell of the rows quoted (``csv.QUOTE_NONNUMERIC``)."""
    buffer = io.StringIO()
    # the header is the program's own text: quoted only where the separator needs it
    csv.writer(buffer, delimiter=delimiter, lineterminator=lineterminator).writerow(
        [safe_text(h) for h in header]
    )
    writer = csv.writer(
        buffer, delimiter=delimiter, quoting=csv.QUOTE_NONNUMERIC, lineterminator=lineterminator
    )
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return buffer.getvalue()
