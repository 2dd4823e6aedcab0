"""A matcher fitted on one query's candidates with the corpus statistics of a full fit
ranks them as the full engine does (matching.request)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from matching.engine import Matcher
from matching.request import CorpusStats, RequestMatcher
from matching.retrieval import InProcessRetriever, QueryVectors
from matching.types import Filters, Match, ProfileVec
from tests.matching.test_vectorised_features import _networked

POOL = 30


def _fits() -> tuple[list[ProfileVec], Matcher, CorpusStats]:
    corpus = _networked(160, seed=5)
    full = Matcher(candidate_pool=POOL).fit(corpus)
    return corpus, full, CorpusStats.of(full)


def _per_request(
    corpus: list[ProfileVec], full: Matcher, stats: CorpusStats, query: ProfileVec, **kw: object
) -> tuple[list[Match], list[Match]]:
    found = InProcessRetriever(full).candidates(QueryVectors.of_profile(query), POOL, Filters())
    only = Filters(only_ids=frozenset(found.ids.tolist()), **kw)  # type: ignore[arg-type]
    by_id = {p.id: p for p in corpus}
    candidates = [by_id[i] for i in sorted(only.only_ids or ())]
    request = RequestMatcher(candidate_pool=POOL).fit_candidates(candidates, stats, full.adjacency_)
    return full.match(query, filters=only, limit=10), request.match(query, filters=only, limit=10)


def _same(a: list[Match], b: list[Match]) -> None:
    assert [m.target_id for m in b] == [m.target_id for m in a]
    assert [m.relation for m in b] == [m.relation for m in a]
    for x, y in zip(a, b, strict=True):
        assert y.score == pytest.approx(x.score, abs=1e-9)
        assert y.components == pytest.approx(x.components, abs=1e-9)
        assert y.reasons == x.reasons


def test_candidates_scored_with_stored_statistics_rank_as_the_full_engine() -> None:
    corpus, full, stats = _fits()
    assert stats.hub_reference is not None and stats.hub_values
    for query in corpus[::16]:
        a, b = _per_request(corpus, full, stats, query)
        assert len(a) == 10
        _same(a, b)
    # filters and a query that was never fitted
    outsider = replace(corpus[3], id=10_000, known_partner_ids=frozenset({corpus[7].id}))
    _same(*_per_request(corpus, full, stats, outsider, include_competitors=False))


def test_hub_values_missing_from_the_store_come_from_the_reference_sample() -> None:
    corpus, full, stats = _fits()
    bare = replace(stats, hub_values={})
    for query in corpus[::40]:
        _same(*_per_request(corpus, full, bare, query))
    core_hub, _ = full._hubness(full.weights_.hub_neighbours)
    assert np.allclose(bare.hub_of(full.core_mat_[:5]), core_hub[:5])
