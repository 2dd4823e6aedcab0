"""The ranking refitted from what happened to the suggestions of this installation.

Two kinds of refit: a learned second stage (`stage="reranker"`, the default;
`matching.rerank`) that re-orders the engine's best 100 candidates, and the component weights
of the engine itself (`stage="weights"`; `matching.learning`).

Outcomes become labelled pairs (asking organisation, other organisation):

- a cooperation request accepted, or with the outcome "talks started" or "agreement reached":
  1; declined, or with the outcome "no fit": 0 (the latest step of a pair counts);
- an event meeting request accepted: 1, declined: 0; a meeting of a published schedule that
  both sides attended: 1 for both directions.

Re-ranker: for every asking organisation, its match list of the engine's best 100 without its
known partners is computed on the current index (one labelled list per calendar year of its
outcomes). The relationship graph records no dates, so a
relationship may have been recorded because of an outcome; a pair that is a known partner now
is therefore left out (its features would describe the partnership, not the suggestion), and
known partners keep their places when a list that includes them is re-ranked. The candidates
of the list it acted on carry their labels, every other suggestion of the list is a negative.
Each row also carries what the outcomes before the asking organisation's first step said about
the candidate (`matching.outcomes`); the match path computes the same from every stored step
(`app.matches.reranking.reranked`). The list itself is computed, as the match path computes
it, with the positive outcomes as ties of the graph (`Weights.outcome_tie`), but only those
of the steps before that first step: the outcomes a list is labelled with are never its ties.
A served list also counts every positive outcome in its candidates' activity
(`Filters.activity_ties`); a training list does not: counted there too (with the steps before
the list), the refit on CORDIS 2016 adopted a re-ranker that ranked 2017 worse
(benchmarks/results/ranking-learned.md).
`matching.rerank.fit_reranker` holds out the asking organisations with the newest outcomes
(leaving out of the fit every pair that is a positive of a held-out list, in either direction:
one cooperation is often recorded from both sides) and adopts the model only if it ranks their
lists better than the engine (and than a re-ranker in use); otherwise what is in use stays,
or, when the re-ranker in use is worse than the engine there, the engine's own order comes
back.

Weights: `matching.learning.outcome_pairs` adds the asking organisation's best suggestions it
did not act on as negatives and computes the components with the current index;
`refit_weights` fits on part of the asking organisations and keeps the fit only if it ranks the
others better.

Every refit is stored (`ranking_fits`); an adopted one raises the index's change counter with
"anything changed", so every server process fits its index again, with the new weights and
second stage (`active_reranker`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.embeddings import Encoder
from app.matches.index import FittedIndex, IndexCache, active_weights
from app.matches.outcomes import outcome_steps, timestamp
from app.matches.reranking import active_fit, active_reranker
from app.matches.service import fitted_index
from app.models.ranking import RankingFit
from app.models.user import User
from app.session_hooks import index_changes as changes
from matching.learning import outcome_pairs, refit_weights
from matching.outcomes import OutcomeHistory
from matching.rerank import fit_reranker, training_pairs, training_rows
from matching.types import Filters, Match
from matching.weights import Weights


@dataclass(frozen=True)
class Settings:
    """How much data a refit needs and how much better it must be."""

    min_positives: int = 50
    min_queries: int = 20
    holdout: float = 0.3
    min_gain: float = 0.01
    implicit_negatives: int = 10
    random_negatives: int = 20
    seed: int = 0
    # "reranker": a learned second stage over the engine's best `top_n`; "weights": the
    # engine's component weights
    stage: str = "reranker"
    top_n: int = 100


def outcome_labels(session: Session) -> list[tuple[int, int, int]]:
    """(asking organisation, other organisation, label) in time order (see the module)."""
    return [(a, b, label) for _, a, b, label in outcome_steps(session)]


def refit(
    session: Session,
    *,
    cache: IndexCache,
    encoder: Encoder | None,
    user: User | None = None,
    settings: Settings = Settings(),
    dry_run: bool = False,
) -> RankingFit:
    """Fit the re-ranker (or the weights) on the stored outcomes, check it on held-out
    organisations, store the result (unless `dry_run`) and, when adopted, make every process
    fit its index again."""
    if settings.stage == "reranker":
        return _refit_reranker(
            session, cache=cache, encoder=encoder, user=user, settings=settings, dry_run=dry_run
        )
    index = fitted_index(session, cache, encoder)
    # the weights stored as in use (an index may still be catching up with a refit)
    base = active_weights(session) or Weights()
    features, labels, groups = outcome_pairs(
        index.matcher,
        outcome_labels(session),
        implicit_negatives=settings.implicit_negatives,
        random_negatives=settings.random_negatives,
        seed=settings.seed,
        queries=index.profiles,
    )
    report = refit_weights(
        features,
        labels,
        groups,
        base=base,
        min_positives=settings.min_positives,
        min_queries=settings.min_queries,
        holdout=settings.holdout,
        min_gain=settings.min_gain,
        seed=settings.seed,
    )
    fit = RankingFit(
        kind="refit",
        adopted=report.adopted,
        # adopted: the fit, or the defaults again (stored as no weights)
        weights=(
            report.weights.components() if report.adopted and report.weights != Weights() else None
        ),
        candidate_weights=report.fitted.components() if report.fitted else None,
        reason=report.reason,
        pairs=report.pairs,
        positives=report.positives,
        queries=report.queries,
        holdout_queries=report.holdout_queries,
        holdout_base=report.holdout_base,
        holdout_fitted=report.holdout_fitted,
        actor_user_id=user.id if user is not None else None,
        created_at=dt.datetime.now(dt.UTC),
    )
    if dry_run:
        return fit
    session.add(fit)
    session.flush()
    if report.adopted:
        changes.record(session.connection(), [None])
    return fit


def reranker_rows(
    index: FittedIndex, steps: list[tuple[dt.datetime, int, int, int]], *, top_n: int = 100
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows for `matching.rerank.fit_reranker` from outcome steps in time order: (features,
    labels, groups, times, pairs); one list per asking organisation and calendar year of its
    outcomes (known partners left out, see the module), its time that of its latest outcome
    in that year; pairs: (asking id, candidate id).

    The outcome features of a list (`matching.outcomes`) come from the steps before the asking
    organisation's first step of that year: a row never sees the outcome it is labelled with,
    nor a later one, and a later year's list sees the earlier years' outcomes."""
    matcher = index.matcher
    latest: dict[tuple[int, int], dict[int, int]] = {}
    when: dict[tuple[int, int], float] = {}
    first: dict[tuple[int, int], float] = {}
    for at, asking, other, label in steps:
        if asking == other:
            continue
        key = (asking, _year(at))
        latest.setdefault(key, {})[other] = int(label)
        when[key] = timestamp(at)
        first.setdefault(key, timestamp(at))
    history = OutcomeHistory((timestamp(at), a, b, y) for at, a, b, y in steps)
    filters = Filters(exclude_known=True)
    found: dict[tuple[int, frozenset[tuple[int, int, int]]], list[Match]] = {}
    keys: list[tuple[int, int]] = []
    lists: list[tuple[int, list[Match]]] = []
    labels: list[dict[int, int]] = []
    for key in sorted(latest):
        asking = key[0]
        query = index.profiles.get(asking)
        labelled = {o: y for o, y in latest[key].items() if o in matcher.row_of_id_}
        if query is None or not labelled:
            continue
        # the list as the match path showed it then: with the outcome ties of the steps
        # before the asking organisation's first step of that year (none it is labelled with)
        ties = history.ties(before=first[key])
        seen = (asking, ties)
        if seen not in found:
            among = replace(filters, outcome_ties=ties)
            found[seen] = matcher.match(query, filters=among, limit=top_n)
        keys.append(key)
        lists.append((asking, found[seen]))
        labels.append(labelled)
    outcomes = [
        history.features(key[0], [m.target_id for m in lists[k][1]], before=first[key])
        for k, key in enumerate(keys)
    ]
    x, y, g = training_rows(lists, labels, outcomes)
    times = np.array([when[keys[k]] for k in g], dtype=np.float64)
    return x, y, g, times, training_pairs(lists, labels)


