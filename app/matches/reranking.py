"""The learned second stage in use: the re-ranker of the newest adopted ranking fit.

Read by every match path (app.matches.service) and written by app.matches.learning."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.matches.outcomes import current_history
from app.models.ranking import RankingFit
from matching.rerank import Reranker
from matching.types import Match

# fit id -> its re-ranker, read once per process (a stored fit never changes)
_RERANKERS: dict[int, Reranker | None] = {}


def active_fit(session: Session) -> RankingFit | None:
    """The newest adopted fit: its weights and second stage are in use."""
    return session.scalar(
        select(RankingFit).where(RankingFit.adopted.is_(True)).order_by(RankingFit.id.desc())
    )


def active_reranker(session: Session) -> Reranker | None:
    """The second stage of the newest adopted fit; None: the engine's order."""
    fit_id = session.scalar(
        select(RankingFit.id)
        .where(RankingFit.adopted.is_(True))
        .order_by(RankingFit.id.desc())
        .limit(1)
    )
    if fit_id is None:
        return None
    if fit_id not in _RERANKERS:
        blob = session.scalar(select(RankingFit.reranker).where(RankingFit.id == fit_id))
        reranker = Reranker.loads(blob) if blob is not None else None
        _RERANKERS.clear()
        _RERANKERS[fit_id] = reranker
        return reranker
    return _RERANKERS.get(fit_id)


def candidates_needed(reranker: Reranker | None, limit: int) -> int:
    """How many matches to ask the engine for, so that the second stage sees its `top_n`."""
    return limit if reranker is None else max(limit, reranker.top_n)


def reranked(
    reranker: Reranker | None,
    matches: list[Match],
    limit: int,
    *,
    session: Session,
    asking: int,
    own: bool,
) -> list[Match]:
    """The first `limit` matches in the second stage's order (the engine's without one).

    The second stage reads the stored outcomes for its outcome features (`matching.outcomes`,
    kept per process while they do not change: `current_history`);
    own: the caller asks for its own organisation (or is an administrator), else the asking
    organisation's own outcomes are not used (only the candidates' aggregates)."""
    if reranker is None:
        return matches[:limit]
    history = current_history(session)
    return reranker.rerank(matches, history, asking, own=own)[:limit]
