"""Hub damping: offers near every stated need lose the advantage of being near everything."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from matching import CompetenceVec, Matcher, ProfileVec
from matching.weights import Weights


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def firm(pid: int, cores: list[np.ndarray], needs: list[np.ndarray]) -> ProfileVec:
    comps = [
        CompetenceVec(pid * 100 + i, "core", f"core {pid}.{i}", c) for i, c in enumerate(cores)
    ]
    comps += [
        CompetenceVec(pid * 100 + 50 + i, "complementary", f"need {pid}.{i}", n)
        for i, n in enumerate(needs)
    ]
    return ProfileVec(
        id=pid,
        name=f"firm {pid}",
        nace_code=None,
        country="DE",
        latitude=None,
        longitude=None,
        employees=None,
        cooperation_interests=frozenset(),
        competences=tuple(comps),
        profile_vector=None,
        known_partner_ids=frozenset(),
    )


def corpus() -> tuple[list[ProfileVec], np.ndarray]:
    """Twenty firms need one of four topics (five each); firm 100 + t offers topic t (and
    something else), firm 99 offers all four topics at once: near every need, close to none."""
    d = 10
    eye = np.eye(d)
    firms = []
    for i in range(20):
        firms.append(firm(i, [unit(eye[6 + i % 4])], [unit(eye[i % 4] + 0.05 * eye[9])]))
    for t in range(4):
        firms.append(firm(100 + t, [unit(eye[t] + 1.2 * eye[4 + t % 2])], []))
    firms.append(firm(99, [unit(eye[0] + eye[1] + eye[2] + eye[3])], []))
    return firms, eye


def test_hubness_is_the_mean_of_the_k_nearest_needs_minus_the_median() -> None:
    firms, _ = corpus()
    matcher = Matcher().fit(firms)
    core_hub, _ = matcher._hubness(8)
    sims = matcher.core_mat_ @ matcher.need_mat_.T
    raw = np.sort(sims, axis=1)[:, -8:].mean(axis=1)
    np.testing.assert_allclose(core_hub, raw - np.median(raw), atol=1e-6)
    # the hub is the most central offer
    assert int(np.argmax(core_hub)) == matcher.row_of_id_[99]


def test_damping_puts_the_specific_provider_above_the_hub() -> None:
    firms, eye = corpus()
    need = unit(eye[0] + 0.3 * eye[1])
    plain = Matcher(replace(Weights(), hub_damping=0.0)).fit(firms)
    damped = Matcher(replace(Weights(), hub_damping=1.0, hub_neighbours=8)).fit(firms)
    first = [m.target_id for m in plain.search(need[None, :], ["topic 0"], limit=3)]
    assert first[0] == 99  # near everything, so near this need too
    first = [m.target_id for m in damped.search(need[None, :], ["topic 0"], limit=3)]
    assert first[0] == 100
    assert first.index(99) > 0


def test_no_damping_without_enough_stated_needs() -> None:
    firms, _ = corpus()
    matcher = Matcher().fit(firms)
    core_hub, profile_hub = matcher._hubness(11)  # 20 needs < 2 * 11
    assert not core_hub.any() and not profile_hub.any()
