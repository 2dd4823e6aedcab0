"""Bodies of the audit log, the organisation export and the erasure reports."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.auth.schemas import Email

EXPORT_VERSION = 1


class _Rows(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AuditEntryOut(_Rows):
    id: int
    at: dt.datetime
    actor_user_id: int | None
    source: str = Field(description="api, cli or system")
    request: str | None = Field(description="The request line of API writes, e.g. PATCH /path")
    action: str = Field(description="insert, update or delete")
    entity: str = Field(description="The table written")
    entity_id: int | None
    organization_id: int | None
    changes: dict[str, Any] = Field(
        description="Inserts and deletes {field: value}, updates {field: [old, new]}; "
        'personal and secret fields only as "<changed>"'
    )


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    total: int = Field(description="Entries matching the filters")
    limit: int
    offset: int


# --- export ----------------------------------------------------------------------------------


class ExportProfile(_Rows):
    id: int
    external_id: str | None
    name: str
    description: str | None
    nace_code: str | None
    country: str | None
    city: str | None
    postal_code: str | None
    latitude: float | None
    longitude: float | None
    employees: int | None
    website: str | None
    founded: int | None
    cooperation_interests: list[str]
    visibility: str
    disclosure: dict[str, str]
    hide_from_competitors: bool
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    embedding_model: str | None
    version: int
    created_at: dt.datetime
    modified_at: dt.datetime


class ExportCompetence(_Rows):
    id: int
    kind: str
    label: str
    description: str | None
    embedding_model: str | None


class ExportRelationship(_Rows):
    id: int
    type: str
    related_organization_id: int | None
    name: str
    revenue_share: float | None
    joint_projects: int | None
    last_year: int | None


class ExportIncomingRelationship(_Rows):
    """Another organisation names this one as its customer, supplier or partner."""

    id: int
    organization_id: int
    type: str


class ExportRelationships(BaseModel):
    outgoing: list[ExportRelationship]
    incoming: list[ExportIncomingRelationship]


class ExportMember(_Rows):
    id: int
    email: str
    name: str
    role: str
    is_active: bool
    has_password: bool
    last_login_at: dt.datetime | None
    created_at: dt.datetime
    modified_at: dt.datetime


class ExportToken(_Rows):
    """Metadata of a login token or API key; the secret's hash is never exported."""

    id: int
    user_id: int
    kind: str
    name: str | None
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ExportPerson(BaseModel):
    id: int
    name: str
    email: str | None  # null once erased
    role: str | None
    no_show: bool
    unavailable_slot_ids: list[int]


class ExportPreference(_Rows):
    id: int
    target_participant_id: int
    kind: str


class ExportMeetingRequest(_Rows):
    id: int
    from_person_id: int
    to_person_id: int
    message: str | None
    status: str
    created_at: dt.datetime
    answered_at: dt.datetime | None


class ExportMeeting(BaseModel):
    id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    table: str
    person_a_id: int
    person_b_id: int
    kind: str
    locked: bool


class ExportParticipation(BaseModel):
    participant_id: int
    event_id: int
    event_name: str
    registered_at: dt.datetime
    people: list[ExportPerson]
    preferences: list[ExportPreference]
    meeting_requests: list[ExportMeetingRequest]
    meetings: list[ExportMeeting]


class ExportRequestStep(_Rows):
    id: int
    action: str
    status: str
    outcome: str | None
    actor_user_id: int | None
    at: dt.datetime


class ExportCooperationRequest(BaseModel):
    id: int
    direction: Literal["sent", "received"]
    from_organization_id: int
    to_organization_id: int
    type: str
    message: str | None
    status: str
    sender_user_id: int | None
    responder_user_id: int | None
    match_score: float | None
    created_at: dt.datetime
    responded_at: dt.datetime | None
    outcome: str | None
    outcome_note: str | None
    outcome_at: dt.datetime | None
    history: list[ExportRequestStep]


class ExportMerge(_Rows):
    """An organisation merged into this one, with its profile as it was."""

    id: int
    merged_organization_id: int
    merged_external_id: str | None
    merged_name: str
    snapshot: dict[str, Any]
    merged_by: str
    merged_at: dt.datetime


class ExportVerification(BaseModel):
    verified: bool
    verified_at: dt.datetime | None
    verified_by: str | None


class OrganizationExport(BaseModel):
    """Everything stored about one organisation and its people."""

    format: Literal["koopmatch-organization-export"] = "koopmatch-organization-export"
    format_version: int = EXPORT_VERSION
    generated_at: dt.datetime
    organization: ExportProfile
    competences: list[ExportCompetence]
    relationships: ExportRelationships
    members: list[ExportMember]
    tokens: list[ExportToken]
    events: list[ExportParticipation]
    cooperation_requests: list[ExportCooperationRequest]
    merges: list[ExportMerge]
    verification: ExportVerification
    audit: list[AuditEntryOut] = Field(description="Audit entries about the organisation's rows")


# --- erasure ---------------------------------------------------------------------------------


class ErasePersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[Email, Field(description="The person's e-mail address")]


class ErasureReport(BaseModel):
    """Rows changed or deleted per table; all zero when there was nothing (left) to erase."""

    counts: dict[str, int]
    total: int
