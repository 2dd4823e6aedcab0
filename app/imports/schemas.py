from __future__ import annotations

from pydantic import BaseModel


class RowErrorOut(BaseModel):
    line: int | None
    field: str | None
    reason: str
    external_id: str | None


class ImportReportOut(BaseModel):
    format: str
    mode: str
    dry_run: bool
    rows: int
    accepted: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    written: bool
    replace: bool
    errors: list[RowErrorOut]
    warnings: list[str]
