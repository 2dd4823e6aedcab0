"""The competitor rule (matching.competitors through matching.engine.Matcher): its inputs
against a brute-force oracle, the places competitors get when they are included, and its verdict
on German and English profiles encoded by the multilingual model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from matching.competitors import coopetition_order
from matching.encoders import load_encoder
from matching.engine import COMPETITOR_FEATURES, Matcher
from matching.errors import MatchingError
from matching.types import COOPETITION_KINDS, CompetenceVec, Filters, ProfileVec
from matching.weights import Weights
from tests.matching.test_engine import (
    MACH,
    SENS,
    fitted,
    oracle_competitor,
    oracle_niche,
    org,
    random_world,
    world,
)

FLOORS = {"similarity_floor": 0.2, "profile_floor": 0.1, "description_floor": 0.15}
SCALE = (0.0, 0.25, 0.05, 0.2)


@pytest.mark.parametrize("seed", [20, 21, 22])
def test_competitor_features_and_verdict_match_oracle(seed: int) -> None:
    profiles = random_world(seed)
    w = Weights(**FLOORS, niche_scale=SCALE, competitor_niche=2.0, competitor_niche_no_nace=2.5)  # type: ignore[arg-type]
    matcher = Matcher(w).fit(profiles)
    labelled = 0
    for q in profiles:
        cands = [p.id for p in profiles if p.id != q.id]
        x, verdict = matcher.competitor_features(q, cands)
        assert x.shape == (len(cands), len(COMPETITOR_FEATURES))
        for k, c in enumerate(p for p in profiles if p.id != q.id):
            want = oracle_niche(q, c, SCALE)
            if np.isinf(want):
                assert np.isinf(x[k, 0])
            else:
                assert x[k, 0] == pytest.approx(want, abs=1e-4)
                assert x[k, 0] == pytest.approx((x[k, 1] + x[k, 2]) / 2, abs=1e-6)
            assert bool(verdict[k]) == oracle_competitor(q, c, w)
        assert np.array_equal(matcher.competitors(q, cands), verdict)
        labelled += int(verdict.sum())
        # The verdict is the relation `match` gives.
        got = {m.target_id: m.relation for m in matcher.match(q, limit=100)}
        for k, cid in enumerate(cands):
            if cid in got:
                assert got[cid] == ("competitor" if verdict[k] else "complementary")
    assert labelled == {20: 6, 21: 6, 22: 4}[seed]


def test_the_description_confirms_a_core_labelled_otherwise() -> None:
    # Same division; the query's second core (MACH) is not among the candidate's cores, but
    # the candidate's description says it: each side's cores are then fully covered.
    q = org(1, core=(SENS, MACH), nace="26.51")
    cand = org(2, core=(SENS,), nace="26.11", profile=(q.profile_vector + e_mach()) / np.sqrt(2))
    w = replace(fitted().weights_, competitor_niche=6.0)
    x, verdict = Matcher(w).fit([q, cand]).competitor_features(q, [2])
    # mine: SENS 1/0.1 = 10, MACH against the description 0.707/0.1; theirs: SENS 10
    assert x[0].tolist() == pytest.approx(
        [(10 + 7.0711) / 2 / 2 + 5, (10 + 7.0711) / 2, 10.0], abs=1e-3
    )
    assert verdict.tolist() == [True]
    without = replace(cand, profile_vector=q.profile_vector)
    x, verdict = Matcher(w).fit([q, without]).competitor_features(q, [2])
    assert x[0].tolist() == pytest.approx([7.5, 5.0, 10.0])
    assert verdict.tolist() == [True]
    strict = replace(w, competitor_niche=8.0)
    assert Matcher(strict).fit([q, without]).competitors(q, [2]).tolist() == [False]
    # Another division: never a competitor, whatever the evidence.
    other = replace(cand, nace_code="27.90")
    assert Matcher(w).fit([q, other]).competitors(q, [2]).tolist() == [False]


def e_mach() -> np.ndarray:
    v = np.zeros(12, dtype=np.float32)
    v[MACH] = 1.0
    return v


def test_competitors_take_every_third_place_by_niche() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.1, 0.2, 0.85, 0.05])
    comp = np.array([False] * 6 + [True, True, True, True])
    niche = np.array([0.0] * 6 + [9.0, 6.0, 5.0, 7.0])
    ids = np.arange(10) + 100
    order, shown = coopetition_order(scores, comp, niche, ids, every=3, window=8)
    # 8 (0.85) beats the partners after 0 on its own and is the first competitor placed; the
    # second, 6 (niche 9), is due at place 6; the third would be due at place 9, outside the
    # window of 8, so 7 (0.2) and 9 (0.05) follow the partners by their scores
    assert order.tolist() == [0, 8, 1, 2, 3, 6, 4, 5, 7, 9]
    assert shown[order].tolist() == pytest.approx(
        [0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.5, 0.4, 0.2, 0.05]
    )
    assert shown[6] == pytest.approx(0.5)  # a promoted one shows the next one's score
    assert np.delete(shown, 6).tolist() == np.delete(scores, 6).tolist()  # nothing else moves
    plain, same = coopetition_order(scores, comp, niche, ids, every=0, window=20)
    assert plain.tolist() == [0, 8, 1, 2, 3, 4, 5, 7, 6, 9]
    assert same.tolist() == scores.tolist()


def _merged_by_scanning(
    scores: np.ndarray,
    competitor: np.ndarray,
    niche: np.ndarray,
    ids: np.ndarray,
    every: int,
    window: int,
) -> list[int]:
    """The merge of `coopetition_order`, one pass over every waiting competitor per place."""
    scores = np.round(scores.astype(np.float64), 6)
    comp = np.flatnonzero(competitor)
    other = np.flatnonzero(~competitor)
    other = other[np.lexsort((ids[other], -scores[other]))]
    comp = comp[np.lexsort((ids[comp], -scores[comp], -niche[comp]))]
    out: list[int] = []
    waiting = [int(c) for c in comp]
    j = 0
    while waiting or j < len(other):
        place = len(out) + 1
        if not waiting:
            out.extend(int(o) for o in other[j:])
            break
        if j >= len(other):
            out.extend(sorted(waiting, key=lambda c: (-scores[c], ids[c])))
            break
        o = int(other[j])
        top = max(waiting, key=lambda c: (scores[c], -ids[c]))
        if scores[top] > scores[o] or (scores[top] == scores[o] and ids[top] < ids[o]):
            out.append(top)
            waiting.remove(top)
        elif place <= window and place >= every * (len(comp) - len(waiting) + 1):
            out.append(waiting.pop(0))
        else:
            out.append(o)
            j += 1
    return out


@pytest.mark.parametrize("seed", range(40))
def test_the_merge_places_competitors_as_a_scan_of_all_waiting_would(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 120))
    # few distinct scores and niches: ties between competitors and partners are common
    scores = rng.integers(0, 12, n) / 11.0
    competitor = rng.random(n) < rng.uniform(0.05, 0.95)
    niche = rng.integers(0, 4, n).astype(float)
    ids = rng.permutation(10 * n)[:n] + 1
    every, window = int(rng.integers(1, 5)), int(rng.integers(0, n + 5))
    order, _ = coopetition_order(scores, competitor, niche, ids, every=every, window=window)
    assert order.tolist() == _merged_by_scanning(scores, competitor, niche, ids, every, window)
    assert sorted(order.tolist()) == list(range(n))


def test_scores_equal_to_the_shown_precision_are_ordered_by_id() -> None:
    # 103's score is above 102's by float rounding only (less than half the last shown
    # decimal): id decides, as it would had both been summed in the same order
    scores = np.array([0.5, 0.281621 + 2e-8, 0.281621, 0.2816204, 0.9])
    ids = np.array([100, 103, 102, 101, 104])
    none = np.zeros(5, dtype=bool)
    for every in (0, 3):
        order, shown = coopetition_order(scores, none, np.zeros(5), ids, every=every, window=8)
        assert ids[order].tolist() == [104, 100, 102, 103, 101]
        assert np.round(shown[order], 6).tolist() == [0.9, 0.5, 0.281621, 0.281621, 0.28162]
    rival = np.array([False, True, False, False, False])
    order, _ = coopetition_order(scores, rival, np.zeros(5), ids, every=0, window=8)
    assert ids[order].tolist() == [104, 100, 102, 103, 101]


def test_asked_for_competitors_reach_the_first_page_with_their_kinds() -> None:
    # Eight partners of the sensor maker, then its competitor with a weak own score.
    partners = [org(10 + k, core=(k % 3 + 1,), comp=(SENS,), nace="22.29") for k in range(8)]
    rival = org(4, core=(SENS,), nace="26.51", interests=("purchasing_sales",))
    q = org(1, core=(SENS,), comp=(1, 2, 3), nace="26.51", interests=("purchasing_sales",))
    profiles = [q, rival, *partners]
    w = fitted().weights_
    for every, place in ((3, 3), (5, 5)):
        got = Matcher(replace(w, coopetition_every=every)).fit(profiles).match(q, limit=10)
        assert [m.target_id for m in got].index(4) == place - 1
        m = got[place - 1]
        assert m.relation == "competitor"
        assert m.cooperation_kinds == ("joint_purchasing_sales", "capacity_sharing", "joint_bids")
        assert set(m.cooperation_kinds) <= set(COOPETITION_KINDS)
        assert [x.score for x in got] == sorted((x.score for x in got), reverse=True)
    off = Matcher(replace(w, coopetition_every=0)).fit(profiles).match(q, limit=10)
    assert [m.target_id for m in off].index(4) == 8  # last of nine
    left_out = (
        Matcher(w).fit(profiles).match(q, filters=Filters(include_competitors=False), limit=10)
    )
    assert 4 not in [m.target_id for m in left_out]


def test_competitors_agree_with_match_on_the_small_world() -> None:
    matcher = fitted()
    q = world()[0]
    assert matcher.competitors(q, [2, 3, 4, 5, 6, 7]).tolist() == [
        False,
        False,
        True,
        False,
        False,
        False,
    ]
    with pytest.raises(MatchingError):
        matcher.competitors(q, [4, 99])


# ------------------------------------------------------------------ the multilingual encoder
# id, NACE, description, core competences, complementary needs
FIRMS: tuple[tuple[int, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        1,
        "25.11",
        "Die Müller Schweißtechnik GmbH aus Ulm fertigt geschweißte Stahlkonstruktionen und "
        "Rahmen für den Maschinenbau.",
        ("Roboterschweißen von Stahlbaugruppen",),
        ("Pulverbeschichtung", "Lasermessung von Bauteilen"),
    ),
    (
        2,
        "25.11",
        "Weldfab Ltd in Sheffield builds welded steel frames and structures for machine "
        "manufacturers.",
        ("MIG/MAG welding of steel frames",),
        ("surface finishing of steel parts",),
    ),
    (
        3,
        "25.61",
        "Die Farbwerk Beschichtungen KG veredelt Metallteile für Industriekunden.",
        ("Pulverbeschichtung und Nasslackierung von Metallteilen",),
        ("geschweißte Stahlgestelle",),
    ),
    (
        4,
        "10.71",
        "Bäckerei Sonnenkorn backt Brot und Brötchen für Supermärkte in Bayern.",
        ("handwerkliche Brotherstellung",),
        ("Kühltransport", "Lebensmittelverpackung"),
    ),
    (
        5,
        "62.01",
        "CodeWerk GmbH entwickelt Individualsoftware und Webanwendungen.",
        ("Entwicklung von Webanwendungen", "Cloud-Hosting"),
        ("IT-Sicherheit",),
    ),
    (
        6,
        "49.41",
        "FrostLine Logistics moves chilled and frozen food across Europe.",
        ("refrigerated road transport",),
        ("route planning software",),
    ),
    (
        7,
        "69.20",
        "Steuerkanzlei Weber berät kleine Unternehmen in Steuerfragen.",
        ("Steuerberatung und Lohnbuchhaltung",),
        ("Softwareentwicklung",),
    ),
    (
        8,
        "71.20",
        "MessLab GmbH prüft Bauteile mit Koordinatenmesstechnik und Computertomographie.",
        ("3D-Koordinatenmessung von Bauteilen",),
        ("Roboterschweißen",),
    ),
    (
        9,
        "17.21",
        "BoxPack produces corrugated cardboard boxes for food and retail.",
        ("corrugated packaging for food",),
        ("bakery products",),
    ),
    (
        10,
        "62.02",
        "SecureNet AG schützt Unternehmensnetzwerke vor Angriffen.",
        ("Penetrationstests und Netzwerksicherheit",),
        ("Personalvermittlung",),
    ),
    (
        11,
        "28.41",
        "Kraus Maschinenbau builds special-purpose machines for assembly lines.",
        ("special-purpose machine building",),
        ("welded steel frames", "machine vision"),
    ),
    (
        12,
        "78.10",
        "TalentBridge recruits engineers and technicians for industry.",
        ("recruitment of engineers",),
        ("online marketing",),
    ),
)


@pytest.mark.model
def test_german_and_english_welders_share_a_niche_their_coater_does_not() -> None:
    """1 (German) and 2 (English) weld steel frames in division 25; 3 coats metal parts in
    division 25 too and needs welded frames: a complementary partner of both."""
    enc = load_encoder("use-multilingual")
    texts = sorted({t for f in FIRMS for t in (f[2], *f[3], *f[4])})
    vec = dict(zip(texts, enc.encode(texts), strict=True))
    profiles = [
        ProfileVec(
            id=fid,
            name=desc.split()[1],
            nace_code=nace,
            country="DE",
            latitude=None,
            longitude=None,
            employees=None,
            cooperation_interests=frozenset(),
            competences=tuple(
                [CompetenceVec(fid * 100 + i, "core", t, vec[t]) for i, t in enumerate(cores)]
                + [
                    CompetenceVec(fid * 100 + 50 + i, "complementary", t, vec[t])
                    for i, t in enumerate(needs)
                ]
            ),
            profile_vector=vec[desc],
        )
        for fid, nace, desc, cores, needs in FIRMS
    ]
    # Floors near the ones the engine learns on larger corpora (benchmarks/results/engine.md);
    # twelve profiles are too few to learn them.
    w = Weights(similarity_floor=0.2, profile_floor=0.3, description_floor=0.1)
    matcher = Matcher(w).fit(profiles)
    # The welders' niche evidence is the highest of every pair; the coater's with each welder
    # is lower, and lowest with the German one.
    x, _ = matcher.competitor_features(profiles[0], [2, 3])
    y, _ = matcher.competitor_features(profiles[1], [3])
    assert x[0, 0] > y[0, 0] > x[1, 0]
    for q in profiles:
        others = [p.id for p in profiles if p.id != q.id]
        z, _ = matcher.competitor_features(q, others)
        assert z[:, 0].max() <= x[0, 0]
    # The default threshold (fitted for precision >= 0.95 on the labelled benchmark) misses
    # this pair among twelve firms: a precision-first rule. A threshold below its evidence
    # labels exactly the two welders, not their coater.
    assert not matcher.competitors(profiles[0], [2, 3]).any()
    looser = Matcher(replace(w, competitor_niche=1.2)).fit(profiles)
    relations = {
        q: {m.target_id: m.relation for m in looser.match(profiles[q - 1], limit=20)}
        for q in (1, 2, 3)
    }
    assert relations[1][2] == "competitor"
    assert relations[2][1] == "competitor"
    assert relations[1][3] == "complementary"
    assert relations[3][1] == "complementary"
    assert relations[3][2] == "complementary"
    assert [q for q in (1, 2, 3) for r in relations[q].values() if r == "competitor"] == [1, 2]
