"""HTTP endpoints for login, tokens, API keys and (for admins) user accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth import organization_admins, service
from app.auth.deps import AdminUser, CurrentToken, CurrentUser
from app.auth.ratelimit import LoginLimiter, client_address
from app.auth.schemas import (
    MAX_ID,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    LoginIn,
    OrganizationMemberOut,
    OrganizationMemberPatch,
    TokenOut,
    UserCreate,
    UserOut,
    UserPage,
    UserPatch,
)
from app.auth.security import TooManyRequests, Unauthorized, normalize_email
from app.config import get_settings
from app.deps import OrganizationDep, SessionDep
from app.errors import Forbidden, Invalid, NotFound, problem_responses
from app.i18n import N_
from app.models import Organization
from app.models.user import Role, TokenKind, User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
users_router = APIRouter(prefix="/api/v1/users", tags=["users"])

UNAUTHORIZED = "No valid token"
FORBIDDEN = "The caller's role may not do this"
INVALID = "Invalid input, with field-level errors"
_FORM = {"type": "string", "minLength": 1, "maxLength": 320}
_LOGIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The OAuth2 password form (`username` is the e-mail) or JSON.",
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["password"]},
                        "username": _FORM,
                        "password": {"type": "string", "minLength": 1, "maxLength": 256},
                    },
                    "required": ["username", "password"],
                }
            },
            "application/json": {"schema": LoginIn.model_json_schema()},
        },
    }
}


def _limiter(request: Request, name: str, scope: str, max_failures: int) -> LoginLimiter:
    limiter: LoginLimiter | None = getattr(request.app.state, name, None)
    if limiter is None:
        limiter = LoginLimiter(
            scope=scope, max_failures=max_failures, window=get_settings().login_window_seconds
        )
        setattr(request.app.state, name, limiter)
    return limiter


def login_limiter(request: Request) -> LoginLimiter:
    """Unsuccessful logins per (e-mail, client address)."""
    return _limiter(request, "login_limiter", "account", get_settings().login_max_failures)


def address_limiter(request: Request) -> LoginLimiter:
    """Unsuccessful logins per client address, whatever the e-mail."""
    return _limiter(
        request, "address_limiter", "address", get_settings().login_address_max_failures
    )


def request_address(request: Request) -> str:
    """The client's address; X-Forwarded-For only from a configured proxy."""
    return client_address(request, get_settings().trusted_proxies)


async def login_user(request: Request, session: Session, *, email: str, password: str) -> User:
    """Check a password within the login limits (429) and return the account (401 if wrong).

    The attempt is counted and stored before the password is checked, so parallel guesses,
    on any server process, cannot pass the limit; a success gives its place back.
    """
    address = request_address(request)
    key = (normalize_email(email), address)
    by_address = (address, "")
    accounts, addresses = login_limiter(request), address_limiter(request)
    wait = await run_in_threadpool(addresses.attempt, session, by_address)
    if wait:
        raise TooManyRequests(
            N_("Too many failed logins from your address; try again in %(wait)s s."),
            values={"wait": wait},
            retry_after=wait,
        )
    wait = await run_in_threadpool(accounts.attempt, session, key)
    if wait:
        await run_in_threadpool(addresses.release, session, by_address)
        raise TooManyRequests(
            N_("Too many failed logins; try again in %(wait)s s."),
            values={"wait": wait},
            retry_after=wait,
        )
    user = await run_in_threadpool(service.authenticate, session, email=email, password=password)
    if user is None:
        raise Unauthorized(N_("Wrong e-mail or password."))
    await run_in_threadpool(accounts.succeeded, session, key)
    await run_in_threadpool(addresses.release, session, by_address)
    return user


async def _read_login(request: Request) -> LoginIn:
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("application/json"):
            return LoginIn.model_validate_json(await request.body())
        form = await request.form(max_files=0, max_fields=10)
        fields = {
            "email": form.get("username"),
            "password": form.get("password"),
        }
        return LoginIn.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc
    except Exception as exc:  # a malformed form body
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "cannot read the form", "type": "value_error"}]
        ) from exc


