"""HTTP endpoints for the audit log, data export and erasure."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["privacy"])
