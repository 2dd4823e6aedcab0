"""Cooperation requests between organisations, their history and their outcome."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow
from app.models.organization import Organization

REQUEST_STATUSES = ("pending", "accepted", "declined", "withdrawn")
OUTCOMES = ("talks_started", "agreement_reached", "no_fit")


class CooperationRequest(Base):
    """One organisation asks another for a cooperation of one kind.

    Accepting is the second opt-in: from then on both sides see each other's name and the
    fields they keep for partners.
    """

    __tablename__ = "cooperation_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    to_organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # one of the five kinds of cooperation (CooperationInterest values)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    # the accounts that acted; kept when an account goes (SET NULL), erased with the person
    sender_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    responder_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    # the engine's view of the pair when the request was sent: feedback for learning
    match_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    outcome_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    from_organization: Mapped[Organization] = relationship(
        foreign_keys=[from_organization_id], lazy="raise"
    )
    to_organization: Mapped[Organization] = relationship(
        foreign_keys=[to_organization_id], lazy="raise"
    )
    history: Mapped[list[CooperationRequestEvent]] = relationship(
        back_populates="request",
        cascade="all, delete-orphan",
        order_by="CooperationRequestEvent.id",
        lazy="raise",
    )

    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'accepted', 'declined', 'withdrawn')", name="status"
        ),
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('talks_started', 'agreement_reached', 'no_fit')",
            name="outcome",
        ),
        CheckConstraint("from_organization_id <> to_organization_id", name="not_self"),
        Index("ix_cooperation_requests_pair", "from_organization_id", "to_organization_id"),
        # one open request per pair and kind, whatever path writes it
        Index(
            "uq_cooperation_requests_open",
            "from_organization_id",
            "to_organization_id",
            "type",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )


class CooperationRequestEvent(Base):
    """One step in a request's history: sent, accepted, declined, withdrawn, outcome."""

    __tablename__ = "cooperation_request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("cooperation_requests.id", ondelete="CASCADE"), nullable=False, index=True
    )
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # status after the step
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    request: Mapped[CooperationRequest] = relationship(back_populates="history", lazy="raise")