@router.post(
    "/token",
    response_model=TokenOut,
    openapi_extra=_LOGIN_BODY,
    responses=problem_responses(
        {401: "Wrong e-mail or password", 422: INVALID, 429: "Too many failed logins"}
    ),
)
async def login(request: Request, session: SessionDep) -> TokenOut:
    """Log in with e-mail and password; returns a bearer token."""
    body = await _read_login(request)
    user = await login_user(request, session, email=body.email, password=body.password)
    lifetime = service.login_lifetime()
    token, secret = service.issue_token(session, user=user, kind=TokenKind.login, lifetime=lifetime)
    # the token's lifetime as issued (RFC 6749, 5.1), not what is left of it when the answer is
    # written: the two differ by the time the request took
    return TokenOut(
        access_token=secret,
        expires_in=int(lifetime.total_seconds()),
        expires_at=token.expires_at,
    )


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses({401: UNAUTHORIZED}),
)
def logout(token: CurrentToken, session: SessionDep) -> Response:
    """Revoke the token this request was made with."""
    service.revoke_token(session, token=token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        {
            401: UNAUTHORIZED,
            422: "Wrong current password, or a weak new one",
            429: "Too many wrong passwords",
        }
    ),
)
async def change_password(
    request: Request, body: PasswordChange, user: CurrentUser, session: SessionDep
) -> Response:
    """Change your password; every session and API key made from the old one ends, this one too.
    The current password is checked within the login limits (429), as at sign-in."""
    await confirm_password(request, session, user=user, password=body.current_password)
    await run_in_threadpool(service.set_password, session, user=user, password=body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserOut, responses=problem_responses({401: UNAUTHORIZED}))
def me(user: CurrentUser) -> UserOut:
    """The account the token belongs to."""
    return UserOut.model_validate(user)


async def confirm_password(
    request: Request, session: Session, *, user: User, password: str
) -> None:
    """The account's password typed again, within the login limits (429); a wrong one is a
    422 naming `current_password`, so a token alone never stands in for the password."""
    if user.password_hash is None:
        raise Invalid(
            N_(
                "This account has no password: its API keys are made with `koopmatch create-token`."
            ),
            errors=[{"field": "current_password", "message": N_("the account has no password")}],
        )
    key = (normalize_email(user.email), request_address(request))
    accounts = login_limiter(request)
    wait = await run_in_threadpool(accounts.attempt, session, key)
    if wait:
        raise TooManyRequests(
            N_("Too many wrong passwords; try again in %(wait)s s."),
            values={"wait": wait},
            retry_after=wait,
        )
    if not await run_in_threadpool(service.password_matches, user=user, password=password):
        raise Invalid(
            N_("The current password is wrong."),
            errors=[{"field": "current_password", "message": N_("wrong password")}],
        )
    await run_in_threadpool(accounts.release, session, key)


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        {
            401: UNAUTHORIZED,
            422: "Invalid input, or a wrong `current_password`",
            429: "Too many wrong passwords",
        }
    ),
)
async def create_api_key(
    request: Request, body: ApiKeyCreate, user: CurrentUser, session: SessionDep
) -> ApiKeyCreated:
    """Create an API key for the caller (the password again); the secret is shown only here."""
    lifetime = service.api_key_lifetime(body.expires_in_days)
    await confirm_password(request, session, user=user, password=body.current_password)
    token, secret = await run_in_threadpool(
        service.issue_token,
        session,
        user=user,
        kind=TokenKind.api_key,
        name=body.name,
        lifetime=lifetime,
    )
    return ApiKeyCreated(**ApiKeyOut.model_validate(token).model_dump(), secret=secret)


