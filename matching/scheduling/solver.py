"""Optimal, fair meeting schedules: pairs first (MILP), then slots (CP-SAT and annealing).

Stage 1 chooses which pairs meet: a b-matching, each person's capacity being
``min(max_meetings, free slots)``, that maximises value plus a fairness reward for every meeting up
to a person's target minimum (scipy ``milp``/HiGHS). The same b-matching without the fairness
reward bounds the value of every schedule, so its optimum is the reported upper bound. When the
tables are nearly full, a little value (``Options.value_slack``) may be traded for free tables.

Stage 2 puts the chosen pairs into slots with the tables as capacity and availability respected
(CP-SAT; a pair that no slot can take is dropped and listed in ``Schedule.dropped``), then
minimises idle slots between each person's first and last meeting: CP-SAT proves the optimum on
small events; on large ones simulated annealing with Kempe-chain moves does far better in the
time than CP-SAT, which stalls on this objective.

``solve_exact`` solves the whole time-indexed model in one CP-SAT run; it is meant for small
instances, to check the decomposition.
"""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace

import numpy as np
from ortools.sat.python import cp_model
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from matching.scheduling.changes import changes
from matching.scheduling.model import (
    CandidatePair,
    Instance,
    InvalidInstance,
    Meeting,
    Options,
    PairKind,
    Participant,
    Schedule,
    SolverStatus,
    pair_groups,
    pair_key,
    pair_values,
)

# Objective coefficients are scaled to integers for CP-SAT.
_SCALE = 1000


@dataclass
class Edge:
    """A pair that may still get a new meeting; ``slots`` are positions both can use.

    ``group``: the wish group the pair belongs to (``CandidatePair.group``), if any.
    """

    a: int
    b: int
    value: float
    kind: PairKind
    slots: tuple[int, ...]
    group: tuple[int, int] | None = None


@dataclass
class Prepared:
    """An instance reduced to what the solvers need: positions instead of slot ids."""

    instance: Instance
    slot_ids: tuple[int, ...]
    people: dict[int, Participant]
    locked: tuple[Meeting, ...]
    locked_pos: dict[int, list[int]]  # person -> positions of their locked meetings
    locked_pairs: set[tuple[int, int]]
    free: dict[int, frozenset[int]]  # person -> positions open for a new meeting
    free_tables: list[list[int]]  # position -> table ids not taken by locked meetings
    cap: dict[int, int]  # person -> new meetings still allowed
    need: dict[int, int]  # person -> new meetings still needed to reach the minimum
    edges: list[Edge]
    values: dict[tuple[int, int], tuple[float, PairKind]] = field(default_factory=dict)
    # person -> bitmask of the positions they are away: inside their span such a slot is not idle
    away: dict[int, int] = field(default_factory=dict)
    # edges of each wish group with two or more edges: at most one of them gets a meeting
    groups: list[list[int]] = field(default_factory=list)

    @property
    def n_slots(self) -> int:
        return len(self.slot_ids)


def prepare(instance: Instance) -> Prepared:
    """Check the instance and derive capacities and the pairs that may still meet.

    Raises InvalidInstance for unknown ids or locked meetings that contradict each other.
    """
    slot_ids = tuple(instance.slots)
    pos = {s: i for i, s in enumerate(slot_ids)}
    if len(pos) != len(slot_ids):
        raise InvalidInstance("slot ids must be distinct")
    table_ids = instance.table_ids
    if len(set(table_ids)) != len(table_ids):
        raise InvalidInstance("table ids must be distinct")
    people: dict[int, Participant] = {}
    for p in instance.participants:
        if p.person in people:
            raise InvalidInstance(f"person {p.person} registered twice")
        people[p.person] = p

    forbidden = {pair_key(a, b) for a, b in instance.forbidden}
    locked = tuple(instance.locked)
    locked_pos: dict[int, list[int]] = defaultdict(list)
    locked_pairs: set[tuple[int, int]] = set()
    taken_tables: dict[int, set[int]] = defaultdict(set)
    for m in locked:
        if m.slot not in pos or m.table not in table_ids:
            raise InvalidInstance(f"locked meeting {m} uses an unknown slot or table")
        if m.a not in people or m.b not in people or m.a == m.b:
            raise InvalidInstance(f"locked meeting {m} has unknown or identical persons")
        i = pos[m.slot]
        if pair_key(m.a, m.b) in forbidden:
            raise InvalidInstance(f"locked meeting {m} joins a not-interested pair")
        if people[m.a].organisation == people[m.b].organisation:
            raise InvalidInstance(f"locked meeting {m} joins one organisation")
        for person in (m.a, m.b):
            if m.slot in people[person].unavailable:
                raise InvalidInstance(f"person {person} is unavailable for locked meeting {m}")
            if i in locked_pos[person]:
                raise InvalidInstance(f"person {person} has two locked meetings at {m.slot}")
            locked_pos[person].append(i)
        if m.table in taken_tables[i]:
            raise InvalidInstance(f"table {m.table} locked twice at slot {m.slot}")
        taken_tables[i].add(m.table)
        if m.pair in locked_pairs:
            raise InvalidInstance(f"pair {m.pair} locked twice")
        locked_pairs.add(m.pair)

    free_tables = [[t for t in table_ids if t not in taken_tables[i]] for i in range(len(pos))]
    closed = {pos[s] for s in instance.closed_slots if s in pos}
    free: dict[int, frozenset[int]] = {}
    cap: dict[int, int] = {}
    need: dict[int, int] = {}
    away: dict[int, int] = {}
    for person, p in people.items():
        unavailable = {pos[s] for s in p.unavailable if s in pos}
        if unavailable:
            away[person] = sum(1 << i for i in unavailable)
        blocked = unavailable | closed | set(locked_pos[person])
        free[person] = frozenset(i for i in range(len(pos)) if i not in blocked and free_tables[i])
        n_locked = len(locked_pos[person])
        if n_locked > p.max_meetings:
            raise InvalidInstance(f"person {person} has more locked meetings than allowed")
        cap[person] = max(0, min(p.max_meetings - n_locked, len(free[person])))
        need[person] = max(0, min(p.min_meetings, p.max_meetings) - n_locked)

    values = pair_values(instance)
    group_of = pair_groups(instance)
    # a locked meeting of a wish group fulfils it: no other pair of the group meets
    met = {group_of[pair] for pair in locked_pairs if pair in group_of}
    edges: list[Edge] = []
    for (a, b), (value, kind) in sorted(values.items()):
        if a == b or a not in people or b not in people:
            continue
        if (a, b) in forbidden or (a, b) in locked_pairs or group_of.get((a, b)) in met:
            continue
        if people[a].organisation == people[b].organisation:
            continue
        if cap[a] == 0 or cap[b] == 0:
            continue
        common = tuple(sorted(free[a] & free[b]))
        if common:
            edges.append(Edge(a, b, value, kind, common, group_of.get((a, b))))
    by_group: dict[tuple[int, int], list[int]] = defaultdict(list)
    for j, e in enumerate(edges):
        if e.group is not None:
            by_group[e.group].append(j)
    return Prepared(
        instance=instance,
        slot_ids=slot_ids,
        people=people,
        locked=locked,
        locked_pos=dict(locked_pos),
        locked_pairs=locked_pairs,
        free=free,
        free_tables=free_tables,
        cap=cap,
        need=need,
        edges=edges,
        values=values,
        away=away,
        groups=[js for _, js in sorted(by_group.items()) if len(js) > 1],
    )


