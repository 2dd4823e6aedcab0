"""What a new schedule changes against an earlier one: the answer to "whose agenda changes?".

A pair meets at most once per schedule, so meetings are matched by pair: a pair in both
schedules at the same slot and table is kept, at another slot or table it moved; a pair only in
the earlier schedule was removed, one only in the new schedule was added.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from matching.scheduling.model import Meeting


@dataclass(frozen=True, slots=True)
class Move:
    """One pair's meeting before and after."""

    before: Meeting
    after: Meeting


@dataclass(frozen=True, slots=True)
class ScheduleChanges:
    """Meetings kept, moved, removed and added; ``affected`` are the persons of every change,
    sorted: exactly the people whose agenda changes."""

    kept: tuple[Meeting, ...]
    moved: tuple[Move, ...]
    removed: tuple[Meeting, ...]
    added: tuple[Meeting, ...]
    affected: tuple[int, ...]

    @property
    def changed(self) -> bool:
        return bool(self.moved or self.removed or self.added)


def changes(before: Iterable[Meeting], after: Iterable[Meeting]) -> ScheduleChanges:
    """Compare two schedules' meetings (each pair at most once in each)."""
    old = {m.pair: m for m in before}
    new = {m.pair: m for m in after}
    kept: list[Meeting] = []
    moved: list[Move] = []
    for pair in sorted(old.keys() & new.keys()):
        if old[pair] == new[pair]:
            kept.append(old[pair])
        else:
            moved.append(Move(old[pair], new[pair]))
    removed = sorted(old[p] for p in old.keys() - new.keys())
    added = sorted(new[p] for p in new.keys() - old.keys())
    affected: set[int] = set()
    for m in [*removed, *added, *(mv.before for mv in moved)]:
        affected.update((m.a, m.b))
    return ScheduleChanges(
        kept=tuple(sorted(kept)),
        moved=tuple(moved),
        removed=tuple(removed),
        added=tuple(added),
        affected=tuple(sorted(affected)),
    )
