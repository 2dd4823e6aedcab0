"""Browser sessions: a cookie carrying a login token, and CSRF tokens for every form.

The session cookie holds the secret of an ordinary login token (app.auth), so logging out,
a password change or an account being switched off end a browser session exactly as they
end a bearer token. CSRF tokens are derived from the session secret (signed in) or from a
random pre-session cookie (the sign-in form), and must come back with every POST.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from app.auth import service as auth_service
from app.config import get_settings
from app.models.user import ApiToken, TokenKind

SESSION_COOKIE = "km_session"
PRE_SESSION_COOKIE = "km_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """The page needs a signed-in account; the browser is sent to the sign-in page."""


class CsrfFailed(Exception):
    """A form came back without the token of this browser's session."""


def secure_cookies() -> bool:
    return get_settings().environment != "development"


def session_token(request: Request, session: Session) -> ApiToken | None:
    """The live login token of the session cookie, or None."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret or not secret.startswith("kmt_"):
        return None
    token = auth_service.token_for_secret(session, secret=secret)
    if token is None or token.kind != TokenKind.login.value:
        return None
    return token


def set_session(response: Response, secret: str, *, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(),
        path="/",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=secure_cookies(), path="/"
    )


def _derive(secret: str) -> str:
    return hashlib.sha256(f"koopmatch-csrf:{secret}".encode()).hexdigest()


def csrf_token(request: Request, *, signed_in: bool) -> str:
    """The token the forms of this page carry: from the session when signed in, else from
    the pre-session cookie (a stale session cookie must not spoil the sign-in form)."""
    secret = request.cookies.get(SESSION_COOKIE) if signed_in else None
    return _derive(secret or request.state.pre_session)


def ensure_pre_session(request: Request) -> str | None:
    """The pre-session secret of this browser; a new one (to be set as cookie) when missing."""
    existing = request.cookies.get(PRE_SESSION_COOKIE)
    if existing and len(existing) >= 32:
        request.state.pre_session = existing
        return None
    request.state.pre_session = secrets.token_urlsafe(32)
    return str(request.state.pre_session)


def set_pre_session(response: Response, value: str) -> None:
    response.set_cookie(
        PRE_SESSION_COOKIE,
        value,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(),
        path="/",
    )


def check_csrf(request: Request, submitted: str | None, *, signed_in: bool) -> None:
    """Raise CsrfFailed unless `submitted` is this browser's token."""
    if signed_in:
        secret = request.cookies.get(SESSION_COOKIE)
    else:
        secret = request.cookies.get(PRE_SESSION_COOKIE)
    candidate = submitted or request.headers.get(CSRF_HEADER) or ""
    if not secret or not hmac.compare_digest(_derive(secret), candidate):
        raise CsrfFailed
