"""The competitor rule of matching.engine.Matcher: its inputs against a brute-force oracle, and
its verdict on German and English profiles encoded by the multilingual model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from matching.encoders import load_encoder
from matching.engine import COMPETITOR_FEATURES, Matcher
from matching.errors import MatchingError
from matching.types import CompetenceVec, ProfileVec
from matching.weights import Weights
from tests.matching.test_engine import (
    MACH,
    SENS,
    fitted,
    oracle_competitor,
    oracle_core_description,
    oracle_features,
    org,
    random_world,
    world,
)

FLOORS = {"similarity_floor": 0.2, "profile_floor": 0.1, "description_floor": 0.15}


@pytest.mark.parametrize("seed", [20, 21, 22])
def test_competitor_features_and_verdict_match_oracle(seed: int) -> None:
    profiles = random_world(seed)
    w = Weights(**FLOORS, competitor_overlap=0.6, competitor_evidence=0.5)  # type: ignore[arg-type]
    matcher = Matcher(w).fit(profiles)
    labelled = 0
    for q in profiles:
        cands = [p.id for p in profiles if p.id != q.id]
        x, verdict = matcher.competitor_features(q, cands)
        assert x.shape == (len(cands), len(COMPETITOR_FEATURES))
        for k, c in enumerate(p for p in profiles if p.id != q.id):
            f = oracle_features(q, c, profiles, w, 0.2, 0.1, 0.15)
            want = [f["core_overlap"], f["profile_similarity"], oracle_core_description(q, c, 0.15)]
            assert x[k] == pytest.approx(want, abs=1e-5)
            assert bool(verdict[k]) == oracle_competitor(q, c, f, w, 0.15)
        assert np.array_equal(matcher.competitors(q, cands), verdict)
        labelled += int(verdict.sum())
        # The verdict is the relation `match` gives.
        got = {m.target_id: m.relation for m in matcher.match(q, limit=100)}
        for k, cid in enumerate(cands):
            if cid in got:
                assert got[cid] == ("competitor" if verdict[k] else "complementary")
    assert labelled > 0  # the rule was exercised


def test_weaker_core_overlap_counts_when_descriptions_confirm() -> None:
    # Same division; the cores agree partly (F1 2/3 < competitor_overlap 0.9), and the
    # candidate's description is the query's first core: core_description (1/2 + 1) / 2.
    q = org(1, core=(SENS, MACH), nace="26.51")
    cand = org(2, core=(SENS,), nace="26.11", profile=q.profile_vector)
    w = Weights(**FLOORS, competitor_overlap=0.9)  # type: ignore[arg-type]
    x, verdict = Matcher(w).fit([q, cand]).competitor_features(q, [2])
    assert x[0] == pytest.approx([2 / 3, 1.0, 0.75])
    assert verdict.tolist() == [True]
    strict = replace(w, competitor_evidence=float("inf"))
    assert Matcher(strict).fit([q, cand]).competitors(q, [2]).tolist() == [False]
    # Another division: never a competitor, whatever the evidence.
    other = replace(cand, nace_code="27.90")
    assert Matcher(w).fit([q, other]).competitors(q, [2]).tolist() == [False]


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
def test_german_and_english_welders_are_competitors_and_their_coater_is_not() -> None:
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
    relations = {
        q: {m.target_id: m.relation for m in matcher.match(profiles[q - 1], limit=20)}
        for q in (1, 2, 3)
    }
    assert relations[1][2] == "competitor"
    assert relations[2][1] == "competitor"
    assert relations[1][3] == "complementary"
    assert relations[3][1] == "complementary"
    assert relations[3][2] == "complementary"
    assert [q for q in (1, 2, 3) for r in relations[q].values() if r == "competitor"] == [1, 2]
    # Their labels alone agree too little for the core-overlap threshold: the descriptions
    # decide.
    x, _ = matcher.competitor_features(profiles[0], [2])
    assert x[0, 0] < w.competitor_overlap
    strict = Matcher(replace(w, competitor_evidence=float("inf"))).fit(profiles)
    assert strict.competitors(profiles[0], [2, 3]).tolist() == [False, False]
