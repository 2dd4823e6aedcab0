"""A matcher fitted on one query's candidates with the corpus statistics of a full fit
ranks them as the full engine does (matching.request)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from matching.engine import Matcher
from matching.request import CorpusStats, RequestMatcher, _HubMemo, vector_digest
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


def test_hub_values_from_the_reference_sample_are_computed_once_per_statistics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    corpus, full, stats = _fits()
    bare = replace(stats, hub_values={})
    rows = {vector_digest(v): v for v in full.profile_mat_[:6]}
    computed: list[int] = []
    real = CorpusStats.hub_of

    def counted(self: CorpusStats, vectors: np.ndarray) -> np.ndarray:
        computed.append(len(vectors))
        return real(self, vectors)

    monkeypatch.setattr(CorpusStats, "hub_of", counted)
    first = bare.hub_of_keyed(dict(list(rows.items())[:4]))
    both = bare.hub_of_keyed(rows)
    # the second call computes only the two vectors the first did not ask for
    assert computed == [4, 2]
    expected = real(bare, np.vstack(list(rows.values())))
    assert list(both.values()) == pytest.approx(expected.tolist(), abs=1e-12)
    assert {k: both[k] for k in first} == first
    # every request with the same statistics finds them; a refresh (a new object) does not
    again = RequestMatcher(candidate_pool=POOL).fit_candidates(corpus[:20], bare, {})
    before = len(computed)
    RequestMatcher(candidate_pool=POOL).fit_candidates(corpus[:20], bare, {})
    assert len(computed) == before
    assert replace(bare).hub_memo is not bare.hub_memo
    assert again._request_hub[1][:1].tolist() == pytest.approx(
        real(bare, full.profile_mat_[:1]).tolist(), abs=1e-12
    )


def test_the_hub_memo_keeps_the_most_recently_used_values() -> None:
    memo = _HubMemo(size=2)
    memo.put({b"a": 1.0, b"b": 2.0})
    assert memo.get([b"a"]) == {b"a": 1.0}  # "a" is now the more recent
    memo.put({b"c": 3.0})
    assert memo.get([b"a", b"b", b"c"]) == {b"a": 1.0, b"c": 3.0}


def test_a_fit_builds_each_sides_arrays_as_a_side_of_its_own() -> None:
    corpus, full, _ = _fits()
    for row in (0, 7, 159):
        fitted, alone = full.sides_[row], full._side(corpus[row])
        assert np.array_equal(fitted.core, alone.core)
        assert np.array_equal(fitted.need, alone.need)
        assert np.array_equal(fitted.need_w, alone.need_w)
        assert fitted.core.dtype == fitted.need.dtype == np.float32
        assert (fitted.core_ids, fitted.need_ids) == (alone.core_ids, alone.need_ids)
    start, end = full.core_start_[7], full.core_start_[8]
    assert np.shares_memory(full.sides_[7].core, full.core_mat_)
    assert np.array_equal(full.core_mat_[start:end], full.sides_[7].core)


def test_what_only_other_requests_read_is_built_when_first_read() -> None:
    corpus, _, stats = _fits()
    candidates = corpus[20:90]
    ref = Matcher(candidate_pool=POOL).fit(candidates)
    request = RequestMatcher(candidate_pool=POOL).fit_candidates(candidates, stats, {})
    assert "need_words_" not in vars(request) and "_core_tokens" not in vars(request)
    assert "_listed_by" not in vars(request)
    # once read, each is what a full fit of the same rows builds
    ids = sorted({q for p in candidates for q in p.known_partner_ids})
    assert len(ids) > 20
    for pid in [*ids, 99_999]:
        assert request.listed_by_.get(pid, np.zeros(0, np.int64)).tolist() == (
            ref.listed_by_.get(pid, np.zeros(0, np.int64)).tolist()
        )
    assert dict(request.listed_by_).keys() == ref.listed_by_.keys()
    assert request.core_tokens_ == ref.core_tokens_
    vocabulary, words = request._need_words()
    assert vocabulary == ref.need_words_[0]
    assert (words != ref.need_words_[1]).nnz == 0
    # the IDF is the corpus's (the statistics'), not one of the candidates' words
    assert (request.idf_, request.idf_unseen_) == stats.idf
