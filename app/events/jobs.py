"""Schedule computations in the background: a solve or re-schedule outside the page request.

A page request only records a run (state ``queued``) and, after its commit, hands the run's
id to the process's runner; a worker thread does the rest in three short transactions, so no
transaction stays open while the solver works (on SQLite that would hold the one write lock
for up to the time limit, and every page that writes would wait):

1. read the event and build the scheduling instance (a read transaction);
2. solve it, outside any transaction (the run's ``phase`` and ``solving_since`` are stored
   first, so pages show the solve time used against its limit);
3. take the event's lock, build the instance again and, only if it is the same as the one
   solved (nobody changed people, requests, slots or locks meanwhile), validate and store the
   schedule and mark the run ``done`` in the same transaction. Otherwise the run fails with a
   problem that says so; nothing of it is stored.

A failed run stores its problem (the detail of the service's error) as its English text and
as the template and values a page translates. One run per event is
queued or running at a time. The runner runs one computation at a time (the solver uses both
cores); further runs wait in its queue.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.embeddings import Encoder
from app.errors import AppError, Conflict, Invalid, NotFound
from app.events import repository as repo
from app.events import service
from app.events.reasons import reason as solver_reason
from app.events.schemas import RescheduleRequest, ScheduleRequest
from app.i18n import N_, Message
from app.matches.index import IndexCache
from app.models.base import utcnow
from app.models.event import Event, ScheduledMeeting
from app.models.schedule_run import ScheduleRun
from app.models.user import User
from app.session_hooks import audit
from matching.scheduling import (
    Instance,
    InvalidInstance,
    Meeting,
    Schedule,
    reschedule,
    solve,
)

log = logging.getLogger("koopmatch")

KINDS = ("schedule", "reschedule")
ACTIVE = ("queued", "running")
# a run still queued or running this long after it should have ended was lost with its process
LOST_AFTER = dt.timedelta(minutes=3)
# what a worker writes besides the schedule: the phases a page shows
PHASES = ("queued", "reading", "solving", "storing", "done", "failed")


# ---------------------------------------------------------------- runs as the pages see them


@dataclass(frozen=True)
class Progress:
    """How far a run is: ``fraction`` of the solve's time limit used (1.0 once finished)."""

    state: str
    phase: str
    fraction: float
    elapsed: float
    time_limit: float
    # a failed run's problem: a message, the text of a run stored before messages were kept,
    # or "interrupted"
    problem: Message | str | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def lost(run: ScheduleRun, now: dt.datetime | None = None) -> bool:
    """Whether an unfinished run outlived any solve it could be doing (its process ended)."""
    if run.state not in ACTIVE:
        return False
    since = run.started_at or run.created_at
    limit = dt.timedelta(seconds=run.time_limit) + LOST_AFTER
    return (now or utcnow()) - since > limit


def progress(run: ScheduleRun, now: dt.datetime | None = None) -> Progress:
    now = now or utcnow()
    if lost(run, now):
        return Progress("failed", "failed", 1.0, 0.0, run.time_limit, "interrupted")
    if run.state in ("done", "failed"):
        return Progress(run.state, run.state, 1.0, 0.0, run.time_limit, problem(run))
    elapsed = (now - run.solving_since).total_seconds() if run.solving_since else 0.0
    fraction = {"queued": 0.0, "reading": 0.02}.get(run.phase)
    if fraction is None:
        fraction = 0.98 if run.phase == "storing" else min(0.95, elapsed / run.time_limit)
    return Progress(run.state, run.phase, max(0.0, fraction), elapsed, run.time_limit, None)


def latest_run(session: Session, *, event: Event, kind: str | None = None) -> ScheduleRun | None:
    query = select(ScheduleRun).where(ScheduleRun.event_id == event.id)
    if kind is not None:
        query = query.where(ScheduleRun.kind == kind)
    return session.scalars(
        query.order_by(ScheduleRun.created_at.desc(), ScheduleRun.id.desc()).limit(1)
    ).first()


