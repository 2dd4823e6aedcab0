"""Meeting schedules for matchmaking events: optimal in value, fair, with few idle gaps.

Pure: ids in, meetings out. ``solve`` is the decomposed solver (HiGHS for the pairs, CP-SAT for
the slots), ``greedy`` the value-ordered baseline, ``validate`` the independent checker.
"""

from matching.scheduling.changes import Move, ScheduleChanges, changes
from matching.scheduling.greedy import greedy
from matching.scheduling.model import (
    DEFAULT_TIME_LIMIT,
    PAIR_KINDS,
    CandidatePair,
    Instance,
    InvalidInstance,
    Meeting,
    Options,
    PairKind,
    Participant,
    Schedule,
    SchedulingError,
    SolverStatus,
    TierBonus,
    pair_groups,
    pair_key,
    pair_sides,
    pair_values,
)
from matching.scheduling.report import ScheduleReport, report
from matching.scheduling.solver import reschedule, rescheduling_instance, solve, solve_exact
from matching.scheduling.validate import Violation, ViolationKind, validate

__all__ = [
    "DEFAULT_TIME_LIMIT",
    "PAIR_KINDS",
    "CandidatePair",
    "Instance",
    "InvalidInstance",
    "Meeting",
    "Move",
    "Options",
    "PairKind",
    "Participant",
    "Schedule",
    "ScheduleChanges",
    "ScheduleReport",
    "SchedulingError",
    "SolverStatus",
    "TierBonus",
    "Violation",
    "ViolationKind",
    "changes",
    "greedy",
    "pair_groups",
    "pair_key",
    "pair_sides",
    "pair_values",
    "report",
    "reschedule",
    "rescheduling_instance",
    "solve",
    "solve_exact",
    "validate",
]
