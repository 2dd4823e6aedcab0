"""Annotated dependency aliases shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from app.db import get_session
from app.embeddings import Encoder
from app.models import Organization
from app.organizations import service

SessionDep = Annotated[Session, Depends(get_session)]


def get_encoder(request: Request) -> Encoder | None:
    """The encoder loaded at start-up (None when embeddings are switched off)."""
    return getattr(request.app.state, "encoder", None)


EncoderDep = Annotated[Encoder | None, Depends(get_encoder)]


def valid_organization_id(
    session: SessionDep, organization_id: Annotated[int, Path(ge=1, le=2**62)]
) -> Organization:
    """Load an organisation with its profile, or 404."""
    return service.get_organization(session, organization_id=organization_id)


OrganizationDep = Annotated[Organization, Depends(valid_organization_id)]
