"""HTTP endpoints for cooperation requests."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/cooperation-requests", tags=["cooperation"])
