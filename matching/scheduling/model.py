"""Data model of a matchmaking event's meeting-scheduling problem and of its schedules.

Everything here is plain data: ids are ints, slots are ordered (consecutive slots matter for idle
gaps), and a schedule is a set of meetings, each at one (slot, table).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

PairKind = Literal["accepted_request", "must_meet", "would_like", "recommended"]
PAIR_KINDS: tuple[PairKind, ...] = ("accepted_request", "must_meet", "would_like", "recommended")

SolverStatus = Literal["optimal", "feasible", "greedy", "empty"]

# The one default time limit of a solve (library, command line, API and benchmark): on the
# benchmark's 300-person event it is what the solver needs to meet the benchmark's goals
# (benchmarks/results/scheduling.md).
DEFAULT_TIME_LIMIT = 25.0


class SchedulingError(ValueError):
    """Base class of the scheduler's errors."""


class InvalidInstance(SchedulingError):
    """The instance contradicts itself (unknown ids, conflicting locked meetings, ...)."""


def pair_key(a: int, b: int) -> tuple[int, int]:
    """The unordered pair {a, b} as a sorted tuple."""
    return (a, b) if a <= b else (b, a)


@dataclass(frozen=True, slots=True)
class TierBonus:
    """Value added to a pair's score by the kind of interest behind it.

    With scores in [0, 1) the defaults order every accepted request above every must-meet, above
    every would-like, above every pair that only the engine recommends.
    """

    accepted_request: float = 3.0
    must_meet: float = 2.0
    would_like: float = 1.0
    recommended: float = 0.0

    def of(self, kind: PairKind) -> float:
        """The bonus of one kind."""
        return float(getattr(self, kind))


@dataclass(frozen=True, slots=True)
class Options:
    """Weights and limits of the scheduler.

    The objective is ``value + fairness_weight * covered - idle_weight * idle_gaps`` where
    ``covered`` counts each participant's meetings up to their target minimum. The default fairness
    weight exceeds any single meeting's value, so reaching minimums comes first. The default
    ``idle_weight`` makes idle slots a tie-breaker after value, which is the order the decomposed
    solver follows (stage 2 minimises idle slots for the pairs of stage 1); 0 ignores them. A slot
    a person is unavailable is not idle, in the objective as in the report.

    When the best selection of pairs would fill more than ``table_fill`` of the tables, the solver
    gives up to ``value_slack`` of the value bound (never fairness) by leaving out the least
    valuable pairs: with nearly full tables, a few fewer low-value meetings buy many fewer idle
    gaps. ``value_slack=0`` maximises value alone.
    """

    tier_bonus: TierBonus = field(default_factory=TierBonus)
    fairness_weight: float = 10.0
    idle_weight: float = 0.001
    table_fill: float = 0.85
    value_slack: float = 0.004
    time_limit: float = DEFAULT_TIME_LIMIT
    seed: int = 0
    workers: int = 2


@dataclass(frozen=True, slots=True)
class Participant:
    """One person at the event; ``unavailable`` holds slot ids."""

    person: int
    organisation: int
    unavailable: frozenset[int] = frozenset()
    max_meetings: int = 8
    min_meetings: int = 0


@dataclass(frozen=True, slots=True)
class CandidatePair:
    """A pair that may meet; ``value`` is the pair's score (before the tier bonus).

    ``wanted_by`` counts the sides that asked for the meeting (0: only the engine recommends it,
    1: one side's wish, 2: both sides'); None derives it from ``kind`` (an accepted request is
    wanted by both, a must-meet or would-like by one, a recommendation by none).

    ``group`` joins pairs that stand for one wish, say an organisation's wish to meet another
    organisation when people meet one to one: one meeting of any pair of the group fulfils it,
    so at most one of them is scheduled (a locked meeting of the group fulfils it too). The
    report counts the group as one wish. None: the pair is a wish of its own.
    """

    a: int
    b: int
    value: float
    kind: PairKind = "recommended"
    wanted_by: int | None = None
    group: tuple[int, int] | None = None

    @property
    def sides(self) -> int:
        """The sides that asked for the meeting (0, 1 or 2)."""
        if self.wanted_by is not None:
            return self.wanted_by
        return {"accepted_request": 2, "must_meet": 1, "would_like": 1}.get(self.kind, 0)


