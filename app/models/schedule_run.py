"""Background runs of an event's schedule computation (solve or re-schedule)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class ScheduleRun(Base):
    """One solve or re-schedule of an event, run outside the page request that asked for it.

    ``state`` goes queued -> running -> done or failed; ``phase`` says what a running one does;
    ``options`` are the run's inputs, ``result`` the report and changes of a finished one,
    ``problem`` the English text of a failed one's problem.
    """

    __tablename__ = "schedule_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default="queued")
    phase: Mapped[str] = mapped_column(String(20), nullable=False, default="queued")
    time_limit: Mapped[float] = mapped_column(Float, nullable=False)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    problem: Mapped[str | None] = mapped_column(Text, nullable=True)
    # the problem as a template and its values (app.i18n.Message.dump), shown in the reader's
    # language; null on runs stored before it was kept, which show `problem`
    problem_message: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    requested_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    solving_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint("kind IN ('schedule', 'reschedule')", name="kind"),
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),
        Index("ix_schedule_runs_event_id_created_at", "event_id", "created_at"),
    )
