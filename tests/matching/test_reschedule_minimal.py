"""Re-scheduling with minimal change: unaffected meetings stay put, freed time is refilled."""

from __future__ import annotations

import random

import pytest

from matching.scheduling import (
    CandidatePair,
    Instance,
    Meeting,
    Move,
    Options,
    Participant,
    Schedule,
    changes,
    report,
    reschedule,
    rescheduling_instance,
    solve,
    validate,
)

FAST = Options(time_limit=5.0)


# Seven people of seven organisations, three slots, two tables. Person 1 leaves after slot 0:
# (1,3) at slot 1 and (1,4) at slot 2 go. 3 and 4 lost a meeting, so their free time may be
# refilled: (3,6) (an accepted request, 3.5) at slot 1, the only slot 6 has free; then 4 can meet
# 2 at slot 2 (0.4). (2,7) would be worth more (0.95), but neither 2 nor 7 lost a meeting, so
# adding it would change an agenda that need not change.
def small_event() -> tuple[Instance, Schedule]:
    inst = Instance(
        slots=[0, 1, 2],
        tables=2,
        participants=[Participant(p, organisation=p) for p in range(1, 8)],
        pairs=[
            CandidatePair(1, 2, 0.5, "would_like"),
            CandidatePair(3, 4, 0.5, "would_like"),
            CandidatePair(1, 3, 0.5, "would_like"),
            CandidatePair(2, 5, 0.5, "would_like"),
            CandidatePair(1, 4, 0.5, "would_like"),
            CandidatePair(5, 6, 0.5, "would_like"),
            CandidatePair(3, 6, 0.5, "accepted_request"),
            CandidatePair(4, 6, 0.2, "would_like"),
            CandidatePair(2, 4, 0.4, "recommended"),
            CandidatePair(2, 7, 0.95, "recommended"),
        ],
        options=FAST,
    )
    before = Schedule(
        meetings=(
            Meeting(0, 0, 1, 2),
            Meeting(0, 1, 3, 4),
            Meeting(1, 0, 1, 3),
            Meeting(1, 1, 2, 5),
            Meeting(2, 0, 1, 4),
            Meeting(2, 1, 5, 6),
        ),
        status="feasible",
    )
    return inst, before


def test_no_show_frees_only_its_meetings_and_the_time_is_refilled() -> None:
    inst, before = small_event()
    after = reschedule(inst, before, from_slot=1, no_shows={1})
    assert after.meetings == (
        Meeting(0, 0, 1, 2),
        Meeting(0, 1, 3, 4),
        Meeting(1, 0, 3, 6),
        Meeting(1, 1, 2, 5),
        Meeting(2, 0, 2, 4),
        Meeting(2, 1, 5, 6),
    )
    assert validate(rescheduling_instance(inst, before, from_slot=1, no_shows={1}), after) == []
    diff = changes(before.meetings, after.meetings)
    assert diff.removed == (Meeting(1, 0, 1, 3), Meeting(2, 0, 1, 4))
    assert diff.added == (Meeting(1, 0, 3, 6), Meeting(2, 0, 2, 4))
    assert diff.moved == ()
    assert diff.affected == (1, 2, 3, 4, 6)
    assert after.stats["kept"] == 4.0
    assert after.stats["removed"] == 2.0
    assert after.stats["added"] == 2.0
    assert after.stats["moved"] == 0.0