@dataclass
class PairSelection:
    """Result of stage 1: indices into ``Prepared.edges`` and the value bound."""

    chosen: list[int]
    upper_bound: float
    optimal: bool
    seconds: float
    fair_bound: float | None = None


def _bmatching(
    prep: Prepared,
    *,
    fairness: float,
    time_limit: float,
    max_total: int | None = None,
) -> tuple[np.ndarray, float, bool]:
    """Solve the b-matching MILP; returns (x (n_edges,), dual bound on the objective, optimal).

    ``max_total`` caps the number of new meetings (default: the free table-slots).
    """
    edges = prep.edges
    n = len(edges)
    persons = sorted(prep.people)
    row = {p: i for i, p in enumerate(persons)}
    needy = [p for p in persons if prep.need[p] > 0] if fairness > 0 else []
    n_y = len(needy)
    y_row = {p: i for i, p in enumerate(needy)}

    rows: list[int] = []
    cols: list[int] = []
    data: list[float] = []
    # capacity rows 0..P-1: sum_e x_e <= cap_p; fairness rows P..P+Y-1: y_p - sum_e x_e <= 0
    for j, e in enumerate(edges):
        for person in (e.a, e.b):
            rows.append(row[person])
            cols.append(j)
            data.append(1.0)
            if person in y_row:
                rows.append(len(persons) + y_row[person])
                cols.append(j)
                data.append(-1.0)
    for k in range(n_y):
        rows.append(len(persons) + k)
        cols.append(n + k)
        data.append(1.0)
    # total table capacity over all slots
    table_row = len(persons) + n_y
    rows.extend([table_row] * n)
    cols.extend(range(n))
    data.extend([1.0] * n)
    # one row per wish group: at most one of its pairs
    for k, js in enumerate(prep.groups):
        rows.extend([table_row + 1 + k] * len(js))
        cols.extend(js)
        data.extend([1.0] * len(js))
    n_rows = table_row + 1 + len(prep.groups)
    a_mat = coo_matrix((data, (rows, cols)), shape=(n_rows, n + n_y)).tocsr()
    upper = np.array(
        [prep.cap[p] for p in persons]
        + [0.0] * n_y
        + [float(_table_slots(prep) if max_total is None else max_total)]
        + [1.0] * len(prep.groups)
    )
    lower = np.full(len(upper), -np.inf)
    c = -np.array([e.value for e in edges] + [fairness] * n_y)
    integrality = np.array([1] * n + [0] * n_y)
    lb = np.zeros(n + n_y)
    ub = np.array([1.0] * n + [float(prep.need[p]) for p in needy])
    res = milp(
        c,
        constraints=LinearConstraint(a_mat, lower, upper),
        integrality=integrality,
        bounds=Bounds(lb, ub),
        options={"time_limit": max(time_limit, 0.5), "disp": False, "mip_rel_gap": 1e-6},
    )
    if res.x is None:
        raise RuntimeError(f"stage 1 MILP failed: {res.message}")
    x = np.round(res.x[:n]).astype(bool)
    dual = getattr(res, "mip_dual_bound", None)
    bound = -float(dual) if dual is not None and np.isfinite(dual) else math.inf
    if res.status != 0:
        # Stopped at the time limit, perhaps before the root LP: the LP relaxation is a bound
        # too, usually within a fraction of a percent of the optimum, and takes a second.
        relaxed = milp(
            c,
            constraints=LinearConstraint(a_mat, lower, upper),
            bounds=Bounds(lb, ub),
            options={"time_limit": 60.0, "disp": False},
        )
        if relaxed.status == 0:
            bound = min(bound, -float(relaxed.fun))
    if not np.isfinite(bound):
        bound = -float(res.fun)
    return x, bound, res.status == 0


def _table_slots(prep: Prepared) -> int:
    """Free (slot, table) places for new meetings."""
    closed = prep.instance.closed_slots
    return sum(len(t) for i, t in enumerate(prep.free_tables) if prep.slot_ids[i] not in closed)


def _coverage(prep: Prepared, chosen: list[int]) -> int:
    """New meetings that count toward persons' minimums."""
    degree: dict[int, int] = defaultdict(int)
    for j in chosen:
        degree[prep.edges[j].a] += 1
        degree[prep.edges[j].b] += 1
    return sum(min(n, prep.need[p]) for p, n in degree.items())


