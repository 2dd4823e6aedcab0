"""Reading import files (JSON array, JSON Lines, CSV, XLSX) into rows shaped like the contract.

Parsing is pure: no database, no web framework. It finds records and maps spreadsheet columns onto
the contract (`OrganizationRecord`); it does not check values, which is the job of
`validation.validate_rows`. Structural problems that concern one record (undecodable bytes, a CSV
line with more cells than the header, a JSON Lines line that is not JSON) become `RowError`s;
problems that make the whole file unusable raise `ImportFileError`.

A file without any record (an empty file, a CSV/XLSX with a header row only, an empty JSON array)
raises `ImportFileError`: an import that would silently do nothing is almost always a mistake.

Relationship cells (`customers`, `suppliers`, `partners`) are emitted as
`{"type": ..., "name": entry, "revenue_share": share}`: parsing cannot know whether an entry is an
external_id or a company name, so the import service links a name to an organisation when it equals
an external_id in the file or the database, and keeps it as a name otherwise.

Every file is bounded by work, not only by bytes (`Limits`): at most `max_records` records and
`max_cells` spreadsheet cells, and an XLSX workbook whose parts together declare at most
`max_xlsx_uncompressed_bytes` is opened at all (the zip directory is read before any XML). Text
formats are read line by line and stop at the first record over the limit, XLSX sheets are
streamed row by row (openpyxl's read-only mode), so a file beyond a limit is refused after
bounded work with `ImportTooLarge`, which names the limit.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import io
import itertools
import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, get_args

import clevercsv

from app.i18n import N_, Message, Number
from app.organizations.schemas import SCALAR_FIELDS

ImportFormat = Literal["json", "jsonl", "csv", "xlsx"]
FORMATS: tuple[str, ...] = get_args(ImportFormat)


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One record in the contract's shape, values unchecked.

    `line` is 1-based: CSV/JSONL the physical line where the record starts, XLSX the sheet row,
    JSON array the line where the object starts.
    """

    line: int
    data: dict[str, Any]
    # Spreadsheets: the competence kinds and relationship types the file's columns cover, by
    # list ({"relationships": {"customer"}} for a file with a customers column only), so a
    # re-import changes those and leaves the others alone. None: a list given is all of it.
    covers: dict[str, frozenset[str]] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected record: `field` is a contract path such as "competences[2].label", or None.

    `reason` is the English text the API answers; `template` and `values`, where the reason
    was made from a catalogue template (`RowError.of`), let pages show it in their language.
    """

    line: int | None
    field: str | None
    reason: str
    external_id: str | None = None
    # (`dataclasses.field`: `field` is one of this class's own attributes)
    template: str | None = dataclasses.field(default=None, compare=False)
    values: dict[str, Any] | None = dataclasses.field(default=None, compare=False)

    @classmethod
    def of(
        cls, line: int | None, field: str | None, message: Message, external_id: str | None = None
    ) -> RowError:
        dumped = message.dump()
        return cls(line, field, str(message), external_id, dumped["template"], dumped["values"])

    @property
    def message(self) -> Message | str:
        """The reason as pages translate it (its English text where no template was kept)."""
        if self.template is None:
            return self.reason
        return Message.load({"template": self.template, "values": self.values or {}})


@dataclass(frozen=True, slots=True)
class ParsedFile:
    format: ImportFormat
    rows: list[SourceRow]
    errors: list[RowError]
    # what was read differently from what the file may mean (an ignored column); the English
    # text is the API's, pages translate the template
    warnings: list[Message]


class ImportFileError(Exception):
    """The whole file is unusable; `message` names the problem: a template (marked with `N_`
    where the pages translate it) and its values, whose English text is `str(exc)`."""

    def __init__(self, template: str, **values: Any) -> None:
        self.message = Message(template, **values)
        super().__init__(str(self.message))

    @classmethod
    def of(cls, message: Message) -> ImportFileError:
        return cls(message.template, **message.values)


@dataclass(frozen=True, slots=True)
class Limits:
    """How much work one import file may ask for; documented in the import contract."""

    # records (organisations) in one file; hubs split larger files into several imports
    max_records: int = 50_000
    # spreadsheet cells read, blank ones included (a CSV/XLSX row counts its full width)
    max_cells: int = 2_500_000
    # the sum of the sizes an XLSX workbook's zip parts declare once decompressed
    max_xlsx_uncompressed_bytes: int = 128 * 1024 * 1024
    # parts in the zip (a workbook has a dozen; thousands mean it is not one)
    max_xlsx_parts: int = 1_000
    # Excel's own last row: a row number beyond it is not a spreadsheet's
    max_sheet_row: int = 1_048_576
    # characters in one CSV cell (a list of 5,000 relationships fits)
    max_cell_chars: int = 4 * 1024 * 1024


LIMITS = Limits()


class ImportTooLarge(ImportFileError):
    """The file asks for more work than `Limits` allows; `limit` names the exceeded field."""

    def __init__(self, template: str, *, limit: str, value: int, **values: Any) -> None:
        super().__init__(template, **values)
        self.limit = limit
        self.value = value


# --- column names -------------------------------------------------------------------------------

SCALAR_COLUMNS = ("external_id", *SCALAR_FIELDS)
COMPETENCE_COLUMNS = {"core": "core", "complementary": "complementary", "peripheral": "peripheral"}
RELATIONSHIP_COLUMNS = {"customers": "customer", "suppliers": "supplier", "partners": "partner"}
LIST_COLUMNS = ("cooperation_interests",)
# a cell of `group=level` pairs or a JSON object, read by validation
DISCLOSURE_COLUMN = "disclosure"
REQUIRED_COLUMNS = ("external_id", "name")
# Values where a German decimal comma ("48,1372") is read as a decimal point.
_DECIMAL_COLUMNS = frozenset({"latitude", "longitude"})

# Headers hub staff commonly use, keyed by their normalised form (see `_normalize_header`).
HEADER_ALIASES: dict[str, str] = {
    "id": "external_id",
    "externe_id": "external_id",
    "externe_kennung": "external_id",
    "kennung": "external_id",
    "firma": "name",
    "firmenname": "name",
    "unternehmen": "name",
    "organisation": "name",
    "organization": "name",
    "beschreibung": "description",
    "nace": "nace_code",
    "nace_wz": "nace_code",
    "wz": "nace_code",
    "wz_code": "nace_code",
    "wz_2008": "nace_code",
    "land": "country",
    "country_code": "country",
    "ort": "city",
    "stadt": "city",
    "plz": "postal_code",
    "postleitzahl": "postal_code",
    "zip": "postal_code",
    "zip_code": "postal_code",
    "postcode": "postal_code",
    "lat": "latitude",
    "breitengrad": "latitude",
    "lon": "longitude",
    "lng": "longitude",
    "längengrad": "longitude",
    "laengengrad": "longitude",
    "mitarbeiter": "employees",
    "mitarbeitende": "employees",
    "anzahl_mitarbeiter": "employees",
    "beschäftigte": "employees",
    "beschaeftigte": "employees",
    "webseite": "website",
    "homepage": "website",
    "internetseite": "website",
    "url": "website",
    "gründungsjahr": "founded",
    "gruendungsjahr": "founded",
    "gegründet": "founded",
    "gegruendet": "founded",
    "kernkompetenzen": "core",
    "kernkompetenz": "core",
    "core_competences": "core",
    "komplementäre_kompetenzen": "complementary",
    "komplementaere_kompetenzen": "complementary",
    "complementary_competences": "complementary",
    "periphere_kompetenzen": "peripheral",
    "peripheral_competences": "peripheral",
    "kunden": "customers",
    "lieferanten": "suppliers",
    "partner": "partners",
    "kooperationsinteressen": "cooperation_interests",
    "kooperationsinteresse": "cooperation_interests",
    "sichtbarkeit": "visibility",
    "kontakt": "contact_name",
    "kontaktperson": "contact_name",
    "kontakt_name": "contact_name",
    "ansprechpartner": "contact_name",
    "ansprechpartnerin": "contact_name",
    "ansprechperson": "contact_name",
    "contact": "contact_name",
    "contact_person": "contact_name",
    "kontakt_e_mail": "contact_email",
    "kontakt_email": "contact_email",
    "kontakt_mail": "contact_email",
    "e_mail": "contact_email",
    "email": "contact_email",
    "contact_e_mail": "contact_email",
    "kontakt_telefon": "contact_phone",
    "telefon": "contact_phone",
    "telefonnummer": "contact_phone",
    "tel": "contact_phone",
    "phone": "contact_phone",
    "telephone": "contact_phone",
    "contact_telephone": "contact_phone",
    "offenlegung": "disclosure",
    "freigabe": "disclosure",
    "freigaben": "disclosure",
    "sichtbarkeit_felder": "disclosure",
    "field_visibility": "disclosure",
    "vor_wettbewerbern_verbergen": "hide_from_competitors",
    "vor_wettbewerbern_verstecken": "hide_from_competitors",
    "nicht_für_wettbewerber": "hide_from_competitors",
    "nicht_fuer_wettbewerber": "hide_from_competitors",
    "wettbewerber_ausblenden": "hide_from_competitors",
    "hide_competitors": "hide_from_competitors",
}
KNOWN_COLUMNS = frozenset(
    [
        *SCALAR_COLUMNS,
        *COMPETENCE_COLUMNS,
        *RELATIONSHIP_COLUMNS,
        *LIST_COLUMNS,
        DISCLOSURE_COLUMN,
    ]
)
_HEADER_SEPARATORS = re.compile(r"[\s\-/.]+")


def _normalize_header(raw: str) -> str:
    return _HEADER_SEPARATORS.sub("_", raw.strip().casefold()).strip("_")


def column_for_header(raw: str) -> str | None:
    """The contract column a header cell names ("Kernkompetenzen" -> "core"), or None if unknown."""
    key = _normalize_header(raw)
    if key in KNOWN_COLUMNS:
        return key
    return HEADER_ALIASES.get(key)


# --- format detection ---------------------------------------------------------------------------

_EXTENSIONS: dict[str, ImportFormat] = {
    "json": "json",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "csv": "csv",
    "tsv": "csv",
    "txt": "csv",
    "xlsx": "xlsx",
    "xlsm": "xlsx",
}
_CONTENT_TYPES: dict[str, ImportFormat] = {
    "application/json": "json",
    "text/json": "json",
    "application/x-ndjson": "jsonl",
    "application/ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
    "application/jsonlines": "jsonl",
    "text/csv": "csv",
    "application/csv": "csv",
    "text/tab-separated-values": "csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and password-protected .xlsx)
_BOM = codecs.BOM_UTF8


def _utf16_to_utf8(data: bytes) -> bytes:
    """Excel's "Unicode text" export is UTF-16 with a byte order mark; everything else is UTF-8."""
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data
    try:
        return data.decode("utf-16").encode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            N_(
                "the file starts like UTF-16 text but byte offset %(offset)s cannot be read as UTF-16"
            ),
            offset=exc.start,
        ) from None


