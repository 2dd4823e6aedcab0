"""HTTP endpoints for onboarding: invitations, password-reset links, setting a password."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from app.auth import invitations, service
from app.auth.schemas import MAX_ID, Email, Name, OrganizationId, UserOut
from app.deps import SessionDep, StaffUser
from app.errors import problem_responses
from app.models.invitation import LinkPurpose

router = APIRouter(tags=["auth"])

STAFF = {401: "No valid token", 403: "Needs the role admin or curator"}


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization_id: OrganizationId
    email: Email
    name: Name


class LinkOut(BaseModel):
    purpose: LinkPurpose
    path: str = Field(description="The page that sets the password; hand it to the person")
    token: str = Field(description="The one-time secret (also the path's last segment)")
    expires_at: dt.datetime


class InvitationOut(BaseModel):
    user: UserOut
    link: LinkOut


class LinkRedeem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=100)
    new_password: str = Field(min_length=1, max_length=256)


def _link_out(purpose: LinkPurpose, secret: str, expires_at: dt.datetime) -> LinkOut:
    return LinkOut(
        purpose=purpose,
        path=invitations.link_path(secret),
        token=secret,
        expires_at=expires_at,
    )


@router.post(
    "/api/v1/auth/invitations",
    response_model=InvitationOut,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        {**STAFF, 409: "E-mail already used", 422: "Invalid input, or no such organisation"}
    ),
)
def create_invitation(
    body: InvitationCreate, staff: StaffUser, session: SessionDep, response: Response
) -> InvitationOut:
    """Create a member account without a password and its one-time invitation link."""
    user, link, secret = invitations.invite_member(
        session,
        organization_id=body.organization_id,
        email=body.email,
        name=body.name,
        issuer=staff,
    )
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return InvitationOut(
        user=UserOut.model_validate(user),
        link=_link_out(LinkPurpose.invitation, secret, link.expires_at),
    )


@router.post(
    "/api/v1/users/{user_id}/password-reset",
    response_model=LinkOut,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        {
            **STAFF,
            403: "Curators reset member accounts only; nobody resets their own this way",
            404: "No such active account",
        }
    ),
)
def create_reset_link(
    user_id: Annotated[int, Path(ge=1, le=MAX_ID)], staff: StaffUser, session: SessionDep
) -> LinkOut:
    """A one-time link that sets a new password; earlier links of the account stop working."""
    user = service.get_user(session, user_id=user_id)
    link, secret = invitations.issue_link(
        session, user=user, purpose=LinkPurpose.reset, issuer=staff
    )
    return _link_out(LinkPurpose.reset, secret, link.expires_at)


@router.post(
    "/api/v1/auth/links/redeem",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        {404: "Unknown, used or expired link", 422: "A weak or common password"}
    ),
)
async def redeem_link(body: LinkRedeem, session: SessionDep) -> Response:
    """Set a password through an invitation or reset link; the link is used up."""
    await run_in_threadpool(
        invitations.redeem, session, secret=body.token, password=body.new_password
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
