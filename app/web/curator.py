"""Hub staff's pages: import, duplicates, labels, profiles to review, the audit log,
onboarding, and the cluster's competence-gap map; and the public page an invitation or
reset link opens.

Views call the curation, import and account services directly; only staff (admin or curator)
open the /curator pages, decided here on the server.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.auth import invitations
from app.auth import service as auth_service
from app.auth.roles import is_staff
from app.config import get_settings
from app.curation import gaps, labels, review
from app.curation import service as curation_service
from app.db import finish
from app.deps import EncoderDep, SessionDep
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.i18n import N_, Message
from app.imports.parsing import ImportFileError
from app.imports.service import ImportReport, ReadFile, read_file, write_import
from app.models.invitation import LinkPurpose
from app.models.user import Role, User
from app.organizations import service as organization_service
from app.privacy import service as privacy_service
from app.privacy.repository import AuditQuery
from app.web import policy
from app.web.curator_imports import ImportJobs
from app.web.deps import PageUser, SignedInForm
from app.web.rendering import WebRoute, redirect, render
from app.web.session import check_csrf

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE = 50
MAX_ID = 2**31 - 1
SECTIONS = (
    ("/curator/import", "import"),
    ("/curator/duplicates", "duplicates"),
    ("/curator/labels", "labels"),
    ("/curator/profiles", "profiles"),
    ("/curator/audit", "audit"),
    ("/curator/onboarding", "onboarding"),
    ("/curator/gaps", "gaps"),
)


def staff_user(user: PageUser) -> User:
    """Hub staff (admin or curator): the curation pages are theirs."""
    if not is_staff(user):
        raise Forbidden(N_("These pages belong to hub staff."))
    return user


StaffPage = Annotated[User, Depends(staff_user)]


def _page(request: Request, template: str, user: User, **context: Any) -> Response:
    status_code = context.pop("status_code", 200)
    return render(
        request,
        f"curator/{template}",
        {"sections": SECTIONS, **context},
        user=user,
        status_code=status_code,
    )


def import_jobs(request: Request) -> ImportJobs:
    jobs: ImportJobs | None = getattr(request.app.state, "curator_imports", None)
    if jobs is None:
        jobs = ImportJobs()
        request.app.state.curator_imports = jobs
    return jobs


@router.get("/curator")
def overview(request: Request, user: StaffPage) -> Response:
    return _page(request, "overview.html", user)


# --- import ------------------------------------------------------------------------------------


@router.get("/curator/import")
def import_page(request: Request, user: StaffPage) -> Response:
    return _page(request, "import.html", user, report=None, upload=None, error=None)


@router.post("/curator/import", dependencies=[SignedInForm])
async def import_dry_run(
    request: Request,
    session: SessionDep,
    user: StaffPage,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """The dry run: every row checked, nothing written; the file waits for the import."""
    limit = get_settings().max_import_bytes
    data = await file.read(limit + 1) if file is not None else b""
    error: str | Message | None = None
    report = upload = None

    if file is None or not data:
        error = "empty"
    elif len(data) > limit:
        error = "large"
    else:
        try:
            read = await run_in_threadpool(
                read_file, data, filename=file.filename, content_type=file.content_type
            )
        except ImportFileError as exc:
            error = exc.message
        else:
            report = await run_in_threadpool(_dry_report, session, read)
            if isinstance(report, Message):
                error, report = report, None
            elif report.accepted:
                upload = await run_in_threadpool(
                    import_jobs(request).keep_upload,
                    session,
                    owner_id=user.id,
                    filename=file.filename,
                    content_type=file.content_type,
                    data=data,
                    valid_rows=report.accepted,
                )
    return _page(
        request,
        "import.html",
        user,
        report=report,
        upload=upload,
        error=error,
        filename=file.filename if file is not None else None,
        status_code=422 if error else 200,
    )


def _dry_report(session: Session, read: ReadFile) -> ImportReport | Message:
    """The dry run's report (references checked against the database), or why it failed."""
    try:
        return write_import(session, read, partial=True, dry_run=True)
    except ImportFileError as exc:
        return exc.message

    finally:
        session.rollback()  # a dry run writes nothing


@router.post("/curator/import/{upload_id}/run", dependencies=[SignedInForm])
def import_run(
    request: Request,
    session: SessionDep,
    user: StaffPage,
    encoder: EncoderDep,
    upload_id: str,
    mode: Annotated[str, Form(max_length=10)] = "atomic",
) -> Response:
    """Start the import of a checked file; the job page shows its progress."""
    job = (
        import_jobs(request).start(
            session, upload_id, user.id, partial=mode == "partial", encoder=encoder
        )
        if mode in {"atomic", "partial"}
        else None
    )
    if job is None:
        raise NotFound(N_("This upload is gone; choose the file again."))
    return redirect(request, f"/curator/import/jobs/{job.id}")


