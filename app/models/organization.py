"""Organisations with their competences and known relationships."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    nace_code: Mapped[str | None] = mapped_column(String(8), nullable=True, index=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True, index=True)
    city: Mapped[str | None] = mapped_column(String(200), nullable=True)
    postal_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    employees: Mapped[int | None] = mapped_column(Integer, nullable=True)
    website: Mapped[str | None] = mapped_column(String(500), nullable=True)
    founded: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cooperation_interests: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    visibility: Mapped[str] = mapped_column(String(10), nullable=False, default="public")
    # who sees which field: {field: "public" | "members" | "partners"}; missing fields take
    # the defaults in app/organizations/disclosure.py
    disclosure: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False, default=dict)
    # left out of the matches and searches of organisations the engine labels competitors
    hide_from_competitors: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # the contact person: personal data, revealed only to accepted partners by default
    contact_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    # profile vector (name + description + labels) and the encoder that made it
    profile_embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    embedding_model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # set by hub staff who checked the profile (curation); who is the staff e-mail address
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    verified_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    modified_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow
    )

    competences: Mapped[list[Competence]] = relationship(
        back_populates="organization",
        cascade="all, delete-orphan",
        order_by="Competence.id",
        lazy="raise",
    )
    relationships: Mapped[list[KnownRelationship]] = relationship(
        back_populates="organization",
        cascade="all, delete-orphan",
        order_by="KnownRelationship.id",
        foreign_keys="KnownRelationship.organization_id",
        lazy="raise",
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        CheckConstraint("visibility IN ('public', 'members', 'private')", name="visibility"),
        CheckConstraint("employees IS NULL OR employees >= 0", name="employees_non_negative"),
    )


class Competence(Base):
    __tablename__ = "competences"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    # float32 unit vector of label (+ description), and the encoder that made it
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    embedding_model: Mapped[str | None] = mapped_column(String(200), nullable=True)

    organization: Mapped[Organization] = relationship(back_populates="competences", lazy="raise")

    __table_args__ = (
        CheckConstraint("kind IN ('core', 'complementary', 'peripheral')", name="kind"),
        Index("ix_competences_label", "label"),
    )


class KnownRelationship(Base):
    """An existing customer, supplier or partner of an organisation."""

    __tablename__ = "relationships"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    type: Mapped[str] = mapped_column(String(10), nullable=False)
    related_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # kept when the related organisation is linked too, so the name survives its deletion
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    revenue_share: Mapped[float | None] = mapped_column(Float, nullable=True)
    # tie strength and recency (the ranking's edge weights): how many cooperations the two had
    # together and the calendar year of the latest; null: not stated
    joint_projects: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_year: Mapped[int | None] = mapped_column(Integer, nullable=True)

    organization: Mapped[Organization] = relationship(
        back_populates="relationships", foreign_keys=[organization_id], lazy="raise"
    )
    related_organization: Mapped[Organization | None] = relationship(
        foreign_keys=[related_organization_id], lazy="raise"
    )

    __table_args__ = (
        CheckConstraint("type IN ('customer', 'supplier', 'partner')", name="type"),
        CheckConstraint(
            "revenue_share IS NULL OR (revenue_share >= 0 AND revenue_share <= 1)",
            name="revenue_share_range",
        ),
        CheckConstraint("joint_projects IS NULL OR joint_projects >= 1", name="joint_projects"),
    )

    @property
    def external_id(self) -> str | None:
        """The linked organisation's external_id (needs related_organization loaded)."""
        related = self.related_organization
        return related.external_id if related is not None else None
