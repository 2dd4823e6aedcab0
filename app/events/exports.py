"""Agendas and table plans as iCalendar, CSV and printable HTML, in German or English.

Plain functions of plain data: the service loads the rows and decides what may be shown (a
partner's e-mail only once both sides accepted a meeting request), these only format them.

Calendars. Each meeting's UID is its pair's, so a calendar client that imports the agenda
again updates a moved meeting instead of adding a second one; it does so only when SEQUENCE
grows, so a meeting that changed after publication carries its grown sequence and the time of
the change as DTSTAMP, and a published meeting that a re-schedule removed is sent as a
cancelled VEVENT (STATUS:CANCELLED) with the same UID. ``cancellations_ics`` sends the same
cancellations as an iTIP METHOD:CANCEL message for clients that import invitations.

CSV. Every text cell is quoted and formula starts are neutralised (``app.csv_export``), with
``,`` or ``;`` as the separator.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

import icalendar
from babel.dates import format_datetime

from app.csv_export import Delimiter, write_csv

PRODID = "-//koopmatch//matchmaking event agenda//EN"

Lang = Literal["de", "en"]

KIND_TEXT: dict[Lang, dict[str, str]] = {
    "en": {
        "accepted_request": "accepted request",
        "must_meet": "must meet",
        "would_like": "would like to meet",
        "recommended": "recommended match",
        "manual": "set by the organiser",
    },
    "de": {
        "accepted_request": "angenommene Anfrage",
        "must_meet": "Pflichttermin",
        "would_like": "Wunschtermin",
        "recommended": "empfohlener Kontakt",
        "manual": "vom Veranstalter festgelegt",
    },
}

TEXT: dict[Lang, dict[str, str]] = {
    "en": {
        "meeting_with": "Meeting with {name} ({organisation})",
        "cancelled": "Cancelled: meeting with {name} ({organisation})",
        "table": "Table",
        "partner": "Partner",
        "organisation": "Organisation",
        "why": "Why",
        "email": "E-mail",
        "time": "Time",
        "agenda": "agenda",
        "times_in": "times in {zone}",
        "no_meetings": "No meetings scheduled.",
        "cancelled_heading": "Cancelled meetings",
        "calendar": "{event}: {person}",
    },
    "de": {
        "meeting_with": "Gespräch mit {name} ({organisation})",
        "cancelled": "Abgesagt: Gespräch mit {name} ({organisation})",
        "table": "Tisch",
        "partner": "Gesprächspartner",
        "organisation": "Organisation",
        "why": "Grund",
        "email": "E-Mail",
        "time": "Zeit",
        "agenda": "Terminplan",
        "times_in": "Zeiten in {zone}",
        "no_meetings": "Keine Gespräche geplant.",
        "cancelled_heading": "Abgesagte Gespräche",
        "calendar": "{event}: {person}",
    },
}


def kind_text(kind: str, lang: Lang) -> str:
    """Why a meeting is planned, in words."""
    return KIND_TEXT[lang].get(kind, kind)


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
    # shown only where the service allows it (see the module text)
    email: str | None = None


@dataclass(frozen=True, slots=True)
class AgendaEntry:
    """One meeting from one person's side; times are UTC. ``stamp``: when the published
    meeting last changed (None: as published)."""

    meeting_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    table: str
    partner: PersonInfo
    kind: str
    person_a_id: int
    person_b_id: int
    sequence: int = 0
    stamp: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class CancelledEntry:
    """A published meeting that a re-schedule removed, from one person's side; times are UTC."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    table: str
    partner: PersonInfo
    person_a_id: int
    person_b_id: int
    sequence: int
    cancelled_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Agenda:
    person: PersonInfo
    entries: Sequence[AgendaEntry]
    cancelled: Sequence[CancelledEntry] = ()
    lang: Lang = "en"


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


def _calendar(event: EventInfo, agenda: Agenda, method: str) -> icalendar.Calendar:
    text = TEXT[agenda.lang]
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    cal.add("x-wr-calname", text["calendar"].format(event=event.name, person=agenda.person.name))
    cal.add("x-wr-timezone", event.timezone)
    return cal