@router.get("/curator/import/jobs/{job_id}")
def import_job(request: Request, user: StaffPage, job_id: str) -> Response:
    job = import_jobs(request).job(job_id, user.id)
    if job is None:
        raise NotFound(N_("No such import."))
    if request.headers.get("hx-request") == "true":
        return render(request, "curator/partials/import_job.html", {"job": job}, user=user)
    return _page(request, "import_job.html", user, job=job)


# --- duplicates --------------------------------------------------------------------------------


@router.get("/curator/duplicates")
def duplicates(
    request: Request,
    session: SessionDep,
    user: StaffPage,
    merged: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    found = curation_service.find_duplicates(
        session, name_threshold=0.85, embedding_threshold=0.92, min_score=0.0, limit=PAGE
    )
    return _page(
        request, "duplicates.html", user, pairs=found.items, total=found.total, merged=merged
    )


@router.get("/curator/duplicates/merge")
def merge_preview(
    request: Request,
    session: SessionDep,
    user: StaffPage,
    keep: Annotated[int, Query(ge=1, le=MAX_ID)],
    merge: Annotated[int, Query(ge=1, le=MAX_ID)],
) -> Response:
    """Both profiles side by side and what the merge would move."""
    preview = review.merge_preview(session, keep_id=keep, merge_id=merge, user=user)
    return _page(request, "merge.html", user, preview=preview)


@router.post("/curator/duplicates/merge", dependencies=[SignedInForm])
def merge_submit(
    request: Request,
    session: SessionDep,
    user: StaffPage,
    encoder: EncoderDep,
    keep: Annotated[int, Form(ge=1, le=MAX_ID)],
    merge: Annotated[int, Form(ge=1, le=MAX_ID)],
) -> Response:
    result = curation_service.merge_organizations(
        session, keep_id=keep, merge_id=merge, user=user, encoder=encoder
    )
    finish(session)
    return redirect(request, "/curator/duplicates?" + urlencode({"merged": result.merged_name}))


# --- labels ------------------------------------------------------------------------------------


@router.get("/curator/labels")
def labels_page(
    request: Request,
    session: SessionDep,
    user: StaffPage,
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    done: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    found = labels.list_labels(session, q=q.strip() or None, kind=None, limit=PAGE, offset=offset)
    return _page(
        request,
        "labels.html",
        user,
        labels=found.items,
        total=found.total,
        q=q,
        offset=offset,
        page=PAGE,
        done=done,
        error=None,
    )


@router.get("/curator/labels/suggestions")
def label_suggestions(
    request: Request, session: SessionDep, user: StaffPage, encoder: EncoderDep
) -> Response:
    found = labels.suggest(session, encoder=encoder, threshold=0.75, min_group=2, limit=PAGE)
    return _page(request, "suggestions.html", user, groups=found.items, total=found.total)


def _merge_labels(
    request: Request,
    session: Session,
    user: User,
    encoder: EncoderDep,
    canonical: str,
    chosen: list[str],
) -> Response:
    try:
        result = labels.merge_labels(
            session,
            canonical=canonical.strip(),
            labels=[label.strip() for label in chosen if label.strip()],
            remember=True,
            user=user,
            encoder=encoder,
        )
    except Invalid as exc:
        session.rollback()
        raise Invalid(exc.template, values=exc.values) from None
    finish(session)
    return redirect(
        request,
        "/curator/labels?"
        + urlencode({"done": f"{result.canonical}|{result.renamed}|{result.organizations}"}),
    )


@router.post("/curator/labels/merge", dependencies=[SignedInForm])
def labels_merge(
    request: Request,
    session: SessionDep,
    user: StaffPage,
    encoder: EncoderDep,
    canonical: Annotated[str, Form(max_length=200)] = "",
    label: Annotated[list[str], Form(max_length=500)] = [],  # noqa: B006
) -> Response:
    """Give every competence with one of the chosen labels the canonical label."""
    if not canonical.strip() or not label:
        raise Invalid(N_("Choose the labels and the label they become."))
    return _merge_labels(request, session, user, encoder, canonical, label)


@router.post("/curator/labels/rename", dependencies=[SignedInForm])
def labels_rename(
    request: Request,
    session: SessionDep,
    user: StaffPage,
    encoder: EncoderDep,
    label: Annotated[str, Form(max_length=200)] = "",
    new_label: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Rename a label everywhere (and remember the old spelling as a synonym)."""
    if not label.strip() or not new_label.strip():
        raise Invalid(N_("Name the label and its new spelling."))
    return _merge_labels(request, session, user, encoder, new_label, [label])


# --- profiles to review ------------------------------------------------------------------------


@router.get("/curator/profiles")
def profiles(
    request: Request,
    session: SessionDep,
    user: StaffPage,
    months: Annotated[int, Query(ge=1, le=600)] = 12,
) -> Response:
    stale = curation_service.stale_organizations(session, months=months, limit=PAGE, offset=0)
    unverified, unverified_total = review.unverified_organizations(session, limit=PAGE, offset=0)
    return _page(
        request,
        "profiles.html",
        user,
        stale=stale,
        months=months,
        unverified=unverified,
        unverified_total=unverified_total,
    )


@router.post("/curator/profiles/{organization_id}/verify", dependencies=[SignedInForm])
def verify(
    request: Request, session: SessionDep, user: StaffPage, organization_id: int
) -> Response:
    """Verification with one click: the row says who verified it and when."""
    if not 1 <= organization_id <= MAX_ID:
        raise NotFound(N_("No such organisation."))
    organization = organization_service.get_organization(session, organization_id=organization_id)
    status = curation_service.verify(session, organization=organization, user=user)
    finish(session)
    if request.headers.get("hx-request") == "true":
        return render(request, "curator/partials/profile_row.html", {"item": status}, user=user)
    return redirect(request, "/curator/profiles")


# --- audit log ---------------------------------------------------------------------------------


def _moment(value: str) -> dt.datetime | None:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


@router.get("/curator/audit")
def audit_log(
    request: Request,
    session: SessionDep,
    user: StaffPage,
    entity: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=8)] = "",
    organization_id: Annotated[str, Query(max_length=12)] = "",
    actor: Annotated[str, Query(max_length=12)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """Every write, newest first, filtered; curators see the curation tables only."""
    allowed = policy.audit_entities(user)
    # None: every table (admins); else one query per table the user may read
    entities: list[str | None] = (
        [entity] if entity else [*sorted(allowed)] if allowed is not None else [None]
    )
    if entity and allowed is not None and entity not in allowed:
        raise NotFound(N_("No such table in your audit log."))
    org = (
        int(organization_id)
        if organization_id.isdigit() and int(organization_id) <= MAX_ID
        else None
    )
    who = int(actor) if actor.isdigit() and int(actor) <= MAX_ID else None
    start, end = _moment(since), _moment(until)
    pages = []
    total = 0
    for name in entities:
        query = AuditQuery(
            entity=name,
            organization_id=org,
            actor_user_id=who,
            action=action or None,
            since=start,
            until=end + dt.timedelta(days=1) if end else None,
        )
        page = privacy_service.audit_page(session, query=query, limit=offset + PAGE, offset=0)
        pages.extend(page.items)
        total += page.total
    pages.sort(key=lambda e: (e.at, e.id), reverse=True)
    items = pages[offset : offset + PAGE]
    actors = auth_service.user_names(session, [e.actor_user_id for e in items if e.actor_user_id])
    filters = {
        "entity": entity,
        "action": action,
        "organization_id": organization_id,
        "actor": actor,
        "since": since,
        "until": until,
    }
    return _page(
        request,
        "audit.html",
        user,
        items=items,
        total=total,
        actors=actors,
        filters=filters,
        entities=sorted(allowed) if allowed is not None else policy.AUDIT_ENTITIES_ALL,
        offset=offset,
        page=PAGE,
        query=urlencode({k: v for k, v in filters.items() if v}),
    )


# --- onboarding --------------------------------------------------------------------------------


def _onboarding(
    request: Request,
    session: Session,
    user: User,
    organization_id: int | None,
    **extra: Any,
) -> Response:
    members: list[User] = []
    links = {}
    if organization_id is not None:
        members, _ = auth_service.list_users(
            session,
            role=Role.member,
            organization_id=organization_id,
            active=None,
            limit=200,
            offset=0,
        )
        links = invitations.links_of(session, user_ids=[m.id for m in members])
    context: dict[str, Any] = {
        "organizations": review.organization_choices(session),
        "organization_id": organization_id,
        "members": members,
        "links": links,
        "link": None,
        "link_user": None,
        "error": None,
        "values": {"name": "", "email": ""},
        **extra,
    }
    return _page(request, "onboarding.html", user, **context)


@router.get("/curator/onboarding")
def onboarding(
    request: Request,
    session: SessionDep,
    user: StaffPage,
    organization_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    return _onboarding(request, session, user, organization_id)


def _full_link(request: Request, secret: str) -> str:
    return str(request.base_url).rstrip("/") + invitations.link_path(secret)


@router.post("/curator/onboarding/invite", dependencies=[SignedInForm])
def invite(
    request: Request,
    session: SessionDep,
    user: StaffPage,
    organization_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Create a member account and show its invitation link once."""
    values = {"name": name, "email": email}
    try:
        member, link, secret = invitations.invite_member(
            session, organization_id=organization_id, email=email, name=name, issuer=user
        )
    except ValidationError as exc:
        session.rollback()
        field = str(exc.errors()[0]["loc"][0]) if exc.errors() else "email"
        return _onboarding(
            request, session, user, organization_id, error=field, values=values, status_code=422
        )
    except (Conflict, Invalid) as exc:
        session.rollback()
        error = "taken" if isinstance(exc, Conflict) else "organization"
        return _onboarding(
            request, session, user, organization_id, error=error, values=values, status_code=422
        )
    finish(session)
    return _onboarding(
        request,
        session,
        user,
        organization_id,
        link={
            "url": _full_link(request, secret),
            "expires_at": link.expires_at,
            "purpose": "invitation",
        },
        link_user=member.email,
    )


@router.post("/curator/onboarding/users/{user_id}/reset", dependencies=[SignedInForm])
def reset_link(request: Request, session: SessionDep, user: StaffPage, user_id: int) -> Response:
    """A password-reset link for a member account, shown once."""
    if not 1 <= user_id <= MAX_ID:
        raise NotFound(N_("No such account."))
    account = auth_service.get_user(session, user_id=user_id)
    link, secret = invitations.issue_link(
        session, user=account, purpose=LinkPurpose.reset, issuer=user
    )
    finish(session)
    return _onboarding(
        request,
        session,
        user,
        account.organization_id,
        link={
            "url": _full_link(request, secret),
            "expires_at": link.expires_at,
            "purpose": "reset",
        },
        link_user=account.email,
    )


# --- the link's page (no account needed) -------------------------------------------------------


def _no_referrer(response: Response) -> Response:
    # the secret is in the path: it must not travel on as a Referer
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/welcome/{secret}")
def welcome(request: Request, session: SessionDep, secret: str) -> Response:
    link = invitations.open_link(session, secret=secret)
    if link is None:
        raise NotFound(N_("This link is unknown, used or expired."))
    return _no_referrer(
        render(
            request,
            "curator/welcome.html",
            {"account": link.user, "purpose": link.purpose, "secret": secret, "error": None},
        )
    )


@router.post("/welcome/{secret}")
async def welcome_submit(
    request: Request,
    session: SessionDep,
    secret: str,
    password: Annotated[str, Form(max_length=256)] = "",
    repeat: Annotated[str, Form(max_length=256)] = "",
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """Set the password through the link; then sign in with it."""
    check_csrf(request, csrf_token, signed_in=False)
    link = await run_in_threadpool(invitations.open_link, session, secret=secret)
    if link is None:
        raise NotFound(N_("This link is unknown, used or expired."))
    error = None
    if password != repeat:
        error = "repeat"
    else:
        try:
            await run_in_threadpool(invitations.redeem, session, secret=secret, password=password)
        except Invalid as exc:
            await run_in_threadpool(session.rollback)
            error = exc.errors[0]["message"] if exc.errors else "length"
    if error is not None:
        link = await run_in_threadpool(invitations.open_link, session, secret=secret)
        if link is None:
            raise NotFound(N_("This link is unknown, used or expired."))
        return _no_referrer(
            render(
                request,
                "curator/welcome.html",
                {"account": link.user, "purpose": link.purpose, "secret": secret, "error": error},
                status_code=422,
            )
        )
    await run_in_threadpool(finish, session)
    return _no_referrer(redirect(request, "/login?welcome=1"))


# --- the cluster's competence-gap map ----------------------------------------------------------

CHART_WIDTH = 640
BAR_HEIGHT = 22
LABEL_WIDTH = 260


def bar_chart(rows: list[tuple[str, int, int]], *, limit: int = 15) -> dict[str, Any]:
    """Geometry of a horizontal bar chart of (label, value, second value) rows."""
    shown = rows[:limit]
    top = max([max(v, w) for _, v, w in shown] or [1]) or 1
    span = CHART_WIDTH - LABEL_WIDTH - 40
    bars = []
    for i, (label, value, second) in enumerate(shown):
        bars.append(
            {
                "label": label if len(label) <= 38 else label[:37] + "…",
                "full": label,
                "value": value,
                "second": second,
                "y": i * BAR_HEIGHT,
                "width": round(span * value / top, 1),
                "second_width": round(span * second / top, 1),
            }
        )
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": max(len(bars), 1) * BAR_HEIGHT + 24,
        "label_width": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
    }


@router.get("/curator/gaps")
def gap_page(
    request: Request, session: SessionDep, user: StaffPage, encoder: EncoderDep
) -> Response:
    found = gaps.gap_map(session, encoder=encoder, limit=PAGE)
    return _page(
        request,
        "gaps.html",
        user,
        gap_map=found,
        gap_chart=bar_chart([(g.label, g.open_for, g.needed_by) for g in found.gaps]),
        crowd_chart=bar_chart([(c.label, c.offered_by, c.demanded_by) for c in found.crowded]),
    )
