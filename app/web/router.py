"""The member's pages: sign-in, dashboard, partners, search, requests, profile, my data.

Views call the same services as the JSON routers; every shape of an organisation they show
comes through app.web.policy, so disclosure is decided once, on the server.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.auth import organization_admins
from app.auth import service as auth_service
from app.auth.router import confirm_password, login_user
from app.auth.schemas import ApiKeyCreate
from app.cooperation import service as cooperation_service
from app.cooperation.schemas import OutcomeSet, RequestCreate
from app.db import finish
from app.deps import EncoderDep, IndexDep, SessionDep
from app.errors import (
    AppError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from app.i18n import N_
from app.matches import service as matches_service
from app.matches.schemas import MatchOut, SearchRequest
from app.models import Organization
from app.models.cooperation import CooperationRequest
from app.models.user import TokenKind, User
from app.organizations import service as organization_service
from app.organizations.derived import SIZE_BOUNDS
from app.organizations.schemas import CooperationInterest, OrganizationOut, OrganizationPatch
from app.privacy import service as privacy_service
from app.privacy.repository import AuditQuery
from app.text_types import reject_control_characters
from app.web import forms, i18n, policy
from app.web.deps import MemberUser, OptionalSession, PageUser, RequiredSession, SignedInForm
from app.web.messages import page_field_messages, page_message
from app.web.rendering import WebRoute, local_path, redirect, render, wants_page
from app.web.session import check_csrf, clear_session, set_session
from matching import Filters

router = APIRouter(route_class=WebRoute, include_in_schema=False)

INTERESTS = [i.value for i in CooperationInterest]
# the search filter's head-count range of each size class (app.organizations.derived)
SIZE_CLASSES: dict[str, tuple[int, int | None]] = {
    name: (low, SIZE_BOUNDS[i + 1][1] - 1 if i + 1 < len(SIZE_BOUNDS) else None)
    for i, (name, low) in enumerate(SIZE_BOUNDS)
}
# the dashboard's "new since your last visit" looks at the best this many matches
DASHBOARD_MATCHES = 20


def _pending(session: Session, user: User, direction: str) -> list[CooperationRequest]:
    """The caller's open cooperation requests in one direction (the first 50)."""
    requests, _ = cooperation_service.list_requests(
        session,
        user=user,
        organization_id=None,
        direction=direction,
        status="pending",
        type_=None,
        outcome=None,
        limit=50,
        offset=0,
    )
    return requests


def own_organization(session: Session, user: User) -> Organization:
    assert user.organization_id is not None
    return organization_service.get_organization(session, organization_id=user.organization_id)


# --- sign-in, language ------------------------------------------------------------------------


@router.get("/")
def home(request: Request, token: OptionalSession) -> Response:
    return redirect(request, "/dashboard" if token is not None else "/login")


@router.get("/login")
def login_page(request: Request, token: OptionalSession, next: str | None = None) -> Response:
    if token is not None:
        return redirect(request, local_path(next))
    return render(request, "login.html", {"next": local_path(next), "error": None, "email": ""})


@router.post("/login")
async def login_submit(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    csrf_token: Annotated[str | None, Form()] = None,
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    check_csrf(request, csrf_token, signed_in=False)
    target = local_path(next)
    context: dict[str, Any] = {"next": target, "email": email}
    if not email.strip() or not password:
        return render(request, "login.html", {**context, "error": "missing"}, status_code=422)
    try:
        user = await login_user(request, session, email=email, password=password)
    except TooManyRequests as exc:
        return render(
            request,
            "login.html",
            {**context, "error": "throttled", "wait": (exc.headers or {}).get("Retry-After")},
            status_code=429,
            headers=exc.headers,
        )
    except Unauthorized:
        return render(request, "login.html", {**context, "error": "wrong"}, status_code=401)
    lifetime = auth_service.login_lifetime()
    _token, secret = await run_in_threadpool(
        auth_service.issue_token, session, user=user, kind=TokenKind.login, lifetime=lifetime
    )
    await run_in_threadpool(finish, session)
    response = redirect(request, target)
    set_session(response, secret, max_age=int(lifetime.total_seconds()))
    return response


@router.post("/logout", dependencies=[SignedInForm])
def logout(request: Request, session: SessionDep, token: RequiredSession) -> Response:
    auth_service.revoke_token(session, token=token)
    finish(session)
    response = redirect(request, "/login")
    clear_session(response)
    return response


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str | None = None) -> Response:
    """The language switch: remembered in a cookie, then back to the page."""
    if code not in i18n.LOCALES:
        raise NotFound(N_("No language %(code)r."), values={"code": code})
    response = redirect(request, local_path(next, "/"))
    response.set_cookie(
        i18n.LOCALE_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", httponly=True
    )
    return response