@dataclass(frozen=True, slots=True, order=True)
class Meeting:
    """A meeting of persons ``a`` and ``b`` (stored with ``a < b``) at one slot and table."""

    slot: int
    table: int
    a: int
    b: int

    @classmethod
    def of(cls, a: int, b: int, slot: int, table: int) -> Meeting:
        """A meeting with its persons in canonical order."""
        lo, hi = pair_key(a, b)
        return cls(slot=slot, table=table, a=lo, b=hi)

    @property
    def pair(self) -> tuple[int, int]:
        return pair_key(self.a, self.b)


@dataclass(frozen=True)
class Instance:
    """A scheduling problem.

    ``tables`` is a count (ids ``0..n-1``) or a sequence of table ids. ``forbidden`` holds pairs in
    either direction (not-interested). ``locked`` meetings (held already or fixed by the organiser)
    are kept as they are. No new meeting is placed in a ``closed_slots`` slot (used when
    re-scheduling: slots already past).
    """

    slots: Sequence[int]
    tables: int | Sequence[int]
    participants: Sequence[Participant]
    pairs: Sequence[CandidatePair]
    forbidden: Iterable[tuple[int, int]] = ()
    locked: Sequence[Meeting] = ()
    closed_slots: frozenset[int] = frozenset()
    options: Options = field(default_factory=Options)

    @property
    def table_ids(self) -> tuple[int, ...]:
        if isinstance(self.tables, int):
            return tuple(range(self.tables))
        return tuple(self.tables)


@dataclass(frozen=True)
class Schedule:
    """A solver's answer.

    ``upper_bound`` bounds the total value (tier bonus + score) of any schedule of the instance;
    ``dropped`` lists pairs chosen in stage 1 that no slot could take. ``fair_bound`` bounds
    ``total value + fairness_weight * covered`` (``covered``: each person's meetings up to their
    minimum), so ``fair_bound - fairness_weight * covered`` bounds the value of every schedule
    that covers at least as much as this one: with everybody at their minimum, the value bound
    that respects the minimum for everybody.
    """

    meetings: tuple[Meeting, ...]
    status: SolverStatus
    upper_bound: float | None = None
    fair_bound: float | None = None
    solve_seconds: float = 0.0
    dropped: tuple[tuple[int, int], ...] = ()
    stats: dict[str, float] = field(default_factory=dict)


def pair_sides(instance: Instance) -> dict[tuple[int, int], int]:
    """How many sides asked for each candidate pair (the most over its entries)."""
    out: dict[tuple[int, int], int] = {}
    for p in instance.pairs:
        key = pair_key(p.a, p.b)
        out[key] = max(out.get(key, 0), p.sides)
    return out


def _kept_entries(instance: Instance) -> dict[tuple[int, int], tuple[float, CandidatePair]]:
    """Per sorted pair, the entry that counts: its most valuable one (the first of equal ones),
    with its value (tier bonus + score)."""
    bonus = instance.options.tier_bonus
    out: dict[tuple[int, int], tuple[float, CandidatePair]] = {}
    for p in instance.pairs:
        key = pair_key(p.a, p.b)
        v = bonus.of(p.kind) + float(p.value)
        old = out.get(key)
        if old is None or v > old[0]:
            out[key] = (v, p)
    return out


def pair_groups(instance: Instance) -> dict[tuple[int, int], tuple[int, int]]:
    """The wish group of every candidate pair that has one, keyed by sorted pair; a pair
    listed more than once takes the group of the entry ``pair_values`` keeps."""
    return {key: p.group for key, (_, p) in _kept_entries(instance).items() if p.group is not None}


def pair_values(instance: Instance) -> dict[tuple[int, int], tuple[float, PairKind]]:
    """Value (tier bonus + score) and kind of every candidate pair, keyed by sorted pair.

    A pair listed more than once (say, an accepted request that the engine also recommends) keeps
    its most valuable entry.
    """
    return {key: (v, p.kind) for key, (v, p) in _kept_entries(instance).items()}
