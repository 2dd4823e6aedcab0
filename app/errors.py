"""One exception tree, rendered in one place as application/problem+json (RFC 9457)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.i18n import Message
from matching.errors import DimensionMismatch, InvalidFilter, MatchingError

PROBLEM_JSON = "application/problem+json"


log = logging.getLogger("koopmatch")


class AppError(Exception):
    """A failure the caller can act on. `detail` is a template marked for the catalogues
    (`N_`) with `%(name)s` placeholders filled from `values`: the API answers the English
    text (`self.detail`), pages translate `template` and fill in the same values. A field's
    `message` in `errors` is a fixed text marked with `N_`, or a `Message` when it carries
    values; the API gets its English text either way."""

    status = 400
    title = "Bad request"
    type_ = "about:blank"
    # response headers: a challenge (401) or a retry delay (429)
    headers: dict[str, str] | None = None

    def __init__(
        self,
        detail: str,
        *,
        values: Mapping[str, Any] | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        self.template = detail
        self.values = dict(values) if values else {}
        self.detail = detail % self.values if self.values else detail
        super().__init__(self.detail)
        # field -> its message with values, for the pages; the API's errors hold the text
        self.field_messages: dict[str, Message] = {}
        if errors is None:
            self.errors: list[dict[str, Any]] | None = None
        else:
            self.errors = []
            for error in errors:
                message = error.get("message")
                if isinstance(message, Message):
                    self.field_messages[str(error.get("field", ""))] = message
                    error = {**error, "message": str(message)}
                self.errors.append(dict(error))
        self.extra = extra

    @property
    def message(self) -> Message:
        """The sentence as a template and its values."""
        return Message(self.template, **self.values)


class Invalid(AppError):
    status = 422
    title = "Invalid input"


class BadRequest(AppError):
    status = 400
    title = "Bad request"


class NotFound(AppError):
    status = 404
    title = "Not found"


class Conflict(AppError):
    status = 409
    title = "Conflict"


class PreconditionFailed(AppError):
    status = 412
    title = "Precondition failed"


class Forbidden(AppError):
    status = 403
    title = "Forbidden"


class PayloadTooLarge(AppError):
    status = 413
    title = "Payload too large"


class ServiceUnavailable(AppError):
    status = 503
    title = "Service unavailable"


class Unauthorized(AppError):
    status = 401
    title = "Unauthorized"
    headers = {"WWW-Authenticate": "Bearer"}  # noqa: RUF012


class TooManyRequests(AppError):
    status = 429
    title = "Too many requests"

    def __init__(
        self,
        detail: str,
        *,
        retry_after: int,
        values: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail, values=values, **extra)
        self.headers = {"Retry-After": str(retry_after)}


# set on the dependency that demands a token (app.auth.deps), so the handlers below can tell a
# route that needs one without importing the auth package
LOGIN_REQUIRED = "koopmatch_login_required"


def requires_login(dependency: Any) -> Any:
    """Mark a dependency as the one that demands a token."""
    setattr(dependency, LOGIN_REQUIRED, True)
    return dependency


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_path(loc: Sequence[str | int]) -> str:
    """`("body", "competences", 2, "label")` -> `competences[2].label`."""
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            # loc is ("body", character position): name the body, say where it broke
            reason = (err.get("ctx") or {}).get("error", "not valid JSON")
            where = f" at character {loc[1]}" if len(loc) > 1 else ""
            errors.append({"field": "body", "in": "body", "message": f"{reason}{where}"})
            continue
        # pydantic appends the validator/type name for unions and function validators
        loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
        message = str(err.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        errors.append(
            {"field": field_path(loc), "in": loc[0] if loc else "body", "message": message}
        )
    return errors


def _unreadable_body(exc: RequestValidationError) -> bool:
    return any(err.get("type") == "json_invalid" for err in exc.errors())


def _login_required(request: Request) -> bool:
    """No credentials sent to a route that needs a token."""
    if request.headers.get("authorization"):
        return False
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return False
    pending = [dependant]
    while pending:
        current = pending.pop()
        if getattr(current.call, LOGIN_REQUIRED, False):
            return True
        pending.extend(current.dependencies)
    return False


def register_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return problem(
            exc.status, exc.title, exc.detail, errors=exc.errors, headers=exc.headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        if _unreadable_body(exc) and _login_required(request):
            # the body is parsed before the dependencies run; who calls still comes first
            return problem(
                401,
                "Unauthorized",
                "Log in first: send `Authorization: Bearer <token>`.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        errors = _validation_errors(exc)
        fields = ", ".join(sorted({e["field"] for e in errors}))
        return problem(422, "Invalid input", f"Invalid value for: {fields}", errors=errors)

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, exc: IntegrityError) -> JSONResponse:
        # the services check what they can before writing; a constraint that still fails means
        # another request wrote the same thing meanwhile. Nothing of this request was stored.
        log.warning("constraint violated: %s", exc.orig)
        return problem(
            409,
            "Conflict",
            "The change conflicts with data stored at the same time by another request; "
            "nothing was stored. Reload and try again.",
        )

    @app.exception_handler(MatchingError)
    async def _matching(_request: Request, exc: MatchingError) -> JSONResponse:
        if isinstance(exc, InvalidFilter):
            return problem(422, "Invalid filter", str(exc))
        if isinstance(exc, DimensionMismatch):
            return problem(
                503,
                "Embeddings out of date",
                f"{exc}. Stored vectors were made by another model: run `koopmatch reindex`.",
            )
        return problem(500, "Matching failed", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        return problem(
            exc.status_code, title, str(exc.detail), headers=getattr(exc, "headers", None)
        )


def problem_responses(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for error statuses that answer with application/problem+json."""
    return {
        status: {"description": text, "content": {PROBLEM_JSON: {}}}
        for status, text in described.items()
    }
