"""Who is signed in to a page, and the form's CSRF check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request

from app.deps import SessionDep
from app.errors import Forbidden
from app.i18n import N_
from app.models.user import ApiToken, Role, User
from app.session_hooks import audit
from app.web.rendering import remember_signed_in
from app.web.session import LoginRequired, check_csrf, session_token


async def page_audit_context(request: Request) -> None:
    """Open the request's audit context in its own task (so worker threads share it)."""
    audit.begin_request(request.method, request.url.path)


def optional_session(
    request: Request, session: SessionDep, _audit: Annotated[None, Depends(page_audit_context)]
) -> ApiToken | None:
    """The browser's live session (its login token), or None."""
    token = session_token(request, session)
    if token is not None:
        audit.set_actor(token.user_id)
        # an error page later in this request shows who is signed in without a query
        remember_signed_in(request, token.user)
    return token


OptionalSession = Annotated[ApiToken | None, Depends(optional_session)]


def required_session(token: OptionalSession) -> ApiToken:
    if token is None:
        raise LoginRequired
    return token


RequiredSession = Annotated[ApiToken, Depends(required_session)]


def signed_in_user(token: RequiredSession) -> User:
    return token.user


PageUser = Annotated[User, Depends(signed_in_user)]


def member_user(user: PageUser) -> User:
    """A member of an organisation: the member's pages are about that organisation."""
    if user.role != Role.member.value or user.organization_id is None:
        raise Forbidden(N_("These pages belong to members of an organisation."))
    return user


MemberUser = Annotated[User, Depends(member_user)]


def csrf_signed_in(
    request: Request, token: RequiredSession, csrf_token: Annotated[str | None, Form()] = None
) -> None:
    """Every signed-in form carries the token derived from its session."""
    check_csrf(request, csrf_token, signed_in=True)


SignedInForm = Depends(csrf_signed_in)
