"""The FastAPI application."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import housekeeping
from app.auth.invitations_router import router as invitations_router
from app.auth.router import organization_members_router, users_router
from app.auth.router import router as auth_router
from app.config import get_settings
from app.cooperation.router import router as cooperation_router
from app.curation.gaps_router import router as gaps_router
from app.curation.router import router as curation_router
from app.embeddings import Encoder, load_default_encoder
from app.errors import problem, register_error_handlers
from app.events.router import router as events_router
from app.gc_policy import GcPolicy
from app.imports.router import router as imports_router
from app.matches.index import IndexCache
from app.matches.ranking_router import router as ranking_router
from app.matches.router import router as matches_router
from app.organizations.router import router as organizations_router
from app.privacy.router import router as privacy_router
from app.taxonomy.router import router as taxonomy_router
from app.text_types import reject_control_characters
from app.unit_of_work import register_error_handlers as register_database_error_handlers
from app.web.curator import router as curator_web_router
from app.web.docs import router as docs_router
from app.web.headers import SecuredFastAPI
from app.web.organizer import router as organizer_router
from app.web.rendering import STATIC, error_page, server_error_page, wants_page
from app.web.router import install_not_found_page
from app.web.router import router as web_router

log = logging.getLogger("koopmatch")


def _check_startup() -> None:
    from app.auth.service import check_startup
    from app.db import get_sessionmaker

    settings = get_settings()
    if settings.environment == "development":
        return
    with get_sessionmaker()() as session:
        check_startup(session, settings)


def create_app(
    *,
    encoder: Encoder | None = None,
    load_encoder: bool = True,
    gc_policy: GcPolicy | None = None,
) -> FastAPI:
    """Build the app; pass `encoder` to skip loading the configured model (tests), and
    `gc_policy` for a server process (app.asgi), which owns the process's garbage collector."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # outside development, refuse to serve with default secrets
        await run_in_threadpool(_check_startup)
        if encoder is not None:
            app.state.encoder = encoder
        elif load_encoder:
            app.state.encoder = await run_in_threadpool(load_default_encoder)
        else:
            app.state.encoder = None
        if gc_policy is not None:
            # the encoder and everything imported are long-lived: frozen once loaded
            await run_in_threadpool(gc_policy.started)
        # uploads nobody imported and ended login counters go now and every few minutes
        minutes = get_settings().housekeeping_minutes
        sweeping = asyncio.create_task(housekeeping.periodically(minutes)) if minutes > 0 else None
        try:
            yield
        finally:
            if sweeping is not None:
                sweeping.cancel()
                with suppress(asyncio.CancelledError):
                    await sweeping

    app = SecuredFastAPI(
        title="koopmatch",
        version="0.1.0",
        description="Cooperation-partner matchmaking for SMEs: competence profiles, "
        "complementarity-aware partner matching, matchmaking events.",
        lifespan=lifespan,
        # path and query parameters are checked once here for every route
        dependencies=[Depends(reject_control_characters)],
        # /docs is served from the package's own Swagger UI (app.web.docs); no CDN
        docs_url=None,
        redoc_url=None,
    )
    register_error_handlers(app)
    # a busy database is a 503 with Retry-After, a lost race a 409, never a 500
    register_database_error_handlers(app)

    json_http_error = app.exception_handlers[StarletteHTTPException]

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # a browser asking for a page that does not exist gets a page, API clients JSON
        if wants_page(request):
            return error_page(request, exc.status_code)
        response = json_http_error(request, exc)
        return await response if inspect.isawaitable(response) else response

    app.state.match_index = IndexCache(
        snapshot_dir=get_settings().index_dir,
        on_replaced=None if gc_policy is None else gc_policy.index_replaced,
    )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        if wants_page(request):
            return server_error_page(request)
        return problem(500, "Internal error", "An unexpected error occurred; it has been logged.")

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        """Liveness probe."""
        return {"status": "ok"}

    app.include_router(auth_router)
    app.include_router(users_router)
    app.include_router(invitations_router)
    app.include_router(organization_members_router)
    app.include_router(imports_router)
    app.include_router(organizations_router)
    app.include_router(matches_router)
    app.include_router(ranking_router)
    app.include_router(taxonomy_router)
    app.include_router(events_router)
    app.include_router(curation_router)
    app.include_router(gaps_router)
    app.include_router(cooperation_router)
    app.include_router(privacy_router)
    app.include_router(docs_router)
    app.include_router(web_router)
    app.include_router(curator_web_router)
    app.include_router(organizer_router)
    install_not_found_page(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
