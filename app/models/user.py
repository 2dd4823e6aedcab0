"""User accounts and their bearer credentials (login tokens and API keys)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    admin = "admin"
    curator = "curator"  # hub staff: edits any profile
    organizer = "organizer"  # runs matchmaking events
    member = "member"  # bound to one organisation, edits only that one


class TokenKind(enum.StrEnum):
    login = "login"  # issued by POST /auth/token, short-lived
    api_key = "api_key"  # for integrations, named, long-lived


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # stored lower-cased, so the unique constraint is case-insensitive on every backend
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    # a member account exists only for its organisation and goes with it
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=True, index=True
    )
    # None: the account can only use API keys made for it on the command line
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # a member who may delete or erase the whole organisation and name who else may
    organization_admin: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    modified_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow
    )

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="raise"
    )

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    __table_args__ = (
        CheckConstraint("role IN ('admin', 'curator', 'organizer', 'member')", name="role"),
        # members belong to exactly one organisation; staff accounts to none
        CheckConstraint(
            "(role = 'member') = (organization_id IS NOT NULL)", name="member_organization"
        ),
    )


class ApiToken(Base):
    """A bearer credential; only the SHA-256 of the secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    # the first characters of the secret, so a user can tell their keys apart
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship(back_populates="tokens", lazy="raise")

    __table_args__ = (CheckConstraint("kind IN ('login', 'api_key')", name="kind"),)