def get_run(session: Session, *, event: Event, run_id: int) -> ScheduleRun:
    run = session.get(ScheduleRun, run_id)
    if run is None or run.event_id != event.id:
        raise NotFound(
            N_("No schedule run %(id)s in event %(event_id)s."),
            values={"id": run_id, "event_id": event.id},
        )
    return run


def start_run(
    session: Session,
    *,
    event: Event,
    kind: str,
    options: ScheduleRequest | RescheduleRequest,
    user: User | None,
) -> ScheduleRun:
    """Record a queued run (the caller commits, then hands its id to the runner).

    The checks a solve would fail at once are made here, so the page can say so at once.
    """
    if kind not in KINDS:
        raise Invalid(N_("No run kind %(kind)r."), values={"kind": kind})
    if kind == "reschedule" and not isinstance(options, RescheduleRequest):
        raise Invalid(N_("A re-schedule needs the slot to start from."))
    if isinstance(options, RescheduleRequest) and options.no_show_person_ids:
        # marks are stored before the run (the page's no-show button), so the run reads them
        raise Invalid(N_("Mark no-shows first; the run reads the stored marks."))
    service.lock_event(session, event=event)
    active = session.scalars(
        select(ScheduleRun).where(ScheduleRun.event_id == event.id, ScheduleRun.state.in_(ACTIVE))
    ).all()
    if any(not lost(r) for r in active):
        raise Conflict(
            N_("A schedule of event %(event_id)s is being computed; wait for it."),
            values={"event_id": event.id},
        )
    for old in active:
        _fail(old, "interrupted")
    if not repo.slots(session, event.id):
        raise Conflict(N_("The event has no slots; generate them first."))
    if not repo.tables(session, event.id):
        raise Conflict(N_("The event has no tables; set them first."))
    existing = repo.schedule(session, event.id)
    if kind == "schedule" and existing is not None and existing.status == "published":
        raise Conflict(
            N_("The schedule is published; use reschedule to change it during the event.")
        )
    if kind == "reschedule" and existing is None:
        raise Conflict(N_("The event has no schedule yet; solve it first."))
    run = ScheduleRun(
        event_id=event.id,
        kind=kind,
        state="queued",
        phase="queued",
        time_limit=options.time_limit,
        options=options.model_dump(mode="json"),
        requested_by_user_id=user.id if user is not None and user.id is not None else None,
    )
    session.add(run)
    session.flush()
    return run


def problem(run: ScheduleRun) -> Message | str | None:
    """A run's problem as a message a page translates; the stored text when the run was
    stored without one."""
    if run.problem_message is not None:
        return Message.load(run.problem_message)
    return run.problem


def _fail(run: ScheduleRun, problem: Message | str) -> None:
    run.state = "failed"
    run.phase = "failed"
    run.problem = str(problem)[:2000]
    run.problem_message = problem.dump() if isinstance(problem, Message) else None
    run.finished_at = utcnow()


# ---------------------------------------------------------------- the computation


class EventChanged(Conflict):
    """The event changed while its schedule was computed; nothing was stored."""


@dataclass
class Prepared:
    """What a run solves, and what it needs to store the answer."""

    instance: Instance
    stored: list[ScheduledMeeting]
    status: str  # the stored schedule's status afterwards (draft, or published stays)
    # a re-schedule: the whole event and its stored schedule, which minimal-change re-planning
    # (matching.scheduling.reschedule) starts from; None for a fresh solve
    built: service.EventInstance | None = None
    previous: Schedule | None = None
    from_slot_id: int | None = None