def _leading_text(data: bytes) -> bytes:
    return data.removeprefix(_BOM).lstrip()


def detect_format(
    data: bytes, *, filename: str | None = None, content_type: str | None = None
) -> ImportFormat:
    """Guess the format: binary signature first, then extension, then content type, then content."""
    if data.startswith(_ZIP_MAGIC):
        return "xlsx"
    data = _utf16_to_utf8(data)
    if data.startswith(_OLE_MAGIC):
        raise ImportFileError(
            N_(
                "the file is an old Excel .xls workbook (or a password-protected one); "
                "save it as .xlsx or CSV and import that"
            )
        )
    if not _leading_text(data):
        raise ImportFileError(N_("the file is empty"))
    if filename and "." in filename:
        extension = filename.rsplit(".", 1)[1].strip().lower()
        if extension in _EXTENSIONS:
            return _EXTENSIONS[extension]
    if content_type:
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type in _CONTENT_TYPES:
            return _CONTENT_TYPES[media_type]
    head = _leading_text(data)
    if head.startswith(b"["):
        return "json"
    if head.startswith(b"{"):
        # One object over many lines ({"items": [...]}) is JSON; one object per line is JSONL.
        try:
            document = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            return "jsonl"
        return "json" if isinstance(document, dict) else "jsonl"
    return "csv"


