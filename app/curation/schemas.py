"""Request and response bodies of the curation API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from app.auth.schemas import MAX_ID


class CurationStatus(BaseModel):
    """An organisation as curators see it: when it was last changed and verified."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str | None
    name: str
    modified_at: dt.datetime
    verified_at: dt.datetime | None
    verified_by: str | None


class DuplicateSignals(BaseModel):
    name_similarity: float = Field(description="0..1, names compared without legal forms")
    same_domain: str | None = Field(description="The shared website domain, if any")
    embedding_similarity: float | None = Field(
        description="Cosine of the profile vectors; None without vectors of one model"
    )
    same_location: bool = Field(description="Same postal code and city")


class DuplicatePair(BaseModel):
    score: float = Field(description="0..1, a weighted sum of the signals")
    first: CurationStatus
    second: CurationStatus
    signals: DuplicateSignals


class DuplicateList(BaseModel):
    items: list[DuplicatePair]
    total: int = Field(description="Pairs found before `limit`")


class StaleList(BaseModel):
    items: list[CurationStatus]
    total: int
    modified_before: dt.datetime


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keep_id: int = Field(ge=1, le=MAX_ID)
    merge_id: int = Field(ge=1, le=MAX_ID)


class MergeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kept_organization_id: int | None
    merged_organization_id: int
    merged_external_id: str | None
    merged_name: str
    merged_by: str
    merged_at: dt.datetime
    moved_competences: int
    skipped_competences: int
    moved_relationships: int
    repointed_relationships: int
    dropped_relationships: int
