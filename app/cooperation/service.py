"""Business rules of cooperation requests: sending, answering, outcomes, history, feedback.

Services flush but never commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.auth.schemas import industry_of
from app.cooperation import repository as repo
from app.cooperation.schemas import (
    OUTCOME_COLUMNS,
    HistoryStep,
    OutcomeRow,
    OutcomeSet,
    PartyOut,
    RequestCreate,
    RequestOut,
)
from app.csv_export import write_csv
from app.embeddings import Encoder
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.i18n import N_, Message
from app.matches.index import IndexCache
from app.models import Organization
from app.models.base import utcnow
from app.models.cooperation import CooperationRequest, CooperationRequestEvent
from app.models.user import Role, User
from app.organizations.access import views_of
from app.organizations.disclosure import View, region, size_class
from app.organizations.views import disclosed
from matching import Filters, MatchingError

log = logging.getLogger("koopmatch.cooperation")


def _invalid(field: str, message: str, detail: str, **values: Any) -> Invalid:
    return Invalid(detail, values=values, errors=[{"field": field, "message": message}])


def _not_found(organization_id: int) -> NotFound:
    # the same answer for an id that does not exist, a hidden profile and an opted-out competitor
    return NotFound(N_("No organisation with id %(id)s."), values={"id": organization_id})


# --- who is involved ---------------------------------------------------------------------------


def sides_of(user: User, request: CooperationRequest) -> set[str]:
    """The sides ("from", "to") the caller's organisation takes in the request."""
    if user.role != Role.member.value or user.organization_id is None:
        return set()
    sides = set()
    if request.from_organization_id == user.organization_id:
        sides.add("from")
    if request.to_organization_id == user.organization_id:
        sides.add("to")
    return sides


def may_know(user: User, request: CooperationRequest) -> bool:
    """Hub staff and the two organisations' members may know the request exists."""
    return auth_service.is_staff(user) or bool(sides_of(user, request))


# --- the engine's view of the pair ---------------------------------------------------------


@dataclass(frozen=True)
class PairView:
    score: float | None
    hidden_competitor: bool  # the target opted out of being shown to this competitor


def pair_view(
    session: Session,
    *,
    sender: Organization,
    target: Organization,
    cache: IndexCache | None,
    encoder: Encoder | None,
) -> PairView:
    """The engine's score of the pair and whether the target hides from the sender.

    Uses the fitted index shared with the match endpoints (refitted only after profiles
    changed) and ranks the one target: no cost per other organisation. Without an embedding
    model there is no engine, hence no score and no competitor label.
    """
    if cache is None or encoder is None:
        return PairView(None, False)
    try:
        index = cache.get(session, encoder.name)
        query = index.profiles.get(sender.id)
        info = index.info.get(target.id)
        # private profiles are not candidates of the engine: it offers them to nobody
        if query is None or info is None or info.visibility == "private":
            return PairView(None, False)
        # the rule that keeps the target out of the sender's matches and searches
        # (matches.service.opted_out_competitors), asked of the target alone
        if info.hide_from_competitors and bool(index.matcher.competitors(query, [target.id])[0]):
            return PairView(None, True)
        found = index.matcher.match(
            query,
            filters=Filters(
                only_ids=frozenset({target.id}), exclude_known=False, include_competitors=True
            ),
            limit=1,
        )
    except MatchingError:
        log.warning("no match score for %s -> %s", sender.id, target.id, exc_info=True)
        return PairView(None, False)
    # nothing links the pair (no competence, text or partner): the engine gives no score
    return PairView(round(found[0].score, 6) if found else None, False)


# --- requests --------------------------------------------------------------------------------


def _sender_id(user: User, data: RequestCreate) -> int:
    if auth_service.is_staff(user):
        if data.from_organization_id is None:
            raise _invalid(
                "from_organization_id",
                N_("required for hub staff"),
                N_("Hub staff send on behalf of an organisation: name from_organization_id."),
            )
        return data.from_organization_id
    if user.role != Role.member.value or user.organization_id is None:
        raise Forbidden(
            N_("Only members and hub staff send cooperation requests; you are %(role)s."),
            values={"role": user.role},
        )
    if data.from_organization_id not in (None, user.organization_id):
        raise Forbidden(N_("Members send cooperation requests for their own organisation only."))
    return user.organization_id


