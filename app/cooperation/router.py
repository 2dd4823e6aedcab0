"""HTTP endpoints for cooperation requests.

Access. Every route needs a token (401 without one).

- Send: members for their own organisation, hub staff (admin, curator) on behalf of the one they
  name in from_organization_id; organizers 403. A target the sending organisation may not see,
  or a competitor that opted out of being shown to it, is 404 like an id that does not exist.
- List: members see their organisation's requests, hub staff all of them; organizers 403.
- One request and its history: the two organisations' members and hub staff. Everyone else
  gets 404: they may not know the request exists.
- Accept and decline: members of the recipient and admins; withdraw: members of the sender and
  admins; outcome: members of either side and admins. Those who may see the request but not
  take the step (the other side, curators) get 403.
- The outcomes feed (the feedback the ranking learns from): hub staff.

State conflicts are 409 with the request's current status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from sqlalchemy.orm import Session

from app.auth.deps import get_current_user
from app.cooperation import service
from app.cooperation.schemas import (
    CooperationType,
    Direction,
    ExportFormat,
    HistoryStep,
    Outcome,
    OutcomePage,
    OutcomeSet,
    RequestCreate,
    RequestOut,
    RequestPage,
    RequestStatus,
)
from app.deps import CurrentUser, EncoderDep, IndexDep, SessionDep, require_roles
from app.errors import Forbidden, NotFound, problem_responses
from app.i18n import N_, Message
from app.models.cooperation import CooperationRequest
from app.models.user import Role, User

router = APIRouter(
    prefix="/api/v1/cooperation-requests",
    tags=["cooperation"],
    dependencies=[Depends(get_current_user)],
    responses=problem_responses({401: "No token, or an invalid one"}),
)

MAX_ID = 2**31 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
INVALID = "Invalid input, with field-level errors"
NO_REQUEST = "No such request, or not one the caller may know of"
MEMBERS_AND_STAFF = [Depends(require_roles(Role.member, Role.admin, Role.curator))]
STAFF_ONLY = [Depends(require_roles(Role.admin, Role.curator))]
CSV = "text/csv; charset=utf-8"


def _load(session: Session, user: User, request_id: int, *, for_step: bool) -> CooperationRequest:
    request = service.get_request(session, request_id=request_id, for_step=for_step)
    if not service.may_know(user, request):
        raise NotFound(N_("No cooperation request with id %(id)s."), values={"id": request_id})
    return request


def visible_request(
    user: CurrentUser, session: SessionDep, cooperation_request_id: PathId
) -> CooperationRequest:
    """Load a request the caller may know of (hub staff and the two organisations), or 404."""
    return _load(session, user, cooperation_request_id, for_step=False)


VisibleRequestDep = Annotated[CooperationRequest, Depends(visible_request)]


def _acting(*sides: str, who: str) -> Callable[..., CooperationRequest]:
    """A dependency: a request the caller may know of (else 404), held for a step that admins
    and members of the given sides take (403 for the others)."""

    def dependency(
        user: CurrentUser, session: SessionDep, cooperation_request_id: PathId
    ) -> CooperationRequest:
        request = _load(session, user, cooperation_request_id, for_step=True)
        if user.role != Role.admin.value and not service.sides_of(user, request) & set(sides):
            raise Forbidden(
                N_("Only %(who)s and admins may do this."), values={"who": Message(who)}
            )
        return request

    return dependency


RecipientRequestDep = Annotated[
    CooperationRequest, Depends(_acting("to", who=N_("members of the receiving organisation")))
]
SenderRequestDep = Annotated[
    CooperationRequest, Depends(_acting("from", who=N_("members of the sending organisation")))
]
PartyRequestDep = Annotated[
    CooperationRequest, Depends(_acting("from", "to", who=N_("members of the two organisations")))
]


def _out(session: SessionDep, user: User, request: CooperationRequest) -> RequestOut:
    return service.request_out(session, user=user, request=request)


@router.post(
    "",
    response_model=RequestOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=MEMBERS_AND_STAFF,
    responses=problem_responses(
        {
            403: "Organizers, or a member sending for another organisation",
            404: "No such target organisation, or one the sender may not see",
            409: "A request of this type to this organisation is already pending",
            422: INVALID,
        }
    ),
)
def create_request(
    body: RequestCreate,
    session: SessionDep,
    user: CurrentUser,
    encoder: EncoderDep,
    cache: IndexDep,
    response: Response,
) -> RequestOut:
    """Ask another organisation for a cooperation of one kind, with a message."""
    request = service.create_request(session, user=user, data=body, cache=cache, encoder=encoder)
    response.headers["Location"] = f"{router.prefix}/{request.id}"
    return _out(session, user, request)


@router.get(
    "",
    response_model=RequestPage,
    dependencies=MEMBERS_AND_STAFF,
    responses=problem_responses(
        {403: "Organizers, or a member naming another organisation", 422: INVALID}
    ),
)
def list_requests(
    session: SessionDep,
    user: CurrentUser,
    direction: Direction | None = None,
    status_filter: Annotated[RequestStatus | None, Query(alias="status")] = None,
    type_filter: Annotated[CooperationType | None, Query(alias="type")] = None,
    outcome: Outcome | None = None,
    organization_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Hub staff: sent or received by it")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> RequestPage:
    """Cooperation requests, newest first (members: their organisation's)."""
    items, total = service.list_requests(
        session,
        user=user,
        organization_id=organization_id,
        direction=direction.value if direction else None,
        status=status_filter.value if status_filter else None,
        type_=type_filter.value if type_filter else None,
        outcome=outcome.value if outcome else None,
        limit=limit,
        offset=offset,
    )
    return RequestPage(
        items=service.requests_out(session, user=user, requests=items),
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/outcomes",
    response_model=OutcomePage,
    dependencies=STAFF_ONLY,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **problem_responses({403: "Not hub staff", 422: INVALID}),
    },
)
def list_outcomes(
    session: SessionDep,
    format_: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.json,
    status_filter: Annotated[RequestStatus | None, Query(alias="status")] = None,
    type_filter: Annotated[CooperationType | None, Query(alias="type")] = None,
    outcome: Outcome | None = None,
    limit: Annotated[int | None, Query(ge=1, le=1_000_000, description="Default: all rows")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> OutcomePage | Response:
    """Every request as a flat row, the feedback the ranking learns from (JSON or CSV)."""
    rows, total = service.outcome_rows(
        session,
        status=status_filter.value if status_filter else None,
        type_=type_filter.value if type_filter else None,
        outcome=outcome.value if outcome else None,
        limit=limit,
        offset=offset,
    )
    if format_ is ExportFormat.csv:
        return Response(
            service.outcomes_csv(rows),
            media_type=CSV,
            headers={
                "Content-Disposition": 'attachment; filename="cooperation-outcomes.csv"',
                "X-Total-Count": str(total),
            },
        )
    return OutcomePage(items=rows, total=total, limit=limit, offset=offset)


@router.get(
    "/{cooperation_request_id}",
    response_model=RequestOut,
    responses=problem_responses({404: NO_REQUEST}),
)
def read_request(request: VisibleRequestDep, session: SessionDep, user: CurrentUser) -> RequestOut:
    """One cooperation request (the two organisations and hub staff)."""
    return _out(session, user, request)


@router.get(
    "/{cooperation_request_id}/history",
    response_model=list[HistoryStep],
    responses=problem_responses({404: NO_REQUEST}),
)
def read_history(
    request: VisibleRequestDep, session: SessionDep, user: CurrentUser
) -> list[HistoryStep]:
    """The steps of a request in order, with who took them."""
    return service.history(session, user=user, request=request)


STEP_ERRORS = problem_responses(
    {
        403: "The other side, or a curator",
        404: NO_REQUEST,
        409: "The request is no longer pending",
    }
)


def _answer(
    session: SessionDep, user: User, request: CooperationRequest, action: str
) -> RequestOut:
    service.answer_request(session, request=request, action=action, user=user)
    return _out(session, user, request)


@router.post("/{cooperation_request_id}/accept", response_model=RequestOut, responses=STEP_ERRORS)
def accept_request(
    request: RecipientRequestDep, session: SessionDep, user: CurrentUser
) -> RequestOut:
    """Accept a pending request: from now on both sides see each other's partner fields."""
    return _answer(session, user, request, "accept")


@router.post("/{cooperation_request_id}/decline", response_model=RequestOut, responses=STEP_ERRORS)
def decline_request(
    request: RecipientRequestDep, session: SessionDep, user: CurrentUser
) -> RequestOut:
    """Decline a pending request (the receiving side)."""
    return _answer(session, user, request, "decline")


@router.post("/{cooperation_request_id}/withdraw", response_model=RequestOut, responses=STEP_ERRORS)
def withdraw_request(
    request: SenderRequestDep, session: SessionDep, user: CurrentUser
) -> RequestOut:
    """Withdraw a pending request (the sending side)."""
    return _answer(session, user, request, "withdraw")


@router.post(
    "/{cooperation_request_id}/outcome",
    response_model=RequestOut,
    responses=problem_responses(
        {
            403: "A curator",
            404: NO_REQUEST,
            409: "The request is not accepted",
            422: INVALID,
        }
    ),
)
def set_outcome(
    request: PartyRequestDep, body: OutcomeSet, session: SessionDep, user: CurrentUser
) -> RequestOut:
    """Record how an accepted request went; it may be updated later, each time a history step."""
    service.set_outcome(session, request=request, data=body, user=user)
    return _out(session, user, request)