def _vevent(
    event: EventInfo,
    agenda: Agenda,
    *,
    partner: PersonInfo,
    pair: tuple[int, int],
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    table: str,
    sequence: int,
    stamp: dt.datetime,
    kind: str | None,
) -> icalendar.Event:
    lang = agenda.lang
    text = TEXT[lang]
    zone = event.zone
    item = icalendar.Event()
    item.add("uid", meeting_uid(event.id, *pair))
    item.add("dtstamp", stamp.astimezone(dt.UTC))
    item.add("sequence", sequence)
    item.add("dtstart", starts_at.astimezone(zone))
    item.add("dtend", ends_at.astimezone(zone))
    title = text["meeting_with"] if kind is not None else text["cancelled"]
    item.add("summary", title.format(name=partner.name, organisation=partner.organization))
    where = f"{text['table']} {table}"
    item.add("location", f"{event.venue}, {where}" if event.venue else where)
    lines = [
        f"{event.name}",
        f"{text['partner']}: {partner.name}" + (f", {partner.role}" if partner.role else ""),
        f"{text['organisation']}: {partner.organization}",
        f"{text['table']}: {table}",
    ]
    if kind is not None:
        lines.append(f"{text['why']}: {kind_text(kind, lang)}")
    if partner.email:
        lines.append(f"{text['email']}: {partner.email}")
        item.add("contact", f"{partner.name}, {partner.email}")
    item.add("description", "\n".join(lines))
    item.add("status", "CONFIRMED" if kind is not None else "CANCELLED")
    return item


def _add_timezone(cal: icalendar.Calendar, event: EventInfo, times: list[dt.datetime]) -> None:
    if times:
        # a VTIMEZONE covering the event's year(s) only, not 1970-2038
        first = min(times).astimezone(event.zone).date()
        last = max(times).astimezone(event.zone).date()
        cal.add_missing_timezones(
            first_date=dt.date(first.year, 1, 1), last_date=dt.date(last.year + 1, 1, 1)
        )


def _cancelled_vevent(event: EventInfo, agenda: Agenda, gone: CancelledEntry) -> icalendar.Event:
    return _vevent(
        event,
        agenda,
        partner=gone.partner,
        pair=(gone.person_a_id, gone.person_b_id),
        starts_at=gone.starts_at,
        ends_at=gone.ends_at,
        table=gone.table,
        sequence=gone.sequence,
        stamp=gone.cancelled_at,
        kind=None,
    )


def agenda_ics(event: EventInfo, agenda: Agenda, *, stamp: dt.datetime) -> bytes:
    """An iCalendar file with one VEVENT per meeting, in the event's time zone (with VTIMEZONE),
    and one cancelled VEVENT per published meeting that was removed.

    ``stamp`` is the DTSTAMP of meetings unchanged since publication (the publication time).
    """
    cal = _calendar(event, agenda, "PUBLISH")
    for entry in agenda.entries:
        cal.add_component(
            _vevent(
                event,
                agenda,
                partner=entry.partner,
                pair=(entry.person_a_id, entry.person_b_id),
                starts_at=entry.starts_at,
                ends_at=entry.ends_at,
                table=entry.table,
                sequence=entry.sequence,
                stamp=entry.stamp or stamp,
                kind=entry.kind,
            )
        )
    for gone in agenda.cancelled:
        cal.add_component(_cancelled_vevent(event, agenda, gone))
    times = [t for e in agenda.entries for t in (e.starts_at, e.ends_at)]
    _add_timezone(
        cal, event, times + [t for c in agenda.cancelled for t in (c.starts_at, c.ends_at)]
    )
    return cal.to_ical()


def cancellations_ics(event: EventInfo, agenda: Agenda) -> bytes:
    """The removed meetings as an iTIP cancellation (METHOD:CANCEL), one VEVENT each."""
    cal = _calendar(event, agenda, "CANCEL")
    for gone in agenda.cancelled:
        cal.add_component(_cancelled_vevent(event, agenda, gone))
    _add_timezone(cal, event, [t for c in agenda.cancelled for t in (c.starts_at, c.ends_at)])
    return cal.to_ical()


AGENDA_CSV_HEADER = (
    "start",
    "end",
    "table",
    "partner",
    "partner_role",
    "partner_organisation",
    "kind",
    "why",
    "partner_email",
)

AGENDA_CSV_HEADER_DE = (
    "Beginn",
    "Ende",
    "Tisch",
    "Gesprächspartner",
    "Funktion",
    "Organisation",
    "Art",
    "Grund",
    "E-Mail",
)