def create_request(
    session: Session,
    *,
    user: User,
    data: RequestCreate,
    cache: IndexCache | None,
    encoder: Encoder | None,
) -> CooperationRequest:
    from_id = _sender_id(user, data)
    # holding the sender's row serialises its requests: two at once cannot both be "the one
    # pending request" of a kind
    sender = repo.get_organization(session, from_id, lock=True)
    if sender is None:
        raise _invalid(
            "from_organization_id",
            N_("no such organisation"),
            N_("No organisation with id %(id)s."),
            id=from_id,
        )
    if data.to_organization_id == from_id:
        raise _invalid(
            "to_organization_id",
            N_("an organisation cannot ask itself"),
            N_("A cooperation request goes to another organisation."),
        )
    target = repo.get_organization(session, data.to_organization_id)
    # the sender is the organisation: a private profile is hidden from every other one
    if target is None or target.visibility == "private":
        raise _not_found(data.to_organization_id)
    engine = pair_view(session, sender=sender, target=target, cache=cache, encoder=encoder)
    if engine.hidden_competitor:
        raise _not_found(target.id)
    existing = repo.pending_request(session, from_id, target.id, data.type.value)
    if existing is not None:
        raise Conflict(
            N_(
                "Request %(id)s of type %(type)s from organisation %(from_id)s to %(to_id)s "
                "is already pending; withdraw it or wait for the answer."
            ),
            values={
                "id": existing.id,
                "type": existing.type,
                "from_id": from_id,
                "to_id": target.id,
            },
            request_id=existing.id,
            current_status=existing.status,
        )
    now = utcnow()
    request = CooperationRequest(
        from_organization_id=from_id,
        to_organization_id=target.id,
        type=data.type.value,
        message=data.message or None,
        status="pending",
        sender_user_id=user.id,
        match_score=engine.score,
        created_at=now,
    )
    request.from_organization = sender
    request.to_organization = target
    request.history = [
        CooperationRequestEvent(action="sent", status="pending", actor_user_id=user.id, at=now)
    ]
    session.add(request)
    session.flush()
    return request


def get_request(session: Session, *, request_id: int, for_step: bool = False) -> CooperationRequest:
    """A request, or 404; `for_step` holds its row so that two answers cannot cross."""
    request = repo.get_request(session, request_id, lock=for_step)
    if request is None:
        raise NotFound(N_("No cooperation request with id %(id)s."), values={"id": request_id})
    return request


# the statuses as the error messages name them, translated on the pages
STATUS_WORDS = (N_("pending"), N_("accepted"), N_("declined"), N_("withdrawn"))

# action -> the status after it (also the name of the step in the history)

_TRANSITIONS = {"accept": "accepted", "decline": "declined", "withdraw": "withdrawn"}


def _step(
    session: Session, request: CooperationRequest, *, action: str, user: User, at: dt.datetime
) -> None:
    session.add(
        CooperationRequestEvent(
            request_id=request.id,
            action=action,
            status=request.status,
            outcome=request.outcome if action == "outcome" else None,
            actor_user_id=user.id,
            at=at,
        )
    )


def answer_request(
    session: Session, *, request: CooperationRequest, action: str, user: User
) -> CooperationRequest:
    """Accept or decline (the recipient) or withdraw (the sender) a pending request."""
    target = _TRANSITIONS[action]
    if request.status != "pending":
        raise Conflict(
            N_(
                "Cooperation request %(id)s is %(status)s; only a pending request can be "
                "%(target)s."
            ),
            values={"id": request.id, "status": Message(request.status), "target": Message(target)},
            current_status=request.status,
        )
    now = utcnow()
    request.status = target
    if action in ("accept", "decline"):
        request.responder_user_id = user.id
        request.responded_at = now
    _step(session, request, action=target, user=user, at=now)
    session.flush()
    return request


def set_outcome(
    session: Session, *, request: CooperationRequest, data: OutcomeSet, user: User
) -> CooperationRequest:
    """Record (or update) how an accepted request went; every change is a step in its history."""
    if request.status != "accepted":
        raise Conflict(
            N_(
                "Cooperation request %(id)s is %(status)s; an outcome is recorded only for an "
                "accepted request."
            ),
            values={"id": request.id, "status": Message(request.status)},
            current_status=request.status,
        )
    now = utcnow()
    request.outcome = data.outcome.value
    if "note" in data.model_fields_set:
        request.outcome_note = data.note or None
    request.outcome_at = now
    _step(session, request, action="outcome", user=user, at=now)
    session.flush()
    return request