def parse_file(
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    format: ImportFormat | None = None,
    limits: Limits = LIMITS,
) -> ParsedFile:
    """Read every record of an import file; raises only `ImportFileError` (`ImportTooLarge`
    when it exceeds `limits`)."""
    if format is not None and format not in FORMATS:
        raise ImportFileError(
            N_("unknown format %(format)r; expected one of %(formats)s"),
            format=format,
            formats=", ".join(FORMATS),
        )
    data = _utf16_to_utf8(data)
    if not _leading_text(data):
        raise ImportFileError(N_("the file is empty"))
    fmt = format or detect_format(data, filename=filename, content_type=content_type)
    try:
        if fmt == "json":
            parsed = _parse_json(data, limits)
        elif fmt == "jsonl":
            parsed = _parse_jsonl(data, limits)
        elif fmt == "csv":
            parsed = _parse_csv(data, limits)
        else:
            parsed = _parse_xlsx(data, limits)
    except ImportFileError:
        raise
    except RecursionError as exc:  # absurdly nested JSON
        raise ImportFileError(N_("the file is nested too deeply to be read")) from exc
    if not parsed.rows and not parsed.errors:
        raise ImportFileError(N_("the file holds no records"))
    return parsed


# --- text decoding ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    text: str  # with its line ending
    error: Message | None  # why the line's bytes are not UTF-8, if they are not


def _split_lines(data: bytes) -> Iterator[_Line]:
    """Physical lines, decoded one by one so that one bad byte spoils only its own line.

    Lazy: a reader that stops early (a limit reached) has decoded only what it read.
    """
    offset = len(_BOM) if data.startswith(_BOM) else 0
    separator = b"\n" if b"\n" in data else b"\r"  # classic Mac files end lines with CR alone
    for number, raw in enumerate(_chunks(data, offset, separator), start=1):
        start, chunk = raw
        try:
            yield _Line(number, chunk.decode("utf-8"), None)
        except UnicodeDecodeError as exc:
            bad = chunk[exc.start]
            reason = Message(
                N_(
                    "line %(line)s is not valid UTF-8: byte 0x%(byte)s at byte offset %(offset)s "
                    "of the file (position %(position)s in the line) cannot be read; save the "
                    "file as UTF-8 and import it again"
                ),
                line=number,
                byte=f"{bad:02X}",
                offset=start + exc.start,
                position=exc.start + 1,
            )
            yield _Line(number, chunk.decode("utf-8", errors="replace"), reason)


def _too_many_records(limits: Limits) -> ImportTooLarge:
    return ImportTooLarge(
        N_(
            "the file holds more than %(count)s records (limit max_records); split it into "
            "several imports"
        ),
        limit="max_records",
        value=limits.max_records,
        count=Number(limits.max_records),
    )


def _too_many_cells(limits: Limits) -> ImportTooLarge:
    return ImportTooLarge(
        N_(
            "the file holds more than %(count)s cells (limit max_cells, blank cells count); "
            "remove unused columns or split it into several imports"
        ),
        limit="max_cells",
        value=limits.max_cells,
        count=Number(limits.max_cells),
    )