def test_a_meeting_that_cannot_stay_moves_instead_of_going() -> None:
    inst, before = small_event()
    # 5 is now away at slot 1 and 6 at slot 2: (2,5) cannot stay at slot 1 and (5,6) cannot stay
    # at slot 2. (2,5) moves to slot 2, where 2 and 5 are free and table 1 is; (5,6) has no common
    # free slot left and goes. Slot 1's free table is refilled with (4,6) (1.2; 6 lost a
    # meeting), worth more than (2,7) (0.95) there.
    people = [
        Participant(5, 5, unavailable=frozenset({1})) if p.person == 5 else p
        for p in inst.participants
    ]
    people = [Participant(6, 6, unavailable=frozenset({2})) if p.person == 6 else p for p in people]
    inst = Instance(
        slots=inst.slots, tables=inst.tables, participants=people, pairs=inst.pairs, options=FAST
    )
    after = reschedule(inst, before, from_slot=1, no_shows=set())
    assert validate(rescheduling_instance(inst, before, from_slot=1, no_shows=set()), after) == []
    diff = changes(before.meetings, after.meetings)
    assert diff.moved == (Move(Meeting(1, 1, 2, 5), Meeting(2, 1, 2, 5)),)
    assert diff.kept == (
        Meeting(0, 0, 1, 2),
        Meeting(0, 1, 3, 4),
        Meeting(1, 0, 1, 3),
        Meeting(2, 0, 1, 4),
    )
    assert diff.removed == (Meeting(2, 1, 5, 6),)
    assert diff.added == (Meeting(1, 1, 4, 6),)


def random_event(seed: int, *, n: int = 30, n_slots: int = 8, n_tables: int = 10) -> Instance:
    rng = random.Random(seed)
    people = [
        Participant(
            p,
            organisation=p // 2,
            unavailable=frozenset(s for s in range(n_slots) if rng.random() < 0.05),
            max_meetings=6,
            min_meetings=3,
        )
        for p in range(n)
    ]
    kinds = ("accepted_request", "must_meet", "would_like", "recommended")
    pairs = [
        CandidatePair(a, b, round(rng.random(), 3), rng.choice(kinds))
        for a in range(n)
        for b in range(a + 1, n)
        if rng.random() < 0.35
    ]
    return Instance(
        slots=list(range(n_slots)),
        tables=n_tables,
        participants=people,
        pairs=pairs,
        options=Options(time_limit=4.0, seed=seed),
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_every_unaffected_future_meeting_stays_in_its_slot_and_at_its_table(seed: int) -> None:
    inst = random_event(seed)
    first = solve(inst)
    assert validate(inst, first) == []
    from_slot = 3
    future = [m for m in first.meetings if m.slot >= from_slot]
    # the person with the most future meetings does not show up
    load: dict[int, int] = {}
    for m in future:
        for p in (m.a, m.b):
            load[p] = load.get(p, 0) + 1
    no_show = max(sorted(load), key=lambda p: load[p])
    after = reschedule(inst, first, from_slot=from_slot, no_shows={no_show})
    derived = rescheduling_instance(inst, first, from_slot=from_slot, no_shows={no_show})
    assert validate(derived, after) == []
    unaffected = {m for m in first.meetings if no_show not in (m.a, m.b) or m.slot < from_slot}
    assert unaffected <= set(after.meetings)
    lost = [m for m in future if no_show in (m.a, m.b)]
    assert len(lost) == load[no_show]
    diff = changes(first.meetings, after.meetings)
    assert set(diff.removed) == set(lost)
    assert diff.moved == ()
    freed = {p for m in lost for p in (m.a, m.b)} - {no_show}
    wishes = {
        (c.a, c.b) if c.a < c.b else (c.b, c.a)
        for c in inst.pairs
        if c.kind in ("accepted_request", "must_meet")
    }
    for m in diff.added:
        assert m.slot >= from_slot
        assert {m.a, m.b} & freed or m.pair in wishes
    # only the no-show, its partners and the partners of refills see a changed agenda
    assert set(diff.affected) == {no_show} | freed | {p for m in diff.added for p in (m.a, m.b)}


def test_the_bound_is_the_value_of_rescheduling_without_the_minimal_change_rules() -> None:
    inst, before = small_event()
    after = reschedule(inst, before, from_slot=1, no_shows={1})
    derived = rescheduling_instance(inst, before, from_slot=1, no_shows={1})
    # held: (1,2) and (3,4), 1.5 each; kept (2,5) and (5,6), refilled (3,6) 3.5 and (2,4) 0.4
    assert report(derived, after).total_value == pytest.approx(9.9)
    # without the rules, the best b-matching of slots 1-2 (two meetings each, four places) takes
    # (3,6) 3.5, (2,5) 1.5, (5,6) 1.5 and (2,7) 0.95, plus the held 3.0
    assert after.upper_bound == pytest.approx(10.45)