def list_requests(
    session: Session,
    *,
    user: User,
    organization_id: int | None,
    direction: str | None,
    status: str | None,
    type_: str | None,
    outcome: str | None,
    limit: int,
    offset: int,
) -> tuple[list[CooperationRequest], int]:
    """Members: their organisation's requests; hub staff: all, or one organisation's."""
    if not auth_service.is_staff(user):
        own = user.organization_id
        if organization_id not in (None, own):
            raise Forbidden(N_("Members list the requests of their own organisation only."))
        organization_id = own
    elif direction is not None and organization_id is None:
        raise _invalid(
            "direction",
            N_("needs organization_id"),
            N_("Sent or received by whom? Name organization_id with direction."),
        )
    return repo.list_requests(
        session,
        organization_id=organization_id,
        direction=direction,
        status=status,
        type_=type_,
        outcome=outcome,
        limit=limit,
        offset=offset,
    )


# --- output ----------------------------------------------------------------------------------


def party_out(organization: Organization, view: View) -> PartyOut:
    """One side of a request through the caller's view (app.organizations.views.disclosed)."""
    values = {name: getattr(organization, name) for name in _PARTY_ATTRIBUTES}
    values.update(
        size_class=size_class(organization.employees),
        region=region(organization.country, organization.postal_code),
    )
    return PartyOut.model_validate(disclosed(values, view))


_PARTY_ATTRIBUTES = (
    "id",
    "external_id",
    "name",
    "website",
    "contact_name",
    "contact_email",
    "contact_phone",
    "employees",
    "nace_code",
    "country",
)


def requests_out(
    session: Session, *, user: User, requests: Sequence[CooperationRequest]
) -> list[RequestOut]:
    """Requests with both organisations seen through the caller's disclosure views."""
    organizations = {o.id: o for r in requests for o in (r.from_organization, r.to_organization)}
    views = views_of(session, user, list(organizations.values()))
    return [
        RequestOut(
            id=r.id,
            type=r.type,
            status=r.status,
            message=r.message,
            from_organization=party_out(r.from_organization, views[r.from_organization_id]),
            to_organization=party_out(r.to_organization, views[r.to_organization_id]),
            sender_user_id=r.sender_user_id,
            responder_user_id=r.responder_user_id,
            match_score=r.match_score,
            created_at=r.created_at,
            responded_at=r.responded_at,
            outcome=r.outcome,
            outcome_note=r.outcome_note,
            outcome_at=r.outcome_at,
        )
        for r in requests
    ]


def request_out(session: Session, *, user: User, request: CooperationRequest) -> RequestOut:
    return requests_out(session, user=user, requests=[request])[0]


def history(session: Session, *, user: User, request: CooperationRequest) -> list[HistoryStep]:
    """The steps in order; an actor's name only for staff and the actor's own organisation."""
    steps = repo.history(session, request.id)
    actors = repo.users_by_id(session, {s.actor_user_id for s in steps if s.actor_user_id})
    staff = auth_service.is_staff(user)

    def name_of(user_id: int | None) -> str | None:
        actor = actors.get(user_id) if user_id is not None else None
        if actor is None:
            return None
        own = (
            user.role == Role.member.value
            and actor.organization_id is not None
            and actor.organization_id == user.organization_id
        )
        return actor.name if staff or own else None

    return [
        HistoryStep(
            id=s.id,
            action=s.action,
            status=s.status,
            outcome=s.outcome,
            actor_user_id=s.actor_user_id,
            actor_name=name_of(s.actor_user_id),
            at=s.at,
        )
        for s in steps
    ]


# --- the feedback the ranking learns from ------------------------------------------------------


def outcome_rows(
    session: Session,
    *,
    status: str | None,
    type_: str | None,
    outcome: str | None,
    limit: int | None,
    offset: int,
) -> tuple[list[OutcomeRow], int]:
    rows, total = repo.outcome_rows(
        session, status=status, type_=type_, outcome=outcome, limit=limit, offset=offset
    )
    items = [
        OutcomeRow(
            request_id=r.id,
            from_organization_id=r.from_organization_id,
            to_organization_id=r.to_organization_id,
            from_nace_division=industry_of(from_nace),
            to_nace_division=industry_of(to_nace),
            type=r.type,
            status=r.status,
            outcome=r.outcome,
            match_score=r.match_score,
            created_at=r.created_at,
            responded_at=r.responded_at,
            outcome_at=r.outcome_at,
        )
        for r, from_nace, to_nace in rows
    ]
    return items, total


def outcomes_csv(rows: Sequence[OutcomeRow]) -> str:
    """The rows as CSV with a header; empty cells for null, timestamps in ISO 8601."""
    dumped = (row.model_dump(mode="json") for row in rows)
    return write_csv(
        OUTCOME_COLUMNS, ([v[c] for c in OUTCOME_COLUMNS] for v in dumped), lineterminator="\n"
    )