def _chunks(data: bytes, offset: int, separator: bytes) -> Iterator[tuple[int, bytes]]:
    start = offset
    size = len(data)
    while start < size:
        end = data.find(separator, start)
        if end < 0:
            yield start, data[start:]
            return
        yield start, data[start : end + 1]
        start = end + 1


def _decode_whole(data: bytes) -> str:
    """The file as text, for formats where one bad byte makes the whole file unreadable."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        bad = next(line.error for line in _split_lines(data) if line.error is not None)
        raise ImportFileError.of(bad) from None


# --- JSON ---------------------------------------------------------------------------------------

_decoder = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _json_error(exc: json.JSONDecodeError) -> ImportFileError:
    return ImportFileError(
        N_("the file is not valid JSON: %(reason)s at line %(line)s, column %(column)s"),
        reason=exc.msg,
        line=exc.lineno,
        column=exc.colno,
    )


def _parse_json(data: bytes, limits: Limits) -> ParsedFile:
    text = _decode_whole(data)
    pos = _skip(text, 0)
    try:
        if text.startswith("[", pos):
            elements, end = _scan_array(text, pos, limits)
        elif text.startswith("{", pos):
            elements, end = _scan_wrapper(text, pos, limits)
        else:
            raise ImportFileError(
                N_("the file is not a JSON array of organisations (it must start with '[')")
            )
    except json.JSONDecodeError as exc:
        raise _json_error(exc) from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise ImportFileError(
            N_("the file is not valid JSON: %(reason)s"), reason=str(exc)
        ) from None
    end = _skip(text, end)
    if end != len(text):
        line = text.count("\n", 0, end) + 1
        raise ImportFileError(
            N_("the file is not valid JSON: unexpected content at line %(line)s"), line=line
        )
    rows: list[SourceRow] = []
    errors: list[RowError] = []
    for index, (line, value) in enumerate(elements):
        if isinstance(value, dict):
            rows.append(SourceRow(line, value))
        else:
            errors.append(
                RowError.of(
                    line,
                    None,
                    Message(
                        N_(
                            "element %(index)s of the array is %(kind)s, not an organisation "
                            "object {...}"
                        ),
                        index=index + 1,
                        kind=_json_kind(value),
                    ),
                )
            )
    return ParsedFile("json", rows, errors, [])


def _skip(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def _scan_array(text: str, pos: int, limits: Limits) -> tuple[list[tuple[int, Any]], int]:
    """Elements of the array at `text[pos] == "["` with the line each starts on; the end index."""
    elements: list[tuple[int, Any]] = []
    line = text.count("\n", 0, pos) + 1
    counted = pos
    pos = _skip(text, pos + 1)
    if text.startswith("]", pos):
        return elements, pos + 1
    while True:
        line += text.count("\n", counted, pos)
        counted = pos
        if len(elements) >= limits.max_records:
            raise _too_many_records(limits)
        value, pos = _decoder.raw_decode(text, pos)
        elements.append((line, value))
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif text.startswith("]", pos):
            return elements, pos + 1
        else:
            raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)


def _scan_wrapper(text: str, pos: int, limits: Limits) -> tuple[list[tuple[int, Any]], int]:
    """The records of `{"items": [...]}` or `{"organizations": [...]}`."""
    pos = _skip(text, pos + 1)
    found: list[tuple[int, Any]] | None = None
    keys: list[str] = []
    if text.startswith("}", pos):
        pos += 1
    else:
        while True:
            if not text.startswith('"', pos):
                raise json.JSONDecodeError(
                    "Expecting property name enclosed in double quotes", text, pos
                )
            key, pos = _decoder.raw_decode(text, pos)
            keys.append(key)
            pos = _skip(text, pos)
            if not text.startswith(":", pos):
                raise json.JSONDecodeError("Expecting ':' delimiter", text, pos)
            pos = _skip(text, pos + 1)
            if found is None and key in ("items", "organizations") and text.startswith("[", pos):
                found, pos = _scan_array(text, pos, limits)
            else:
                _, pos = _decoder.raw_decode(text, pos)
            pos = _skip(text, pos)
            if text.startswith(",", pos):
                pos = _skip(text, pos + 1)
            elif text.startswith("}", pos):
                pos += 1
                break
            else:
                raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
    if found is None:
        if keys:
            raise ImportFileError(
                N_(
                    "the JSON file holds an object, not an array; an object is accepted only "
                    'when it has an "items" or "organizations" array of organisations (its '
                    "keys: %(keys)s)"
                ),
                keys=", ".join(keys[:10]),
            )
        raise ImportFileError(
            N_(
                "the JSON file holds an object, not an array; an object is accepted only when "
                'it has an "items" or "organizations" array of organisations'
            )
        )
    return found, pos


def _json_kind(value: Any) -> Message:
    if isinstance(value, list):
        return Message(N_("a list"))
    if isinstance(value, str):
        return Message(N_("a string"))
    if isinstance(value, bool):
        return Message(N_("true/false"))
    if isinstance(value, int | float):
        return Message(N_("a number"))
    if value is None:
        return Message("null")
    return Message(N_("an object"))


# --- JSON Lines ---------------------------------------------------------------------------------


def _parse_jsonl(data: bytes, limits: Limits) -> ParsedFile:
    rows: list[SourceRow] = []
    errors: list[RowError] = []
    for line in _split_lines(data):
        if len(rows) + len(errors) >= limits.max_records and line.text.strip():
            raise _too_many_records(limits)
        if line.error is not None:
            errors.append(RowError.of(line.number, None, line.error))
            continue
        if not line.text.strip():
            continue
        try:
            value = json.loads(line.text)
        except json.JSONDecodeError as exc:
            errors.append(
                RowError.of(
                    line.number,
                    None,
                    Message(
                        N_("line %(line)s is not valid JSON: %(reason)s at column %(column)s"),
                        line=line.number,
                        reason=exc.msg,
                        column=exc.colno,
                    ),
                )
            )
            continue
        except (ValueError, RecursionError) as exc:  # huge integers, absurd nesting
            errors.append(
                RowError.of(
                    line.number,
                    None,
                    Message(
                        N_("line %(line)s cannot be read: %(reason)s"),
                        line=line.number,
                        reason=str(exc),
                    ),
                )
            )
            continue
        if isinstance(value, dict):
            rows.append(SourceRow(line.number, value))
        else:
            errors.append(
                RowError.of(
                    line.number,
                    None,
                    Message(
                        N_("line %(line)s holds %(kind)s, not an organisation object {...}"),
                        line=line.number,
                        kind=_json_kind(value),
                    ),
                )
            )
    return ParsedFile("jsonl", rows, errors, [])


# --- spreadsheets (CSV and XLSX share the column mapping) ----------------------------------------

_LIST_SEPARATORS = re.compile(r"[;\r\n]+")
_INTEREST_SEPARATORS = re.compile(r"[;,\r\n]+")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_MULTI_LINE_COLUMNS = frozenset({"description"})
_PERCENT = re.compile(r"([+-]?\d+(?:[.,]\d+)?)\s*%")


@dataclass(frozen=True, slots=True)
class _Header:
    columns: list[str | None]  # per cell position: contract column, or None if ignored
    labels: list[str]  # the header cells as written
    line: int

    @property
    def covers(self) -> dict[str, frozenset[str]]:
        """The competence kinds and relationship types that the columns give."""
        covers: dict[str, frozenset[str]] = {}
        for list_name, by_column in (
            ("competences", COMPETENCE_COLUMNS),
            ("relationships", RELATIONSHIP_COLUMNS),
        ):
            kinds = frozenset(by_column[c] for c in self.columns if c in by_column)
            if kinds:
                covers[list_name] = kinds
        return covers


def _build_header(
    cells: Sequence[Any], line: int, *, spreadsheet: bool
) -> tuple[_Header, list[Message]]:
    """Map the header row onto contract columns; warnings for ignored columns."""
    labels = ["" if cell is None else str(cell).strip() for cell in cells]
    columns: list[str | None] = []
    warnings: list[Message] = []
    first_position: dict[str, int] = {}
    for position, label in enumerate(labels):
        column = column_for_header(label) if label else None
        where = _column_name(position, spreadsheet=spreadsheet)
        if label and column is None:
            if _normalize_header(label) in ("competences", "relationships"):
                template = N_(
                    "column %(column)s '%(label)s' is not part of the import format and was "
                    "ignored (spreadsheets list competences in core/complementary/peripheral "
                    "columns and relationships in customers/suppliers/partners columns)"
                )
            else:
                template = N_(
                    "column %(column)s '%(label)s' is not part of the import format and was ignored"
                )
            warnings.append(Message(template, column=where, label=label))
        if column is not None:
            if column in first_position:
                other = first_position[column]
                raise ImportFileError(
                    N_(
                        "the header row (line %(line)s) has two columns for '%(column)s': "
                        "%(first)s '%(first_label)s' and %(second)s '%(second_label)s'; keep "
                        "only one"
                    ),
                    line=line,
                    column=column,
                    first=_column_name(other, spreadsheet=spreadsheet),
                    first_label=labels[other],
                    second=where,
                    second_label=label,
                )
            first_position[column] = position
        columns.append(column)
    if not first_position:
        raise ImportFileError(
            N_(
                "no header row: the first non-empty row (line %(line)s) names none of the "
                "import columns (external_id, name, description, ...)"
            ),
            line=line,
        )
    missing = [column for column in REQUIRED_COLUMNS if column not in first_position]
    if missing:
        if len(missing) > 1:
            raise ImportFileError(
                N_(
                    "the header row (line %(line)s) has no external_id and no name column; "
                    "every record needs external_id and name"
                ),
                line=line,
            )
        raise ImportFileError(
            N_(
                "the header row (line %(line)s) has no %(column)s column; every record needs "
                "external_id and name"
            ),
            line=line,
            column=missing[0],
        )

    return _Header(columns, labels, line), warnings


def _column_name(position: int, *, spreadsheet: bool) -> str:
    """XLSX columns by letter (A, B, ..., AA), CSV columns by number (1-based)."""
    if not spreadsheet:
        return str(position + 1)
    letters = ""
    number = position + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _split_list(value: Any, separators: re.Pattern[str]) -> list[str]:
    if _is_blank(value):
        return []
    return [part.strip() for part in separators.split(_cell_text(value)) if part.strip()]


def _decimal_point(value: Any) -> Any:
    """'48,1372' -> '48.1372' (only a lone comma between digits is unambiguous)."""
    if isinstance(value, str) and _DECIMAL_COMMA.fullmatch(value):
        return value.replace(",", ".")
    return value


def _share(raw: str) -> str | None:
    """A revenue share as written in a cell: '0.35', '0,35' and '35%' all give '0.35'."""
    text = raw.strip()
    if not text:
        return None
    percent = _PERCENT.fullmatch(text)
    if percent:
        # Decimal keeps the text exact: "1.4%" gives "0.014", float division 0.013999999999999999.
        return str(Decimal(percent.group(1).replace(",", ".")) / 100)
    return str(_decimal_point(text))


def _relationships(value: Any, kind: str) -> list[dict[str, Any]]:
    entries = []
    for part in _split_list(value, _LIST_SEPARATORS):
        name, separator, share = part.rpartition("=")
        if not separator:
            name, share = part, ""
        entries.append({"type": kind, "name": name.strip() or None, "revenue_share": _share(share)})
    return entries


def _record(header: _Header, cells: Sequence[Any]) -> dict[str, Any]:
    """One spreadsheet row in the contract's shape (cells beyond the header are left out)."""
    data: dict[str, Any] = {}
    competences: list[dict[str, Any]] | None = None
    relationships: list[dict[str, Any]] | None = None
    for position, column in enumerate(header.columns):
        if column is None:
            continue
        value = cells[position] if position < len(cells) else None
        if isinstance(value, str):
            value = value.strip()
        if column in COMPETENCE_COLUMNS:
            competences = competences if competences is not None else []
            competences.extend(
                {"kind": COMPETENCE_COLUMNS[column], "label": label, "description": None}
                for label in _split_list(value, _LIST_SEPARATORS)
            )
        elif column in RELATIONSHIP_COLUMNS:
            relationships = relationships if relationships is not None else []
            relationships.extend(_relationships(value, RELATIONSHIP_COLUMNS[column]))
        elif column in LIST_COLUMNS:
            data[column] = _split_list(value, _INTEREST_SEPARATORS)
        elif _is_blank(value):
            data[column] = None
        else:
            if isinstance(value, str) and column not in _MULTI_LINE_COLUMNS:
                # a line break typed into a cell (Alt+Enter) is a space in a one-line field
                value = _LINE_BREAKS.sub(" ", value)
            data[column] = _decimal_point(value) if column in _DECIMAL_COLUMNS else value
    # Competences from three columns are kept in the order core, complementary, peripheral.
    if competences is not None:
        order = list(COMPETENCE_COLUMNS.values())
        competences.sort(key=lambda item: order.index(item["kind"]))
        data["competences"] = competences
    if relationships is not None:
        order = list(RELATIONSHIP_COLUMNS.values())
        relationships.sort(key=lambda item: order.index(item["type"]))
        data["relationships"] = relationships
    return data