def agenda_csv(event: EventInfo, agenda: Agenda, *, delimiter: Delimiter = ",") -> str:
    """One row per meeting; times are ISO 8601 in the event's time zone."""
    zone = event.zone
    return write_csv(
        AGENDA_CSV_HEADER_DE if agenda.lang == "de" else AGENDA_CSV_HEADER,
        [
            (
                e.starts_at.astimezone(zone).isoformat(),
                e.ends_at.astimezone(zone).isoformat(),
                e.table,
                e.partner.name,
                e.partner.role,
                e.partner.organization,
                e.kind,
                kind_text(e.kind, agenda.lang),
                e.partner.email,
            )
            for e in agenda.entries
        ],
        delimiter=delimiter,
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

TABLE_PLAN_HEADER_DE = (
    "Runde",
    "Beginn",
    "Ende",
    "Tisch",
    "Person A",
    "Organisation A",
    "Person B",
    "Organisation B",
    "Art",
    "fixiert",
)


def table_plan_csv(
    event: EventInfo, rows: Sequence[PlanRow], *, lang: Lang = "en", delimiter: Delimiter = ","
) -> str:
    """The organiser's plan: one row per meeting, by slot and table."""
    zone = event.zone
    yes, no = ("ja", "nein") if lang == "de" else ("yes", "no")
    return write_csv(
        TABLE_PLAN_HEADER_DE if lang == "de" else TABLE_PLAN_HEADER,
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
                yes if r.locked else no,
            )
            for r in rows
        ],
        delimiter=delimiter,
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


def _when(start: dt.datetime, end: dt.datetime, zone: zoneinfo.ZoneInfo, lang: Lang) -> str:
    first = format_datetime(start.astimezone(zone), "EEE dd.MM.yyyy HH:mm", locale=lang)
    return f"{first}&ndash;{format_datetime(end.astimezone(zone), 'HH:mm', locale=lang)}"


def _partner_cell(partner: PersonInfo) -> str:
    cell = escape(partner.name)
    if partner.role:
        cell += f"<br><small>{escape(partner.role)}</small>"
    if partner.email:
        address = escape(partner.email)
        cell += f'<br><a href="mailto:{address}">{address}</a>'
    return cell


def _section(event: EventInfo, agenda: Agenda, page_lang: Lang) -> str:
    zone = event.zone
    lang = agenda.lang
    text = TEXT[lang]
    person = agenda.person
    who = escape(person.name) + (f", {escape(person.role)}" if person.role else "")
    parts = [
        "<section>" if lang == page_lang else f'<section lang="{lang}">',
        f"<h2>{who} &mdash; {escape(person.organization)}</h2>",
    ]
    head = (
        f"<table><thead><tr><th>{text['time']}</th><th>{text['table']}</th>"
        f"<th>{text['partner']}</th><th>{text['organisation']}</th></tr></thead><tbody>"
    )
    if not agenda.entries:
        parts.append(f"<p>{text['no_meetings']}</p>")
    else:
        parts.append(head)
        for e in agenda.entries:
            parts.append(
                f"<tr><td>{_when(e.starts_at, e.ends_at, zone, lang)}</td>"
                f"<td>{escape(e.table)}</td><td>{_partner_cell(e.partner)}</td>"
                f"<td>{escape(e.partner.organization)}</td></tr>"
            )
        parts.append("</tbody></table>")
    if agenda.cancelled:
        parts.append(f"<h3>{text['cancelled_heading']}</h3>")
        parts.append(head)
        for c in agenda.cancelled:
            parts.append(
                f"<tr><td><del>{_when(c.starts_at, c.ends_at, zone, lang)}</del></td>"
                f"<td>{escape(c.table)}</td><td>{_partner_cell(c.partner)}</td>"
                f"<td>{escape(c.partner.organization)}</td></tr>"
            )
        parts.append("</tbody></table>")
    parts.append("</section>")
    return "\n".join(parts)


def agenda_html(event: EventInfo, agendas: Sequence[Agenda], *, lang: Lang = "en") -> str:
    """A printable page: one section (and printed page) per person, each in its language;
    ``lang`` is the page's own language (title and heading)."""
    text = TEXT[lang]
    title = escape(event.name)
    venue = f"{escape(event.venue)} &middot; " if event.venue else ""
    body = "\n".join(_section(event, a, lang) for a in agendas)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{title} &mdash; {text['agenda']}</title><style>{_STYLE}</style></head>\n"
        f"<body><h1>{title}</h1>"
        f'<p class="meta">{venue}{text["times_in"].format(zone=escape(event.timezone))}</p>\n'
        f"{body}\n</body></html>\n"
    )
