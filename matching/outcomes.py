"""What an installation's own outcomes say about a suggested pair, as features of a re-ranker.

The engine ranks from profiles and the relationship graph, which an import carries as well.
What only an installation has is what happened to its suggestions: cooperation requests
accepted or declined, meetings held, agreements. `OutcomeHistory` holds those steps
(time, asking organisation, other organisation, label 1 positive / 0 negative) and computes,
for an asking organisation and its candidates, from the steps before a given time only:

- `outcome_pair_positive` / `outcome_pair_negative`: the latest step between the two
  (either direction) was positive / negative: the caller's own outcomes, which it sees anyway
  (its requests and their answers);
- `outcome_partners`: log(1 + the number of organisations with a positive step with the
  candidate), `outcome_acceptance`: the candidate's smoothed share of positive answers to the
  requests it received, minus 1/2, and `outcome_recency`: exp(-years since its latest
  positive step): counts about the candidate as a whole, never naming with whom (as the
  number of past projects a profile states);
- `outcome_shared_partners`: log(1 + the number of the caller's own positive counterparts
  that have a positive step with the candidate), counted only from `min_shared` (2) up: a
  collaborative signal ("firms I cooperate with cooperate with X") that is used only to order
  a list, is never shown, and, counting at least two, never points at one hidden tie.

Nothing here is shown to a caller; a re-ranker uses the values to order the engine's list.

`OutcomeHistory.ties` gives the pairs with a positive step as dated ties of the engine's
relationship graph (`matching.types.Filters.outcome_ties`): also used only to order.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

OUTCOME_FEATURES: tuple[str, ...] = (
    "outcome_pair_positive",
    "outcome_pair_negative",
    "outcome_partners",
    "outcome_acceptance",
    "outcome_recency",
    "outcome_shared_partners",
)

YEAR_SECONDS = 365.25 * 24 * 3600.0


class OutcomeHistory:
    """Outcome steps (time in seconds, asking id, other id, label), any order."""

    def __init__(
        self, steps: Iterable[tuple[float, int, int, int]], *, min_shared: int = 2
    ) -> None:
        ordered = sorted((float(t), int(a), int(b), int(y)) for t, a, b, y in steps if a != b)
        self.times = np.array([s[0] for s in ordered], dtype=np.float64)
        self.steps = ordered
        self.min_shared = min_shared
        self._cache: dict[int, _Before] = {}
        self._ties: frozenset[tuple[int, int, int]] | None = None
        self._ties_by_org: dict[int, frozenset[tuple[int, int, int]]] | None = None

    def __len__(self) -> int:
        return len(self.steps)

    def features(
        self,
        asking: int,
        candidates: Sequence[int],
        *,
        before: float = math.inf,
        own: bool = True,
    ) -> np.ndarray:
        """(len(candidates), len(OUTCOME_FEATURES)) from the steps strictly before `before`.

        own: the caller is the asking organisation (or an administrator, who sees every
        request). Otherwise the pair's history and the shared partners, which come from the
        asking organisation's own outcomes, are left at zero: a list asked for another
        organisation is ordered by the candidates' aggregates only."""
        n = int(np.searchsorted(self.times, before, side="left"))
        state = self._state(n)
        out = np.zeros((len(candidates), len(OUTCOME_FEATURES)))
        if n == 0:
            return out
        now = self.times[n - 1] if math.isinf(before) else before
        mine = state.partners.get(asking, set()) if own else set()
        for k, c in enumerate(candidates):
            last = state.pair.get(frozenset((asking, c))) if own else None
            partners = state.partners.get(c, set())
            received, accepted = state.received.get(c, (0, 0))
            shared = len(mine & partners) if mine else 0
            latest = state.latest_positive.get(c)
            out[k] = (
                1.0 if last == 1 else 0.0,
                1.0 if last == 0 else 0.0,
                math.log1p(len(partners)),
                (accepted + 1.0) / (received + 2.0) - 0.5,
                0.0 if latest is None else math.exp(-max(0.0, now - latest) / YEAR_SECONDS),
                math.log1p(shared) if shared >= self.min_shared else 0.0,
            )
        return out

    def ties(self, *, before: float = math.inf) -> frozenset[tuple[int, int, int]]:
        """(smaller id, larger id, UTC year of the pair's latest positive step) of every pair
        with a positive step in either direction strictly before `before`: the outcome ties
        of the engine's graph (`Filters.outcome_ties`). A negative step removes nothing: a
        declined request does not undo a cooperation that happened. For all steps, the same
        set object while the history lives."""
        n = int(np.searchsorted(self.times, before, side="left"))
        if n == len(self.steps) and self._ties is not None:
            return self._ties
        latest: dict[tuple[int, int], float] = {}
        for t, a, b, y in self.steps[:n]:  # in time order: the latest positive step stays
            if y:
                latest[(a, b) if a < b else (b, a)] = t
        ties = frozenset(
            (a, b, dt.datetime.fromtimestamp(t, dt.UTC).year) for (a, b), t in latest.items()
        )
        if n == len(self.steps):
            self._ties = ties
        return ties

    def ties_of(self, organization_id: int) -> frozenset[tuple[int, int, int]]:
        """The outcome ties (of all steps) that `organization_id` is one end of: its own
        requests and their answers, which it sees anyway."""
        return self._ties_by_organization().get(organization_id, frozenset())

    def _ties_by_organization(self) -> dict[int, frozenset[tuple[int, int, int]]]:
        if self._ties_by_org is None:
            by_org: dict[int, set[tuple[int, int, int]]] = defaultdict(set)
            for tie in self.ties():
                by_org[tie[0]].add(tie)
                by_org[tie[1]].add(tie)
            self._ties_by_org = {org: frozenset(ties) for org, ties in by_org.items()}
        return self._ties_by_org

    def prepare(self) -> OutcomeHistory:
        """Compute the aggregates and ties of all steps now (a history shared by threads is
        then only read by `features(..., before=inf)`, `ties` and `ties_of`); self."""
        self._state(len(self.steps))
        self._ties_by_organization()
        return self

    def _state(self, n: int) -> _Before:
        state = self._cache.get(n)
        if state is None:
            if len(self._cache) > 64:
                self._cache.clear()
            state = self._cache[n] = _Before(self.steps[:n])
        return state


class _Before:
    """The aggregates of a prefix of the steps (the latest step of a pair counts)."""

    def __init__(self, steps: Sequence[tuple[float, int, int, int]]) -> None:
        self.pair: dict[frozenset[int], int] = {}
        answers: dict[tuple[int, int], int] = {}
        self.latest_positive: dict[int, float] = {}
        for t, a, b, y in steps:
            self.pair[frozenset((a, b))] = y
            answers[(a, b)] = y
            if y:
                self.latest_positive[a] = t
                self.latest_positive[b] = t
        self.partners: dict[int, set[int]] = defaultdict(set)
        for key, y in self.pair.items():
            if y:
                a, b = tuple(key)
                self.partners[a].add(b)
                self.partners[b].add(a)
        received: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for (_, b), y in answers.items():
            received[b][0] += 1
            received[b][1] += y
        self.received = {c: (r[0], r[1]) for c, r in received.items()}