def _external_id(header: _Header, cells: Sequence[Any]) -> str | None:
    position = header.columns.index("external_id")
    if position < len(cells) and not _is_blank(cells[position]):
        return _cell_text(cells[position]).strip()
    return None


# --- CSV ----------------------------------------------------------------------------------------

_SNIFF_LINES = 200
_SNIFF_CHARS = 64_000
_DELIMITERS = (",", ";", "\t", "|")
_SEP_HINT = re.compile(r"sep=(.)\s*")


@dataclass(frozen=True, slots=True)
class _Dialect:
    delimiter: str
    quotechar: str
    escapechar: str | None


def _sniff(lines: Iterable[_Line]) -> _Dialect:
    sample_lines: list[str] = []
    size = 0
    for line in lines:
        if line.error is None and line.text.strip():
            sample_lines.append(line.text)
            size += len(line.text)
            if len(sample_lines) >= _SNIFF_LINES or size >= _SNIFF_CHARS:
                break
    sample = "".join(sample_lines)
    try:
        found = clevercsv.Detector().detect(sample, delimiters=list(_DELIMITERS))
    except Exception:  # the detector is a heuristic; fall back to the stdlib sniffer below
        found = None
    if found is not None and found.delimiter in _DELIMITERS:
        return _Dialect(found.delimiter, found.quotechar or '"', found.escapechar or None)
    try:
        stdlib = csv.Sniffer().sniff(sample, delimiters="".join(_DELIMITERS))
        return _Dialect(stdlib.delimiter, stdlib.quotechar or '"', stdlib.escapechar)
    except Exception:  # csv.Error when undecided; a heuristic must not fail the import
        pass
    # Neither sniffer decided (e.g. a single data row): the delimiter used most in the header wins.
    first = sample_lines[0] if sample_lines else ""
    counts = {delimiter: first.count(delimiter) for delimiter in _DELIMITERS}
    delimiter = max(_DELIMITERS, key=lambda d: counts[d])
    return _Dialect(delimiter if counts[delimiter] else ",", '"', None)


