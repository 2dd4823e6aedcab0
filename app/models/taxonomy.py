"""The NACE industry taxonomy."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class NaceCode(Base):
    __tablename__ = "nace_codes"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("nace_codes.code", ondelete="CASCADE"), nullable=True, index=True
    )
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    label_en: Mapped[str] = mapped_column(String(300), nullable=False)
    label_de: Mapped[str | None] = mapped_column(String(300), nullable=True)
