"""Which path a retrieval takes on PostgreSQL (exact over the passing organisations, or the
HNSW index with a widened search list) is decided from the data, and both paths find the
same nearest organisations as a brute-force search over the stored half-precision vectors.

The labelled firms of `benchmarks.labelled` (96 organisations, hashing encoder). On SQLite
the in-process retriever keeps its own path; its answer is checked against the same oracle.
"""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy.orm import Session

from app.matches.index import FittedIndex
from app.matches.pgvector import PgvectorRetriever, ensure_stored_indexes
from app.matches.retrieval import retriever_for
from benchmarks.labelled import Firm
from matching.encoders import Encoder
from matching.retrieval import InProcessRetriever, QueryVectors
from matching.types import Filters
from tests.app.matches.test_retrieval import _index, _store


@pytest.fixture
def stored(db_session: Session, encoder: Encoder) -> dict[int, Firm]:
    return _store(db_session, encoder)


def _passes(firm: Firm, filters: Filters) -> bool:
    if filters.countries and firm.city[1].upper() not in {c.upper() for c in filters.countries}:
        return False
    code = firm.role.nace.replace(".", "")
    return not filters.nace_include or any(code.startswith(p) for p in filters.nace_include)


def _profile_oracle(
    index: FittedIndex, stored: dict[int, Firm], asking: int, filters: Filters, k: int
) -> list[int]:
    """The `k` organisations nearest by profile vector among those passing `filters`, in
    half precision as PostgreSQL stores them."""
    query = np.asarray(index.profiles[asking].profile_vector, np.float16).astype(np.float32)
    scored = []
    for org_id, firm in stored.items():
        vector = index.profiles[org_id].profile_vector
        if org_id in filters.exclude_ids or vector is None or not _passes(firm, filters):
            continue
        v = np.asarray(vector, np.float16).astype(np.float32)
        scored.append((-float(v @ query) / float(np.linalg.norm(v)), org_id))
    return [org_id for _, org_id in sorted(scored)[:k]]


def test_the_path_is_decided_by_how_many_pass(
    db_session: Session, encoder: Encoder, stored: dict[int, Firm], backend: str
) -> None:
    _, index = _index(db_session, encoder)
    countries = [f.city[1] for f in stored.values()]
    rare = min(set(countries), key=countries.count)
    in_rare = countries.count(rare)
    by_rare = Filters(countries=frozenset({rare}))
    if backend == "sqlite":
        assert isinstance(retriever_for(db_session, index), InProcessRetriever)
        return
    ensure_stored_indexes(db_session.connection())
    few = PgvectorRetriever(db_session, encoder.name, exact_below=in_rare + 1).plan(by_rare)
    assert (few.exact, few.passing) == (True, in_rare)
    many = PgvectorRetriever(db_session, encoder.name, exact_below=in_rare).plan(by_rare)
    assert many.exact is False
    assert many.passing >= in_rare  # the planner's estimate, never below what was counted
    # without a filter the catalogue's row count decides, no count of the rows
    everyone = PgvectorRetriever(db_session, encoder.name, exact_below=10).plan(Filters())
    assert everyone.exact is False
    assert everyone.total == len(stored)


@pytest.mark.parametrize("exact_below", [100_000, 1], ids=["exact", "hnsw"])
def test_both_paths_find_the_exact_nearest_profiles(
    db_session: Session,
    encoder: Encoder,
    stored: dict[int, Firm],
    backend: str,
    exact_below: int,
) -> None:
    _, index = _index(db_session, encoder)
    ids = sorted(stored)
    asking = ids[0]
    query = QueryVectors.of_profile(index.profiles[asking])
    nearest5 = _profile_oracle(index, stored, asking, Filters(exclude_ids=frozenset({asking})), 5)
    nace = stored[asking].role.nace.replace(".", "")[:2]
    cases = [
        Filters(),
        Filters(countries=frozenset({stored[asking].city[1]})),
        Filters(nace_include=(nace,)),
        # the five nearest excluded: dropped after the over-fetch, the next ones come
        Filters(exclude_ids=frozenset(nearest5)),
    ]
    if backend == "sqlite":
        retriever = retriever_for(db_session, index)
        assert isinstance(retriever, InProcessRetriever)
        found = retriever.candidates(query, 10, Filters(exclude_ids=frozenset({asking})))
        oracle = _profile_oracle(
            index, stored, asking, Filters(exclude_ids=frozenset({asking})), 10
        )
        assert set(oracle) <= set(found.ids.tolist())
        return
    ensure_stored_indexes(db_session.connection())
    retriever = PgvectorRetriever(db_session, encoder.name, exact_below=exact_below)
    dim = query.dim
    assert dim is not None
    for filters in cases:
        filters = Filters(
            countries=filters.countries,
            nace_include=filters.nace_include,
            exclude_ids=filters.exclude_ids | {asking},
        )
        plan = retriever.plan(filters)
        assert plan.exact is (exact_below > 1)
        passing = _profile_oracle(index, stored, asking, filters, len(stored))
        k = min(5, len(passing) - 1)  # fewer than pass: the search chooses
        assert k >= 3
        oracle = passing[:k]
        if plan.exact:
            rows = retriever._exact_rows(query, k, filters)
            profile_i = max(i for i, _, _ in rows)
            found = [org for i, org, _ in rows if i == profile_i]
        else:
            pairs = [(query.profile, k)]
            hits = retriever.nearest("organizations", "", pairs, dim, filters, plan)  # type: ignore[list-item]
            found = [org for org, _ in hits]
        assert found == oracle, filters
        assert not set(found) & filters.exclude_ids


def test_the_exact_path_walks_distinct_vectors_nearest_first(
    db_session: Session, encoder: Encoder, stored: dict[int, Firm], backend: str
) -> None:
    """Competence rows grouped by distinct vector: the k nearest rows per query vector, ties
    (equal labels) included, are those of a brute-force search over the passing rows."""
    _, index = _index(db_session, encoder)
    asking = sorted(stored)[3]
    profile = index.profiles[asking]
    need = next(c for c in profile.competences if c.kind != "core")
    query = QueryVectors(
        np.asarray([need.vector], np.float32),
        np.zeros((0, len(need.vector)), np.float32),
        None,
        asking,
    )
    country = stored[asking].city[1]
    filters = Filters(countries=frozenset({country}), exclude_ids=frozenset({asking}))
    q = np.asarray(need.vector, np.float16).astype(np.float32)
    cores = sorted(
        -float(np.asarray(c.vector, np.float16).astype(np.float32) @ q)
        / float(np.linalg.norm(np.asarray(c.vector, np.float16).astype(np.float32)))
        for org_id, firm in stored.items()
        if org_id != asking and _passes(firm, filters)
        for c in index.profiles[org_id].competences
        if c.kind == "core"
    )
    k = 7
    if backend == "sqlite":
        found = retriever_for(db_session, index).candidates(query, k, filters)
        assert 0 < len(found.ids) <= k
        return
    retriever = PgvectorRetriever(db_session, encoder.name, exact_below=100_000)
    assert retriever.plan(filters).exact
    rows = retriever._exact_rows(query, k, filters)
    assert len(rows) == k
    distances = sorted(d for _, _, d in rows)
    np.testing.assert_allclose(distances, [1.0 + d for d in cores[:k]], atol=2e-3)
    assert {org for _, org, _ in rows} <= {
        org_id for org_id, firm in stored.items() if _passes(firm, filters)
    } - {asking}