def _head(lines: Iterator[_Line]) -> list[_Line]:
    """The first lines, enough for the delimiter sniffer (the rest stay in `lines`)."""
    head: list[_Line] = []
    content = size = 0
    for line in lines:
        head.append(line)
        if line.error is None and line.text.strip():
            content += 1
            size += len(line.text)
            if content > _SNIFF_LINES or size >= _SNIFF_CHARS:
                break
    return head


def _parse_csv(data: bytes, limits: Limits) -> ParsedFile:
    # a list of thousands of relationships is one long cell; the csv default is 128 KiB
    if csv.field_size_limit() < limits.max_cell_chars:
        csv.field_size_limit(limits.max_cell_chars)
    lines = _split_lines(data)
    head = _head(lines)
    warnings: list[Message] = []
    dialect: _Dialect | None = None
    first_content = next((line for line in head if line.text.strip()), None)
    if first_content is not None and first_content.error is None:
        hint = _SEP_HINT.fullmatch(first_content.text.strip())
        if hint and hint.group(1) in _DELIMITERS:
            # Excel writes "sep=;" as the first line to name the delimiter.
            dialect = _Dialect(hint.group(1), '"', None)
            head = [line for line in head if line.number != first_content.number]
    if dialect is None:
        dialect = _sniff(head)
    first_bad: Message | None = None
    # the physical lines of the record being read, and the errors of those lines
    span: list[int] = []
    broken: list[Message] = []

    def texts() -> Iterator[str]:
        nonlocal first_bad
        for line in itertools.chain(head, lines):
            span.append(line.number)
            if line.error is not None:
                broken.append(line.error)
                first_bad = first_bad or line.error
            yield line.text

    reader = csv.reader(
        texts(),
        delimiter=dialect.delimiter,
        quotechar=dialect.quotechar,
        escapechar=dialect.escapechar,
        doublequote=True,
        strict=False,
    )
    header: _Header | None = None
    covers: dict[str, frozenset[str]] = {}
    rows: list[SourceRow] = []
    errors: list[RowError] = []
    cells_read = 0
    while True:
        # The reader takes whole lines and never reads ahead, so the lines taken by one call
        # are exactly that record's lines.
        span.clear()
        broken.clear()
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line_number = span[0] if span else None
            errors.append(
                RowError.of(
                    line_number,
                    None,
                    Message(
                        N_("line %(line)s cannot be read: %(reason)s"),
                        line=line_number,
                        reason=str(exc),
                    ),
                )
            )
            continue
        start = span[0] if span else 0
        cells_read += len(cells)
        if cells_read > limits.max_cells:
            raise _too_many_cells(limits)
        if header is None:
            if not any(cell.strip() for cell in cells):
                continue
            if broken:
                raise ImportFileError(
                    N_("the header row cannot be read: %(reason)s"), reason=broken[0]
                )
            header, header_warnings = _build_header(cells, start, spreadsheet=False)
            covers = header.covers
            warnings.extend(header_warnings)
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) + len(errors) >= limits.max_records:
            raise _too_many_records(limits)
        external_id = _external_id(header, cells)
        if broken:
            errors.extend(RowError.of(start, None, reason, external_id) for reason in broken)
            continue
        if len(cells) > len(header.columns):
            errors.append(
                RowError.of(
                    start,
                    None,
                    Message(
                        N_(
                            "line %(line)s has %(cells)s cells but the header has %(columns)s "
                            "columns; is there a stray '%(delimiter)s' or an unquoted delimiter "
                            "inside a value?"
                        ),
                        line=start,
                        cells=len(cells),
                        columns=len(header.columns),
                        delimiter=_show(dialect.delimiter),
                    ),
                    external_id,
                )
            )
            continue
        unnamed = [
            position
            for position, column in enumerate(header.columns)
            if position < len(cells)
            and column is None
            and not header.labels[position]
            and cells[position].strip()
        ]
        if unnamed:
            errors.append(
                RowError.of(
                    start,
                    None,
                    Message(
                        N_(
                            "line %(line)s has a value in column %(column)s, which has no "
                            "header; is there a stray delimiter?"
                        ),
                        line=start,
                        column=unnamed[0] + 1,
                    ),
                    external_id,
                )
            )
            continue
        rows.append(SourceRow(start, _record(header, cells), covers))
    if header is None:
        if first_bad is not None:
            raise ImportFileError(N_("the header row cannot be read: %(reason)s"), reason=first_bad)
        raise ImportFileError(N_("the file is empty"))
    return ParsedFile("csv", rows, errors, warnings)


