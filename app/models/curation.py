"""History of curation: organisations merged into another one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class OrganizationMerge(Base):
    """One merge: the merged profile as it was, and the organisation it went into."""

    __tablename__ = "organization_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    # the history outlives a later deletion of the kept organisation
    kept_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # the merged row is gone: its id and external_id are kept as plain values
    merged_organization_id: Mapped[int] = mapped_column(Integer, nullable=False)
    merged_external_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    merged_name: Mapped[str] = mapped_column(String(300), nullable=False)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    merged_by: Mapped[str] = mapped_column(String(320), nullable=False)
    merged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class CompetenceSynonym(Base):
    """A competence label hub staff merged into a canonical one.

    ``key`` is the folded label (see app/curation/labels.py); profiles written later with
    that label get the canonical one.
    """

    __tablename__ = "competence_synonyms"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    canonical: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    created_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
