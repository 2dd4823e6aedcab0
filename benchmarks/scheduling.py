"""Meeting-scheduler benchmark: decomposed solver against the value-ordered greedy schedule.

    python -m benchmarks.scheduling [--runs 3] [--time-limit 25] [--large-runs 3]
        [--large-time-limit 55] [--small 3] [--no-write]

A seeded generator builds a brokerage event like the ones cluster managers run: 300 participants
from about 220 organisations, 16 slots, 80 tables, at most 8 and at least 3 meetings each,
accepted requests, must-meet / would-like / not-interested preferences, engine-like scores for the
recommended pairs, and some unavailable slots. The same generator builds the scarce-table event
(300 / 16 / 40) and the large one (1,000 participants from about 730 organisations, 20 slots, 150
tables). Each run uses its own seed; the tables quote medians. The default time limit is the
scheduler's one default (`DEFAULT_TIME_LIMIT`, as in the API and the command line). A small
instance is also solved to proven optimality by the exact time-indexed model. Results go to
benchmarks/results/scheduling.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matching.scheduling import (
    DEFAULT_TIME_LIMIT,
    CandidatePair,
    Instance,
    Options,
    PairKind,
    Participant,
    ScheduleReport,
    greedy,
    report,
    solve,
    solve_exact,
    validate,
)

RESULTS = Path(__file__).resolve().parent / "results" / "scheduling.md"


def make_instance(
    seed: int,
    *,
    n_people: int = 300,
    n_orgs: int = 220,
    n_slots: int = 16,
    n_tables: int = 80,
    recommended_per_person: int = 20,
    max_meetings: int = 8,
    min_meetings: int = 3,
    options: Options | None = None,
) -> Instance:
    """A random event; scores mimic the engine's (most pairs mediocre, a long good tail).

    Demand is skewed: a person-level attractiveness makes a few people popular and leaves others
    with few requests, which is what makes greedy schedules unfair.
    """
    rng = np.random.default_rng(seed)
    org = np.concatenate([np.arange(n_orgs), rng.integers(0, n_orgs, n_people - n_orgs)])
    rng.shuffle(org)
    dim = 12
    u = rng.normal(size=(n_people, dim))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    quality = rng.normal(0.0, 0.07, n_people)
    score = 0.38 + 0.28 * (u @ u.T) + quality[None, :] + quality[:, None]
    score += rng.normal(0.0, 0.05, score.shape)
    score = np.clip((score + score.T) / 2, 0.01, 0.99)
    same_org = org[:, None] == org[None, :]
    score[same_org] = 0.0
    attract = rng.lognormal(0.0, 0.8, n_people)

    slots = list(range(n_slots))
    participants = []
    for p in range(n_people):
        unavailable: set[int] = set()
        r = rng.random()
        if r < 0.12:  # arrives late
            unavailable.update(range(int(rng.integers(1, 5))))
        elif r < 0.24:  # leaves early
            unavailable.update(range(n_slots - int(rng.integers(1, 5)), n_slots))
        if rng.random() < 0.15:
            unavailable.add(int(rng.integers(0, n_slots)))
        participants.append(
            Participant(
                person=p,
                organisation=int(org[p]),
                unavailable=frozenset(unavailable),
                max_meetings=max_meetings,
                min_meetings=min_meetings,
            )
        )

    pairs: list[CandidatePair] = []

    def pick(p: int, k: int) -> list[int]:
        w = np.exp(6.0 * score[p]) * attract
        w[p] = 0.0
        w[same_org[p]] = 0.0
        k = min(k, int(np.count_nonzero(w)))
        return [int(q) for q in rng.choice(n_people, size=k, replace=False, p=w / w.sum())]

    def add(p: int, q: int, kind: PairKind) -> None:
        pairs.append(CandidatePair(p, q, float(round(score[p, q], 4)), kind))

    forbidden: list[tuple[int, int]] = []
    for p in range(n_people):
        for q in np.argsort(-score[p])[:recommended_per_person]:
            if q != p and not same_org[p, q]:
                add(p, int(q), "recommended")
        for q in pick(p, int(rng.poisson(2.5))):
            if rng.random() < 0.6:
                add(p, q, "accepted_request")
        for q in pick(p, int(rng.poisson(0.7))):
            add(p, q, "must_meet")
        for q in pick(p, int(rng.poisson(1.5))):
            add(p, q, "would_like")
        for _ in range(int(rng.poisson(1.0))):
            q = int(rng.integers(0, n_people))
            if q != p:
                forbidden.append((p, q))
    return Instance(
        slots=slots,
        tables=n_tables,
        participants=participants,
        pairs=pairs,
        forbidden=forbidden,
        options=options or Options(),
    )


def _row(name: str, rep: ScheduleReport, n_violations: int, bound: float) -> dict[str, float]:
    return {
        "seconds": rep.solve_seconds,
        "meetings": rep.meetings,
        "value": rep.total_value,
        "pct_bound": 100.0 * rep.total_value / bound,
        "below_min": len(rep.below_minimum),
        "zero": len(rep.with_zero),
        "idle_mean": rep.idle_mean,
        "idle_total": rep.idle_total,
        "violations": n_violations,
        "pct_fair_bound": 100.0 * rep.total_value / rep.fair_upper_bound
        if rep.fair_upper_bound
        else float("nan"),
        "dropped": len(rep.dropped),
        "accepted": rep.satisfied["accepted_request"],
        "must_meet": rep.satisfied["must_meet"],
        "would_like": rep.satisfied["would_like"],
    }


@dataclass(frozen=True)
class Size:
    """The shape of a generated event."""

    name: str
    n_people: int
    n_orgs: int
    n_slots: int
    n_tables: int
    wall_goal: float
    # with scarce tables everybody's minimum costs value: the value goal then applies to the
    # bound that respects it
    fair_goal: bool = False


STANDARD = Size("standard", 300, 220, 16, 80, 30.0)
SCARCE = Size("scarce tables", 300, 220, 16, 40, 30.0, fair_goal=True)
LARGE = Size("large", 1000, 733, 20, 150, 60.0)


def run_large(
    seed: int, time_limit: float, size: Size = STANDARD
) -> tuple[dict[str, float], dict[str, float], dict]:
    """One large instance: solver and greedy rows plus instance facts."""
    inst = make_instance(
        seed,
        n_people=size.n_people,
        n_orgs=size.n_orgs,
        n_slots=size.n_slots,
        n_tables=size.n_tables,
        options=Options(time_limit=time_limit, seed=seed),
    )
    t0 = time.perf_counter()
    sched = solve(inst)
    wall = time.perf_counter() - t0
    base = greedy(inst)
    bound = float(sched.upper_bound or 0.0)
    rs, rg = report(inst, sched), report(inst, base)
    solver_row = _row("solver", rs, len(validate(inst, sched)), bound)
    solver_row["seconds"] = wall
    greedy_row = _row("greedy", rg, len(validate(inst, base)), bound)
    # greedy has no bound of its own: measure it against the solver's
    greedy_row["pct_fair_bound"] = (
        100.0 * rg.total_value / rs.fair_upper_bound if rs.fair_upper_bound else float("nan")
    )
    solver_row["idle_ratio"] = rs.idle_mean / rg.idle_mean
    greedy_row["idle_ratio"] = 1.0
    facts = {
        "candidate_pairs": sched.stats.get("candidate_pairs", 0.0),
        "selected_pairs": sched.stats.get("selected_pairs", 0.0),
        "stage1_seconds": sched.stats.get("stage1_seconds", 0.0),
        "stage2_seconds": sched.stats.get("stage2_seconds", 0.0),
        "idle_optimal": sched.stats.get("idle_optimal", 0.0),
        "bound": bound,
        "fair_bound": rs.fair_upper_bound or 0.0,
        "requested": rs.requested,
        "status": sched.status,
    }
    return solver_row, greedy_row, facts


def small_instance(seed: int) -> Instance:
    """Tight small event: few tables, so slots and tables bind, not only the pairs."""
    return make_instance(
        seed,
        n_people=12,
        n_orgs=10,
        n_slots=5,
        n_tables=3,
        recommended_per_person=5,
        max_meetings=4,
        min_meetings=2,
        options=Options(time_limit=60.0, seed=seed),
    )


def run_small(seed: int) -> dict[str, float]:
    inst = small_instance(seed)
    dec = solve(inst)
    exact = solve_exact(inst)
    rd, re_ = report(inst, dec), report(inst, exact)
    return {
        "seed": seed,
        "decomposed_value": rd.total_value,
        "exact_value": re_.total_value,
        "decomposed_below": len(rd.below_minimum),
        "exact_below": len(re_.below_minimum),
        "decomposed_idle": rd.idle_total,
        "exact_idle": re_.idle_total,
        "decomposed_meetings": rd.meetings,
        "exact_meetings": re_.meetings,
        "exact_status": 1.0 if exact.status == "optimal" else 0.0,
        "exact_seconds": exact.solve_seconds,
        "decomposed_seconds": dec.solve_seconds,
        "violations": len(validate(inst, dec)) + len(validate(inst, exact)),
        "bound": float(dec.upper_bound or 0.0),
    }


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _med(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


Runs = tuple[list[dict[str, float]], list[dict[str, float]], list[dict]]


def _section(size: Size, runs: Runs, time_limit: float) -> list[str]:
    """The results of one event size: medians, then one line per run."""
    solver_rows, greedy_rows, facts = runs
    lines = [
        f"## {size.name.capitalize()}: {size.n_people} / {size.n_slots} / {size.n_tables}",
        "",
        f"{size.n_people} participants from {size.n_orgs} organisations, {size.n_slots} slots, "
        f"{size.n_tables} tables, max 8 / min 3 meetings, solver time limit {time_limit:g} s; "
        f"medians over {len(solver_rows)} runs (seeds "
        f"{', '.join(str(i) for i in range(len(solver_rows)))}).",
        "",
        "| | solver | greedy | goal |",
        "|---|---|---|---|",
    ]
    spec = [
        ("wall time (s)", "seconds", "{:.1f}", f"<= {size.wall_goal:g}"),
        ("meetings", "meetings", "{:.0f}", ""),
        ("total value", "value", "{:.1f}", ""),
        ("% of value bound", "pct_bound", "{:.2f}", "" if size.fair_goal else ">= 99.5"),
        (
            "% of bound with everybody's minimum",
            "pct_fair_bound",
            "{:.2f}",
            ">= 99.5" if size.fair_goal else "",
        ),
        ("below minimum 3", "below_min", "{:.0f}", "0 where possible"),
        ("with zero meetings", "zero", "{:.0f}", ""),
        ("idle slots per person (mean)", "idle_mean", "{:.2f}", "<= greedy / 4"),
        ("idle mean / greedy's", "idle_ratio", "{:.3f}", "<= 0.25"),
        ("idle slots (total)", "idle_total", "{:.0f}", ""),
        ("accepted requests met", "accepted", "{:.0f}", ""),
        ("must-meet met", "must_meet", "{:.0f}", ""),
        ("would-like met", "would_like", "{:.0f}", ""),
        ("pairs dropped in stage 2", "dropped", "{:.0f}", ""),
        ("validator violations", "violations", "{:.0f}", "0"),
    ]
    for label, key, fmt, goal in spec:
        lines.append(
            f"| {label} | {fmt.format(_med(solver_rows, key))} | "
            f"{fmt.format(_med(greedy_rows, key))} | {goal} |"
        )
    lines += ["", "Per run:", ""]
    lines.append(
        "| seed | candidate pairs | meetings (solver / greedy) | value bound | bound with "
        "minimums | % bound (solver / greedy) | below min (solver / greedy) | idle mean "
        "(solver / greedy) | wall s | stage 1 s | stage 2 s |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for i, (sr, g, f) in enumerate(zip(solver_rows, greedy_rows, facts, strict=True)):
        lines.append(
            f"| {i} | {f['candidate_pairs']:.0f} | {sr['meetings']:.0f} / {g['meetings']:.0f} | "
            f"{f['bound']:.1f} | {f['fair_bound']:.1f} | "
            f"{sr['pct_bound']:.2f} / {g['pct_bound']:.2f} | "
            f"{sr['below_min']:.0f} / {g['below_min']:.0f} | "
            f"{sr['idle_mean']:.2f} / {g['idle_mean']:.2f} | {sr['seconds']:.1f} | "
            f"{f['stage1_seconds']:.1f} | {f['stage2_seconds']:.1f} |"
        )
    return [*lines, ""]


def render(
    sections: list[tuple[Size, Runs, float]],
    small: list[dict[str, float]],
) -> str:
    """The markdown results page."""
    lines = [
        "# Meeting scheduler benchmark",
        "",
        f"Run {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} on "
        f"`{_cpu_model()}` ({os.cpu_count()} cores, shared), `python -m benchmarks.scheduling`.",
        "",
        "Generated events, each run with its own seed; value = tier bonus + score. The value "
        "bound is the stage-1 value-only b-matching optimum (or its LP relaxation when the MILP "
        "runs out of time), an upper bound on every schedule's value. The bound with everybody's "
        "minimum is the fair b-matching's bound minus the fairness reward of the solver's "
        "schedule: no schedule that brings as many people to their minimum (everybody, when "
        "nobody is below it) has more value. Greedy has no bound of its own and is measured "
        "against the solver's; where it leaves people below their minimum, its value may exceed "
        "the bound with everybody's minimum (over 100%), which binds only schedules at least as "
        "fair. Wall time is the solve alone (building the instance excluded).",
        "",
        "Default options: fairness weight 10 (a meeting toward someone's minimum outweighs any "
        "pair's value), and when the best pairs would fill more than 85% of the tables the "
        "solver may give up at most 0.4% of the bound (`value_slack`), never fairness, to leave "
        "the least valuable pairs out: the free tables are what lets stage 2 pack meetings "
        "without idle gaps. Idle slots are the slots between a person's first and last meeting "
        "in which they are available and have no meeting. Stage 2's annealer is time-limited and "
        "the machine is shared, so idle numbers move by a few percent between runs.",
        "",
    ]
    for size, runs, time_limit in sections:
        lines += _section(size, runs, time_limit)
    lines += [
        "## Small instance against the exact model",
        "",
        "12 participants from 10 organisations, 5 slots, 3 tables, max 4 / min 2 (tables bind). "
        "The exact time-indexed CP-SAT model maximises value + fairness reward - 0.001 x idle "
        "slots over all schedules at once; `solve` gets there in two stages.",
        "",
        "| seed | exact value | decomposed value | below min (exact / dec.) | idle total "
        "(exact / dec.) | meetings (exact / dec.) | exact proven optimal | exact s | dec. s "
        "| violations |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in small:
        lines.append(
            f"| {r['seed']:.0f} | {r['exact_value']:.3f} | {r['decomposed_value']:.3f} | "
            f"{r['exact_below']:.0f} / {r['decomposed_below']:.0f} | "
            f"{r['exact_idle']:.0f} / {r['decomposed_idle']:.0f} | "
            f"{r['exact_meetings']:.0f} / {r['decomposed_meetings']:.0f} | "
            f"{'yes' if r['exact_status'] else 'no'} | {r['exact_seconds']:.2f} | "
            f"{r['decomposed_seconds']:.2f} | {r['violations']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def _runs(size: Size, n: int, time_limit: float) -> Runs:
    solver_rows, greedy_rows, facts = [], [], []
    for seed in range(n):
        sr, g, f = run_large(seed, time_limit, size)
        solver_rows.append(sr)
        greedy_rows.append(g)
        facts.append(f)
        print(f"{size.name} seed {seed}: solver {sr} | greedy {g} | {f}", flush=True)
    return solver_rows, greedy_rows, facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="runs of the 300-person events")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT)
    parser.add_argument("--large-runs", type=int, default=3, help="runs of the 1,000-person event")
    parser.add_argument("--large-time-limit", type=float, default=55.0)
    parser.add_argument("--small", type=int, default=3, help="small exact instances")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sections: list[tuple[Size, Runs, float]] = []
    for size, n, limit in (
        (STANDARD, args.runs, args.time_limit),
        (SCARCE, args.runs, args.time_limit),
        (LARGE, args.large_runs, args.large_time_limit),
    ):
        if n > 0:
            sections.append((size, _runs(size, n, limit), limit))
    small = [run_small(seed) for seed in range(args.small)]
    text = render(sections, small)
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
