"""Request and response bodies for cooperation requests and their outcomes."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.auth.schemas import OrganizationId
from app.organizations.schemas import (
    AlwaysShown,
    ContactsGroup,
    CooperationInterest,
    EmployeesGroup,
    NameGroup,
    ShownTo,
    WebsiteGroup,
)

# the kind of cooperation asked for is one of the kinds a profile can be interested in
CooperationType = CooperationInterest

MESSAGE_MAX_LENGTH = 5000
NOTE_MAX_LENGTH = 5000


class RequestStatus(enum.StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    withdrawn = "withdrawn"


class Outcome(enum.StrEnum):
    talks_started = "talks_started"
    agreement_reached = "agreement_reached"
    no_fit = "no_fit"


class Direction(enum.StrEnum):
    sent = "sent"
    received = "received"


class ExportFormat(enum.StrEnum):
    json = "json"
    csv = "csv"


Message = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MESSAGE_MAX_LENGTH)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=NOTE_MAX_LENGTH)]


# a step in a request's history: the new status, or "outcome" for a recorded outcome
StepAction = Literal["sent", "accepted", "declined", "withdrawn", "outcome"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequestCreate(_Strict):
    to_organization_id: OrganizationId
    type: CooperationType = Field(description="The kind of cooperation asked for")
    message: Message | None = None
    from_organization_id: OrganizationId | None = Field(
        None,
        description="The sending organisation: members may omit it (their own); staff name it",
    )


class OutcomeSet(_Strict):
    outcome: Outcome
    note: Note | None = Field(None, description="Replaces the stored note when given")


class PartyOut(ShownTo, EmployeesGroup, ContactsGroup, WebsiteGroup, NameGroup, AlwaysShown):
    """One side of a request as the caller may see it: hidden attributes are null."""


class RequestOut(BaseModel):
    id: int
    type: CooperationType
    status: RequestStatus
    message: str | None
    from_organization: PartyOut
    to_organization: PartyOut
    sender_user_id: int | None
    responder_user_id: int | None
    match_score: float | None = Field(
        description="The engine's score of the pair when the request was sent (null if unknown)"
    )
    created_at: dt.datetime
    responded_at: dt.datetime | None
    outcome: Outcome | None
    outcome_note: str | None
    outcome_at: dt.datetime | None


class RequestPage(BaseModel):
    items: list[RequestOut]
    total: int
    limit: int
    offset: int


class HistoryStep(BaseModel):
    id: int
    action: StepAction
    status: RequestStatus = Field(description="The request's status after the step")
    outcome: Outcome | None
    actor_user_id: int | None
    actor_name: str | None = Field(
        description="Shown to hub staff and to members of the actor's own organisation"
    )
    at: dt.datetime


class OutcomeRow(BaseModel):
    """One request as feedback for the ranking: who asked whom, for what, and how it went."""

    request_id: int
    from_organization_id: int
    to_organization_id: int
    from_nace_division: str | None
    to_nace_division: str | None
    type: CooperationType
    status: RequestStatus
    outcome: Outcome | None
    match_score: float | None
    created_at: dt.datetime
    responded_at: dt.datetime | None
    outcome_at: dt.datetime | None


OUTCOME_COLUMNS = tuple(OutcomeRow.model_fields)


class OutcomePage(BaseModel):
    items: list[OutcomeRow]
    total: int
    limit: int | None = Field(description="null: all rows from offset on")
    offset: int
