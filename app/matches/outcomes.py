"""The outcomes stored by the service, as steps in time order (`app.matches.learning`
labels pairs with them; the match path computes the outcome features of a re-ranked list
from them, `matching.outcomes`)."""

from __future__ import annotations

import datetime as dt

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
from matching.outcomes import OutcomeHistory

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