def prepare(
    session: Session,
    *,
    event: Event,
    kind: str,
    options: ScheduleRequest | RescheduleRequest,
    cache: IndexCache,
    encoder: Encoder | None,
) -> Prepared:
    """The instance a run solves, built by the service's rules from the stored event."""
    existing = repo.schedule(session, event.id)
    if kind == "schedule":
        if existing is not None and existing.status == "published":
            raise Conflict(
                N_("The schedule is published; use reschedule to change it during the event.")
            )
        built = service.build_instance(
            session,
            event=event,
            options=options,
            cache=cache,
            encoder=encoder,
            no_show_everywhere=True,
        )
        return Prepared(built.instance, built.stored, "draft")
    assert isinstance(options, RescheduleRequest)
    if existing is None:
        raise Conflict(N_("The event has no schedule yet; solve it first."))
    if options.from_slot_id not in {s.id for s in repo.slots(session, event.id)}:
        raise Invalid(
            N_("%(field)s: %(message)s"),
            values={
                "field": "from_slot_id",
                "message": Message(N_("no slot %(id)s in this event"), id=options.from_slot_id),
            },
        )
    built, previous, instance = service.rescheduling_problem(
        session, event=event, options=options, cache=cache, encoder=encoder
    )
    return Prepared(instance, built.stored, existing.status, built, previous, options.from_slot_id)


Key = tuple[int, int]  # a meeting's pair of people


def changes(before: list[Meeting], after: list[Meeting]) -> dict[str, Any]:
    """What a computation changed: meetings kept, moved (other slot or table), cancelled,
    added, and the people of the changed meetings (the pairs' people; the caller widens them
    to everyone whose agenda shows the meetings, ``service.agenda_holders``)."""
    old = {m.pair: m for m in before}
    new = {m.pair: m for m in after}
    kept = [
        p for p in old if p in new and (old[p].slot, old[p].table) == (new[p].slot, new[p].table)
    ]
    moved = [p for p in old if p in new and p not in kept]
    cancelled = [p for p in old if p not in new]
    added = [p for p in new if p not in old]
    people = sorted({x for p in (*moved, *cancelled, *added) for x in p})

    def item(pair: Key, m: Meeting | None, n: Meeting | None) -> dict[str, Any]:
        return {
            "a": pair[0],
            "b": pair[1],
            "from": None if m is None else {"slot": m.slot, "table": m.table},
            "to": None if n is None else {"slot": n.slot, "table": n.table},
        }

    return {
        "kept": len(kept),
        "moved": [item(p, old[p], new[p]) for p in sorted(moved)],
        "cancelled": [item(p, old[p], None) for p in sorted(cancelled)],
        "added": [item(p, None, new[p]) for p in sorted(added)],
        "agendas_changed": people,
    }


def _options(run: ScheduleRun) -> ScheduleRequest | RescheduleRequest:
    if run.kind == "reschedule":
        return RescheduleRequest.model_validate(run.options)
    return ScheduleRequest.model_validate(run.options)


