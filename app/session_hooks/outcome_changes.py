"""The change marker of the stored outcomes: a counter and a random stamp in one row.

The match path orders its best candidates with features computed from every outcome step
(`app.matches.outcomes`). A process computes them once and keeps them while the marker it read
them under is the current one: a primary-key read per request instead of reading every step.

Every transaction that writes a row the steps are read from (cooperation requests, meeting
requests, held meetings and what decides whether they count: schedules, participants, people)
or deletes a row whose deletion cascades to them (organisations, events, time slots, tables)
raises `outcome_state.version` by one and sets a new `stamp`, in the same transaction, just
before it commits: a rollback takes the change back with the write, and another process sees
both at once. The same listeners as the matching index's change feed
(`app.session_hooks.index_changes`): ``after_flush`` for ORM flushes, ``do_orm_execute`` for
bulk statements, ``before_commit`` to record.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Delete, Insert, Table, Update, select, update
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.models import Organization
from app.models.cooperation import CooperationRequest
from app.models.event import (
    Event,
    EventPerson,
    EventSchedule,
    EventTable,
    MeetingRequest,
    Participant,
    ScheduledMeeting,
    TimeSlot,
)
from app.models.index_state import OutcomeState
from app.session_hooks import forget_at_end, listen_once

STATE: Table = OutcomeState.__table__  # type: ignore[assignment]
# session.info key: the session's open transaction wrote what the outcome steps are read from
PENDING = "outcome_pending"
# any write to these changes the steps (or whether a held meeting counts)
_WRITTEN = (
    CooperationRequest,
    MeetingRequest,
    ScheduledMeeting,
    EventSchedule,
    EventPerson,
    Participant,
)
# deleting these deletes rows of the above by a cascade in the database
_DELETED = (Organization, Event, TimeSlot, EventTable)
_WRITTEN_TABLES = frozenset(c.__tablename__ for c in _WRITTEN)
_DELETED_TABLES = frozenset(c.__tablename__ for c in _DELETED)

Marker = tuple[int, str]


def current_marker(session: Session) -> Marker:
    """(version, stamp) as this session sees it (one primary-key read)."""
    row = session.execute(select(STATE.c.version, STATE.c.stamp).where(STATE.c.id == 1)).one()
    return int(row.version), str(row.stamp)


def pending(session: Session) -> bool:
    """Whether this session wrote outcome rows in its open transaction (not committed yet)."""
    return bool(session.info.get(PENDING))


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    modified = (o for o in session.dirty if session.is_modified(o, include_collections=False))
    if any(isinstance(o, _WRITTEN) for o in (*session.new, *modified)) or any(
        isinstance(o, _WRITTEN + _DELETED) for o in session.deleted
    ):
        session.info[PENDING] = True


def _on_orm_execute(state: ORMExecuteState) -> None:
    statement = state.statement
    if not isinstance(statement, Insert | Update | Delete):
        return
    table = getattr(statement.table, "name", None)
    if table in _WRITTEN_TABLES or (isinstance(statement, Delete) and table in _DELETED_TABLES):
        state.session.info[PENDING] = True


def _before_commit(session: Session) -> None:
    # written last, just before the commit, as the index's counter (a short row lock)
    session.flush()
    if session.info.pop(PENDING, None):
        session.connection().execute(
            update(STATE)
            .where(STATE.c.id == 1)
            .values(version=STATE.c.version + 1, stamp=secrets.token_hex(16))
        )


_settled = forget_at_end(PENDING)


def install() -> None:
    """Register the listeners on the Session class (idempotent)."""
    listen_once(
        (
            ("after_flush", _after_flush),
            ("do_orm_execute", _on_orm_execute),
            ("before_commit", _before_commit),
            ("after_transaction_end", _settled),
        )
    )
