"""The graph components over the relationships a caller may see (Filters.visible_relationships), and
the ranking of given candidates only (Filters.only_ids)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from matching.types import Filters, ProfileVec
from tests.matching.test_engine import fitted, world

GRAPH = ("network", "activity", "proximity", "known_partner")


def _linked() -> list[ProfileVec]:
    """1 lists 900 and 2; 5 lists 900 and 6; 3 lists 1; 7 lists 5."""
    profiles = world()
    partners = {1: {900, 2}, 5: {900, 6}, 3: {1}, 7: {5}}
    return [replace(p, known_partner_ids=frozenset(partners.get(p.id, ()))) for p in profiles]


def _edges(profiles: list[ProfileVec], listers: set[int]) -> frozenset[tuple[int, int]]:
    """The relationships the lists of `listers` state."""
    return frozenset((p.id, q) for p in profiles if p.id in listers for q in p.known_partner_ids)


def _ranked(profiles: list[ProfileVec], filters: Filters) -> list[tuple[int, float, list[float]]]:
    matches = fitted(profiles).match(profiles[0], filters=filters, limit=10)
    return [(m.target_id, m.score, [m.components[c] for c in GRAPH]) for m in matches]


@pytest.mark.parametrize("exclude_known", [False, True])
def test_every_list_visible_ranks_as_without_the_restriction(exclude_known: bool) -> None:
    profiles = _linked()
    everyone = _edges(profiles, {p.id for p in profiles})
    plain = _ranked(profiles, Filters(exclude_known=exclude_known))
    restricted = _ranked(
        profiles, Filters(exclude_known=exclude_known, visible_relationships=everyone)
    )
    assert [t for t, _, _ in restricted] == [t for t, _, _ in plain]
    for (_, score, graph), (_, want_score, want_graph) in zip(restricted, plain, strict=True):
        assert score == pytest.approx(want_score)
        assert graph == pytest.approx(want_graph)


@pytest.mark.parametrize("exclude_known", [False, True])
def test_hidden_lists_rank_as_if_they_were_empty(exclude_known: bool) -> None:
    """With the lists of 5 and 3 hidden from the caller, the ranking of 1's matches is the one
    of a world in which 5 and 3 state no relationships: the walk does not pass 5's edges to
    900 and 6, 5's and 6's degrees do not count them, and 3 (which lists 1) is no known
    partner that exclude_known drops."""
    profiles = _linked()
    visible = _edges(profiles, {p.id for p in profiles} - {5, 3})
    bare = [replace(p, known_partner_ids=frozenset()) if p.id in (5, 3) else p for p in profiles]
    got = _ranked(profiles, Filters(exclude_known=exclude_known, visible_relationships=visible))
    want = _ranked(bare, Filters(exclude_known=exclude_known))
    assert [t for t, _, _ in got] == [t for t, _, _ in want]
    for (_, score, graph), (_, want_score, want_graph) in zip(got, want, strict=True):
        assert score == pytest.approx(want_score)
        assert graph == pytest.approx(want_graph)
    # and the hidden lists did move the unrestricted ranking
    assert _ranked(profiles, Filters(exclude_known=exclude_known)) != want


def test_only_ids_ranks_the_given_candidates_as_the_full_list_does() -> None:
    profiles = _linked()
    full = {m.target_id: m.score for m in fitted(profiles).match(profiles[0], limit=10)}
    for target, score in full.items():
        [one] = fitted(profiles).match(
            profiles[0], filters=Filters(only_ids=frozenset({target, 99_999})), limit=10
        )
        assert (one.target_id, one.score) == (target, pytest.approx(score))
    assert fitted(profiles).match(profiles[0], filters=Filters(only_ids=frozenset())) == []