# --- dashboard ---------------------------------------------------------------------------------


def previous_visit(session: Session, user: User, current: int) -> dt.datetime | None:
    """When the account signed in before this session (its previous login token)."""
    tokens = auth_service.login_history(session, user=user)
    earlier = [t.created_at for t in tokens if t.id != current]
    return max(earlier) if earlier else None


@router.get("/dashboard")
def dashboard(
    request: Request,
    session: SessionDep,
    token: RequiredSession,
    encoder: EncoderDep,
    cache: IndexDep,
) -> Response:
    user = token.user
    if user.organization_id is None:
        return render(request, "dashboard_staff.html", user=user)
    organization = own_organization(session, user)
    # the profile first: later queries may load the same row again without its collections
    profile = policy.profile(session, user, organization)
    checks = forms.completeness(organization)
    received, sent = (_pending(session, user, direction) for direction in ("received", "sent"))
    last_visit = previous_visit(session, user, token.id)
    new_matches: list[MatchOut] = []
    matching_error = None
    try:
        matches = matches_service.matches_for(
            session,
            user=user,
            organization_id=organization.id,
            filters=Filters(),
            limit=DASHBOARD_MATCHES,
            cache=cache,
            encoder=encoder,
        )
        changed = forms.changed_since(session, [m.organization.id for m in matches], last_visit)
        new_matches = [m for m in matches if m.organization.id in changed][:5]
    except AppError as exc:
        matching_error = page_message(exc, i18n.Formatter(i18n.request_locale(request)))
    return render(
        request,
        "dashboard.html",
        {
            "organization": profile,
            "checks": checks,
            "complete": sum(done for _, done in checks) / len(checks),
            "received": cooperation_service.requests_out(session, user=user, requests=received),
            "sent": cooperation_service.requests_out(session, user=user, requests=sent),
            "last_visit": last_visit,
            "new_matches": new_matches,
            "matching_error": matching_error,
        },
        user=user,
    )


# --- partners for us ---------------------------------------------------------------------------


