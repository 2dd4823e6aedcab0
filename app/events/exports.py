"""Agendas and table plans as iCalendar, CSV and printable HTML.

Plain functions of plain data: the service loads the rows, these only format them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import icalendar

PRODID = "-//koopmatch//matchmaking event agenda//EN"

KIND_TEXT = {
    "accepted_request": "accepted request",
    "must_meet": "must meet",
    "would_like": "would like to meet",
    "recommended": "recommended match",
    "manual": "set by the organiser",
}


@dataclass(frozen=True, slots=True)
class EventInfo:
    id: int
    name: str
    venue: str | None
    timezone: str

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class PersonInfo:
    id: int
    name: str
    role: str | None
    organization_id: int
    organization: str


@dataclass(frozen=True, slots=True)
class AgendaEntry:
    """One meeting from one person's side; times are UTC."""

    meeting_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    table: str
    partner: PersonInfo
    kind: str
    person_a_id: int
    person_b_id: int


@dataclass(frozen=True, slots=True)
class Agenda:
    person: PersonInfo
    entries: Sequence[AgendaEntry]


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One meeting of the organiser's table plan; times are UTC."""

    slot_position: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    table: str
    a: PersonInfo
    b: PersonInfo
    kind: str
    locked: bool


def meeting_uid(event_id: int, a: int, b: int) -> str:
    """Stable across re-scheduling: a pair meets at most once per event, so a calendar
    client updates the time of a moved meeting instead of adding a second one."""
    lo, hi = sorted((a, b))
    return f"koopmatch-event-{event_id}-meeting-{lo}-{hi}@koopmatch"


def agenda_ics(event: EventInfo, agenda: Agenda, *, stamp: dt.datetime) -> bytes:
    """An iCalendar file with one VEVENT per meeting, in the event's time zone (with VTIMEZONE)."""
    zone = event.zone
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{event.name}: {agenda.person.name}")
    cal.add("x-wr-timezone", event.timezone)
    for entry in agenda.entries:
        partner = entry.partner
        item = icalendar.Event()
        item.add("uid", meeting_uid(event.id, entry.person_a_id, entry.person_b_id))
        item.add("dtstamp", stamp.astimezone(dt.UTC))
        item.add("dtstart", entry.starts_at.astimezone(zone))
        item.add("dtend", entry.ends_at.astimezone(zone))
        item.add("summary", f"Meeting with {partner.name} ({partner.organization})")
        where = f"Table {entry.table}"
        item.add("location", f"{event.venue}, {where}" if event.venue else where)
        lines = [
            f"{event.name}",
            f"Partner: {partner.name}" + (f", {partner.role}" if partner.role else ""),
            f"Organisation: {partner.organization}",
            f"Table: {entry.table}",
            f"Why: {KIND_TEXT.get(entry.kind, entry.kind)}",
        ]
        item.add("description", "\n".join(lines))
        cal.add_component(item)
    if agenda.entries:
        # a VTIMEZONE covering the event's year(s) only, not 1970-2038
        first = min(e.starts_at for e in agenda.entries).astimezone(zone).date()
        last = max(e.ends_at for e in agenda.entries).astimezone(zone).date()
        cal.add_missing_timezones(
            first_date=dt.date(first.year, 1, 1), last_date=dt.date(last.year + 1, 1, 1)
        )
    return cal.to_ical()


def _cell(value: object) -> str:
    """A CSV cell that spreadsheets will not run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()


AGENDA_CSV_HEADER = (
    "start",
    "end",
    "table",
    "partner",
    "partner_role",
    "partner_organisation",
    "kind",
)


def agenda_csv(event: EventInfo, agenda: Agenda) -> str:
    """One row per meeting; times are ISO 8601 in the event's time zone."""
    zone = event.zone
    return _csv(
        AGENDA_CSV_HEADER,
        [
            (
                e.starts_at.astimezone(zone).isoformat(),
                e.ends_at.astimezone(zone).isoformat(),
                e.table,
                e.partner.name,
                e.partner.role,
                e.partner.organization,
                e.kind,
            )
            for e in agenda.entries
        ],
    )


TABLE_PLAN_HEADER = (
    "slot",
    "start",
    "end",
    "table",
    "person_a",
    "organisation_a",
    "person_b",
    "organisation_b",
    "kind",
    "locked",
)


def table_plan_csv(event: EventInfo, rows: Sequence[PlanRow]) -> str:
    """The organiser's plan: one row per meeting, by slot and table."""
    zone = event.zone
    return _csv(
        TABLE_PLAN_HEADER,
        [
            (
                r.slot_position + 1,
                r.starts_at.astimezone(zone).isoformat(),
                r.ends_at.astimezone(zone).isoformat(),
                r.table,
                r.a.name,
                r.a.organization,
                r.b.name,
                r.b.organization,
                r.kind,
                "yes" if r.locked else "no",
            )
            for r in rows
        ],
    )


_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #111; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin-top: 1.5em; }
p.meta { color: #444; margin-top: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #999; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #eee; }
section { page-break-after: always; break-after: page; }
section:last-child { page-break-after: auto; break-after: auto; }
"""


def _section(event: EventInfo, agenda: Agenda) -> str:
    zone = event.zone
    person = agenda.person
    who = escape(person.name) + (f", {escape(person.role)}" if person.role else "")
    parts = [
        "<section>",
        f"<h2>{who} &mdash; {escape(person.organization)}</h2>",
    ]
    if not agenda.entries:
        parts.append("<p>No meetings scheduled.</p>")
    else:
        parts.append(
            "<table><thead><tr><th>Time</th><th>Table</th><th>Partner</th>"
            "<th>Organisation</th></tr></thead><tbody>"
        )
        for e in agenda.entries:
            start = e.starts_at.astimezone(zone)
            end = e.ends_at.astimezone(zone)
            partner = escape(e.partner.name) + (
                f"<br><small>{escape(e.partner.role)}</small>" if e.partner.role else ""
            )
            parts.append(
                f"<tr><td>{start:%a %d.%m.%Y %H:%M}&ndash;{end:%H:%M}</td>"
                f"<td>{escape(e.table)}</td><td>{partner}</td>"
                f"<td>{escape(e.partner.organization)}</td></tr>"
            )
        parts.append("</tbody></table>")
    parts.append("</section>")
    return "\n".join(parts)


def agenda_html(event: EventInfo, agendas: Sequence[Agenda]) -> str:
    """A printable page: one section (and printed page) per person."""
    title = escape(event.name)
    venue = f"{escape(event.venue)} &middot; " if event.venue else ""
    body = "\n".join(_section(event, a) for a in agendas)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title} &mdash; agenda</title><style>{_STYLE}</style></head>\n"
        f"<body><h1>{title}</h1>"
        f'<p class="meta">{venue}times in {escape(event.timezone)}</p>\n'
        f"{body}\n</body></html>\n"
    )
