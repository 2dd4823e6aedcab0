"""A participant list from a spreadsheet: one row per attendee (organisation, name, e-mail, role).

Rows are read from CSV (comma, semicolon or tab) or XLSX; every row is checked first and the
problems come back as (line, field, reason), as in the profile import. The list is stored
only when no row has a problem, all rows in one transaction; a check only stores nothing.
An organisation is found by its exact name among those whose name the organiser may see;
one whose profile is not public must be invited instead (its members consent).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.errors import AppError
from app.events import service
from app.events.schemas import ParticipantCreate, PersonIn
from app.i18n import N_, Message
from app.models.event import Event
from app.models.user import User
from app.web.forms import pydantic_message as _pydantic_message

MAX_BYTES = 2_000_000
MAX_ROWS = 2000
HEADERS = {
    "organisation": "organisation",
    "organization": "organisation",
    "organisation name": "organisation",
    "firma": "organisation",
    "organisation (name)": "organisation",
    "name": "name",
    "person": "name",
    "email": "email",
    "e-mail": "email",
    "role": "role",
    "rolle": "role",
    "funktion": "role",
}
REQUIRED = ("organisation", "name", "email")


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    reason: Message


@dataclass
class ImportReport:
    rows: int = 0
    registered: list[str] = field(default_factory=list)
    people_added: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    stored: bool = False


class FileProblem(Exception):
    """The file cannot be read as a participant list at all: `message` says why."""

    def __init__(self, template: str, **values: Any) -> None:
        self.message = Message(template, **values)
        super().__init__(str(self.message))


def read_rows(data: bytes, filename: str) -> list[tuple[int, dict[str, str]]]:
    """(line, {column: text}) for every non-blank row after the header."""
    if len(data) > MAX_BYTES:
        raise FileProblem(N_("The file is larger than 2 MB."))
    spreadsheet = filename.lower().endswith(".xlsx") or data[:2] == b"PK"
    table = _xlsx(data) if spreadsheet else _csv(data)
    if not table:
        raise FileProblem(N_("The file is empty."))
    header = [HEADERS.get(str(h or "").strip().lower(), "") for h in table[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise FileProblem(N_("Columns missing: %(columns)s."), columns=", ".join(missing))
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        values = {
            header[i]: str(cell).strip()
            for i, cell in enumerate(cells)
            if i < len(header) and header[i] and cell is not None
        }
        if any(values.values()):
            rows.append((number, values))
    if len(rows) > MAX_ROWS:
        raise FileProblem(N_("More than %(rows)s rows."), rows=MAX_ROWS)
    return rows


def _csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = max((";", ",", "\t"), key=first.count)
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _xlsx(data: bytes) -> list[list[str]]:
    import openpyxl  # slow to import; only spreadsheets need it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a broken archive raises many kinds of errors
        raise FileProblem(N_("The spreadsheet cannot be read.")) from exc
    try:
        sheet = workbook.worksheets[0]
        return [
            ["" if v is None else str(v) for v in row]
            for row in sheet.iter_rows(max_row=MAX_ROWS + 2, values_only=True)
        ]
    finally:
        workbook.close()


def import_participants(
    session: Session,
    *,
    event: Event,
    user: User,
    rows: list[tuple[int, dict[str, str]]],
    find: Callable[[str], list[int]],
    check_only: bool,
) -> ImportReport:
    """Check every row, then (unless ``check_only`` or a row has a problem) register the
    organisations and add their people. ``find(name)`` gives the ids of organisations with
    exactly that name that the organiser may see. The caller commits, or rolls back."""
    report = ImportReport(rows=len(rows))
    registered = {p.organization_id: p for p in service.list_participants(session, event=event)}
    people: dict[int, list[tuple[int, PersonIn]]] = defaultdict(list)
    names: dict[int, str] = {}
    for line, values in rows:
        name = values.get("organisation", "")
        found = find(name) if name else []
        if len(found) != 1:
            unknown = (
                N_("no organisation with this name") if not found else N_("several have this name")
            )
            report.problems.append(RowProblem(line, "organisation", Message(unknown)))

            continue
        organization_id = found[0]
        try:
            if organization_id not in registered and service.needs_consent(
                session, organization_id=organization_id, registrar=user
            ):
                report.problems.append(
                    RowProblem(line, "organisation", Message(N_("not public: invite it instead")))
                )
                continue
        except AppError as exc:
            report.problems.append(RowProblem(line, "organisation", exc.message))
            continue
        try:
            person = PersonIn.model_validate(
                {
                    "name": values.get("name", ""),
                    "email": values.get("email", ""),
                    "role": values.get("role") or None,
                }
            )
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                report.problems.append(
                    RowProblem(line, str(error["loc"][0]), _pydantic_message(error))
                )
            continue
        known = registered.get(organization_id)
        emails = {p.email for p in known.people} if known else set()
        emails |= {p.email for _, p in people[organization_id]}
        if person.email in emails:
            report.problems.append(RowProblem(line, "email", Message(N_("already registered"))))
            continue
        people[organization_id].append((line, person))
        names[organization_id] = name
    if report.problems or check_only:
        return report
    for organization_id, entries in people.items():
        try:
            if organization_id in registered:
                for _, person in entries:
                    service.add_person(
                        session, event=event, participant=registered[organization_id], data=person
                    )
                    report.people_added += 1
            else:
                service.register_participant(
                    session,
                    event=event,
                    data=ParticipantCreate(
                        organization_id=organization_id, people=[p for _, p in entries]
                    ),
                    registrar=user,
                )
                report.registered.append(names[organization_id])
                report.people_added += len(entries)
        except (AppError, ValidationError) as exc:
            reason = (
                exc.message
                if isinstance(exc, AppError)
                else _pydantic_message(exc.errors(include_url=False)[0])
            )
            report.problems.append(RowProblem(entries[0][0], "organisation", reason))
            return report
    report.stored = True
    return report
