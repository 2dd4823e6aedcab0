"""matching.distinct: exact retrieval over the distinct vectors of shared labels retrieves the
rows the full product retrieves, through fits and updates."""

from __future__ import annotations

import copy
import pickle
from dataclasses import replace

import numpy as np
import pytest

from matching import engine
from matching.distinct import Distinct
from matching.engine import Matcher
from matching.incremental import needs_refit, prepare, restore, snapshot, updated
from matching.types import CompetenceVec, ProfileVec
from matching.weights import Weights

DIM = 16
W = Weights(similarity_floor=0.2, profile_floor=0.1, description_floor=0.2)
KINDS = ("core", "core", "core", "complementary", "peripheral")


def _vocabulary(size: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((size, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


VOCAB = _vocabulary(25)


def profiles(n: int, seed: int, first_id: int = 1) -> list[ProfileVec]:
    """Organisations whose competences are drawn from 25 shared labels, as in real data."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        oid = first_id + i
        picks = rng.choice(len(VOCAB), len(KINDS), replace=False)
        comps = tuple(
            CompetenceVec(oid * 10 + k, kind, f"label {p}", VOCAB[p])  # type: ignore[arg-type]
            for k, (p, kind) in enumerate(zip(picks, KINDS, strict=True))
        )
        pv = VOCAB[picks[:3]].mean(axis=0) + 0.1 * rng.standard_normal(DIM)
        out.append(
            ProfileVec(
                id=oid,
                name=f"org {oid}",
                nace_code=None,
                country="DE",
                latitude=None,
                longitude=None,
                employees=None,
                cooperation_interests=frozenset(),
                competences=comps,
                profile_vector=(pv / np.linalg.norm(pv)).astype(np.float32),
                known_partner_ids=frozenset(),
            )
        )
    return out


def without_distinct(m: Matcher) -> Matcher:
    plain = copy.copy(m)
    plain.core_distinct_ = None
    plain.need_distinct_ = None
    return plain


def test_distinct_rows_and_similarities() -> None:
    mat = VOCAB[[3, 1, 3, 3, 0, 1]]
    found = Distinct.of(mat)
    assert found is not None
    assert found.n_distinct == 3
    assert found.inverse.tolist() == [0, 1, 0, 0, 2, 1]
    assert np.array_equal(found.rows, VOCAB[[3, 1, 0]])
    queries = VOCAB[:4]
    assert np.allclose(found.similarities(queries), queries @ mat.T, atol=1e-6)
    # mostly distinct rows: nothing to gain, not kept
    assert Distinct.of(_vocabulary(600, seed=1)) is None


def test_extended_generations_leave_the_old_one_alone() -> None:
    first = Distinct.of(VOCAB[[0, 1, 0]])
    assert first is not None
    second = first.extended(VOCAB[[1, 2]])
    assert second is not None
    assert (first.n_distinct, len(first.inverse)) == (2, 3)
    assert (second.n_distinct, second.inverse.tolist()) == (3, [0, 1, 0, 1, 2])
    assert np.array_equal(second.rows, VOCAB[[0, 1, 2]])
    # the first generation extended again (a detached copy): a store of its own
    third = first.extended(VOCAB[[3]], copy=True)
    assert third is not None
    assert np.array_equal(third.rows, VOCAB[[0, 1, 3]])
    assert np.array_equal(second.rows, VOCAB[[0, 1, 2]])
    assert not np.shares_memory(third.rows, second.rows)
    # too many distinct rows: dropped
    assert first.extended(_vocabulary(600, seed=2)) is None


def test_retrieval_over_distinct_rows_equals_the_full_product() -> None:
    base = profiles(200, seed=1)
    m = Matcher(W, candidate_pool=30).fit(base)
    assert m.core_distinct_ is not None and m.core_distinct_.n_distinct == 25
    assert m.need_distinct_ is not None
    for q in profiles(15, seed=2, first_id=5000):
        queries = m._side(q).core
        k = 12
        taken = m.core_distinct_.nearest_rows(queries, k).reshape(len(queries), k)
        full = queries @ m.core_mat_.T
        for i in range(len(queries)):
            # k different rows whose similarities are the k largest of the full product
            # (which of several rows with one vector is taken at the boundary may differ)
            assert len(set(taken[i].tolist())) == k
            assert np.allclose(np.sort(full[i, taken[i]]), np.sort(full[i])[-k:], atol=1e-6)
    # fewer rows than asked for: every row, once
    small = Distinct.of(VOCAB[[0, 1, 0, 0, 2, 1]])
    assert small is not None
    assert sorted(small.nearest_rows(VOCAB[:1], 10).tolist()) == [0, 1, 2, 3, 4, 5]
    # the boundary vector's rows are spread, the nearer vector's rows all taken
    spread = Distinct.of(VOCAB[[0] * 8 + [1] * 2])
    assert spread is not None
    near_one = VOCAB[1][None, :]
    assert spread.nearest_rows(near_one, 6).tolist() == [8, 9, 0, 2, 4, 6]


def test_updates_keep_the_distinct_rows_and_rank_as_a_fresh_fit() -> None:
    base = profiles(150, seed=3)
    m = prepare(Matcher(W, candidate_pool=30).fit(base))
    # an organisation with a label nobody had: one more distinct row
    novel = np.random.default_rng(7).standard_normal(DIM).astype(np.float32)
    novel /= np.linalg.norm(novel)
    newcomer = profiles(1, seed=4, first_id=9000)[0]
    newcomer = replace(
        newcomer,
        competences=(CompetenceVec(90001, "core", "new label", novel), *newcomer.competences),
    )
    m2 = updated(m, [newcomer, *profiles(10, seed=5, first_id=9100)], [base[0].id])
    assert m.core_distinct_.n_distinct == 25  # the old generation is unchanged
    assert m2.core_distinct_.n_distinct == 26
    assert len(m2.core_distinct_.inverse) == len(m2.core_mat_)
    assert np.array_equal(m2.core_distinct_.rows[m2.core_distinct_.inverse], m2.core_mat_)
    query = replace(newcomer, id=9999)
    assert m2.row_of_id_[9000] in m2._retrieve(m2._side(query))
    for q in profiles(10, seed=6, first_id=7000):
        side = m2._side(q)
        taken = m2.core_distinct_.nearest_rows(side.core, 12).reshape(len(side.core), 12)
        full = side.core @ m2.core_mat_.T
        for i in range(len(side.core)):
            # the 12 nearest rows of the updated matrix (ties at the boundary aside)
            assert np.allclose(np.sort(full[i, taken[i]]), np.sort(full[i])[-12:], atol=1e-6)


def test_no_hnsw_index_while_the_distinct_rows_are_few() -> None:
    pytest.importorskip("faiss")
    base = profiles(120, seed=8)  # 360 core rows, 25 distinct
    m = prepare(Matcher(W, candidate_pool=30, ann_threshold=100).fit(base))
    assert m.core_index_ is None and m.need_index_ is None
    assert m.profile_index_ is not None  # 120 distinct profile vectors
    assert not needs_refit(m)
    m2 = updated(m, profiles(40, seed=9, first_id=8000))
    assert m2.core_index_ is None and not needs_refit(m2)


def _seekers_by_scanning(m: Matcher, vecs: np.ndarray, labels: list[str], floor: float) -> list:
    """What `Matcher.seekers` found before its inverted index: every need row scanned."""
    from matching.engine import lexical_tokens

    sims = vecs @ m.need_mat_.T
    theirs = [lexical_tokens(label) for s in m.sides_ for label in s.need_labels]
    lexical = np.zeros_like(sims, dtype=np.float64)
    for i, tokens in enumerate(lexical_tokens(label) for label in labels):
        weight = {t: m.idf_.get(t, m.idf_unseen_) for t in tokens}
        total = sum(weight.values())
        for k, their in enumerate(theirs):
            if tokens & their:
                lexical[i, k] = sum(weight[t] for t in tokens & their) / total
    strength = np.where(lexical >= 0.5, np.maximum(sims, floor + lexical * (1 - floor) / 2), sims)
    best: dict[int, tuple[float, int]] = {}
    for i, k in zip(*np.nonzero(strength >= floor), strict=True):
        row = int(m.need_owner_[k])
        if row not in best or strength[i, k] > best[row][0]:
            best[row] = (float(strength[i, k]), int(k))
    order = sorted(best, key=lambda r: (-best[r][0], m.profiles_[r].id))
    return [(m.profiles_[r].id, best[r][0]) for r in order]


def test_seekers_find_what_a_scan_of_every_need_finds() -> None:
    base = profiles(150, seed=11)
    m = prepare(Matcher(W, candidate_pool=30).fit(base))
    m2 = updated(m, profiles(20, seed=12, first_id=6000), [base[3].id])
    for matcher in (m, m2):
        for p in (2, 7, 19):
            vecs = VOCAB[[p]]
            labels = [f"label {p}"]
            found = matcher.seekers(vecs, labels, limit=500, relevance_floor=0.3)
            expected = [
                (pid, v)
                for pid, v in _seekers_by_scanning(matcher, vecs, labels, 0.3)
                if pid != base[3].id or matcher is m
            ]
            assert [(x.target_id, round(x.score, 5)) for x in found] == [
                (pid, round(v, 5)) for pid, v in expected
            ]
            assert len(found) > 20


def _seekers_by_dense_scan(
    m: Matcher,
    vecs: np.ndarray,
    labels: list[str],
    floor: float,
    firm: list[float],
    wordless: list[float],
) -> list[tuple[int, float, str | None, float]]:
    """Every (typed need, need row) pair scanned with the floors for the pairs compared:
    (id, score, their need's label, cosine) of each seeker, best first, ties by id."""
    from matching.engine import lexical_tokens

    sims = vecs @ m.need_mat_.T
    theirs = [lexical_tokens(label) for s in m.sides_ for label in s.need_labels]
    their_labels = [label for s in m.sides_ for label in s.need_labels]
    best: dict[int, tuple[float, int, int]] = {}
    for i, tokens in enumerate(lexical_tokens(label) for label in labels):
        weight = {t: m.idf_.get(t, m.idf_unseen_) for t in tokens}
        total = sum(weight.values())
        for k in range(len(m.need_mat_)):
            shared = tokens & theirs[k]
            lexical = sum(weight[t] for t in shared) / total if shared else 0.0
            cos = float(sims[i, k])
            strength = max(cos, floor + lexical * (1 - floor) / 2) if lexical >= 0.5 else cos
            row = int(m.need_owner_[k])
            pairs = max(len(m.sides_[row].need_labels), 1) * len(labels)
            need_floor = max(firm[min(pairs, len(firm)) - 1], floor)
            if lexical <= 0:
                need_floor = max(wordless[min(pairs, len(wordless)) - 1], need_floor)
            if strength < floor or strength < need_floor:
                continue
            if row not in best or strength > best[row][0]:
                best[row] = (strength, i, k)
    order = sorted(best, key=lambda r: (-best[r][0], m.profiles_[r].id))
    return [
        (
            m.profiles_[r].id,
            best[r][0],
            their_labels[best[r][2]],
            float(sims[best[r][1], best[r][2]]),
        )
        for r in order
    ]


def test_seekers_under_firm_and_wordless_floors_find_what_a_dense_scan_finds() -> None:
    """Only the pairs near by cosine or sharing words are looked at: the seekers, their
    scores and the need each one's reason names are those of a scan of every pair."""
    base = profiles(150, seed=11)
    m = prepare(Matcher(W, candidate_pool=30).fit(base))
    m2 = updated(m, profiles(20, seed=12, first_id=6000), [base[3].id])
    firm, wordless = [0.3, 0.34, 0.38, 0.42], [0.35, 0.45, 0.55, 0.65]
    # a need near label 3 named by the words of label 12 (cosine and words both count), and
    # one whose words no stated need shares (only the stricter wordless floors apply)
    vecs, labels = VOCAB[[3, 20]], ["label 12", "ohne gemeinsame worte"]
    counts = []
    for matcher in (m, m2):
        assert matcher.need_distinct_ is not None  # the path through the distinct vectors
        found = matcher.seekers(
            vecs,
            labels,
            limit=500,
            relevance_floor=0.3,
            firm_floors=firm,
            wordless_floors=wordless,
        )
        expected = _seekers_by_dense_scan(matcher, vecs, labels, 0.3, firm, wordless)
        assert [
            (
                x.target_id,
                round(x.score, 6),
                x.reasons[0].target_label,
                round(x.reasons[0].similarity, 6),
            )
            for x in found
        ] == [(pid, round(v, 6), label, round(cos, 6)) for pid, v, label, cos in expected]
        # by words alone: below the floor by cosine, found by the words "12"
        counts.append(sum(x.reasons[0].similarity < 0.3 for x in found))
        counts.append(len(found))
    assert counts == [7, 32, 8, 38]


def test_the_words_of_stated_needs_are_kept_with_the_index_not_built_by_a_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = profiles(150, seed=11)
    m = prepare(Matcher(W, candidate_pool=30).fit(base))
    # a fit tokenises every need row; an update only the rows it appends
    vocabulary, words = m.need_words_
    assert words.shape == (len(m.need_mat_), len(vocabulary)) == (300, 16)
    m2 = updated(m, profiles(20, seed=12, first_id=6000), [base[3].id])
    assert m2.need_words_[1].shape == (340, 16)
    assert m.need_words_[1].shape == (300, 16)  # the generation before is left as it was
    # the words of equal core labels are one set (held and saved once per distinct label)
    assert len(m2.core_tokens_) == 510
    # 25 distinct core labels among the fitted and the appended rows: the appended rows'
    # labels get the sets the fit made (`lexical_tokens` keeps those of recent phrases)
    assert len({id(t) for t in m2.core_tokens_}) == 25
    # written and read back as a saved index is: the words come with it
    back = restore(pickle.loads(pickle.dumps(snapshot(m2))))
    assert len({id(t) for t in back.core_tokens_}) == 25
    assert back.need_words_[0] == m2.need_words_[0]
    assert (back.need_words_[1] != m2.need_words_[1]).nnz == 0
    vecs, labels = VOCAB[[17, 19]], ["label 17", "label 19"]
    expected = m2.seekers(vecs, labels, limit=500, relevance_floor=0.3)
    tokenised: list[str | None] = []
    real = engine.lexical_tokens

    def counted(text: str | None) -> frozenset[str]:
        tokenised.append(text)
        return real(text)

    monkeypatch.setattr(engine, "lexical_tokens", counted)
    found = back.seekers(vecs, labels, limit=500, relevance_floor=0.3)
    # the typed needs are the only text a search of the restored index tokenises
    assert tokenised == labels
    assert [(x.target_id, x.score) for x in found] == [(x.target_id, x.score) for x in expected]
    assert len(found) == 79


def test_extended_generations_group_their_rows_as_a_fresh_one() -> None:
    first = Distinct.of(VOCAB[[0, 1, 0, 2, 1, 0]])
    assert first is not None
    first.nearest_rows(VOCAB[:1], 2)  # groups its rows
    second = first.extended(VOCAB[[3, 1, 0, 3]])
    assert second is not None
    fresh = Distinct.of(VOCAB[[0, 1, 0, 2, 1, 0, 3, 1, 0, 3]])
    assert fresh is not None
    for got, want in zip(second._grouped(), fresh._grouped(), strict=True):
        assert got.tolist() == want.tolist()
    assert second._grouped()[0].tolist() == [0, 2, 5, 8, 1, 4, 7, 3, 6, 9]


def _bytes_grouping(mat: np.ndarray) -> tuple[int, list[int], bytes]:
    """Rows grouped by their bytes, one at a time: (distinct, each row's group, rows)."""
    key: dict[bytes, int] = {}
    inverse = [key.setdefault(row.tobytes(), len(key)) for row in mat]
    first = [inverse.index(k) for k in range(len(key))]
    return len(key), inverse, np.ascontiguousarray(mat[first]).tobytes()


def test_rows_grouped_by_fingerprint_are_grouped_as_their_bytes() -> None:
    rng = np.random.default_rng(4)
    for n, labels in ((1, 1), (7, 3), (300, 25), (2000, 900)):
        mat = _vocabulary(labels, seed=n)[rng.integers(0, labels, n)]
        mat[0] = -0.0  # equal to 0.0 as a number, not as bytes
        if n > 2:
            mat[1] = 0.0
        found = Distinct.of(mat, max_share=1.0)
        assert found is not None
        n_distinct, inverse, rows = _bytes_grouping(mat)
        assert found.n_distinct == n_distinct
        assert found.inverse.tolist() == inverse
        assert found.rows.tobytes() == rows
        # the map `extended` reads, built when first asked for
        assert found._key == {found.rows[i].tobytes(): i for i in range(n_distinct)}


def test_two_rows_with_one_fingerprint_are_still_two_rows() -> None:
    # a second row whose 64-bit words differ from the first's in a way the fingerprint's
    # weighted sum cannot see: w0 + m1 and w1 - m0 (modulo 2**64)
    mult = np.random.default_rng(0x6B6D).integers(1, 2**63, DIM // 2, dtype=np.uint64)
    mult |= np.uint64(1)
    first = VOCAB[0].copy()
    words = first.view(np.uint64).copy()
    words[0:1] += mult[1:2]
    words[1:2] -= mult[0:1]
    second = words.view(np.float32)
    mat = np.vstack([first, second, first])
    fingerprints = (mat.view(np.uint64) * mult).sum(axis=1, dtype=np.uint64)
    assert fingerprints[0] == fingerprints[1]
    found = Distinct.of(mat, max_share=1.0)
    assert found is not None
    assert (found.n_distinct, found.inverse.tolist()) == (2, [0, 1, 0])
    assert found.rows.tobytes() == mat[:2].tobytes()


def test_a_distinct_saved_with_its_map_reads_back() -> None:
    found = Distinct.of(VOCAB[[0, 1, 0]])
    assert found is not None
    state = dict(found.__dict__)
    state["_key"] = {VOCAB[0].tobytes(): 0, VOCAB[1].tobytes(): 1}
    del state["_key_map"]
    back = Distinct.__new__(Distinct)
    back.__setstate__(state)
    grown = back.extended(VOCAB[[1, 2]])
    assert grown is not None
    assert (grown.n_distinct, grown.inverse.tolist()) == (3, [0, 1, 0, 1, 2])


def _same_distinct(a: Distinct | None, b: Distinct | None) -> None:
    assert (a is None) == (b is None)
    if a is not None and b is not None:
        assert a.n_distinct == b.n_distinct
        assert a.rows.tobytes() == b.rows.tobytes()
        assert a.inverse.tolist() == b.inverse.tolist()
        assert a.inverse.dtype == b.inverse.dtype


def test_vectors_stacked_by_object_are_the_rows_and_distinct_of_the_whole_matrix() -> None:
    rng = np.random.default_rng(3)
    shared = [VOCAB[i].copy() for i in range(6)]
    # the same objects repeat; an equal copy in another object; float64 vectors
    vectors = [shared[int(i)] for i in rng.integers(0, 6, 40)]
    vectors[5] = shared[2].copy()
    vectors[17] = shared[4].astype(np.float64)
    vectors[30] = VOCAB[9].copy()
    cases = [
        vectors,
        vectors[:1],
        [VOCAB[i].copy() for i in range(20)],  # every row distinct (kept: fewer than 256)
        list(_vocabulary(300, seed=4)),  # 300 distinct in 300 rows: none kept
        [np.array([1.0, 2.0, 3.0], np.float32)] * 3 + [np.array([1.0, 2.0, 3.0], np.float32)],
    ]
    for case in cases:
        d = len(case[0])
        mat, distinct = Distinct.stacked(case, d)
        expected = engine._rows(case, d)
        assert mat.dtype == np.float32 and mat.tobytes() == expected.tobytes()
        _same_distinct(distinct, Distinct.of(expected))
    assert Distinct.stacked(cases[3], DIM)[1] is None
    # the share is of all rows, not of the distinct objects: 300 objects in 600 rows
    many = list(_vocabulary(300, seed=4))
    twice = [many[i % 300] for i in range(600)]
    _, kept = Distinct.stacked(twice, DIM)
    assert kept is not None and kept.n_distinct == 300
    assert kept.inverse.tolist() == [i % 300 for i in range(600)]
    # 3-wide rows cannot be read as 64-bit words: grouped by their bytes
    odd = Distinct.stacked(cases[4], 3)[1]
    assert odd is not None and odd.n_distinct == 1 and odd.inverse.tolist() == [0, 0, 0, 0]
    empty, none_distinct = Distinct.stacked([], DIM)
    assert empty.shape == (0, DIM)
    _same_distinct(none_distinct, Distinct.of(np.zeros((0, DIM), np.float32)))


def test_a_fit_stacks_its_rows_as_it_did_row_by_row() -> None:
    corpus = profiles(60, seed=2)
    m = Matcher(weights=W).fit(corpus)
    cores = [c.vector for p in corpus for c in p.competences if c.kind == "core"]
    needs = [c.vector for p in corpus for c in p.competences if c.kind != "core"]
    assert m.core_mat_.tobytes() == engine._rows(cores, DIM).tobytes()
    assert m.need_mat_.tobytes() == engine._rows(needs, DIM).tobytes()
    _same_distinct(m.core_distinct_, Distinct.of(m.core_mat_))
    _same_distinct(m.need_distinct_, Distinct.of(m.need_mat_))
