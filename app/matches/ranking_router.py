"""Admin routes: refit the ranking (a learned second stage, or the weights) from this
installation's outcomes, or reset it."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.deps import AdminUser, EncoderDep, IndexDep, SessionDep
from app.errors import problem_responses
from app.matches import learning
from app.matches.index import active_weights
from app.models.ranking import RankingFit
from matching.weights import Weights

router = APIRouter(prefix="/api/v1/admin/ranking", tags=["ranking"])
ADMIN_ERRORS = {401: "No valid token", 403: "Needs the role admin"}


class RefitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(False, description="Fit and check, store nothing")
    stage: Literal["reranker", "weights"] = Field(
        "reranker",
        description=(
            "reranker: a learned second stage that re-orders the engine's best 100; "
            "weights: the engine's component weights"
        ),
    )
    min_positives: int = Field(50, ge=5, le=1_000_000, description="Positive pairs needed")
    min_queries: int = Field(20, ge=4, le=1_000_000, description="Asking organisations needed")
    min_gain: float = Field(
        0.01, ge=0.0, le=1.0, description="Held-out nDCG@10 gain needed to adopt the fit"
    )


class RankingFitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int | None = Field(description="Null for a dry run")
    created_at: dt.datetime
    kind: str = Field(description="reranker, refit (weights) or reset")
    adopted: bool
    reason: str
    weights: dict[str, float] | None = Field(description="Adopted weights; null: the defaults")
    candidate_weights: dict[str, float] | None = Field(description="The fitted weights")
    pairs: int
    positives: int
    queries: int = Field(description="Asking organisations with a positive and a negative pair")
    holdout_queries: int
    holdout_base: float | None = Field(
        description="Held-out nDCG@10 of the ranking in use (reranker: the engine's order)"
    )
    holdout_fitted: float | None = Field(description="Held-out nDCG@10 of the fit")
    reranker: bool = Field(description="True when this fit holds a learned second stage")

    @field_validator("reranker", mode="before")
    @classmethod
    def _has_reranker(cls, value: object) -> bool:
        return value is not None and value is not False


class RankingOut(BaseModel):
    weights: dict[str, float] = Field(description="The component weights in use")
    reranker: bool = Field(description="A learned second stage re-orders the engine's best")
    defaults: dict[str, float]
    current: RankingFitOut | None = Field(description="The fit that set them; null: defaults")
    history: list[RankingFitOut] = Field(description="The newest 20 fits, newest first")


def _out(fit: RankingFit) -> RankingFitOut:
    return RankingFitOut.model_validate(fit)


@router.get("", response_model=RankingOut, responses=problem_responses(ADMIN_ERRORS))
def read_ranking(session: SessionDep, _admin: AdminUser) -> RankingOut:
    """The ranking weights and second stage in use, and the refits so far."""
    fits = learning.history(session)
    current = next((f for f in fits if f.adopted), None)
    return RankingOut(
        weights=(active_weights(session) or Weights()).components(),
        reranker=current is not None and current.reranker is not None,
        defaults=Weights().components(),
        current=_out(current) if current is not None else None,
        history=[_out(f) for f in fits],
    )


@router.post(
    "/refit",
    response_model=RankingFitOut,
    responses=problem_responses(
        {**ADMIN_ERRORS, 422: "Invalid settings", 503: "No embedding model loaded"}
    ),
)
def refit_ranking(
    body: RefitRequest,
    session: SessionDep,
    admin: AdminUser,
    cache: IndexDep,
    encoder: EncoderDep,
) -> RankingFitOut:
    """Refit from the recorded outcomes; adopted only if better on the newest outcomes."""
    fit = learning.refit(
        session,
        cache=cache,
        encoder=encoder,
        user=admin,
        settings=learning.Settings(
            min_positives=body.min_positives,
            min_queries=body.min_queries,
            min_gain=body.min_gain,
            stage=body.stage,
        ),
        dry_run=body.dry_run,
    )
    return _out(fit)


@router.post("/reset", response_model=RankingFitOut, responses=problem_responses(ADMIN_ERRORS))
def reset_ranking(session: SessionDep, admin: AdminUser) -> RankingFitOut:
    """Go back to the built-in default weights and the engine's own order."""
    return _out(learning.reset(session, user=admin))
