"""Independent check of a schedule against every hard constraint of its instance.

Written separately from the solvers on purpose: it re-derives each rule from the instance and
shares no constraint logic with them, so a solver bug cannot hide behind the same bug here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Literal

from matching.scheduling.model import Instance, Schedule, pair_groups

ViolationKind = Literal[
    "unknown_slot",
    "unknown_table",
    "unknown_person",
    "self_meeting",
    "double_booked",
    "table_capacity",
    "table_reused",
    "unavailable",
    "closed_slot",
    "max_meetings",
    "forbidden_pair",
    "same_organisation",
    "repeated_pair",
    "wish_group_repeated",
    "not_candidate",
    "locked_missing",
]


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule; ``persons`` and ``slot`` locate it where that makes sense."""

    kind: ViolationKind
    detail: str
    persons: tuple[int, ...] = ()
    slot: int | None = None


def validate(instance: Instance, schedule: Schedule) -> list[Violation]:
    """Every hard-constraint violation of ``schedule``; empty when the schedule is valid.

    Locked meetings count as allowed pairs even if not listed as candidates (the organiser fixed
    them), but every other rule applies to them too. A wish group (``CandidatePair.group``) gets at
    most one meeting; more only when all of them are locked.
    """
    out: list[Violation] = []
    slots = set(instance.slots)
    tables = set(instance.table_ids)
    people = {p.person: p for p in instance.participants}
    forbidden = {frozenset(f) for f in instance.forbidden}
    candidates = {frozenset((c.a, c.b)) for c in instance.pairs}
    locked = {(frozenset((m.a, m.b)), m.slot, m.table) for m in instance.locked}
    locked_pairs = {pair for pair, _, _ in locked}
    group_of = {frozenset(pair): group for pair, group in pair_groups(instance).items()}
    group_meetings: defaultdict[tuple[int, int], list[tuple[bool, tuple[int, int], int]]] = (
        defaultdict(list)
    )

    busy: defaultdict[tuple[int, int], int] = defaultdict(int)  # (person, slot) -> meetings
    per_slot: Counter[int] = Counter()
    table_use: Counter[tuple[int, int]] = Counter()
    per_person: Counter[int] = Counter()
    pair_count: Counter[frozenset[int]] = Counter()
    present: set[tuple[frozenset[int], int, int]] = set()

    for m in schedule.meetings:
        who = (m.a, m.b)
        pair = frozenset(who)
        present.add((pair, m.slot, m.table))
        if m.slot not in slots:
            out.append(Violation("unknown_slot", f"slot {m.slot} does not exist", who, m.slot))
        if m.table not in tables:
            out.append(Violation("unknown_table", f"table {m.table} does not exist", who, m.slot))
        if m.a == m.b:
            out.append(Violation("self_meeting", f"person {m.a} meets themself", who, m.slot))
        for person in set(who):
            if person not in people:
                out.append(
                    Violation("unknown_person", f"person {person} is not registered", who, m.slot)
                )
                continue
            busy[(person, m.slot)] += 1
            per_person[person] += 1
            if m.slot in people[person].unavailable:
                out.append(
                    Violation("unavailable", f"person {person} is unavailable", (person,), m.slot)
                )
        per_slot[m.slot] += 1
        table_use[(m.slot, m.table)] += 1
        pair_count[pair] += 1
        is_locked = (pair, m.slot, m.table) in locked
        if pair in group_of:
            group_meetings[group_of[pair]].append((is_locked, who, m.slot))
        if m.slot in instance.closed_slots and not is_locked:
            out.append(
                Violation("closed_slot", f"new meeting in closed slot {m.slot}", who, m.slot)
            )
        if pair in forbidden:
            out.append(Violation("forbidden_pair", "pair declared not-interested", who, m.slot))
        if (
            m.a in people
            and m.b in people
            and m.a != m.b
            and people[m.a].organisation == people[m.b].organisation
        ):
            out.append(
                Violation("same_organisation", "both persons from one organisation", who, m.slot)
            )
        if pair not in candidates and pair not in locked_pairs:
            out.append(Violation("not_candidate", "pair is not a candidate pair", who, m.slot))

    for (person, slot), n in sorted(busy.items()):
        if n > 1:
            out.append(
                Violation("double_booked", f"person {person} has {n} meetings", (person,), slot)
            )
    n_tables = len(tables)
    for slot, n in sorted(per_slot.items()):
        if n > n_tables:
            out.append(Violation("table_capacity", f"{n} meetings for {n_tables} tables", (), slot))
    for (slot, table), n in sorted(table_use.items()):
        if n > 1:
            out.append(Violation("table_reused", f"table {table} used {n} times", (), slot))
    for person, n in sorted(per_person.items()):
        limit = people[person].max_meetings
        if n > limit:
            out.append(
                Violation("max_meetings", f"person {person}: {n} meetings > {limit}", (person,))
            )
    for pair, n in pair_count.items():
        if n > 1:
            out.append(Violation("repeated_pair", f"pair meets {n} times", tuple(sorted(pair))))
    for group, met in sorted(group_meetings.items()):
        if len(met) > 1 and not all(is_locked for is_locked, _, _ in met):
            for is_locked, who, slot in sorted(met):
                if not is_locked:
                    out.append(
                        Violation(
                            "wish_group_repeated",
                            f"wish group {group} has {len(met)} meetings",
                            who,
                            slot,
                        )
                    )
    for pair, slot, table in sorted(locked, key=lambda t: (t[1], t[2], sorted(t[0]))):
        if (pair, slot, table) not in present:
            out.append(
                Violation(
                    "locked_missing",
                    f"locked meeting at slot {slot}, table {table} is missing",
                    tuple(sorted(pair)),
                    slot,
                )
            )
    return out
