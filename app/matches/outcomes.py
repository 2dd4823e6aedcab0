"""The outcomes stored by the service, as steps in time order (`app.matches.learning`
labels pairs with them; the match path computes the outcome features of a re-ranked list
from them, `matching.outcomes`).

The match path reads them through `current_history`: once per process and database, again
only when the outcomes' change marker (`app.session_hooks.outcome_changes`) moved, so a
request costs one primary-key read instead of reading every step.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.models.cooperation import CooperationRequest
from app.models.event import (
    EventPerson,
    EventSchedule,
    MeetingRequest,
    Participant,
    ScheduledMeeting,
)
from app.models.user import User
from app.organizations.access import may_order_by_counts, outcome_ties_scope
from app.session_hooks import outcome_changes
from matching.outcomes import OutcomeHistory
from matching.types import Filters

# the marker is only exact if every session raises it: install the listeners with this module
outcome_changes.install()

POSITIVE_OUTCOMES = frozenset({"talks_started", "agreement_reached"})


def outcome_steps(session: Session) -> list[tuple[dt.datetime, int, int, int]]:
    """(time, asking organisation, other organisation, label) in time order."""
    steps: list[tuple[dt.datetime, int, int, int]] = []
    requests = session.execute(
        select(
            CooperationRequest.from_organization_id,
            CooperationRequest.to_organization_id,
            CooperationRequest.status,
            CooperationRequest.outcome,
            CooperationRequest.created_at,
            CooperationRequest.responded_at,
            CooperationRequest.outcome_at,
        ).where(CooperationRequest.status.in_(("accepted", "declined")))
    )
    for a, b, status, outcome, created, responded, outcome_at in requests:
        steps.append((responded or created, a, b, int(status == "accepted")))
        if outcome is not None:
            steps.append(
                (outcome_at or responded or created, a, b, int(outcome in POSITIVE_OUTCOMES))
            )
    person_a, person_b = aliased(EventPerson), aliased(EventPerson)
    part_a, part_b = aliased(Participant), aliased(Participant)
    meeting_requests = session.execute(
        select(
            part_a.organization_id,
            part_b.organization_id,
            MeetingRequest.status,
            MeetingRequest.created_at,
            MeetingRequest.answered_at,
        )
        .join(person_a, person_a.id == MeetingRequest.from_person_id)
        .join(part_a, part_a.id == person_a.participant_id)
        .join(person_b, person_b.id == MeetingRequest.to_person_id)
        .join(part_b, part_b.id == person_b.participant_id)
        .where(MeetingRequest.status.in_(("accepted", "declined")))
    )
    for a, b, status, created, answered in meeting_requests:
        if a != b:
            steps.append((answered or created, a, b, int(status == "accepted")))
    held = session.execute(
        select(part_a.organization_id, part_b.organization_id, EventSchedule.published_at)
        .select_from(ScheduledMeeting)
        .join(EventSchedule, EventSchedule.event_id == ScheduledMeeting.event_id)
        .join(person_a, person_a.id == ScheduledMeeting.person_a_id)
        .join(part_a, part_a.id == person_a.participant_id)
        .join(person_b, person_b.id == ScheduledMeeting.person_b_id)
        .join(part_b, part_b.id == person_b.participant_id)
        .where(
            EventSchedule.status == "published",
            person_a.no_show.is_(False),
            person_b.no_show.is_(False),
        )
    )
    for a, b, published in held:
        if a != b and published is not None:
            steps += [(published, a, b, 1), (published, b, a, 1)]
    steps.sort(key=lambda s: s[0])
    return steps


def outcome_history(session: Session) -> OutcomeHistory:
    """Every stored outcome step, for the outcome features of a re-ranked list."""
    return OutcomeHistory((timestamp(at), a, b, y) for at, a, b, y in outcome_steps(session))


def timestamp(at: dt.datetime) -> float:
    return (at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)).timestamp()


# how many databases' histories a process keeps (one in a server; tests open many)
KEEP_DATABASES = 8


class _Kept:
    """The history of each database this process reads, with the marker it was read under."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_database: dict[str, tuple[outcome_changes.Marker, OutcomeHistory]] = {}


_KEPT = _Kept()


def current_history(session: Session) -> OutcomeHistory:
    """`outcome_history(session)`, read once per process and change of the outcomes.

    The same steps and features as reading them afresh: the history is kept under the marker
    read before its steps (a write committed in between only makes the next request read them
    again), and a session with outcome writes of its own not yet committed reads afresh and
    keeps nothing."""
    marker = outcome_changes.current_marker(session)  # flushes the session's own writes first
    if outcome_changes.pending(session):
        return outcome_history(session)
    engine = session.get_bind().engine
    database = engine.url.render_as_string(hide_password=True)
    if engine.url.database in (None, "", ":memory:"):
        database += f"#{id(engine)}"  # in-memory SQLite: one database per engine
    kept = _KEPT.by_database.get(database)
    if kept is not None and kept[0] == marker:
        return kept[1]
    history = outcome_history(session)
    history.prepare()
    with _KEPT.lock:
        _KEPT.by_database.pop(database, None)
        while len(_KEPT.by_database) >= KEEP_DATABASES:  # the longest kept goes
            _KEPT.by_database.pop(next(iter(_KEPT.by_database)))
        _KEPT.by_database[database] = (marker, history)
    return history


def with_outcome_ties(
    session: Session, filters: Filters, *, user: User | None, organization_id: int
) -> Filters:
    """`filters` with what the stored outcomes may add to `organization_id`'s list for the
    caller (`app.organizations.access` decides; the outcomes only order, never shown):
    the pairs of positive outcomes as ties of the engine's graph (`Filters.outcome_ties`,
    weighed by `Weights.outcome_tie`) within `outcome_ties_scope`, and every pair as counts
    in `activity` (`Filters.activity_ties`) when `may_order_by_counts`. A list that does not
    use the graph gets neither."""
    if not filters.use_graph:
        return filters
    scope = outcome_ties_scope(user, organization_id)
    counts = may_order_by_counts(user)
    if scope == "none" and not counts:
        return filters
    history = current_history(session)
    if scope == "all":
        ties = history.ties()
    elif scope == "own":
        ties = history.ties_of(organization_id)
    else:
        ties = frozenset()
    if ties:
        filters = replace(filters, outcome_ties=ties)
    return replace(filters, activity_ties=history.ties()) if counts else filters
