"""The value-ordered greedy schedule, as event tools build it: the baseline to beat."""

from __future__ import annotations

import time
from collections import defaultdict

from matching.scheduling.model import Instance, Schedule
from matching.scheduling.solver import build_meetings, prepare


def greedy(instance: Instance) -> Schedule:
    """Take pairs by decreasing value; give each the earliest slot where both persons are free.

    Locked meetings are kept; a pair is skipped when a person is full, its wish group is met
    already or no slot fits.
    """
    t0 = time.perf_counter()
    prep = prepare(instance)
    busy: dict[int, set[int]] = defaultdict(set)
    for person, ps in prep.locked_pos.items():
        busy[person].update(ps)
    count: dict[int, int] = defaultdict(int)
    load = [0] * prep.n_slots
    placed: dict[int, int] = {}
    groups: set[tuple[int, int]] = set()  # wish groups already met
    order = sorted(
        range(len(prep.edges)),
        key=lambda j: (-prep.edges[j].value, prep.edges[j].a, prep.edges[j].b),
    )
    for j in order:
        e = prep.edges[j]
        if count[e.a] >= prep.cap[e.a] or count[e.b] >= prep.cap[e.b] or e.group in groups:
            continue
        for i in e.slots:
            if i in busy[e.a] or i in busy[e.b] or load[i] >= len(prep.free_tables[i]):
                continue
            placed[j] = i
            busy[e.a].add(i)
            busy[e.b].add(i)
            load[i] += 1
            count[e.a] += 1
            count[e.b] += 1
            if e.group is not None:
                groups.add(e.group)
            break
    meetings = build_meetings(prep, placed)
    return Schedule(
        meetings=meetings,
        status="greedy" if meetings else "empty",
        upper_bound=None,
        solve_seconds=time.perf_counter() - t0,
    )