@router.get("/partners")
def partners(
    request: Request,
    session: SessionDep,
    user: MemberUser,
    encoder: EncoderDep,
    cache: IndexDep,
    country: Annotated[str, Query(max_length=200)] = "",
    max_distance_km: Annotated[str, Query(max_length=10)] = "",
    nace: Annotated[str, Query(max_length=200)] = "",
    size: Annotated[str, Query(max_length=10)] = "",
    interest: Annotated[list[str], Query(max_length=5)] = [],  # noqa: B006
    include_competitors: Annotated[str | None, Query(max_length=5)] = None,
    exclude_known: Annotated[str | None, Query(max_length=5)] = None,
    filtered: Annotated[str | None, Query(max_length=5)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Response:
    """Ranked matches with every filter of the API."""
    # only the id: loading the profile (competences with their vectors, relationships) cost
    # a third of the page's own time
    assert user.organization_id is not None
    chosen = forms.MatchFilterForm.parse(
        country=country,
        max_distance_km=max_distance_km,
        nace=nace,
        size=size,
        interests=interest,
        include_competitors=include_competitors,
        exclude_known=exclude_known,
        submitted=filtered is not None,
    )
    items: list[MatchOut] = []
    error = chosen.error
    if error is None:
        low, high = SIZE_CLASSES.get(chosen.size, (None, None))
        filters = Filters(
            countries=frozenset(chosen.countries),
            max_distance_km=chosen.max_distance_km,
            nace_include=tuple(chosen.nace),
            min_employees=low,
            max_employees=high,
            cooperation_interests=frozenset(chosen.interests),
            include_competitors=chosen.include_competitors,
            exclude_known=chosen.exclude_known,
        )
        filters = matches_service.coarse_employee_filters(filters, user)
        try:
            items = matches_service.matches_for(
                session,
                user=user,
                organization_id=user.organization_id,
                filters=filters,
                limit=limit,
                cache=cache,
                encoder=encoder,
            )
        except AppError as exc:
            error = page_message(exc, i18n.Formatter(i18n.request_locale(request)))
    context = {
        "form": chosen,
        "items": items,
        "error": error,
        "interests": INTERESTS,
        "size_classes": list(SIZE_CLASSES),
        "search_mode": False,
        "more": _more_url(request, limit) if len(items) == limit and limit < 50 else None,
    }
    if request.headers.get("hx-request") == "true":
        return render(request, "partials/match_list.html", context, user=user)
    return render(request, "partners.html", context, user=user)


def _more_url(request: Request, limit: int) -> str:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "limit"]
    query.append(("limit", str(min(limit + 10, 50))))
    return "/partners?" + urlencode(query)


# --- search ------------------------------------------------------------------------------------


@router.get("/search")
def search(
    request: Request,
    session: SessionDep,
    user: MemberUser,
    encoder: EncoderDep,
    cache: IndexDep,
    q: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    """Free text in German or English; place names become filters."""
    text = q.strip()
    items: list[MatchOut] = []
    outside: list[MatchOut] = []
    answer = ""
    error = None
    weak_count = 0
    places: dict[str, Any] | None = None
    # the answer sentence in the page's language, as the JSON API words it for that language
    lang: matches_service.Lang = "de" if i18n.request_locale(request) == "de" else "en"
    if len(text) >= 2:
        body = SearchRequest(text=text, limit=10)
        need, filters, named = matches_service.parse_search_with_places(body)
        filters = matches_service.coarse_employee_filters(filters, user)
        # the place names the engine understood and what they became, in the page's words
        if named:
            text_of = i18n.Formatter(i18n.request_locale(request))
            places = {
                "names": named,
                "countries": [text_of.region(c) for c in sorted(filters.countries)],
                "km": filters.max_distance_km,
            }
        try:
            found = matches_service.search(
                session,
                user=user,
                need_phrases=need,
                filters=filters,
                limit=10,
                cache=cache,
                encoder=encoder,
                lang=lang,
            )
            items, weak_count = found.items, found.weak_count
            answer, outside = found.answer, found.closest_outside
        except AppError as exc:
            error = page_message(exc, i18n.Formatter(i18n.request_locale(request)))
    elif text:
        error = "short"
    context = {
        "q": text,
        "items": items,
        "error": error,
        "weak_count": weak_count,
        "answer": answer,
        "closest_outside": outside,
        "no_good_match": bool(text) and error is None and all(i.weak for i in items),
        "places": places,
        "search_mode": True,
    }
    if request.headers.get("hx-request") == "true":
        return render(request, "partials/search_results.html", context, user=user)
    return render(request, "search.html", context, user=user)


# --- cooperation requests ----------------------------------------------------------------------


def _requests_context(session: Session, user: User) -> dict[str, Any]:
    received, _ = cooperation_service.list_requests(
        session,
        user=user,
        organization_id=None,
        direction="received",
        status=None,
        type_=None,
        outcome=None,
        limit=200,
        offset=0,
    )
    sent, _ = cooperation_service.list_requests(
        session,
        user=user,
        organization_id=None,
        direction="sent",
        status=None,
        type_=None,
        outcome=None,
        limit=200,
        offset=0,
    )
    return {
        "received": cooperation_service.requests_out(session, user=user, requests=received),
        "sent": cooperation_service.requests_out(session, user=user, requests=sent),
        "outcomes": ["talks_started", "agreement_reached", "no_fit"],
    }


@router.get("/requests")
def requests_page(request: Request, session: SessionDep, user: MemberUser) -> Response:
    return render(request, "requests.html", _requests_context(session, user), user=user)


def _target(
    session: Session, user: User, organization_id: int, cache: IndexDep, encoder: EncoderDep
) -> OrganizationOut:
    """An organisation the member's organisation may address, as the member sees it (404
    like a missing one)."""
    target = organization_service.get_organization(session, organization_id=organization_id)
    if not policy.may_see(user, target) or target.visibility == "private":
        raise NotFound(N_("No organisation with id %(id)s."), values={"id": organization_id})
    shown = policy.profile(session, user, target)
    hidden = matches_service.hidden_from_competitor(
        session, cache, encoder, user.organization_id or 0
    )
    if target.id in hidden:
        raise NotFound(N_("No organisation with id %(id)s."), values={"id": organization_id})
    return shown


@router.get("/requests/new")
def new_request(
    request: Request,
    session: SessionDep,
    user: MemberUser,
    cache: IndexDep,
    encoder: EncoderDep,
    to: Annotated[int, Query(ge=1, le=2**31 - 1)],
) -> Response:
    target = _target(session, user, to, cache, encoder)
    return render(
        request,
        "request_new.html",
        {"target": target, "interests": INTERESTS, "error": None, "message": "", "kind": ""},
        user=user,
    )


@router.post("/requests", dependencies=[SignedInForm])
def send_request(
    request: Request,
    session: SessionDep,
    user: MemberUser,
    cache: IndexDep,
    encoder: EncoderDep,
    to: Annotated[int, Form(ge=1, le=2**31 - 1)],
    kind: Annotated[str, Form(max_length=40)] = "",
    message: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    target = _target(session, user, to, cache, encoder)
    try:
        data = RequestCreate.model_validate(
            {"to_organization_id": target.id, "type": kind, "message": message or None}
        )
        cooperation_service.create_request(
            session, user=user, data=data, cache=cache, encoder=encoder
        )
    except (ValidationError, Conflict, Invalid) as exc:
        session.rollback()
        error = (
            "kind"
            if isinstance(exc, ValidationError)
            else "pending"
            if isinstance(exc, Conflict)
            else "invalid"
        )
        return render(
            request,
            "request_new.html",
            {
                "target": target,
                "interests": INTERESTS,
                "error": error,
                "message": message,
                "kind": kind,
            },
            user=user,
            status_code=422 if error != "pending" else 409,
        )
    finish(session)
    return redirect(request, "/requests?sent=1")


@router.post("/requests/{request_id}/{action}", dependencies=[SignedInForm])
def answer_request(
    request: Request,
    session: SessionDep,
    user: MemberUser,
    request_id: int,
    action: str,
    outcome: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Accept, decline, withdraw, or record the outcome (the same rules as the API)."""
    if action not in {"accept", "decline", "withdraw", "outcome"} or not 1 <= request_id < 2**31:
        raise NotFound(N_("No such page."))
    cooperation = cooperation_service.get_request(session, request_id=request_id, for_step=True)
    if not cooperation_service.may_know(user, cooperation):
        raise NotFound(N_("No cooperation request with id %(id)s."), values={"id": request_id})
    side = {"accept": "to", "decline": "to", "withdraw": "from"}.get(action)
    sides = cooperation_service.sides_of(user, cooperation)
    if side is not None and side not in sides:
        raise Forbidden(N_("The other side of the request takes this step."))
    if action == "outcome":
        try:
            data = OutcomeSet.model_validate({"outcome": outcome, "note": note or None})
        except ValidationError:
            raise Invalid(N_("Choose an outcome.")) from None
        cooperation_service.set_outcome(session, request=cooperation, data=data, user=user)
    else:
        cooperation_service.answer_request(session, request=cooperation, action=action, user=user)
    finish(session)
    return redirect(request, f"/requests#request-{request_id}")


# --- profile editor ----------------------------------------------------------------------------


def _profile_context(
    session: Session,
    user: User,
    organization: Organization,
    form: forms.ProfileForm,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "form": form,
        "organization": organization,
        "previews": policy.preview(form.preview_values(), form.disclosure, form.visibility),
        "dependency": form.dependency_warning(),
        "interests": INTERESTS,
        "groups": policy.GROUPS,
        "levels": policy.LEVELS,
        "kinds": forms.KINDS,
        "errors": {},
        "conflict": None,
        "saved": False,
        **extra,
    }


@router.get("/profile")
def profile_page(
    request: Request, session: SessionDep, user: MemberUser, saved: str | None = None
) -> Response:
    organization = own_organization(session, user)
    form = forms.ProfileForm.from_organization(
        organization,
        policy.levels_of(organization),
        policy.related_names(session, user, organization),
    )
    return render(
        request,
        "profile.html",
        _profile_context(session, user, organization, form, saved=saved is not None),
        user=user,
    )


@router.post("/profile/preview", dependencies=[SignedInForm])
async def profile_preview(request: Request, user: MemberUser) -> Response:
    """The live preview: how a partner, a member and a visitor would see the form's values."""
    form = forms.ProfileForm.from_form(await request.form())
    return render(
        request,
        "partials/preview.html",
        {
            "previews": policy.preview(form.preview_values(), form.disclosure, form.visibility),
            "dependency": form.dependency_warning(),
            "groups": policy.GROUPS,
        },
        user=user,
    )


@router.get("/profile/row/{what}")
def profile_row(request: Request, user: MemberUser, what: str, kind: str = "core") -> Response:
    """A blank row for a new competence or relationship."""
    if what == "competence" and kind in forms.KINDS:
        row = forms.CompetenceRow.blank(kind)
        # focus moves into the new row, so a keyboard user types on where the button was
        return render(
            request,
            "partials/competence_row.html",
            {"row": row, "kinds": forms.KINDS, "focus": True},
            user=user,
        )
    if what == "relationship":
        return render(
            request,
            "partials/relationship_row.html",
            {"row": forms.RelationshipRow.blank(), "focus": True},
            user=user,
        )
    raise NotFound(N_("No such row."))


@router.post("/profile", dependencies=[SignedInForm])
async def profile_save(
    request: Request, session: SessionDep, user: MemberUser, encoder: EncoderDep
) -> Response:
    form = forms.ProfileForm.from_form(await request.form())
    organization = await run_in_threadpool(own_organization, session, user)
    try:
        patch = form.to_patch()
    except ValidationError as exc:
        errors = forms.field_errors(exc, i18n.Formatter(i18n.request_locale(request)))
        return render(
            request,
            "profile.html",
            _profile_context(session, user, organization, form, errors=errors),
            user=user,
            status_code=422,
        )
    try:
        await run_in_threadpool(_save_profile, session, organization, patch, encoder, user)
    except Conflict:
        await run_in_threadpool(session.rollback)
        organization = await run_in_threadpool(own_organization, session, user)
        changes = await run_in_threadpool(_changes_since, session, organization, form.loaded_at)
        # the form keeps what the member typed; saving again applies it over the new version
        form.version = organization.version
        form.loaded_at = dt.datetime.now(dt.UTC)
        return render(
            request,
            "profile.html",
            _profile_context(session, user, organization, form, conflict=changes),
            user=user,
            status_code=409,
        )
    except Invalid as exc:
        await run_in_threadpool(session.rollback)
        organization = await run_in_threadpool(own_organization, session, user)
        text = i18n.Formatter(i18n.request_locale(request))
        shown = {
            ("" if name == "form" else name): forms.FieldMessage(message, text.locale)
            for name, message in page_field_messages(exc, text).items()
        }
        return render(
            request,
            "profile.html",
            _profile_context(session, user, organization, form, errors=shown),
            user=user,
            status_code=422,
        )
    return redirect(request, "/profile?saved=1")


def _save_profile(
    session: Session,
    organization: Organization,
    patch: OrganizationPatch,
    encoder: EncoderDep,
    editor: User,
) -> None:
    organization_service.update_organization(
        session,
        organization=organization,
        patch=patch,
        if_match=None,
        encoder=encoder,
        editor=editor,
    )
    finish(session)


def _changes_since(
    session: Session, organization: Organization, since: dt.datetime | None
) -> list[dict[str, Any]]:
    """Who changed which fields of the profile since the form was loaded."""
    page = privacy_service.audit_page(
        session, query=AuditQuery(organization_id=organization.id, since=since), limit=50, offset=0
    )
    actors = auth_service.user_names(
        session, [e.actor_user_id for e in page.items if e.actor_user_id]
    )
    out = []
    for entry in page.items:
        fields = sorted(
            set(entry.changes)
            - {"version", "modified_at", "profile_embedding", "embedding_model", "embedding"}
        )
        if not fields and entry.entity == "organizations":
            continue
        out.append(
            {
                "at": entry.at,
                "who": actors.get(entry.actor_user_id) if entry.actor_user_id else None,
                "source": entry.source,
                "entity": entry.entity,
                "fields": fields,
            }
        )
    return out


# --- my data, account ---------------------------------------------------------------------------


def _my_data_context(session: Session, user: User, **extra: Any) -> dict[str, Any]:
    organization = own_organization(session, user)
    return {
        "organization": organization,
        "report": None,
        "error": None,
        "members": organization_admins.members(session, organization.id),
        "may_act": organization_admins.may_act_for(
            session, user=user, organization_id=organization.id
        ),
        **extra,
    }


@router.get("/my-data")
def my_data(request: Request, session: SessionDep, user: MemberUser) -> Response:
    return render(request, "my_data.html", _my_data_context(session, user), user=user)


@router.get("/my-data/export")
def my_data_export(session: SessionDep, user: MemberUser) -> Response:
    organization = own_organization(session, user)
    export = privacy_service.export_organization(session, organization=organization, viewer=user)
    return Response(
        export.model_dump_json(indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="koopmatch-organization-{organization.id}.json"'
        },
    )


@router.post("/my-data/erase", dependencies=[SignedInForm])
def my_data_erase(
    request: Request,
    session: SessionDep,
    user: MemberUser,
    confirm: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Erase the personal data of the organisation's people (its accounts too: this one ends);
    organisation admins only, with the organisation's name typed again."""
    organization = own_organization(session, user)
    try:
        organization_admins.check_removal(
            session,
            user=user,
            organization_id=organization.id,
            name=organization.name,
            confirm=confirm,
        )
    except Invalid:
        return render(
            request,
            "my_data.html",
            _my_data_context(session, user, error="confirm"),
            user=user,
            status_code=422,
        )
    privacy_service.erase_organization(session, organization=organization)
    finish(session)
    response = redirect(request, "/login?erased=1")
    clear_session(response)
    return response


@router.post("/my-data/admins/{user_id}", dependencies=[SignedInForm])
def my_data_admin(
    request: Request,
    session: SessionDep,
    user: MemberUser,
    user_id: int,
    organization_admin: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Name a colleague an organisation admin, or take it back (organisation admins)."""
    organization = own_organization(session, user)
    colleague = next(
        (m for m in organization_admins.members(session, organization.id) if m.id == user_id),
        None,
    )
    if colleague is None:
        raise NotFound(N_("No such colleague."))
    try:
        organization_admins.set_organization_admin(
            session,
            acting=user,
            organization_id=organization.id,
            target=colleague,
            value=organization_admin == "yes",
        )
    except Conflict:
        session.rollback()
        return render(
            request,
            "my_data.html",
            _my_data_context(session, user, error="last admin"),
            user=user,
            status_code=409,
        )
    finish(session)
    return redirect(request, "/my-data#admins-h")


def _account_context(session: Session, user: User, **extra: Any) -> dict[str, Any]:
    return {
        "error": None,
        "key_error": None,
        "new_key": None,
        "key_name": "",
        "keys": auth_service.list_api_keys(session, user=user),
        **extra,
    }


@router.get("/account")
def account(request: Request, session: SessionDep, user: PageUser) -> Response:
    return render(request, "account.html", _account_context(session, user), user=user)


@router.post("/account/api-keys", dependencies=[SignedInForm])
async def account_api_key(
    request: Request,
    session: SessionDep,
    user: PageUser,
    name: Annotated[str, Form(max_length=200)] = "",
    current_password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """A new API key: the password again, as in the API; the secret is shown once."""
    error = None
    try:
        data = ApiKeyCreate(name=name, current_password=current_password)
        lifetime = auth_service.api_key_lifetime(data.expires_in_days)
        await confirm_password(request, session, user=user, password=data.current_password)
    except ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors()}
        error = "name" if "name" in fields else "missing password"
    except TooManyRequests:
        error = "throttled"
    except Invalid as exc:
        error = exc.errors[0]["message"] if exc.errors else "wrong password"
    if error is not None:
        context = await run_in_threadpool(_account_context, session, user)
        return render(
            request,
            "account.html",
            {**context, "key_error": error, "key_name": name},
            user=user,
            status_code=429 if error == "throttled" else 422,
        )
    token, secret = await run_in_threadpool(
        auth_service.issue_token,
        session,
        user=user,
        kind=TokenKind.api_key,
        name=data.name,
        lifetime=lifetime,
    )
    context = await run_in_threadpool(_account_context, session, user)
    await run_in_threadpool(finish, session)
    return render(
        request,
        "account.html",
        {**context, "new_key": {"name": token.name, "secret": secret}},
        user=user,
        status_code=201,
    )


@router.post("/account/api-keys/{key_id}/revoke", dependencies=[SignedInForm])
def account_api_key_revoke(
    request: Request, session: SessionDep, user: PageUser, key_id: int
) -> Response:
    if not 1 <= key_id < 2**31:
        raise NotFound(N_("No such API key."))
    token = auth_service.get_api_key(session, user=user, key_id=key_id)
    if token.user_id != user.id:  # admins revoke others' keys through the API
        raise NotFound(N_("No such API key."))
    auth_service.revoke_token(session, token=token)
    finish(session)
    return redirect(request, "/account#keys-h")


@router.post("/account/password", dependencies=[SignedInForm])
async def account_password(
    request: Request,
    session: SessionDep,
    user: PageUser,
    current_password: Annotated[str, Form(max_length=256)] = "",
    new_password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """A new password ends every session and API key of the account, this one included. The
    current password counts towards the login limits, as in the API."""
    error, status_code = None, 422
    try:
        await confirm_password(request, session, user=user, password=current_password)
        await run_in_threadpool(
            auth_service.set_password, session, user=user, password=new_password
        )
    except TooManyRequests:
        error, status_code = "throttled", 429
    except Invalid as exc:
        error = exc.errors[0]["message"] if exc.errors else exc.detail
    if error is not None:
        await run_in_threadpool(session.rollback)
        context = await run_in_threadpool(_account_context, session, user, error=error)
        return render(request, "account.html", context, user=user, status_code=status_code)
    await run_in_threadpool(finish, session)
    response = redirect(request, "/login?changed=1")
    clear_session(response)
    return response


# --- pages that do not exist -------------------------------------------------------------------


def not_found(token: OptionalSession) -> Response:
    """Any path no route serves: a 404 page in the frame, with the sign-in state."""
    raise NotFound(N_("No such page."))


def install_not_found_page(app: FastAPI) -> None:
    """Answer browsers asking for a path that no route serves with `not_found` (a WebRoute,
    so the session is read as for every page); API clients keep the JSON 404."""
    route = WebRoute(
        "/{path:path}",
        not_found,
        methods=["GET"],
        include_in_schema=False,
        dependencies=[Depends(reject_control_characters)],
        dependency_overrides_provider=app,
    )
    fallback = app.router.default

    async def default(scope: Scope, receive: Receive, send: Send) -> None:
        page = scope["type"] == "http" and scope["method"] in ("GET", "HEAD")
        if page and wants_page(Request(scope)):
            _match, child = route.matches({**scope, "method": "GET"})
            await route.handle({**scope, **child}, receive, send)
            return
        await fallback(scope, receive, send)

    app.router.default = default
