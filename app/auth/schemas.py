"""Request and response bodies for accounts, tokens and API keys."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.auth.security import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, normalize_email
from app.models.user import Role, TokenKind
from app.organizations.derived import industry_of as industry_of
from app.organizations.derived import size_class as size_class
from app.text_types import MAX_INT, check_line


def _check_email(value: str) -> str:
    email = normalize_email(value)
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in email):
        raise ValueError("must be an e-mail address such as name@example.de")
    return email


Email = Annotated[
    str,
    StringConstraints(max_length=320, pattern=r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$"),
    AfterValidator(check_line),
    AfterValidator(_check_email),
]
Password = Annotated[
    str, StringConstraints(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
]
# a login attempt may carry any password up to the cap: policy is checked when one is set
LoginPassword = Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX_LENGTH)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(check_line),
]
# primary keys are INTEGER: PostgreSQL refuses larger values with an error, not "no row"
MAX_ID = MAX_INT
OrganizationId = Annotated[int, Field(ge=1, le=MAX_ID)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_Strict):
    """Password login as JSON (the OAuth2 form with `username` works too)."""

    email: Annotated[
        str, StringConstraints(min_length=1, max_length=320), AfterValidator(check_line)
    ]
    password: LoginPassword


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")
    expires_at: dt.datetime


class UserCreate(_Strict):
    email: Email
    name: Name
    role: Role
    organization_id: OrganizationId | None = Field(
        default=None, description="Required for members, not allowed for other roles"
    )
    password: Password | None = Field(
        default=None, description="Without one the account can use API keys only"
    )
    is_active: bool = True
    organization_admin: bool | None = Field(
        default=None,
        description="Members: may delete or erase the organisation and name who else may; "
        "left out: yes for the organisation's first active member account",
    )

    @model_validator(mode="after")
    def _member_has_organization(self) -> Self:
        if (self.role is Role.member) != (self.organization_id is not None):
            raise ValueError("members need an organization_id; other roles take none")
        return self


class UserPatch(_Strict):
    """Change some fields of an account; role and organization_id are checked together."""

    name: Name | None = None
    role: Role | None = None
    organization_id: OrganizationId | None = None
    password: Password | None = None
    is_active: bool | None = None
    organization_admin: bool | None = None

    @field_validator("name", "role", "password", "is_active", "organization_admin")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: Role
    organization_id: int | None
    is_active: bool
    organization_admin: bool
    has_password: bool
    last_login_at: dt.datetime | None
    created_at: dt.datetime
    modified_at: dt.datetime


class OrganizationMemberOut(BaseModel):
    """A member account as its colleagues see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    is_active: bool
    organization_admin: bool = Field(
        description="May delete or erase the organisation and name who else may"
    )


class OrganizationMemberPatch(_Strict):
    organization_admin: bool


class OrganizationConfirm(_Strict):
    """The organisation's name typed again, before it is deleted or erased."""

    confirm: Annotated[
        str, StringConstraints(min_length=1, max_length=300), AfterValidator(check_line)
    ] = Field(description="The organisation's name")


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    limit: int
    offset: int


class ApiKeyCreate(_Strict):
    name: Name
    current_password: LoginPassword = Field(
        description="The account's password: a login token alone cannot mint a long-lived key"
    )
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, description="Lifetime; the server default when left out"
    )


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str | None
    kind: TokenKind
    prefix: str = Field(description="The first characters of the secret, to tell keys apart")
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiKeyCreated(ApiKeyOut):
    secret: str = Field(description="Shown once: store it now, it cannot be read again")