def _year(at: dt.datetime) -> int:
    return (at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).year


def _refit_reranker(
    session: Session,
    *,
    cache: IndexCache,
    encoder: Encoder | None,
    user: User | None,
    settings: Settings,
    dry_run: bool,
) -> RankingFit:
    index = fitted_index(session, cache, encoder)
    in_use = active_fit(session)
    base = active_weights(session) or Weights()
    x, y, g, times, pairs = reranker_rows(index, outcome_steps(session), top_n=settings.top_n)
    report = fit_reranker(
        x,
        y,
        g,
        times,
        pairs=pairs,
        current=active_reranker(session),
        top_n=settings.top_n,
        min_positives=settings.min_positives,
        min_queries=settings.min_queries,
        holdout=settings.holdout,
        min_gain=settings.min_gain,
        seed=settings.seed,
    )
    weights = base.components() if base != Weights() else None
    fit = RankingFit(
        kind="reranker",
        adopted=report.adopted,
        # the weights in use stay; the adopted second stage (None: the engine's order again)
        weights=weights if report.adopted else None,
        candidate_weights=None,
        reranker=(
            report.reranker.dumps() if report.adopted and report.reranker is not None else None
        ),
        reason=report.reason,
        pairs=report.pairs,
        positives=report.positives,
        queries=report.queries,
        holdout_queries=report.holdout_queries,
        holdout_base=report.holdout_engine,
        holdout_fitted=report.holdout_fitted,
        actor_user_id=user.id if user is not None else None,
        created_at=dt.datetime.now(dt.UTC),
    )
    if dry_run:
        return fit
    session.add(fit)
    session.flush()
    # the weights stay as they are: an index is fitted again only if the stored ones differ
    if report.adopted and (in_use.weights if in_use is not None else None) != weights:
        changes.record(session.connection(), [None])
    return fit


def reset(session: Session, *, user: User | None = None) -> RankingFit:
    """Go back to the built-in default weights and the engine's own order (stored as an
    adopted fit without weights and without a re-ranker)."""
    fit = RankingFit(
        kind="reset",
        adopted=True,
        weights=None,
        reason="reset to the built-in default weights and the engine's own order",
        pairs=0,
        positives=0,
        queries=0,
        holdout_queries=0,
        actor_user_id=user.id if user is not None else None,
        created_at=dt.datetime.now(dt.UTC),
    )
    session.add(fit)
    session.flush()
    changes.record(session.connection(), [None])
    return fit


def history(session: Session, limit: int = 20) -> list[RankingFit]:
    """The newest fits first."""
    return list(session.scalars(select(RankingFit).order_by(RankingFit.id.desc()).limit(limit)))