def _show(delimiter: str) -> str:
    return "\\t" if delimiter == "\t" else delimiter


# --- XLSX ---------------------------------------------------------------------------------------


def _check_zip(data: bytes, limits: Limits) -> None:
    """Refuse a workbook whose parts declare more than the limit, before parsing any XML.

    The declared sizes bind: Python's zipfile stops at a part's declared size and checks its
    CRC, so a part that lies about its size fails to read instead of growing.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ImportFileError(
            N_("the file is not a readable XLSX workbook (%(reason)s)"), reason=str(exc)
        ) from None
    if len(parts) > limits.max_xlsx_parts:
        raise ImportTooLarge(
            N_(
                "the XLSX file holds %(parts)s parts, more than %(most)s (limit "
                "max_xlsx_parts); it is not a plain workbook"
            ),
            limit="max_xlsx_parts",
            value=limits.max_xlsx_parts,
            parts=Number(len(parts)),
            most=Number(limits.max_xlsx_parts),
        )
    declared = sum(part.file_size for part in parts)
    if declared > limits.max_xlsx_uncompressed_bytes:
        raise ImportTooLarge(
            N_(
                "the XLSX workbook unpacks to %(size)s bytes, more than %(most)s (limit "
                "max_xlsx_uncompressed_bytes); delete unused rows and columns (Ctrl+End shows "
                "where the sheet ends) or save it as CSV"
            ),
            limit="max_xlsx_uncompressed_bytes",
            value=limits.max_xlsx_uncompressed_bytes,
            size=Number(declared),
            most=Number(limits.max_xlsx_uncompressed_bytes),
        )


def _parse_xlsx(data: bytes, limits: Limits) -> ParsedFile:
    _check_zip(data, limits)
    # openpyxl is imported here: it is slow to import and only spreadsheets need it.
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, IndexError) as exc:
        raise ImportFileError(
            N_("the file is not a readable XLSX workbook (%(reason)s)"), reason=str(exc)
        ) from None
    except Exception as exc:  # openpyxl raises many kinds of errors for damaged workbooks
        raise ImportFileError(
            N_("the file is not a readable XLSX workbook (%(reason)s)"), reason=str(exc)
        ) from None
    try:
        return _read_sheet(workbook, limits)
    except ImportFileError:
        raise
    except Exception as exc:  # a damaged sheet part, found only while streaming it
        raise ImportFileError(
            N_("the XLSX workbook cannot be read (%(reason)s)"), reason=str(exc)
        ) from None
    finally:
        workbook.close()


# Codes that a spreadsheet silently changes when it stores them as numbers.
_NUMERIC_CODE_LOSS = {
    "postal_code": Message(N_("leading zeros are lost (01067 becomes 1067)")),
    "nace_code": Message(N_("trailing zeros are lost (62.10 becomes 62.1)")),
}


def _read_sheet(workbook: Any, limits: Limits) -> ParsedFile:
    if not workbook.worksheets:
        raise ImportFileError(N_("the XLSX workbook has no worksheet"))
    sheet = workbook.worksheets[0]
    # Some writers store a wrong sheet size; forgetting it makes read-only mode read every row.
    sheet.reset_dimensions()
    header: _Header | None = None
    covers: dict[str, frozenset[str]] = {}
    rows: list[SourceRow] = []
    warnings: list[Message] = []
    unnamed_warned: set[int] = set()
    numeric_warned: set[str] = set()
    cells_read = 0
    # Rows stream from the sheet's XML one at a time; openpyxl fills gaps between row numbers
    # with empty rows, so the row number is bounded too (a sheet ends at Excel's last row).
    for number, cells in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
        if number > limits.max_sheet_row:
            raise ImportTooLarge(
                N_("the sheet has rows beyond row %(row)s, Excel's last row (limit max_sheet_row)"),
                limit="max_sheet_row",
                value=limits.max_sheet_row,
                row=Number(limits.max_sheet_row),
            )
        cells_read += len(cells)
        if cells_read > limits.max_cells:
            raise _too_many_cells(limits)
        if all(_is_blank(cell) for cell in cells):
            continue
        if header is None:
            header, header_warnings = _build_header(cells, number, spreadsheet=True)
            covers = header.covers
            warnings.extend(header_warnings)
            continue
        if len(rows) >= limits.max_records:
            raise _too_many_records(limits)
        for position, cell in enumerate(cells):
            beyond = position >= len(header.columns)
            if _is_blank(cell) or position in unnamed_warned:
                continue
            if beyond or (header.columns[position] is None and not header.labels[position]):
                unnamed_warned.add(position)
                warnings.append(
                    Message(
                        N_(
                            "column %(column)s has values (first in row %(row)s) but no header; "
                            "they were ignored"
                        ),
                        column=_column_name(position, spreadsheet=True),
                        row=number,
                    )
                )
        record = _record(header, cells)
        for column, lost in _NUMERIC_CODE_LOSS.items():
            value = record.get(column)
            if column not in numeric_warned and isinstance(value, int | float):
                numeric_warned.add(column)
                warnings.append(
                    Message(
                        N_(
                            "%(column)s is stored as a number in the sheet (first in row "
                            "%(row)s: %(value)s); %(lost)s; format the column as text to keep "
                            "codes exact"
                        ),
                        column=column,
                        row=number,
                        value=_cell_text(value),
                        lost=lost,
                    )
                )
        rows.append(SourceRow(number, record, covers))
    if header is None:
        raise ImportFileError(N_("the first worksheet '%(sheet)s' is empty"), sheet=sheet.title)
    return ParsedFile("xlsx", rows, [], warnings)
