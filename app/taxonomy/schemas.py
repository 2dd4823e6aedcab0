from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class NaceCodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    parent_code: str | None
    level: int
    label_en: str
    label_de: str | None


class NaceCodeDetail(NaceCodeOut):
    ancestors: list[NaceCodeOut]
    children: list[NaceCodeOut]


class NaceCodePage(BaseModel):
    items: list[NaceCodeOut]
    total: int
    limit: int
    offset: int
