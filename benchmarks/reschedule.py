"""Re-scheduling benchmark: minimal-change ``reschedule`` against solving the rest again.

    python -m benchmarks.reschedule [--seeds 3] [--time-limit 10] [--no-write]

For each seeded event (the generator of ``benchmarks.scheduling``), the schedule is solved, then
the person with the most meetings in the second half does not show up, and the second half is
planned again twice: by ``reschedule`` (keep every meeting that can stay, then value) and, as the
baseline, by ``solve`` on the same re-scheduling instance (what re-scheduling did before: the
whole rest re-optimised). Counted: unaffected future meetings (not involving the no-show) that
moved or went, agendas that changed, the value of the new schedule, people below the minimum.
Results go to benchmarks/results/reschedule.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from pathlib import Path

from benchmarks.scheduling import _cpu_model, make_instance
from matching.scheduling import (
    Instance,
    Options,
    Schedule,
    changes,
    report,
    reschedule,
    rescheduling_instance,
    solve,
    validate,
)

RESULTS = Path(__file__).resolve().parent / "results" / "reschedule.md"

# people, organisations, slots, tables, recommended partners per person
SIZES: dict[str, tuple[int, int, int, int, int]] = {
    # a 30-person test event like the one in which one no-show changed 29 of 30 agendas
    "30 people / 10 slots / 15 tables": (30, 24, 10, 15, 12),
    "300 people / 16 slots / 80 tables": (300, 220, 16, 80, 20),
}


def one_run(size: str, seed: int, time_limit: float) -> dict[str, dict[str, float]]:
    n_people, n_orgs, n_slots, n_tables, recommended = SIZES[size]
    inst: Instance = make_instance(
        seed,
        n_people=n_people,
        n_orgs=n_orgs,
        n_slots=n_slots,
        n_tables=n_tables,
        recommended_per_person=recommended,
        options=Options(time_limit=time_limit),
    )
    first = solve(inst)
    assert validate(inst, first) == []
    cut = len(inst.slots) // 2
    from_slot = inst.slots[cut]
    future = [m for m in first.meetings if m.slot >= from_slot]
    load: dict[int, int] = {}
    for m in future:
        for p in (m.a, m.b):
            load[p] = load.get(p, 0) + 1
    no_show = max(sorted(load), key=lambda p: load[p])
    unaffected = [m for m in future if no_show not in (m.a, m.b)]
    derived = rescheduling_instance(inst, first, from_slot=from_slot, no_shows={no_show})
    out: dict[str, dict[str, float]] = {}
    for name, run in (
        ("reschedule", lambda: reschedule(inst, first, from_slot=from_slot, no_shows={no_show})),
        ("solve again", lambda: solve(derived)),
    ):
        t0 = time.perf_counter()
        after: Schedule = run()
        seconds = time.perf_counter() - t0
        violations = len(validate(derived, after))
        diff = changes(first.meetings, after.meetings)
        kept = set(after.meetings)
        rep = report(derived, after)
        out[name] = {
            "people": float(len(inst.participants)),
            "future meetings": float(len(future)),
            "lost with the no-show": float(load[no_show]),
            "unaffected future meetings": float(len(unaffected)),
            "unaffected moved or gone": float(sum(1 for m in unaffected if m not in kept)),
            "agendas changed": float(len(diff.affected)),
            "meetings added": float(len(diff.added)),
            "total value": rep.total_value,
            "below minimum": float(len(rep.below_minimum)),
            "validator violations": float(violations),
            "seconds": seconds,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    lines = [
        "# Re-scheduling benchmark",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on `{_cpu_model()}` "
        f"({os.cpu_count()} cores, shared), `python -m benchmarks.reschedule --seeds {args.seeds} "
        f"--time-limit {args.time_limit:g}`.",
        "",
        "Events from the generator of `benchmarks.scheduling` (seeds "
        + ", ".join(str(s) for s in range(args.seeds))
        + "), solved; then the person with the most meetings from the middle slot on does not "
        "show up and the rest of the day is planned again, by `reschedule` (minimal change first, "
        "then value) and by `solve` on the same re-scheduling instance (the rest re-optimised, "
        f"what re-scheduling did before). Time limit {args.time_limit:g} s for each solve. "
        'Medians over the seeds; "agendas changed" counts people with a removed, moved or '
        "added meeting, the no-show included.",
        "",
    ]
    for size in SIZES:
        runs = [one_run(size, seed, args.time_limit) for seed in range(args.seeds)]
        keys = list(runs[0]["reschedule"])
        lines += [f"## {size}", "", "| | reschedule | solve again |", "|---|---|---|"]
        for k in keys:
            a = statistics.median(r["reschedule"][k] for r in runs)
            b = statistics.median(r["solve again"][k] for r in runs)
            fmt = "{:.1f}" if k in ("total value", "seconds") else "{:g}"
            lines.append(f"| {k} | {fmt.format(a)} | {fmt.format(b)} |")
        lines += ["", "Per seed (reschedule / solve again):", ""]
        lines += [
            "| seed | unaffected moved or gone | agendas changed | total value | below min |",
            "|---|---|---|---|---|",
        ]
        for seed, r in enumerate(runs):
            ours, base = r["reschedule"], r["solve again"]
            lines.append(
                f"| {seed} | {ours['unaffected moved or gone']:g} of "
                f"{ours['unaffected future meetings']:g} / {base['unaffected moved or gone']:g} | "
                f"{ours['agendas changed']:g} / {base['agendas changed']:g} of {ours['people']:g} | "
                f"{ours['total value']:.1f} / {base['total value']:.1f} | "
                f"{ours['below minimum']:g} / {base['below minimum']:g} |"
            )
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
