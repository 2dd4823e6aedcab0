from dataclasses import fields

import numpy as np
import pytest

from matching.learning import fit_weights
from matching.weights import Weights

NAMES = Weights.component_names()
COL = {name: i for i, name in enumerate(NAMES)}


def _synthetic(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pairs whose label depends on `network` only; every other varying column is noise.

    `shared_interests` and `coopetition` are constant, as in data that records no interests.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(n, len(NAMES)))
    x[:, COL["shared_interests"]] = 0.0
    x[:, COL["coopetition"]] = 0.0
    y = (x[:, COL["network"]] > 0.6).astype(int)
    return x, y


def test_informative_component_gets_the_weight() -> None:
    x, y = _synthetic()
    learned = fit_weights(x, y).vector()
    noise = [COL[n] for n in NAMES if n not in ("network", "shared_interests", "coopetition")]
    assert NAMES[int(np.argmax(learned))] == "network"
    # Every noise weight is below a tenth of the informative one.
    assert learned[noise].max() < 0.1 * learned[COL["network"]]


def test_constant_components_keep_base_weights_and_scale_is_kept() -> None:
    x, y = _synthetic()
    base = Weights(shared_interests=0.1, coopetition=0.5)
    learned = fit_weights(x, y, base=base)
    assert learned.shared_interests == 0.1
    assert learned.coopetition == 0.5
    learnable = [COL[n] for n in NAMES if n not in ("shared_interests", "coopetition")]
    assert np.abs(learned.vector()[learnable]).sum() == pytest.approx(
        np.abs(base.vector()[learnable]).sum(), abs=1e-12
    )


def test_non_component_fields_are_copied_from_base() -> None:
    x, y = _synthetic()
    base = Weights(softmax_temperature=0.07, max_reasons=3, competitor_factor=0.4)
    learned = fit_weights(x, y, base=base)
    for f in fields(Weights):
        if f.name not in NAMES:
            assert getattr(learned, f.name) == getattr(base, f.name), f.name


def test_single_varying_component_takes_the_whole_base_scale() -> None:
    rng = np.random.default_rng(1)
    x = np.zeros((200, len(NAMES)))
    x[:, COL["profile_similarity"]] = rng.uniform(size=200)
    y = (x[:, COL["profile_similarity"]] > 0.5).astype(int)
    learned = fit_weights(x, y)
    expected = Weights().vector()  # every constant component keeps its default
    expected[COL["profile_similarity"]] = Weights().profile_similarity  # |0.3| rescaled to 0.3
    np.testing.assert_allclose(learned.vector(), expected, rtol=0, atol=1e-12)


def test_negative_component_is_dropped_only_when_nonnegative() -> None:
    x, y = _synthetic()
    # A component that falls as the label rises.
    x[:, COL["activity"]] = 1.0 - x[:, COL["network"]]
    clipped = fit_weights(x, y, nonnegative=True)
    free = fit_weights(x, y, nonnegative=False)
    assert clipped.activity == 0.0
    assert (clipped.vector() >= 0).all()
    assert free.activity < 0.0


def test_invalid_input_is_rejected() -> None:
    x, y = _synthetic(n=50)
    with pytest.raises(ValueError, match="both 0 and 1"):
        fit_weights(x, np.zeros(50, dtype=int))
    with pytest.raises(ValueError, match="features must be"):
        fit_weights(x[:, :5], y)
    with pytest.raises(ValueError, match="labels must be"):
        fit_weights(x, y[:10])


def _grouped(n_groups: int = 40, per_group: int = 30, seed: int = 2) -> tuple[np.ndarray, ...]:
    """Queries with a few positives each; within a query, `profile_similarity` decides."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(n_groups * per_group, len(NAMES)))
    x[:, COL["coopetition"]] = 0.0
    groups = np.repeat(np.arange(n_groups), per_group)
    y = np.zeros(len(x), dtype=int)
    for g in range(n_groups):
        idx = np.flatnonzero(groups == g)
        y[idx[np.argsort(-x[idx, COL["profile_similarity"]])[:3]]] = 1
    return x, y, groups


def test_pairwise_learns_the_order_inside_queries() -> None:
    x, y, groups = _grouped()
    learned = fit_weights(x, y, groups=groups).vector()
    assert NAMES[int(np.argmax(learned))] == "profile_similarity"
    others = [COL[n] for n in NAMES if n not in ("profile_similarity", "coopetition")]
    assert learned[others].max() < 0.1 * learned[COL["profile_similarity"]]


def test_pairwise_ignores_offsets_shared_by_a_query() -> None:
    x, y, groups = _grouped()
    shifted = x.copy()
    # A per-query offset (e.g. a busy query org) moves every candidate of the query alike.
    shifted[:, COL["activity"]] += groups * 0.5
    np.testing.assert_allclose(
        fit_weights(x, y, groups=groups).vector(),
        fit_weights(shifted, y, groups=groups).vector(),
        rtol=0,
        atol=1e-12,
    )


def test_pairwise_needs_groups_with_both_labels() -> None:
    x, y, groups = _grouped(n_groups=2)
    with pytest.raises(ValueError, match="groups must be"):
        fit_weights(x, y, groups=groups[:5])
    only = np.r_[np.ones(30, int), np.zeros(30, int)]  # group 0 all positive, group 1 none
    with pytest.raises(ValueError, match="no group has both"):
        fit_weights(x, only, groups=groups)
