"""Who is calling: bearer-token dependencies and role checks for the routers.

CurrentUser        any valid token (401 without one)
OptionalUser       the user, or None for anonymous callers (an invalid token is still 401)
AdminUser          role admin (403 for other roles)
StaffUser          admin or curator: hub staff who edit any profile
EventManagerUser   admin or organizer: runs matchmaking events
require_roles(...) build a dependency for another set of roles
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from starlette.requests import HTTPConnection

from app.auth import service
from app.db import SessionDep
from app.errors import Forbidden, Unauthorized, requires_login
from app.i18n import N_
from app.models.user import ApiToken, Role, User
from app.session_hooks import audit

TOKEN_URL = "/api/v1/auth/token"


class _BearerScheme(OAuth2PasswordBearer):
    """The bearer scheme; it also opens the request's audit context.

    It runs in the request's own task (it is async), so the context it sets is seen by every
    later step of the request, including the dependencies and handlers run in worker threads,
    which fill in the user.
    """

    async def __call__(self, request: HTTPConnection) -> str | None:
        audit.begin_request(request.scope.get("method", "GET"), request.url.path)
        return await super().__call__(request)


# auto_error=False: anonymous callers reach routes that serve teasers; the scheme still shows
# in OpenAPI, so the docs offer a login form
bearer_scheme = _BearerScheme(
    tokenUrl=TOKEN_URL,
    scheme_name="OAuth2PasswordBearer",
    auto_error=False,
    description="A login token from POST /api/v1/auth/token, or an API key",
)


def get_current_token(
    session: SessionDep,
    secret: Annotated[str | None, Depends(bearer_scheme)],
) -> ApiToken | None:
    """The presented token (with its user), None without one; 401 for a bad or expired one."""
    if not secret:
        return None
    token = service.token_for_secret(session, secret=secret)
    if token is None:
        raise Unauthorized(N_("The token is invalid, expired or revoked."))
    audit.set_actor(token.user_id)
    return token


OptionalToken = Annotated[ApiToken | None, Depends(get_current_token)]


def get_optional_user(token: OptionalToken) -> User | None:
    return token.user if token is not None else None


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


@requires_login
def get_current_token_required(token: OptionalToken) -> ApiToken:
    if token is None:
        raise Unauthorized(N_("Log in first: send `Authorization: Bearer <token>`."))
    return token


CurrentToken = Annotated[ApiToken, Depends(get_current_token_required)]


def get_current_user(token: CurrentToken) -> User:
    return token.user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """A dependency that lets only the given roles through (403 for the others)."""
    allowed = frozenset(role.value for role in roles)
    names = " or ".join(role.value for role in roles)

    def dependency(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise Forbidden(
                N_("This needs the role %(roles)s; you are %(role)s."),
                values={"roles": names, "role": user.role},
            )
        return user

    return dependency


AdminUser = Annotated[User, Depends(require_roles(Role.admin))]
StaffUser = Annotated[User, Depends(require_roles(Role.admin, Role.curator))]
EventManagerUser = Annotated[User, Depends(require_roles(Role.admin, Role.organizer))]
