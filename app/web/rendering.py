"""Templates, the page shell's context, and the route class that turns errors into pages."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Match

from app.auth.roles import EVENT_MANAGERS, STAFF
from app.errors import AppError
from app.models.user import Role, User
from app.web import i18n
from app.web.messages import page_message, translate
from app.web.session import (
    CSRF_FIELD,
    CsrfFailed,
    LoginRequired,
    csrf_token,
    ensure_pre_session,
    set_pre_session,
)

log = logging.getLogger("koopmatch.web")

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def N_(message: str) -> str:
    """Mark a string for the catalogue; it is translated where it is shown."""
    return message


DASHBOARD = ("/dashboard", N_("Dashboard"))
# the member's pages: only a member of an organisation may open them
MEMBER_NAVIGATION = (
    ("/partners", N_("Partners for us")),
    ("/search", N_("Search")),
    ("/requests", N_("Cooperation requests")),
    ("/profile", N_("Our profile")),
    ("/my-data", N_("My data")),
)
EVENTS = ("/events", N_("Events"))
CURATION = ("/curator", N_("Curation"))


def navigation(user: User | SignedIn | None) -> tuple[tuple[str, str], ...]:
    """The pages the account may open, so the navigation never leads to a 403."""
    if user is None:
        return ()
    entries = [DASHBOARD]
    if user.role == Role.member.value and user.organization_id is not None:
        entries.extend(MEMBER_NAVIGATION)
    if user.role in EVENT_MANAGERS:
        entries.append(EVENTS)
    if user.role in STAFF:
        entries.append(CURATION)
    return tuple(entries)


@dataclass(frozen=True)
class SignedIn:
    """What the page frame shows of the signed-in account, copied when the session was read:
    an error page shows it without touching the database (which may be what failed)."""

    id: int
    name: str
    role: str
    organization_id: int | None

    @classmethod
    def of(cls, user: User) -> SignedIn:
        return cls(id=user.id, name=user.name, role=user.role, organization_id=user.organization_id)


SIGNED_IN_STATE = "signed_in"


def remember_signed_in(request: Request, user: User) -> None:
    setattr(request.state, SIGNED_IN_STATE, SignedIn.of(user))


def signed_in(request: Request) -> SignedIn | None:
    """The account this request's session belonged to, if it was read before the error."""
    found = getattr(request.state, SIGNED_IN_STATE, None)
    return found if isinstance(found, SignedIn) else None


def local_path(target: str | None, default: str = "/dashboard") -> str:
    """`target` when it is a path on this site, else `default` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


@lru_cache(maxsize=4096, typed=True)
def _number(locale: str, value: float | int | None) -> str:
    """A number as the locale writes it; pages show the same few rounded values (scores and
    their components) hundreds of times, and Babel takes some 20 µs for each."""
    return i18n.Formatter(locale).number(value)


def _page_address(request: Request) -> str:
    """Where the language switch leads back to: this page, or for the answer to a form (a
    POST) the nearest page above its address that a browser can load again, so
    /my-data/erase leads to /my-data and /requests/5/accept to /requests."""
    path, query = request.url.path, request.url.query
    if request.method in ("GET", "HEAD"):
        return path + (f"?{query}" if query else "")
    router = getattr(request.scope.get("app"), "router", None)
    candidate = path
    while router is not None and candidate not in ("", "/"):
        scope = {"type": "http", "path": candidate, "method": "GET"}
        if any(route.matches(scope)[0] == Match.FULL for route in router.routes):
            return candidate
        candidate = candidate.rsplit("/", 1)[0]
    return "/"


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    user: User | SignedIn | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A page (or an HTMX partial) in the request's language."""
    new_pre_session = ensure_pre_session(request)
    locale = i18n.request_locale(request)
    formatter = i18n.Formatter(locale)
    path = request.url.path
    here = _page_address(request)
    values: dict[str, Any] = {
        "request": request,
        "user": user,
        "locale": locale,
        "other_locales": [code for code in i18n.LOCALES if code != locale],
        "locale_names": {"de": "Deutsch", "en": "English"},
        "here_quoted": quote(here, safe=""),
        "path": path,
        "navigation": navigation(user),
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(request, signed_in=user is not None),
        **formatter.callables(),
        "fmt_number": lambda value: _number(locale, value),
        "message_text": lambda message: translate(message, formatter),
        **(context or {}),
    }
    html = environment.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = locale
    response.headers["Vary"] = "Accept-Language, Cookie"
    if new_pre_session is not None:
        set_pre_session(response, new_pre_session)
    return response


def wants_page(request: Request) -> bool:
    """A browser navigating (HTML accepted) outside the API and the static files."""
    path = request.url.path
    if path.startswith(("/api/", "/static/")) or path in {"/openapi.json", "/health"}:
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(
    request: Request, status_code: int, detail: str | None = None, *, message: str | None = None
) -> HTMLResponse:
    """An error in the normal page frame: navigation, language switch and, when the session
    was read before the error, who is signed in. `message` is a service's sentence, already
    in the page's language (`app.web.messages`)."""
    return render(
        request,
        "error.html",
        {"status": status_code, "detail": detail, "message": message},
        user=signed_in(request),
        status_code=status_code,
    )


FALLBACK_500 = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Error · koopmatch'
    '</title></head><body><main><h1>Something went wrong</h1><p><a href="/">koopmatch</a>'
    "</p></main></body></html>"
)


def server_error_page(request: Request) -> HTMLResponse:
    """The 500 page of an unexpected error: the frame without a database query, and never
    the error's text; a bare page if even that fails."""
    try:
        return error_page(request, 500)
    except Exception:
        log.exception("the error page failed")
        return HTMLResponse(FALLBACK_500, status_code=500, headers={"Cache-Control": "no-store"})


def redirect(request: Request, target: str) -> Response:
    """A redirect after a form; HTMX requests are told to load the page themselves."""
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


class WebRoute(APIRoute):
    """Routes whose failures are pages: sign-in, 403, 404 and friends instead of JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                # back to this page after signing in; a form sent without a live session
                # (it ended while the form was open) is not carried out: the sign-in page
                # says so and leads back to the page the form belongs to (a form's own
                # address may answer POST only)
                here = quote(_page_address(request), safe="")
                if request.method in ("GET", "HEAD"):
                    return redirect(request, f"/login?next={here}")
                return redirect(request, f"/login?expired=1&next={here}")
            except CsrfFailed:
                return error_page(request, 403, "csrf")
            except AppError as exc:
                text = i18n.Formatter(i18n.request_locale(request))
                return error_page(request, exc.status, message=page_message(exc, text))
            except RequestValidationError:
                return error_page(request, 400)

        return page_handler
