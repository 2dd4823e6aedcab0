"""Request and response bodies of the curation API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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


# competence labels

MAX_MERGE_LABELS = 500
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class LabelCounts(BaseModel):
    core: int
    complementary: int
    peripheral: int


class LabelOut(BaseModel):
    label: str
    key: str = Field(description="The folded label that synonyms are stored under")
    total: int = Field(description="Competences with exactly this label")
    counts: LabelCounts
    canonical: str | None = Field(
        description="The canonical label stored for this label's key, if any"
    )


class LabelList(BaseModel):
    items: list[LabelOut]
    total: int = Field(description="Distinct labels matching the filters")


class LabelSignals(BaseModel):
    string: float = Field(description="0..1 spelling similarity of the folded labels")
    embedding: float | None = Field(
        description="Cosine of the label vectors; None where one of them has no vector"
    )


class LabelSuggestionMember(BaseModel):
    label: str
    count: int
    similarity: float = Field(description="To the canonical label: the larger signal")
    confidence: float = Field(description="Mean similarity to the group's other labels")
    signals: LabelSignals


class LabelSuggestion(BaseModel):
    canonical: str = Field(description="Suggested label: the most used of the group")
    total_count: int
    members: list[LabelSuggestionMember] = Field(description="The canonical label first")


class LabelSuggestionList(BaseModel):
    items: list[LabelSuggestion]
    total: int = Field(description="Groups found before `limit`")
    labels: int = Field(description="Distinct labels compared")
    embedding_model: str | None = Field(description="Whose stored vectors were compared")


class LabelMergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    canonical: Label
    labels: list[Label] = Field(min_length=1, max_length=MAX_MERGE_LABELS)
    remember: bool = Field(
        default=True, description="Store the labels as synonyms of the canonical one"
    )


class LabelMergeOut(BaseModel):
    canonical: str
    renamed: int = Field(description="Competences given the canonical label")
    deduplicated: int = Field(
        description="Competences removed as repeats within one organisation and kind"
    )
    organizations: int = Field(description="Organisations whose profile changed")
    synonyms: int = Field(description="Synonym rows stored or changed")


class SynonymOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    label: str
    canonical: str
    created_by: str | None
    created_at: dt.datetime


class SynonymList(BaseModel):
    items: list[SynonymOut]
    total: int
