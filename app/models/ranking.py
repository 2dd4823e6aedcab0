"""Ranking weights refitted from the installation's own outcomes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class RankingFit(Base):
    """One refit of the ranking: what it saw, what it found, whether it was adopted.

    The engine of every server process ranks with the `weights` of the newest adopted row;
    an adopted row without weights means the built-in defaults (a reset). An adopted row with
    a `reranker` re-orders the engine's best candidates with it (matching.rerank)."""

    __tablename__ = "ranking_fits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # "refit" or "reset"
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    adopted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    # component name -> weight (matching.weights.COMPONENTS); null: the defaults
    weights: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # the fitted weights when they were not adopted, for the record
    candidate_weights: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    pairs: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    positives: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    queries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    holdout_queries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    holdout_base: Mapped[float | None] = mapped_column(Float, nullable=True)
    holdout_fitted: Mapped[float | None] = mapped_column(Float, nullable=True)
    # matching.rerank.Reranker.dumps() of an adopted (or candidate) second stage; null: none
    reranker: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
