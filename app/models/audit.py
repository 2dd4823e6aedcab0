"""The audit log: one row per written row (insert, update, delete), with who and what."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, index=True)
    # the account that wrote; None for the command line and system tasks. No foreign key: the
    # log keeps the id of an account deleted later, even in the write that deletes it (a member
    # deleting its own organisation takes its account along)
    actor_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # "api", "cli" or "system"; with the request line for API writes
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    request: Mapped[str | None] = mapped_column(String(500), nullable=True)
    action: Mapped[str] = mapped_column(String(8), nullable=False)  # insert | update | delete
    entity: Mapped[str] = mapped_column(String(64), nullable=False)  # table name
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the organisation the row belongs to, so one organisation's trail can be exported
    organization_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # {field: [old, new]}; personal and secret fields are recorded as changed, without values
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)

    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)