@router.get(
    "/api-keys", response_model=list[ApiKeyOut], responses=problem_responses({401: UNAUTHORIZED})
)
def list_api_keys(user: CurrentUser, session: SessionDep) -> list[ApiKeyOut]:
    """The caller's API keys, revoked and expired ones included (never their secrets)."""
    return [ApiKeyOut.model_validate(t) for t in service.list_api_keys(session, user=user)]


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses({401: UNAUTHORIZED, 404: "No such API key of yours"}),
)
def delete_api_key(
    key_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: CurrentUser, session: SessionDep
) -> Response:
    """Revoke an API key (admins: anyone's)."""
    token = service.get_api_key(session, user=user, key_id=key_id)
    service.revoke_token(session, token=token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- user administration (admins) ------------------------------------------------------------

USER_NOT_FOUND = "No such user"
_ADMIN_ERRORS = {401: UNAUTHORIZED, 403: FORBIDDEN}


def valid_user_id(
    session: SessionDep, _admin: AdminUser, user_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> User:
    """Load a user, or 404 (admins only)."""
    return service.get_user(session, user_id=user_id)


UserDep = Annotated[User, Depends(valid_user_id)]


@users_router.post(
    "",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses({**_ADMIN_ERRORS, 409: "E-mail already used", 422: INVALID}),
)
def create_user(
    body: UserCreate, _admin: AdminUser, session: SessionDep, response: Response
) -> UserOut:
    """Create an account (members need their organisation)."""
    user = service.create_user(session, data=body)
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return UserOut.model_validate(user)


@users_router.get(
    "", response_model=UserPage, responses=problem_responses({**_ADMIN_ERRORS, 422: INVALID})
)
def list_users(
    _admin: AdminUser,
    session: SessionDep,
    role: Role | None = None,
    organization_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> UserPage:
    """List accounts, by e-mail, with filters."""
    users, total = service.list_users(
        session,
        role=role,
        organization_id=organization_id,
        active=active,
        limit=limit,
        offset=offset,
    )
    return UserPage(
        items=[UserOut.model_validate(u) for u in users], total=total, limit=limit, offset=offset
    )


@users_router.get(
    "/{user_id}",
    response_model=UserOut,
    responses=problem_responses({**_ADMIN_ERRORS, 404: USER_NOT_FOUND}),
)
def read_user(user: UserDep) -> UserOut:
    """One account."""
    return UserOut.model_validate(user)


@users_router.patch(
    "/{user_id}",
    response_model=UserOut,
    responses=problem_responses(
        {**_ADMIN_ERRORS, 404: USER_NOT_FOUND, 409: "Would leave no active admin", 422: INVALID}
    ),
)
def update_user(user: UserDep, body: UserPatch, session: SessionDep) -> UserOut:
    """Change name, role, organisation, password or the active flag."""
    return UserOut.model_validate(service.update_user(session, user=user, patch=body))


@users_router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        {**_ADMIN_ERRORS, 404: USER_NOT_FOUND, 409: "Would leave no active admin"}
    ),
)
def deactivate_user(user: UserDep, session: SessionDep) -> Response:
    """Deactivate an account and revoke its tokens (the record is kept)."""
    service.deactivate_user(session, user=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- an organisation's member accounts and its organisation admins ---------------------------

organization_members_router = APIRouter(
    prefix="/api/v1/organizations/{organization_id}/members", tags=["users"]
)
_MEMBER_ERRORS = {
    401: UNAUTHORIZED,
    403: "Not a member of this organisation (or not one of its organisation admins)",
    404: "No such organisation (or it is hidden from the caller)",
}


def own_or_admin_organization(user: CurrentUser, organization: OrganizationDep) -> Organization:
    """Platform admins and the organisation's own members (404 where the profile is hidden)."""
    if not service.may_see(user, organization):
        raise NotFound(N_("No organisation with id %(id)s."), values={"id": organization.id})
    if user.role != Role.admin.value and not service.is_own_organization(user, organization.id):
        raise Forbidden(N_("Only admins and the organisation's own members may do this."))
    return organization


MembersOrganization = Annotated[Organization, Depends(own_or_admin_organization)]


@organization_members_router.get(
    "",
    response_model=list[OrganizationMemberOut],
    responses=problem_responses(_MEMBER_ERRORS),
)
def list_organization_members(
    organization: MembersOrganization, session: SessionDep
) -> list[OrganizationMemberOut]:
    """The organisation's member accounts and which of them are organisation admins."""
    return [
        OrganizationMemberOut.model_validate(u)
        for u in organization_admins.members(session, organization.id)
    ]


@organization_members_router.patch(
    "/{user_id}",
    response_model=OrganizationMemberOut,
    responses=problem_responses(
        {
            **_MEMBER_ERRORS,
            404: "No such organisation, or no such member account of it",
            409: "The organisation's last organisation admin",
            422: INVALID,
        }
    ),
)
def update_organization_member(
    organization: MembersOrganization,
    user_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: OrganizationMemberPatch,
    user: CurrentUser,
    session: SessionDep,
) -> OrganizationMemberOut:
    """Name a colleague an organisation admin, or take that back (organisation admins)."""
    target = service.get_user(session, user_id=user_id)
    if target.organization_id != organization.id or target.role != Role.member.value:
        raise NotFound(N_("No member account %(id)s of this organisation."), values={"id": user_id})
    changed = organization_admins.set_organization_admin(
        session,
        acting=user,
        organization_id=organization.id,
        target=target,
        value=body.organization_admin,
    )
    return OrganizationMemberOut.model_validate(changed)
