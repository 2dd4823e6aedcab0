"""The FastAPI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.auth.router import router as auth_router
from app.auth.router import users_router
from app.config import get_settings
from app.cooperation.router import router as cooperation_router
from app.curation.router import router as curation_router
from app.embeddings import Encoder
from app.errors import problem, register_error_handlers
from app.events.router import router as events_router
from app.imports.router import router as imports_router
from app.matches.index import IndexCache
from app.matches.router import router as matches_router
from app.organizations.router import router as organizations_router
from app.privacy.router import router as privacy_router
from app.taxonomy.router import router as taxonomy_router

log = logging.getLogger("koopmatch")


def _load_default_encoder() -> Encoder | None:
    from matching.encoders import load_encoder

    spec = get_settings().embedding_model
    if spec.lower() == "none":
        return None
    encoder = load_encoder(spec)
    encoder.encode(["warm-up"])  # load weights now, not on the first request
    return encoder


def _check_startup() -> None:
    from app.auth.service import check_startup
    from app.db import get_sessionmaker

    settings = get_settings()
    if settings.environment == "development":
        return
    with get_sessionmaker()() as session:
        check_startup(session, settings)


def create_app(*, encoder: Encoder | None = None, load_encoder: bool = True) -> FastAPI:
    """Build the app; pass `encoder` to skip loading the configured model (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # outside development, refuse to serve with default secrets
        await run_in_threadpool(_check_startup)
        if encoder is not None:
            app.state.encoder = encoder
        elif load_encoder:
            app.state.encoder = await run_in_threadpool(_load_default_encoder)
        else:
            app.state.encoder = None
        yield

    app = FastAPI(
        title="koopmatch",
        version="0.1.0",
        description="Cooperation-partner matchmaking for SMEs: competence profiles, "
        "complementarity-aware partner matching, matchmaking events.",
        lifespan=lifespan,
    )
    register_error_handlers(app)

    app.state.match_index = IndexCache()

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem(500, "Internal error", "An unexpected error occurred; it has been logged.")

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        """Liveness probe."""
        return {"status": "ok"}

    app.include_router(auth_router)
    app.include_router(users_router)
    app.include_router(imports_router)
    app.include_router(organizations_router)
    app.include_router(matches_router)
    app.include_router(taxonomy_router)
    app.include_router(events_router)
    app.include_router(curation_router)
    app.include_router(cooperation_router)
    app.include_router(privacy_router)
    return app
