"""Imports started from the hub staff's pages: the checked file between its dry run and its
import, then the import's state, progress and report, shared by every server process."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class WebImport(Base):
    """One upload and, once started, its import.

    ``state`` goes uploaded -> running -> done, rejected or failed. ``data`` holds the file
    while it waits (and while it is imported); it is cleared when the import ends. ``runner``
    names the process that imports it (``host:pid``), ``heartbeat_at`` when that process last
    said it is alive: a page served by another process tells a running import from one whose
    process ended.
    """

    __tablename__ = "web_imports"

    # an unguessable token: the upload's and the job's address
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    filename: Mapped[str | None] = mapped_column(String(300), nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    valid_rows: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default="uploaded")
    partial: Mapped[bool | None] = mapped_column(nullable=True)
    done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # why a failed import failed: the English text, and the same sentence as a template and
    # its values (app.i18n.Message.dump) that pages show in the reader's language (null on
    # rows stored before it was kept)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    failure_message: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    runner: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint(
            "state IN ('uploaded', 'running', 'done', 'rejected', 'failed')", name="state"
        ),
        Index("ix_web_imports_owner_id_created_at", "owner_id", "created_at"),
    )
