"""What the matching index needs to stay current: a change counter, the changed organisations,
and the vectors already computed for a text; and the change marker of the stored outcomes."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class IndexState(Base):
    """One row (id 1): `version` rises by one in every transaction that changes what the
    matching engine reads (organisations, competences, relationships)."""

    __tablename__ = "index_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)


class IndexChange(Base):
    """An organisation whose matching data changed at `version`; a null organisation_id
    means that anything may have changed (a bulk statement): indexes rebuild."""

    __tablename__ = "index_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    # no foreign key: a deleted organisation's change is the news
    organization_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class OutcomeState(Base):
    """One row (id 1): `version` rises by one, and `stamp` takes a new random value, in every
    transaction that writes what the outcome steps are read from (`app.matches.outcomes`).

    The pair is the key of a process's copy of the outcome features: the version counts, the
    stamp tells apart two histories that reached the same version (a transaction rolled back
    after another process saw its version, a database restored from a backup)."""

    __tablename__ = "outcome_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)
    stamp: Mapped[str] = mapped_column(String(32), nullable=False)


class EncodingCacheEntry(Base):
    """The vector an encoder gave a text, so that a text is encoded once per model."""

    __tablename__ = "encoding_cache"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    # sha256 of the text (hex): texts can be long descriptions
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