class ScheduleRunner:
    """Runs queued computations one at a time in a worker thread of this process.

    ``reader`` and ``writer`` make sessions (the writer's take SQLite's write lock when they
    begin); ``solver`` is the scheduling function (tests may pass a slower or failing one).
    """

    def __init__(
        self,
        *,
        reader: Callable[[], Session],
        writer: Callable[[], Session],
        cache: IndexCache,
        encoder: Encoder | None,
        solver: Callable[[Instance], Schedule] = solve,
        rescheduler: Callable[..., Schedule] = reschedule,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.cache = cache
        self.encoder = encoder
        self.solver = solver
        self.rescheduler = rescheduler
        self._executor: ThreadPoolExecutor | None = None

    def _solve(self, prepared: Prepared) -> Schedule:
        """A fresh solve, or for a re-schedule the minimal-change re-planning of the stored
        schedule: unaffected later meetings keep their slot and table."""
        if prepared.built is None or prepared.previous is None:
            return self.solver(prepared.instance)
        return self.rescheduler(
            prepared.built.instance,
            prepared.previous,
            from_slot=prepared.from_slot_id,
            no_shows=prepared.built.no_shows,
        )

    def start(self, run_id: int) -> Future[None]:
        """Queue the run (already committed) for the worker thread."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="schedule-run")
        return self._executor.submit(self.run, run_id)

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _step(self, run_id: int, change: Callable[[ScheduleRun], None]) -> ScheduleRun | None:
        """One short write transaction on the run row."""
        with self.writer() as session, session.begin():
            run = session.get(ScheduleRun, run_id)
            if run is None:
                return None
            change(run)
            session.flush()
            session.expunge(run)
            return run

    def run(self, run_id: int) -> None:
        """The whole computation of one run; never raises (failures are stored on the run)."""
        try:
            self._run(run_id)
        except AppError as exc:
            self._record_failure(run_id, exc.message if exc.detail else Message(exc.title))
        except Exception as exc:
            log.exception("schedule run %s failed", run_id, exc_info=exc)
            self._record_failure(run_id, Message(N_("internal error; it has been logged")))

    def _record_failure(self, run_id: int, problem: Message) -> None:
        try:
            self._step(run_id, lambda r: _fail(r, problem))
        except Exception as exc:
            # the run then reads as interrupted once its time is up (see `lost`)
            log.exception("schedule run %s: its failure was not stored", run_id, exc_info=exc)

    def _run(self, run_id: int) -> None:
        def begin(run: ScheduleRun) -> None:
            if run.state != "queued":
                raise Conflict(
                    N_("Run %(id)s is %(state)s."), values={"id": run_id, "state": run.state}
                )
            run.state = "running"
            run.phase = "reading"
            run.started_at = utcnow()

        try:
            started = self._step(run_id, begin)
        except Conflict:
            return  # started elsewhere, or already finished: not this worker's run
        if started is None:
            return
        options = _options(started)
        with audit.acting(
            "system", request=f"schedule run {run_id}", user_id=started.requested_by_user_id
        ):
            with self.reader() as session:
                event = service.get_event(session, event_id=started.event_id)
                first = prepare(
                    session,
                    event=event,
                    kind=started.kind,
                    options=options,
                    cache=self.cache,
                    encoder=self.encoder,
                )
                before = [
                    Meeting.of(m.person_a_id, m.person_b_id, m.slot_id, m.table_id)
                    for m in first.stored
                ]
                session.rollback()

            def solving(run: ScheduleRun) -> None:
                run.phase = "solving"
                run.solving_since = utcnow()

            self._step(run_id, solving)
            try:
                schedule = self._solve(first)
            except InvalidInstance as exc:
                # the engine's reason, worded as the synchronous endpoints word it
                raise Conflict(
                    N_("The event cannot be scheduled as it stands: %(reason)s")
                    if started.kind == "schedule"
                    else N_("The event cannot be rescheduled as it stands: %(reason)s"),
                    values={"reason": solver_reason(exc)},
                ) from exc
            self._step(run_id, lambda r: setattr(r, "phase", "storing"))
            with self.writer() as session, session.begin():
                event = service.get_event(session, event_id=started.event_id)
                service.lock_event(session, event=event)
                again = prepare(
                    session,
                    event=event,
                    kind=started.kind,
                    options=options,
                    cache=self.cache,
                    encoder=self.encoder,
                )
                if again.instance != first.instance:
                    raise EventChanged(
                        N_(
                            "The event changed while its schedule was computed (people, "
                            "requests, slots, tables or locks); nothing was stored. Compute it "
                            "again."
                        )
                    )

                row = service._check_and_store(
                    session,
                    event=event,
                    instance=again.instance,
                    schedule=schedule,
                    stored=again.stored,
                    status=again.status,
                )
                if again.built is not None and again.previous is not None:
                    assert again.from_slot_id is not None
                    service.record_changes(
                        session,
                        event=event,
                        row=row,
                        built=again.built,
                        previous=again.previous,
                        schedule=schedule,
                        from_slot_id=again.from_slot_id,
                    )
                run = session.get(ScheduleRun, run_id)
                assert run is not None
                run.state = "done"
                run.phase = "done"
                run.finished_at = utcnow()
                found = changes(before, list(schedule.meetings))
                found["agendas_changed"] = service.agenda_holders(
                    session, event=event, person_ids=found["agendas_changed"]
                )
                run.result = {"report": row.report, "changes": found}
