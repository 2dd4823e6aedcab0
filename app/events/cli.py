"""`koopmatch event ...`: schedule an event and print its schedule report."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.errors import AppError


def register(subparsers: Any) -> None:
    """Add the `event` command (with `schedule` and `report`) to the `koopmatch` parser."""
    event = subparsers.add_parser("event", help="matchmaking events: schedules and reports")
    sub = event.add_subparsers(dest="event_command", required=True)

    schedule = sub.add_parser(
        "schedule", help="compute a draft schedule for an event (locked meetings are kept)"
    )
    schedule.add_argument("event", type=int, help="event id")
    schedule.add_argument("--publish", action="store_true", help="publish the schedule as well")
    schedule.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="solver time limit in seconds (default: the scheduler's one default, as in the API)",
    )
    schedule.add_argument(
        "--recommendations",
        type=int,
        default=10,
        metavar="K",
        help="engine-recommended partners per participant, when the event fills free slots "
        "with recommendations (0: none)",
    )
    schedule.add_argument(
        "--no-embeddings",
        action="store_true",
        help="do not load the embedding model; schedule from requests and preferences only",
    )
    schedule.set_defaults(func=cmd_schedule)

    report = sub.add_parser("report", help="print the stored schedule's report")
    report.add_argument("event", type=int, help="event id")
    report.set_defaults(func=cmd_report)


def format_report(event_id: int, status: str, body: dict[str, Any]) -> str:
    """The schedule report as a few readable lines."""
    satisfied = body["requests_satisfied"]
    requested = body["requested"]
    kinds = ", ".join(
        f"{kind} {satisfied.get(kind, 0)}/{requested.get(kind, 0)}"
        for kind in ("accepted_request", "must_meet", "would_like", "recommended")
    )
    bound = body["upper_bound"]
    gap = body["gap"]
    lines = [
        f"event {event_id}: {status} schedule, solver status {body['solver_status']}",
        f"meetings: {body['meetings']}",
        f"pairs met / wished for: {kinds}",
        f"below the minimum: {len(body['below_minimum'])}"
        + (
            f" (person ids {', '.join(map(str, body['below_minimum']))})"
            if body["below_minimum"]
            else ""
        ),
        f"without any meeting: {len(body['without_meeting'])}",
        f"idle gaps: {body['idle_gaps_total']} in total, {body['idle_gaps_mean']:.2f} per person",
        f"total value: {body['total_value']:.3f}"
        + (f", bound {bound:.3f}" if bound is not None else "")
        + (f", gap {100 * gap:.2f}%" if gap is not None else ""),
        f"solve time: {body['solve_seconds']:.2f} s",
    ]
    # reports stored before these fields existed lack them
    if "wanted_both" in body:
        lines.append(
            f"meetings both sides asked for: {body['wanted_both']}, one side: "
            f"{body['wanted_one']}, filled in by recommendations: {body['filled_in']}"
        )
    if body.get("overridden"):
        lines.append(
            f"wishes overridden by not-interested or a declined request: {len(body['overridden'])}"
        )
    fair = body.get("fair_upper_bound")
    if fair is not None and body.get("fair_gap") is not None:
        lines.append(
            f"bound with everybody's minimum: {fair:.3f}, gap {100 * body['fair_gap']:.2f}%"
        )
    return "\n".join(lines)


def cmd_schedule(args: argparse.Namespace) -> int:
    from app.db import get_sessionmaker
    from app.events import service
    from app.events.schemas import ScheduleRequest
    from app.matches.index import IndexCache

    encoder = None
    if not args.no_embeddings and args.recommendations > 0:
        from app.embeddings import load_default_encoder

        encoder = load_default_encoder()
    if args.time_limit is not None and not 0 < args.time_limit <= 300:
        print("--time-limit must be in (0, 300] seconds", file=sys.stderr)
        return 2
    options = ScheduleRequest(recommendations_per_participant=max(0, args.recommendations))
    if args.time_limit is not None:
        options.time_limit = args.time_limit
    with get_sessionmaker()() as session:
        try:
            event = service.get_event(session, event_id=args.event)
            row = service.run_schedule(
                session, event=event, options=options, cache=IndexCache(), encoder=encoder
            )
            if args.publish:
                row = service.publish_schedule(session, event=event)
        except AppError as exc:
            session.rollback()
            print(f"event {args.event}: {exc.detail}", file=sys.stderr)
            for err in exc.errors or ():
                print(f"  {err.get('field')}: {err.get('message')}", file=sys.stderr)
            return 1
        session.commit()
        print(format_report(args.event, row.status, row.report))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from app.db import get_sessionmaker
    from app.events import service

    with get_sessionmaker()() as session:
        try:
            event = service.get_event(session, event_id=args.event)
            row = service.get_schedule(session, event=event)
        except AppError as exc:
            print(f"event {args.event}: {exc.detail}", file=sys.stderr)
            return 1
        print(format_report(args.event, row.status, row.report))
    return 0