def select_pairs(prep: Prepared, *, time_limit: float) -> PairSelection:
    """Stage 1: the value bound, then the fair b-matching.

    When the fair b-matching would fill more than ``Options.table_fill`` of the tables, it is
    solved again with fewer meetings: as many fewer as dropping the least valuable pairs that
    nobody needs for their minimum allows within ``Options.value_slack`` of the bound. The free
    tables let stage 2 pack meetings with far fewer idle gaps.
    """
    t0 = time.perf_counter()
    opts = prep.instance.options
    locked_value = sum(prep.values.get(m.pair, (0.0, "recommended"))[0] for m in prep.locked)
    locked_fair = locked_value + opts.fairness_weight * _locked_cover(prep)
    if not prep.edges:
        return PairSelection([], locked_value, True, time.perf_counter() - t0, locked_fair)
    _, bound, optimal = _bmatching(prep, fairness=0.0, time_limit=time_limit / 3)
    x, fair_bound, opt2 = _bmatching(prep, fairness=opts.fairness_weight, time_limit=time_limit / 3)
    optimal = optimal and opt2
    chosen = [j for j in range(len(prep.edges)) if x[j]]
    if not opt2:
        # HiGHS stopped at the time limit: its incumbent may be poor, the greedy b-matching not
        fallback = _greedy_pairs(prep)
        if _objective(prep, fallback) > _objective(prep, chosen):
            chosen = fallback
    floor = (1.0 - opts.value_slack) * (bound + locked_value)
    if opts.value_slack > 0 and len(chosen) > opts.table_fill * _table_slots(prep):
        budget = sum(prep.edges[j].value for j in chosen) + locked_value - floor
        degree: dict[int, int] = defaultdict(int)
        for j in chosen:
            degree[prep.edges[j].a] += 1
            degree[prep.edges[j].b] += 1
        fewer = 0
        for j in sorted(chosen, key=lambda j: prep.edges[j].value):
            e = prep.edges[j]
            if e.value > budget:
                break
            if degree[e.a] <= prep.need[e.a] or degree[e.b] <= prep.need[e.b]:
                continue
            budget -= e.value
            degree[e.a] -= 1
            degree[e.b] -= 1
            fewer += 1
        # The MILP usually keeps more value at a given count than dropping pairs does, so bisect
        # for the smallest count that still keeps the value floor and the fairness.
        full_cover = _coverage(prep, chosen)
        hi, lo = len(chosen), max(0, len(chosen) - 2 * fewer)
        k = len(chosen) - fewer
        for _ in range(4 if fewer else 0):
            left = time_limit - (time.perf_counter() - t0)
            # the trade is optional: start another solve only in the first half of the time
            if left < time_limit / 2:
                break
            x, _, _ = _bmatching(prep, fairness=opts.fairness_weight, time_limit=left, max_total=k)
            sparse = [j for j in range(len(prep.edges)) if x[j]]
            value = sum(prep.edges[j].value for j in sparse) + locked_value
            if value >= floor and _coverage(prep, sparse) >= full_cover:
                chosen, optimal, hi = sparse, False, k
            else:
                lo = k
            k = (lo + hi) // 2
            if hi - lo <= max(1, hi // 200):
                break
    return PairSelection(
        chosen, bound + locked_value, optimal, time.perf_counter() - t0, fair_bound + locked_fair
    )


def _objective(prep: Prepared, chosen: list[int]) -> float:
    """Stage 1's objective: value plus the fairness reward."""
    fairness = prep.instance.options.fairness_weight
    return sum(prep.edges[j].value for j in chosen) + fairness * _coverage(prep, chosen)


def _greedy_pairs(prep: Prepared) -> list[int]:
    """A b-matching by decreasing worth: pairs that help someone reach their minimum first."""
    degree: dict[int, int] = defaultdict(int)
    room = _table_slots(prep)
    chosen: list[int] = []
    taken: set[int] = set()
    groups: set[tuple[int, int]] = set()
    for needy_only in (True, False):
        for j in sorted(range(len(prep.edges)), key=lambda j: -prep.edges[j].value):
            e = prep.edges[j]
            if len(chosen) >= room or degree[e.a] >= prep.cap[e.a] or degree[e.b] >= prep.cap[e.b]:
                continue
            if j in taken or e.group in groups:
                continue
            if needy_only and degree[e.a] >= prep.need[e.a] and degree[e.b] >= prep.need[e.b]:
                continue
            chosen.append(j)
            taken.add(j)
            if e.group is not None:
                groups.add(e.group)
            degree[e.a] += 1
            degree[e.b] += 1
    return chosen


def _locked_cover(prep: Prepared) -> int:
    """Locked meetings that count toward persons' minimums."""
    return sum(
        min(len(ps), prep.people[person].min_meetings, prep.people[person].max_meetings)
        for person, ps in prep.locked_pos.items()
    )


@dataclass
class SlotAssignment:
    """Result of stage 2: edge index -> slot position, pairs left out, idle slots in total."""

    placed: dict[int, int]
    dropped: list[int]
    idle: int
    optimal: bool
    seconds: float


def _new_solver(opts: Options, time_limit: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, time_limit)
    solver.parameters.num_workers = max(1, opts.workers)
    solver.parameters.random_seed = opts.seed
    return solver


def _weights(prep: Prepared, chosen: list[int]) -> dict[int, int]:
    """Integer worth of placing each chosen pair: its value plus the fairness it buys."""
    fairness = prep.instance.options.fairness_weight
    degree: dict[int, int] = defaultdict(int)
    for j in chosen:
        degree[prep.edges[j].a] += 1
        degree[prep.edges[j].b] += 1
    out: dict[int, int] = {}
    for j in chosen:
        e = prep.edges[j]
        fair = sum(fairness for p in (e.a, e.b) if degree[p] <= prep.need[p])
        out[j] = 1 + round((e.value + fair) * _SCALE)
    return out


def place_pairs(
    prep: Prepared, chosen: list[int], *, time_limit: float, hint: dict[int, int]
) -> dict[int, int]:
    """Place all chosen pairs if slots and tables allow, else as much of their worth as possible.

    Uses CP-SAT: first a pure feasibility model (fast when everything fits), then, if that is
    infeasible or undecided, a model maximising the placed worth. ``hint`` (a partial placement)
    seeds both and is returned when CP-SAT finds nothing better in time.
    """
    if len(hint) == len(chosen):
        return hint
    deadline = time.perf_counter() + time_limit
    best = hint
    weight = _weights(prep, chosen)
    for maximise in (False, True):
        model = cp_model.CpModel()
        x: dict[tuple[int, int], cp_model.IntVar] = {}
        by_person_slot: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
        by_slot: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        gain = []
        for j in chosen:
            e = prep.edges[j]
            lits = []
            for i in e.slots:
                v = model.new_bool_var(f"x{j}_{i}")
                model.add_hint(v, hint.get(j) == i)
                x[(j, i)] = v
                lits.append(v)
                by_person_slot[(e.a, i)].append(v)
                by_person_slot[(e.b, i)].append(v)
                by_slot[i].append(v)
            if maximise:
                model.add_at_most_one(lits)
                gain.append(weight[j] * sum(lits))
            else:
                model.add_exactly_one(lits)
        for lits in by_person_slot.values():
            if len(lits) > 1:
                model.add_at_most_one(lits)
        for i, lits in by_slot.items():
            if len(lits) > len(prep.free_tables[i]):
                model.add(sum(lits) <= len(prep.free_tables[i]))
        if maximise:
            model.maximize(sum(gain))
        # the feasibility attempt gets most of the time; an undecided one leaves some to maximise
        share = 0.7 if not maximise else 1.0
        solver = _new_solver(prep.instance.options, share * (deadline - time.perf_counter()))
        status = solver.solve(model)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            placed = {j: i for (j, i), v in x.items() if solver.boolean_value(v)}
            if sum(weight[j] for j in placed) > sum(weight[j] for j in best):
                best = placed
            if len(best) == len(chosen):
                break
    return best


class _GapTable(dict[int, int]):
    """Idle slots of a busy-slot bitmask for one away-slot bitmask, computed once per mask."""

    def __init__(self, away: int = 0) -> None:
        super().__init__()
        self.away = away

    def __missing__(self, mask: int) -> int:
        self[mask] = value = _idle_of(mask, self.away)
        return value


def _idle_of(mask: int, away: int = 0) -> int:
    """Slots between the first and last set bit of ``mask`` that are neither busy nor ``away``.

    A slot a person is away (unavailable) is not idle time, as in the schedule report.
    """
    if not mask:
        return 0
    span = ((1 << mask.bit_length()) - 1) & ~((mask & -mask) - 1)
    return (span & ~mask & ~away).bit_count()


def idle_total(prep: Prepared, placed: dict[int, int]) -> int:
    """Idle slots summed over persons, locked meetings included; away slots are not idle."""
    mask: dict[int, int] = defaultdict(int)
    for person, ps in prep.locked_pos.items():
        for i in ps:
            mask[person] |= 1 << i
    for j, i in placed.items():
        mask[prep.edges[j].a] |= 1 << i
        mask[prep.edges[j].b] |= 1 << i
    return sum(_idle_of(m, prep.away.get(person, 0)) for person, m in mask.items())


def anneal(
    prep: Prepared,
    placed: dict[int, int],
    *,
    time_limit: float,
    seed: int,
    max_moves: int | None = None,
    focus: float = 0.8,
) -> dict[int, int]:
    """Simulated annealing on the slots of placed pairs, minimising idle slots.

    A move swaps two slots i and t along the Kempe chain of one pair: the pairs at i and t that
    share persons with it, transitively. This keeps every person at one meeting per slot; when
    both persons are free at t the chain is the pair alone, a plain shift. If a slot would then
    exceed its tables, one independent meeting moves the other way. Only the chain's end persons
    change their idle count, so a move is scored from busy-slot bitmasks alone. A share ``focus``
    of the moves takes the first or last meeting of someone with idle slots into one of their
    holes. The temperature falls with the larger elapsed share of ``time_limit`` and
    ``max_moves``; the run stops at either, or at zero idle slots.
    """
    n_slots = prep.n_slots
    ks = sorted(placed)
    if not ks:
        return dict(placed)
    persons = sorted({p for j in ks for p in (prep.edges[j].a, prep.edges[j].b)})
    pidx = {p: n for n, p in enumerate(persons)}
    ea = [pidx[prep.edges[j].a] for j in ks]
    eb = [pidx[prep.edges[j].b] for j in ks]
    allowed = [prep.edges[j].slots for j in ks]
    amask = [sum(1 << i for i in s) for s in allowed]
    slot = [placed[j] for j in ks]
    # who[p * n_slots + i]: the pair index person p meets at slot i; -1 free, -2 locked
    who = [-1] * (len(persons) * n_slots)
    mask = [0] * len(persons)
    for person, ps in prep.locked_pos.items():
        if person in pidx:
            for i in ps:
                mask[pidx[person]] |= 1 << i
                who[pidx[person] * n_slots + i] = -2
    load = [0] * n_slots
    cap = [len(t) for t in prep.free_tables]
    in_slot: list[list[int]] = [[] for _ in range(n_slots)]
    spos = [0] * len(ks)
    for k, i in enumerate(slot):
        for p in (ea[k], eb[k]):
            mask[p] |= 1 << i
            who[p * n_slots + i] = k
        load[i] += 1
        spos[k] = len(in_slot[i])
        in_slot[i].append(k)
    # one idle table per distinct away mask: a person's idle count is a dict lookup
    tables: dict[int, _GapTable] = {}
    gap = [tables.setdefault(a, _GapTable(a)) for a in (prep.away.get(p, 0) for p in persons)]
    cost = sum(gap[p][m] for p, m in enumerate(mask))
    best, best_slot = cost, slot[:]
    # persons with idle slots, kept in a list with positions for O(1) updates
    gapped: list[int] = []
    where = [-1] * len(persons)

    def track(p: int) -> None:
        has_gap = gap[p][mask[p]] > 0
        if has_gap and where[p] < 0:
            where[p] = len(gapped)
            gapped.append(p)
        elif not has_gap and where[p] >= 0:
            last = gapped.pop()
            if last != p:
                gapped[where[p]] = last
                where[last] = where[p]
            where[p] = -1

    for p in range(len(persons)):
        track(p)
    time_limit = max(time_limit, 1e-3)
    rng = random.Random(seed)
    rand, exp = rng.random, math.exp
    bits: dict[int, list[int]] = {}  # slot positions of a bitmask, cached
    n_e = len(ks)
    t0 = time.perf_counter()
    # Temperatures in idle slots: early uphill moves of one or two slots are common, late rare.
    t_hot, t_cold = _T_HOT, _T_COLD
    temp = t_hot
    it = 0
    budget = max_moves if max_moves is not None else 1 << 62
    while cost > 0:
        it += 1
        if not it & 1023:
            done = max((time.perf_counter() - t0) / time_limit, it / budget)
            if done >= 1.0:
                break
            temp = t_hot * (t_cold / t_hot) ** done
        if gapped and rand() < focus:
            # move a first or last meeting of someone with idle slots into one of their holes
            p = gapped[int(rand() * len(gapped))]
            m = mask[p]
            hi = m.bit_length() - 1
            lo = (m & -m).bit_length() - 1
            i = hi if rand() < 0.5 else lo
            k = who[p * n_slots + i]
            if k < 0:
                continue
            holes = amask[k] & ~m & ((1 << hi) - (1 << (lo + 1)))
            if not holes:
                continue
            options = bits.get(holes)
            if options is None:
                options = bits[holes] = [b for b in range(n_slots) if holes >> b & 1]
            t = options[int(rand() * len(options))]
        else:
            k = int(rand() * n_e)
            al = allowed[k]
            i, t = slot[k], al[int(rand() * len(al))]
            if t == i:
                continue
        flip = (1 << i) | (1 << t)
        # The Kempe chain of k between slots i and t (just k when both persons are free at t).
        chain = [k]
        seen = {k}
        stack = [k] if who[ea[k] * n_slots + t] != -1 or who[eb[k] * n_slots + t] != -1 else []
        ok = True
        while stack and ok:
            c = stack.pop()
            other = t if slot[c] == i else i
            for p in (ea[c], eb[c]):
                w = who[p * n_slots + other]
                if w == -1 or w in seen:
                    continue
                swap_to = i if slot[w] == t else t
                if w == -2 or len(chain) >= _MAX_CHAIN or not amask[w] >> swap_to & 1:
                    ok = False
                    break
                seen.add(w)
                chain.append(w)
                stack.append(w)
        if not ok:
            continue
        if len(chain) == 1:
            ends = [ea[k], eb[k]]
            n_i, n_t = 1, 0
        else:
            touches: dict[int, int] = defaultdict(int)
            for c in chain:
                touches[ea[c]] += 1
                touches[eb[c]] += 1
            ends = [p for p, n in touches.items() if n == 1]
            n_i = sum(1 for c in chain if slot[c] == i)
            n_t = len(chain) - n_i
        over_t = load[t] + n_i - n_t - cap[t]
        over_i = load[i] - n_i + n_t - cap[i]
        if over_t > 0 or over_i > 0:
            # A full slot: send one independent meeting the other way to keep the tables.
            if over_t + over_i > 1:
                continue
            src, dst = (t, i) if over_t > 0 else (i, t)
            pool = in_slot[src]
            for _ in range(4):
                w = pool[int(rand() * len(pool))]
                if (
                    w not in seen
                    and who[ea[w] * n_slots + dst] == -1
                    and who[eb[w] * n_slots + dst] == -1
                    and amask[w] >> dst & 1
                ):
                    break
            else:
                continue
            chain.append(w)
            ends = [*ends, ea[w], eb[w]]
            if src == i:
                n_i += 1
            else:
                n_t += 1
        d = 0
        for p in ends:
            d += gap[p][mask[p] ^ flip] - gap[p][mask[p]]
        if d > 0 and rand() >= exp(-d / temp):
            continue
        for p in ends:
            mask[p] ^= flip
            track(p)
        for c in chain:
            old = slot[c]
            who[ea[c] * n_slots + old] = -1
            who[eb[c] * n_slots + old] = -1
            # swap-remove c from its slot's list
            pool = in_slot[old]
            moved = pool.pop()
            if moved != c:
                pool[spos[c]] = moved
                spos[moved] = spos[c]
        for c in chain:
            new = t if slot[c] == i else i
            slot[c] = new
            who[ea[c] * n_slots + new] = c
            who[eb[c] * n_slots + new] = c
            spos[c] = len(in_slot[new])
            in_slot[new].append(c)
        load[t] += n_i - n_t
        load[i] += n_t - n_i
        cost += d
        if cost < best:
            best, best_slot = cost, slot[:]
    if cost < best:
        best_slot = slot[:]
    return {j: best_slot[k] for k, j in enumerate(ks)}


def polish_idle(
    prep: Prepared,
    placed: dict[int, int],
    *,
    time_limit: float,
) -> tuple[dict[int, int], bool]:
    """Minimise idle slots over the placed pairs with CP-SAT, starting from ``placed``.

    Returns the placement and whether it is proven optimal. Meant for small instances: on large
    ones CP-SAT improves slowly and ``anneal`` does better.
    """
    model = cp_model.CpModel()
    mask: dict[int, int] = defaultdict(int)
    for j, i in placed.items():
        mask[prep.edges[j].a] |= 1 << i
        mask[prep.edges[j].b] |= 1 << i
    for person, ps in prep.locked_pos.items():
        for i in ps:
            mask[person] |= 1 << i
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    by_person_slot: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    by_slot: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for j, cur in placed.items():
        e = prep.edges[j]
        lits = []
        for i in e.slots:
            v = model.new_bool_var(f"x{j}_{i}")
            model.add_hint(v, i == cur)
            x[(j, i)] = v
            lits.append(v)
            by_person_slot[(e.a, i)].append(v)
            by_person_slot[(e.b, i)].append(v)
            by_slot[i].append(v)
        model.add_exactly_one(lits)
    for lits in by_person_slot.values():
        if len(lits) > 1:
            model.add_at_most_one(lits)
    for i, lits in by_slot.items():
        if len(lits) > len(prep.free_tables[i]):
            model.add(sum(lits) <= len(prep.free_tables[i]))
    spans = []
    constant = 0
    for person in mask:
        fixed = prep.locked_pos.get(person, [])
        mine = [(i, v) for (j, i), v in x.items() if person in (prep.edges[j].a, prep.edges[j].b)]
        positions = [i for i, _ in mine] + fixed
        lo, hi = min(positions), max(positions)
        first = model.new_int_var(lo, min(fixed) if fixed else hi, f"f{person}")
        last = model.new_int_var(max(fixed) if fixed else lo, hi, f"l{person}")
        for i, v in mine:
            # first <= hi and last >= lo hold by their domains
            if i < hi:
                model.add(first <= i).only_enforce_if(v)
            if i > lo:
                model.add(last >= i).only_enforce_if(v)
        n_meet = len(fixed) + sum(1 for j in placed if person in (prep.edges[j].a, prep.edges[j].b))
        span = _available_span(model, prep.away.get(person, 0), hi + 1, first, last, f"{person}")
        model.add(span + 1 >= n_meet)
        spans.append(span)
        constant += 1 - n_meet
    model.minimize(sum(spans) + constant)
    solver = _new_solver(prep.instance.options, time_limit)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return dict(placed), False
    out = {j: i for (j, i), v in x.items() if solver.boolean_value(v)}
    if idle_total(prep, out) > idle_total(prep, placed):
        return dict(placed), False
    return out, status == cp_model.OPTIMAL


def _available_span(
    model: cp_model.CpModel,
    away: int,
    n_slots: int,
    first: cp_model.IntVar,
    last: cp_model.IntVar,
    name: str,
) -> cp_model.LinearExpr:
    """Slots in ``first+1..last`` that the person is not away: ``last - first`` less their absences.

    With absences, the positions map to their rank among the person's available slots (an
    element constraint), so an away slot inside the span adds nothing to the idle count.
    """
    if not away:
        return last - first
    rank, n = [], 0
    for i in range(n_slots):
        if not away >> i & 1:
            n += 1
        rank.append(n)
    first_rank = model.new_int_var(0, n, f"rf{name}")
    last_rank = model.new_int_var(0, n, f"rl{name}")
    model.add_element(first, rank, first_rank)
    model.add_element(last, rank, last_rank)
    return last_rank - first_rank


def fill_free(prep: Prepared, placed: dict[int, int]) -> dict[int, int]:
    """Add unplaced candidate pairs wherever persons, a common slot and a table are still free.

    Helps after stage 2 had to drop pairs: pairs that fill a person's minimum go first, then by
    value; each takes the slot that widens its persons' spans least.
    """
    out = dict(placed)
    busy: dict[int, set[int]] = defaultdict(set)
    for person, ps in prep.locked_pos.items():
        busy[person].update(ps)
    count: dict[int, int] = defaultdict(int)
    load = [0] * prep.n_slots
    groups: set[tuple[int, int] | None] = set()
    for j, i in out.items():
        e = prep.edges[j]
        busy[e.a].add(i)
        busy[e.b].add(i)
        count[e.a] += 1
        count[e.b] += 1
        load[i] += 1
        groups.add(e.group)
    groups.discard(None)

    def helps(j: int) -> int:
        e = prep.edges[j]
        return sum(1 for p in (e.a, e.b) if count[p] < prep.need[p])

    rest = [j for j in range(len(prep.edges)) if j not in out]
    rest.sort(key=lambda j: (-helps(j), -prep.edges[j].value))
    for j in rest:
        e = prep.edges[j]
        if count[e.a] >= prep.cap[e.a] or count[e.b] >= prep.cap[e.b] or e.group in groups:
            continue
        options = [
            i
            for i in e.slots
            if i not in busy[e.a] and i not in busy[e.b] and load[i] < len(prep.free_tables[i])
        ]
        if not options:
            continue
        away_a, away_b = prep.away.get(e.a, 0), prep.away.get(e.b, 0)
        i = min(
            options,
            key=lambda i: (_widen(busy[e.a], i, away_a) + _widen(busy[e.b], i, away_b), i),
        )
        out[j] = i
        busy[e.a].add(i)
        busy[e.b].add(i)
        count[e.a] += 1
        count[e.b] += 1
        load[i] += 1
        if e.group is not None:
            groups.add(e.group)
    return out


def _widen(busy: set[int], i: int, away: int = 0) -> int:
    """Change in a person's idle slots when slot ``i`` is added to ``busy``.

    ``away`` is the bitmask of the person's away slots, which do not count as idle.
    """
    if not busy:
        return 0
    lo, hi = min(busy), max(busy)
    if lo < i < hi:
        return -1
    between = range(i + 1, lo) if i < lo else range(hi + 1, i)
    return sum(1 for s in between if not away >> s & 1)


def greedy_slots(prep: Prepared, chosen: list[int]) -> dict[int, int]:
    """Place chosen pairs one by one where they widen their persons' spans least.

    Pairs of the busiest persons go first; a compact but possibly partial start for stage 2.
    """
    busy: dict[int, set[int]] = defaultdict(set)
    for person, ps in prep.locked_pos.items():
        busy[person].update(ps)
    load = [0] * prep.n_slots
    degree: dict[int, int] = defaultdict(int)
    for j in chosen:
        degree[prep.edges[j].a] += 1
        degree[prep.edges[j].b] += 1

    def key(j: int) -> tuple[int, int]:
        e = prep.edges[j]
        return (-max(degree[e.a], degree[e.b]), len(e.slots))

    placed: dict[int, int] = {}
    centre = (prep.n_slots - 1) / 2
    for j in sorted(chosen, key=key):
        e = prep.edges[j]
        best: tuple[float, int] | None = None
        for i in e.slots:
            if i in busy[e.a] or i in busy[e.b] or load[i] >= len(prep.free_tables[i]):
                continue
            cost = (
                _widen(busy[e.a], i, prep.away.get(e.a, 0))
                + _widen(busy[e.b], i, prep.away.get(e.b, 0))
                + 1e-3 * abs(i - centre)
            )
            if best is None or cost < best[0]:
                best = (cost, i)
        if best is None:
            continue
        i = best[1]
        placed[j] = i
        busy[e.a].add(i)
        busy[e.b].add(i)
        load[i] += 1
    return placed


# Annealing temperatures, in idle slots.
_T_HOT, _T_COLD = 1.5, 0.05

# Longest Kempe chain the annealer swaps; longer chains rarely pay for their evaluation.
_MAX_CHAIN = 48

# Below this many (pair, slot) variables CP-SAT usually proves the idle-slot optimum quickly.
_EXACT_POLISH_VARS = 3000


def assign_slots(prep: Prepared, chosen: list[int], *, time_limit: float) -> SlotAssignment:
    """Stage 2: slots for the chosen pairs, few idle slots, then fill what is left free."""
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    opts = prep.instance.options
    start = greedy_slots(prep, chosen)
    # leaving pairs out costs value and fairness, so placing them all may take half the time
    placed = place_pairs(prep, chosen, time_limit=0.5 * time_limit, hint=start)
    dropped = [j for j in chosen if j not in placed]
    n_vars = sum(len(prep.edges[j].slots) for j in placed)
    small = n_vars <= _EXACT_POLISH_VARS
    optimal = idle_total(prep, placed) == 0
    if opts.idle_weight <= 0:
        pass  # idle slots do not count: any feasible placement will do
    elif not optimal and small:
        # a quick anneal gives CP-SAT a good start; CP-SAT can then prove the fewest idle slots
        remaining = deadline - time.perf_counter()
        placed = anneal(
            prep,
            placed,
            time_limit=min(1.0, 0.2 * remaining),
            max_moves=200 * len(placed),
            seed=opts.seed,
        )
        optimal = idle_total(prep, placed) == 0
        if not optimal:
            placed, optimal = polish_idle(prep, placed, time_limit=deadline - time.perf_counter())
    elif not optimal:
        placed = anneal(
            prep, placed, time_limit=deadline - time.perf_counter() - 0.2, seed=opts.seed
        )
        optimal = idle_total(prep, placed) == 0
    if dropped:
        n_placed = len(placed)
        placed = fill_free(prep, placed)
        optimal = optimal and len(placed) == n_placed
        dropped = [j for j in dropped if j not in placed]
    return SlotAssignment(
        placed, dropped, idle_total(prep, placed), optimal, time.perf_counter() - t0
    )


def build_meetings(prep: Prepared, placed: dict[int, int]) -> tuple[Meeting, ...]:
    """Locked meetings plus placed pairs, each given a free table of its slot."""
    meetings = list(prep.locked)
    per_slot: dict[int, list[int]] = defaultdict(list)
    for j, i in placed.items():
        per_slot[i].append(j)
    for i, js in per_slot.items():
        tables = prep.free_tables[i]
        js.sort(key=lambda j: (prep.edges[j].a, prep.edges[j].b))
        for t, j in zip(tables, js, strict=False):
            e = prep.edges[j]
            meetings.append(Meeting.of(e.a, e.b, prep.slot_ids[i], t))
    return tuple(sorted(meetings))


def solve(instance: Instance) -> Schedule:
    """The decomposed scheduler: fair b-matching (HiGHS), then slots minimising idle gaps (CP-SAT).

    ``instance.options.time_limit`` covers both stages; stage 1 normally needs a small part of it.
    """
    t0 = time.perf_counter()
    prep = prepare(instance)
    limit = instance.options.time_limit
    # stage 1 usually takes a few seconds, but its MILPs need them even on large events
    selection = select_pairs(prep, time_limit=max(1.0, 0.4 * limit))
    remaining = limit - (time.perf_counter() - t0)
    if selection.chosen:
        assignment = assign_slots(prep, selection.chosen, time_limit=max(0.5, remaining))
    else:
        assignment = SlotAssignment({}, [], 0, True, 0.0)
    meetings = build_meetings(prep, assignment.placed)
    status: SolverStatus
    if not meetings:
        status = "empty"
    elif (
        selection.optimal
        and len(assignment.placed) == len(selection.chosen)
        and not assignment.dropped
        and assignment.idle == 0
    ):
        # Stage 1 ignores slots, so its proven optimum bounds value + fairness of every
        # schedule; placing all of its pairs without an idle slot reaches that bound with the
        # fewest idle slots there can be. Anything less is not proven for the whole schedule.
        status = "optimal"
    else:
        status = "feasible"
    return Schedule(
        meetings=meetings,
        status=status,
        upper_bound=selection.upper_bound,
        fair_bound=selection.fair_bound,
        solve_seconds=time.perf_counter() - t0,
        dropped=tuple((prep.edges[j].a, prep.edges[j].b) for j in assignment.dropped),
        stats={
            "stage1_seconds": selection.seconds,
            "stage2_seconds": assignment.seconds,
            "idle_optimal": float(assignment.optimal),
            "idle_total": float(assignment.idle),
            "candidate_pairs": float(len(prep.edges)),
            "selected_pairs": float(len(selection.chosen)),
        },
    )


def solve_exact(instance: Instance) -> Schedule:
    """The whole time-indexed model in one CP-SAT run; for small instances.

    Maximises ``value + fairness_weight * covered - idle_weight * idle_slots`` over every
    schedule, the objective that the decomposed ``solve`` approaches in two stages. ``status`` is
    "optimal" only when CP-SAT proved it.
    """
    t0 = time.perf_counter()
    prep = prepare(instance)
    opts = instance.options
    model = cp_model.CpModel()
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    by_person_slot: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    by_slot: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    by_person: dict[int, list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
    deg: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    edge_lit: dict[int, cp_model.IntVar] = {}
    for j, e in enumerate(prep.edges):
        lits = []
        for i in e.slots:
            v = model.new_bool_var(f"x{j}_{i}")
            x[(j, i)] = v
            lits.append(v)
            by_person_slot[(e.a, i)].append(v)
            by_person_slot[(e.b, i)].append(v)
            by_slot[i].append(v)
            by_person[e.a].append((i, v))
            by_person[e.b].append((i, v))
        used = model.new_bool_var(f"u{j}")
        model.add(sum(lits) == used)
        edge_lit[j] = used
        deg[e.a].append(used)
        deg[e.b].append(used)
    for lits in by_person_slot.values():
        model.add_at_most_one(lits)
    for i, lits in by_slot.items():
        model.add(sum(lits) <= len(prep.free_tables[i]))
    for js in prep.groups:
        model.add_at_most_one(edge_lit[j] for j in js)
    cover = []
    for person, lits in deg.items():
        model.add(sum(lits) <= prep.cap[person])
        if prep.need[person] > 0 and opts.fairness_weight > 0:
            y = model.new_int_var(0, prep.need[person], f"y{person}")
            model.add(y <= sum(lits))
            cover.append(y)
    objective = sum(
        round(e.value * _SCALE) * edge_lit[j] for j, e in enumerate(prep.edges)
    ) + round(opts.fairness_weight * _SCALE) * sum(cover)
    idle_unit = round(opts.idle_weight * _SCALE)
    if idle_unit > 0:
        # idle slots of a person = last - first + 1 - meetings, for persons with a meeting
        idle_terms = []
        for person in set(by_person) | set(prep.locked_pos):
            fixed = prep.locked_pos.get(person, [])
            first = model.new_int_var(0, prep.n_slots - 1, f"f{person}")
            last = model.new_int_var(0, prep.n_slots - 1, f"l{person}")
            model.add(first <= last)
            for i in fixed:
                model.add(first <= i)
                model.add(last >= i)
            for i, v in by_person.get(person, []):
                model.add(first <= i).only_enforce_if(v)
                model.add(last >= i).only_enforce_if(v)
            active = model.new_bool_var(f"a{person}")
            if fixed:
                model.add(active == 1)
            else:
                model.add_max_equality(active, [v for _, v in by_person[person]])
            model.add(last == first).only_enforce_if(~active)
            span = _available_span(
                model, prep.away.get(person, 0), prep.n_slots, first, last, f"{person}"
            )
            idle_terms.append(span + active - len(fixed) - sum(deg.get(person, [])))
        objective -= idle_unit * sum(idle_terms)
    model.maximize(objective)
    solver = _new_solver(opts, opts.time_limit)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError("exact model found no solution within the time limit")
    proven = status == cp_model.OPTIMAL
    placed = {j: i for (j, i), v in x.items() if solver.boolean_value(v)}
    meetings = build_meetings(prep, placed)
    locked_value = sum(prep.values.get(m.pair, (0.0, "recommended"))[0] for m in prep.locked)
    return Schedule(
        meetings=meetings,
        status="optimal" if proven else "feasible",
        upper_bound=None,
        solve_seconds=time.perf_counter() - t0,
        stats={"locked_value": locked_value},
    )


def _future(instance: Instance, from_slot: int) -> frozenset[int]:
    order = list(instance.slots)
    if from_slot not in order:
        raise InvalidInstance(f"slot {from_slot} does not exist")
    return frozenset(order[order.index(from_slot) :])


def rescheduling_instance(
    instance: Instance, previous: Schedule, *, from_slot: int, no_shows: set[int]
) -> Instance:
    """The instance that ``reschedule`` solves.

    Meetings of ``previous`` before ``from_slot`` (in slot order) and the organiser's locked
    meetings become locked; slots before ``from_slot`` close; no-shows become unavailable from
    ``from_slot`` on, and their locked meetings from then on are dropped. Future meetings of
    ``previous`` stay candidates even if their pair no longer is one (engine scores may have
    changed since), unless the pair is now forbidden: keeping a published meeting is worth more
    than a fresher recommendation.
    """
    future = _future(instance, from_slot)
    past = frozenset(instance.slots) - future
    keep: dict[tuple[int, int, int], Meeting] = {}
    for m in previous.meetings:
        if m.slot in past:
            keep[(m.a, m.b, m.slot)] = m
    for m in instance.locked:
        if m.slot in future and (m.a in no_shows or m.b in no_shows):
            continue
        keep[(m.a, m.b, m.slot)] = m
    participants = [
        replace(p, unavailable=p.unavailable | future) if p.person in no_shows else p
        for p in instance.participants
    ]
    forbidden = {pair_key(a, b) for a, b in instance.forbidden}
    known = {pair_key(p.a, p.b) for p in instance.pairs}
    extra = [
        CandidatePair(m.a, m.b, 0.0, "recommended")
        for m in sorted(previous.meetings)
        if m.slot in future and m.pair not in known and m.pair not in forbidden
    ]
    return replace(
        instance,
        participants=participants,
        pairs=[*instance.pairs, *extra] if extra else instance.pairs,
        locked=tuple(sorted(keep.values())),
        closed_slots=frozenset(instance.closed_slots | past),
    )


# Strong wishes may join two people untouched by the change: a late accepted request or a
# must-meet mark is a reason to change an agenda; a recommendation is not.
_WISHES: frozenset[PairKind] = frozenset({"accepted_request", "must_meet"})


def _solved(status: cp_model.CpSolverStatus) -> bool:
    return status in (cp_model.OPTIMAL, cp_model.FEASIBLE)


def reschedule(
    instance: Instance, previous: Schedule, *, from_slot: int, no_shows: set[int]
) -> Schedule:
    """Re-plan the slots from ``from_slot`` on with as few changes as possible, then most value.

    Meetings before ``from_slot`` and locked meetings stay as they were (they count toward
    maxima and are never repeated); no-shows get no meeting from ``from_slot`` on. Among the
    other future meetings of ``previous``, CP-SAT first keeps as many as possible in their slot
    and at their table (a lexicographic objective: this count is fixed before value is
    considered). The time this frees is then refilled for value and fairness, but only with
    meetings that involve someone who lost a meeting (or a pair with an accepted request or a
    must-meet mark), so the agendas of people the change does not touch stay as they are. A
    pair of ``previous`` that cannot stay in place may move to another slot.

    ``stats`` counts ``kept``, ``moved``, ``removed`` and ``added`` future meetings; use
    ``changes`` for the lists. Validate the result against ``rescheduling_instance(...)`` with
    the same arguments.
    """
    t0 = time.perf_counter()
    derived = rescheduling_instance(instance, previous, from_slot=from_slot, no_shows=no_shows)
    prep = prepare(derived)
    opts = derived.options
    future = _future(instance, from_slot)
    pos = {s: i for i, s in enumerate(prep.slot_ids)}
    edge_of = {(e.a, e.b): j for j, e in enumerate(prep.edges)}
    locked = {(m.slot, m.table, m.a, m.b) for m in prep.locked}
    before = sorted(
        m
        for m in previous.meetings
        if m.slot in future and (m.slot, m.table, m.a, m.b) not in locked
    )
    stay: dict[int, Meeting] = {}  # edge -> its meeting in previous, which may stay as it is
    moving: set[int] = set()  # edges of previous meetings that cannot stay where they were
    freed: set[int] = set()  # persons who lose a meeting they had
    claimed: set[tuple[int, int]] = set()
    for m in before:
        j = edge_of.get(m.pair)
        i = pos[m.slot]
        if (
            j is not None
            and j not in stay
            and i in prep.edges[j].slots
            and m.table in prep.free_tables[i]
            and (i, m.table) not in claimed
        ):
            stay[j] = m
            claimed.add((i, m.table))
        else:
            freed.update((m.a, m.b))
            if j is not None:
                moving.add(j)
    freed -= no_shows

    model = cp_model.CpModel()
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    by_person_slot: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    by_slot: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    deg: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    used: dict[int, cp_model.IntVar] = {}
    kept: dict[int, cp_model.IntVar] = {}
    for j, e in enumerate(prep.edges):
        if j in stay:
            slots: tuple[int, ...] = (pos[stay[j].slot],)
        elif j in moving or e.a in freed or e.b in freed or e.kind in _WISHES:
            slots = e.slots
        else:
            continue
        lits = []
        for i in slots:
            v = model.new_bool_var(f"x{j}_{i}")
            x[(j, i)] = v
            lits.append(v)
            by_person_slot[(e.a, i)].append(v)
            by_person_slot[(e.b, i)].append(v)
            by_slot[i].append(v)
        if len(lits) == 1:
            used[j] = lits[0]
        else:
            used[j] = model.new_bool_var(f"u{j}")
            model.add(sum(lits) == used[j])
        if j in stay:
            kept[j] = lits[0]
        deg[e.a].append(used[j])
        deg[e.b].append(used[j])
    for lits in by_person_slot.values():
        if len(lits) > 1:
            model.add_at_most_one(lits)
    for i, lits in by_slot.items():
        if len(lits) > len(prep.free_tables[i]):
            model.add(sum(lits) <= len(prep.free_tables[i]))
    for person, lits in deg.items():
        if len(lits) > prep.cap[person]:
            model.add(sum(lits) <= prep.cap[person])
    for js in prep.groups:
        group_lits = [used[j] for j in js if j in used]
        if len(group_lits) > 1:
            model.add_at_most_one(group_lits)

    # a feasible start: every meeting that can stay, as long as maxima allow
    count: dict[int, int] = defaultdict(int)
    start: set[int] = set()
    started: set[tuple[int, int] | None] = set()
    for j in sorted(stay, key=lambda j: -prep.edges[j].value):
        e = prep.edges[j]
        if e.group in started:
            continue
        if count[e.a] < prep.cap[e.a] and count[e.b] < prep.cap[e.b]:
            start.add(j)
            count[e.a] += 1
            count[e.b] += 1
            if e.group is not None:
                started.add(e.group)
    for (j, _), v in x.items():
        model.add_hint(v, j in start)

    # goal 1: keep as many meetings as they are
    limit = opts.time_limit
    model.maximize(sum(kept.values()))
    solver = _new_solver(opts, max(0.5, 0.3 * limit))
    status1 = solver.solve(model) if kept else cp_model.OPTIMAL
    if kept and _solved(status1):
        keep_set = {j for j, v in kept.items() if solver.boolean_value(v)}
    else:
        keep_set = start
    proven = status1 == cp_model.OPTIMAL

    # goal 2, with goal 1's count fixed: value, then fairness, then touching few others
    if kept:
        model.add(sum(kept.values()) >= len(keep_set))
    model.clear_hints()
    for (j, i), v in x.items():
        model.add_hint(v, j in keep_set and (j not in stay or pos[stay[j].slot] == i))
    cover = []
    if opts.fairness_weight > 0:
        for person, lits in deg.items():
            if prep.need[person] > 0:
                y = model.new_int_var(0, prep.need[person], f"y{person}")
                model.add(y <= sum(lits))
                cover.append(y)
    touched = [
        used[j] * sum(1 for p in (prep.edges[j].a, prep.edges[j].b) if p not in freed)
        for j in used
        if j not in stay and j not in moving
    ]
    model.maximize(
        sum(round(prep.edges[j].value * _SCALE) * u for j, u in used.items())
        + round(opts.fairness_weight * _SCALE) * sum(cover)
        - sum(touched)
    )
    remaining = limit - (time.perf_counter() - t0)
    solver = _new_solver(opts, max(0.5, remaining))
    status2 = solver.solve(model) if x else cp_model.OPTIMAL
    placed: dict[int, int]
    if x and _solved(status2):
        placed = {j: i for (j, i), v in x.items() if solver.boolean_value(v)}
    else:
        placed = {j: pos[stay[j].slot] for j in keep_set}
        proven = proven and not x
    proven = proven and status2 == cp_model.OPTIMAL

    meetings = list(prep.locked)
    taken: dict[int, set[int]] = defaultdict(set)
    for j, i in placed.items():
        if j in stay and pos[stay[j].slot] == i:
            meetings.append(stay[j])
            taken[i].add(stay[j].table)
    for j, i in sorted(placed.items(), key=lambda ji: (ji[1], prep.edges[ji[0]].a)):
        if j in stay and pos[stay[j].slot] == i:
            continue
        e = prep.edges[j]
        table = next(t for t in prep.free_tables[i] if t not in taken[i])
        taken[i].add(table)
        meetings.append(Meeting.of(e.a, e.b, prep.slot_ids[i], table))
    result = tuple(sorted(meetings))
    diff = changes(previous.meetings, result)
    # the value-only bound of the re-scheduling instance without the minimal-change rules: the
    # report's gap is then what keeping the agendas costs, at most
    locked_value = sum(prep.values.get(m.pair, (0.0, "recommended"))[0] for m in prep.locked)
    bound = locked_value
    if prep.edges:
        left = limit - (time.perf_counter() - t0)
        bound += _bmatching(prep, fairness=0.0, time_limit=max(0.5, min(2.0, left)))[1]
    return Schedule(
        meetings=result,
        status="optimal" if proven and result else ("empty" if not result else "feasible"),
        upper_bound=bound,
        solve_seconds=time.perf_counter() - t0,
        stats={
            "kept": float(len(diff.kept)),
            "moved": float(len(diff.moved)),
            "removed": float(len(diff.removed)),
            "added": float(len(diff.added)),
            "candidate_pairs": float(len(prep.edges)),
            "variables": float(len(x)),
        },
    )
