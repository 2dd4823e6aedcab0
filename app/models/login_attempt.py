"""Unsuccessful logins counted per account and per client address, shared by every process."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class LoginAttempt(Base):
    """The failures of one key within its current window.

    ``scope`` names the counter ("account": an e-mail from one address, "address": an address
    whatever the e-mail); ``key_hash`` is the SHA-256 of the key, so the table holds no e-mail
    or address. A window begins with the first failure after the previous one ended; rows of
    ended windows mean nothing and are deleted by the housekeeping.
    """

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_window_started_at", "window_started_at"),)

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False)
    window_started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
