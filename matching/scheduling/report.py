"""What a schedule achieves: requests met, fairness, idle gaps, value against the bound."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from matching.scheduling.model import PAIR_KINDS, Instance, PairKind, Schedule, pair_values


@dataclass(frozen=True)
class ScheduleReport:
    """Summary of one schedule.

    ``satisfied`` and ``requested`` count candidate pairs by kind (each pair under its most valuable
    kind). ``idle_gaps`` maps every person with a meeting to the number of slots without a meeting
    between their first and last one. ``gap`` is ``1 - total_value / upper_bound`` (None without a
    bound). ``dropped`` lists pairs the solver selected but could not place in any slot.
    """

    meetings: int
    satisfied: dict[PairKind, int]
    requested: dict[PairKind, int]
    meetings_per_person: dict[int, int]
    below_minimum: tuple[int, ...]
    with_zero: tuple[int, ...]
    idle_gaps: dict[int, int]
    idle_total: int
    idle_mean: float
    total_value: float
    upper_bound: float | None
    gap: float | None
    solve_seconds: float
    status: str
    dropped: tuple[tuple[int, int], ...]


def report(instance: Instance, schedule: Schedule) -> ScheduleReport:
    """Summarise ``schedule``; ``idle_mean`` averages over persons with at least one meeting."""
    order = {s: i for i, s in enumerate(instance.slots)}
    values = pair_values(instance)
    requested: dict[PairKind, int] = dict.fromkeys(PAIR_KINDS, 0)
    for _, kind in values.values():
        requested[kind] += 1
    satisfied: dict[PairKind, int] = dict.fromkeys(PAIR_KINDS, 0)
    total = 0.0
    positions: dict[int, list[int]] = defaultdict(list)
    for m in schedule.meetings:
        hit = values.get(m.pair)
        if hit is not None:
            total += hit[0]
            satisfied[hit[1]] += 1
        positions[m.a].append(order[m.slot])
        positions[m.b].append(order[m.slot])
    per_person = {p.person: len(positions.get(p.person, ())) for p in instance.participants}
    below = tuple(
        sorted(
            p.person
            for p in instance.participants
            if per_person[p.person] < min(p.min_meetings, p.max_meetings)
        )
    )
    zero = tuple(sorted(p for p, n in per_person.items() if n == 0))
    idle = {person: max(ps) - min(ps) + 1 - len(ps) for person, ps in sorted(positions.items())}
    idle_total = sum(idle.values())
    bound = schedule.upper_bound
    gap = None if bound is None or bound <= 0 else 1.0 - total / bound
    return ScheduleReport(
        meetings=len(schedule.meetings),
        satisfied=satisfied,
        requested=requested,
        meetings_per_person=per_person,
        below_minimum=below,
        with_zero=zero,
        idle_gaps=idle,
        idle_total=idle_total,
        idle_mean=idle_total / len(idle) if idle else 0.0,
        total_value=total,
        upper_bound=bound,
        gap=gap,
        solve_seconds=schedule.solve_seconds,
        status=schedule.status,
        dropped=schedule.dropped,
    )
