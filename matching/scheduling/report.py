"""What a schedule achieves: requests met, fairness, idle gaps, value against the bound."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from matching.scheduling.model import (
    PAIR_KINDS,
    Instance,
    PairKind,
    Schedule,
    pair_groups,
    pair_key,
    pair_sides,
    pair_values,
)


@dataclass(frozen=True)
class ScheduleReport:
    """Summary of one schedule.

    ``satisfied`` and ``requested`` count wishes by kind: a candidate pair under its most valuable
    kind, a wish group (``CandidatePair.group``) once, met by a meeting of any of its pairs; a
    wish that the instance forbids (say, an accepted request overridden by a not-interested mark;
    for a group, every pair of it) counts as requested and unmet and its pairs are listed in
    ``overridden``, a forbidden pair that only the engine recommends is not counted. ``wanted_both``,
    ``wanted_one`` and ``filled_in`` split the meetings by the sides that asked for them (2, 1,
    none: a recommendation filling a free slot). ``idle_gaps`` maps every person with a meeting
    to the slots between their first and last meeting in which they are available and have no
    meeting (a slot they are away is not idle). ``gap`` is ``1 - total_value / upper_bound``
    (None without a bound). ``fair_upper_bound`` bounds the value of every schedule that brings
    as many people to their minimum as this one (everybody, when ``below_minimum`` is empty);
    ``fair_gap`` is the gap against it. ``dropped`` lists pairs the solver selected but could
    not place in any slot.
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
    overridden: tuple[tuple[int, int], ...] = ()
    wanted_both: int = 0
    wanted_one: int = 0
    filled_in: int = 0
    fair_upper_bound: float | None = None
    fair_gap: float | None = None


def report(instance: Instance, schedule: Schedule) -> ScheduleReport:
    """Summarise ``schedule``; ``idle_mean`` averages over persons with at least one meeting."""
    order = {s: i for i, s in enumerate(instance.slots)}
    forbidden = {pair_key(a, b) for a, b in instance.forbidden}
    values = {
        pair: hit
        for pair, hit in pair_values(instance).items()
        if pair not in forbidden or hit[1] != "recommended"
    }
    sides = pair_sides(instance)
    groups = pair_groups(instance)
    # one wish per pair, or per wish group: its pairs and its kind (its most valuable pair's)
    wishes: dict[object, list[tuple[int, int]]] = defaultdict(list)
    for pair in sorted(values):
        wishes[("group", groups[pair]) if pair in groups else pair].append(pair)
    kind_of = {
        wish: max((values[pair] for pair in pairs), key=lambda hit: hit[0])[1]
        for wish, pairs in wishes.items()
    }
    requested: dict[PairKind, int] = dict.fromkeys(PAIR_KINDS, 0)
    for kind in kind_of.values():
        requested[kind] += 1
    overridden = tuple(
        sorted(
            pair
            for pairs in wishes.values()
            if all(pair in forbidden for pair in pairs)
            for pair in pairs
        )
    )
    satisfied: dict[PairKind, int] = dict.fromkeys(PAIR_KINDS, 0)
    met: set[object] = set()
    by_sides = [0, 0, 0]
    total = 0.0
    positions: dict[int, list[int]] = defaultdict(list)
    for m in schedule.meetings:
        hit = values.get(m.pair)
        if hit is not None:
            total += hit[0]
            wish = ("group", groups[m.pair]) if m.pair in groups else m.pair
            if wish not in met:
                met.add(wish)
                satisfied[kind_of[wish]] += 1
        by_sides[min(2, sides.get(m.pair, 0))] += 1
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
    away = {
        p.person: {order[s] for s in p.unavailable if s in order} for p in instance.participants
    }
    idle = {
        person: sum(
            1 for i in range(min(ps), max(ps) + 1) if i not in ps and i not in away.get(person, ())
        )
        for person, ps in sorted(positions.items())
    }
    idle_total = sum(idle.values())
    bound = schedule.upper_bound
    gap = None if bound is None or bound <= 0 else 1.0 - total / bound
    fair_bound = None
    if schedule.fair_bound is not None:
        covered = sum(
            min(per_person[p.person], p.min_meetings, p.max_meetings) for p in instance.participants
        )
        fair_bound = schedule.fair_bound - instance.options.fairness_weight * covered
        if bound is not None:
            fair_bound = min(fair_bound, bound)
    fair_gap = None if fair_bound is None or fair_bound <= 0 else 1.0 - total / fair_bound
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
        overridden=overridden,
        wanted_both=by_sides[2],
        wanted_one=by_sides[1],
        filled_in=by_sides[0],
        fair_upper_bound=fair_bound,
        fair_gap=fair_gap,
    )
