"""The audit log: every write through the ORM becomes AuditEntry rows in the same transaction.

Two session listeners, registered once on the Session class (so the app's sessions and any
other session in the process are covered):

- ``after_flush`` reads the flush's inserts, updates and deletes (the session still shows the
  pre-flush state and attribute history there, and inserted rows already have their ids) and
  writes one row per written row with a single executemany on the flush's connection;
- ``do_orm_execute`` covers ORM-enabled ``update()``/``delete()`` statements, which bypass the
  flush: the affected rows are read before (and, for updates, after) the statement.

Who wrote comes from a ContextVar holding a mutable AuditContext: the bearer-token dependency
creates one per API request (in the request's task, so every later step of the request sees
the same object) and fills in the user once the token is resolved; the command line marks its
writes "cli". Values of personal and secret fields are never stored, only that they changed;
binary columns (embeddings) are left out.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import LargeBinary, Table, insert, select, tuple_
from sqlalchemy.engine import Connection, Result
from sqlalchemy.orm import InstanceState, Mapper, ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.base import NO_VALUE

from app.models.audit import AuditEntry
from app.models.base import utcnow
from app.session_hooks import forget_at_end, listen_once

MASK = "<changed>"
# values never written to the log, whatever table they are in
PERSONAL = frozenset(
    {
        "contact_name",
        "contact_email",
        "contact_phone",
        "email",
        "phone",
        "password_hash",
        "token_hash",
        "message",
        "outcome_note",
        "verified_by",
        "merged_by",
        "created_by",
    }
)
# and these only in the named tables: a person's name, a merged profile's full copy
PERSONAL_BY_TABLE: dict[str, frozenset[str]] = {
    "users": frozenset({"name"}),
    # with the person's job title: together they name the person
    "event_people": frozenset({"name", "role"}),
    "organization_merges": frozenset({"snapshot"}),
    # free text their owners give API keys, often their own name
    "api_tokens": frozenset({"name"}),
}
# session.info key set per API request by app.db.get_session: the request line, for writes
# of callers without a token (login)
REQUEST_INFO = "audit_request"
_GONE_USERS = "audit_gone_users"

AUDIT_TABLE: Table = AuditEntry.__table__  # type: ignore[assignment]
# the log itself, and the NACE reference table that `koopmatch migrate` fills from a package
# login counters change with every failed login and hold no personal data (hashed keys)
UNAUDITED = frozenset({AUDIT_TABLE.name, "nace_codes", "login_attempts"})


@dataclass
class AuditContext:
    """Who writes: source "api" (with the request line), "cli" or "system"; the account."""

    source: str
    request: str | None = None
    user_id: int | None = None


_context: ContextVar[AuditContext | None] = ContextVar("koopmatch_audit_context", default=None)


def current_context() -> AuditContext | None:
    return _context.get()


def begin_request(method: str, path: str) -> AuditContext:
    """A fresh context for one API request (anonymous until `set_actor`)."""
    context = AuditContext(source="api", request=f"{method} {path}"[:500])
    _context.set(context)
    return context


def set_actor(user_id: int | None) -> None:
    """Record the account of the current request."""
    context = _context.get()
    if context is None:
        context = AuditContext(source="api")
        _context.set(context)
    context.user_id = user_id


@contextmanager
def acting(
    source: str, *, request: str | None = None, user_id: int | None = None
) -> Iterator[None]:
    """Writes inside the block are recorded with this source (e.g. "cli")."""
    token = _context.set(AuditContext(source=source, request=request, user_id=user_id))
    try:
        yield
    finally:
        _context.reset(token)


# --- what to record per table ------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    key: str  # attribute key (equal to the column name in this schema)
    name: str
    masked: bool


@dataclass(frozen=True)
class _Plan:
    table: str
    columns: tuple[_Column, ...]
    pk: str | None  # a single integer primary key, else None
    # how the organisation is found: ("self",) the row's id, ("column", name), or
    # ("via", column, parent table) through a parent row
    org: tuple[str, ...] | None


# parent tables that lead to an organisation: table -> (its org column, or a further hop)
_PARENTS: dict[str, tuple[str, str | None]] = {
    "event_participants": ("organization_id", None),
    "event_people": ("participant_id", "event_participants"),
    "users": ("organization_id", None),
    "cooperation_requests": ("from_organization_id", None),
}
_VIA: dict[str, tuple[str, str]] = {
    "event_people": ("participant_id", "event_participants"),
    "event_preferences": ("participant_id", "event_participants"),
    "meeting_requests": ("from_person_id", "event_people"),
    "event_unavailable_slots": ("person_id", "event_people"),
    "event_meetings": ("person_a_id", "event_people"),
    "api_tokens": ("user_id", "users"),
    "cooperation_request_events": ("request_id", "cooperation_requests"),
}
_ORG_COLUMN = {
    "cooperation_requests": "from_organization_id",
    "organization_merges": "kept_organization_id",
}

_plans: dict[Table, _Plan] = {}
_mappers: dict[str, Mapper[Any]] = {}


def _mapper_of(table: str) -> Mapper[Any] | None:
    if not _mappers:
        from app.models.base import Base

        _mappers.update({m.local_table.name: m for m in Base.registry.mappers})  # type: ignore[attr-defined]
    return _mappers.get(table)


def _plan(table: Table) -> _Plan:
    plan = _plans.get(table)
    if plan is not None:
        return plan
    personal = PERSONAL | PERSONAL_BY_TABLE.get(table.name, frozenset())
    columns = tuple(
        _Column(key=c.key, name=c.name, masked=c.name in personal)
        for c in table.columns
        if not isinstance(c.type, LargeBinary)
    )
    pks = list(table.primary_key.columns)
    pk = pks[0].key if len(pks) == 1 and pks[0].type.python_type is int else None
    org: tuple[str, ...] | None
    if table.name == "organizations":
        org = ("self",)
    elif table.name in _ORG_COLUMN:
        org = ("column", _ORG_COLUMN[table.name])
    elif "organization_id" in table.columns:
        org = ("column", "organization_id")
    elif table.name in _VIA:
        org = ("via", *_VIA[table.name])
    else:
        org = None
    plan = _Plan(table=table.name, columns=columns, pk=pk, org=org)
    _plans[table] = plan
    return plan


def plain(value: Any) -> Any:
    """A JSON-ready value: datetimes and dates as ISO strings, enums as their value."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _shown(column: _Column, value: Any) -> Any:
    return MASK if column.masked else plain(value)


# --- organisations of rows -----------------------------------------------------------------------


class _Organizations:
    """Finds the organisation of rows that reach it through parents, in a few batched queries.

    Parents are looked up among the objects of the flush first, then in the identity map, then
    in the database (one query per parent table); rows gone in this transaction stay unknown.
    """

    def __init__(self, session: Session, connection: Connection) -> None:
        self.session = session
        self.connection = connection
        # (parent table, id) -> the parent's link value (an org id or a further parent's id)
        self.links: dict[tuple[str, int], int | None] = {}

    def remember(self, table: str, row: Mapping[str, Any]) -> None:
        parent = _PARENTS.get(table)
        if parent is not None and row.get("id") is not None:
            self.links[(table, row["id"])] = row.get(parent[0])

    def resolve(self, pairs: Iterable[tuple[str, int]]) -> None:
        """Make sure the links of these (parent table, id) pairs and their parents are known."""
        wanted = {p for p in pairs if p not in self.links}
        while wanted:
            by_table: dict[str, set[int]] = {}
            for table, row_id in wanted:
                if not self._from_identity_map(table, row_id):
                    by_table.setdefault(table, set()).add(row_id)
            for table, ids in by_table.items():
                column = _PARENTS[table][0]
                source = AuditEntry.metadata.tables[table]
                rows = self.connection.execute(
                    select(source.c.id, source.c[column]).where(source.c.id.in_(ids))
                )
                found = {row_id: link for row_id, link in rows}
                for row_id in ids:
                    self.links[(table, row_id)] = found.get(row_id)
            # the next hop: parents of parents (people -> participants)
            nxt: set[tuple[str, int]] = set()
            for table, row_id in wanted:
                hop = _PARENTS[table][1]
                link = self.links.get((table, row_id))
                if hop is not None and link is not None and (hop, link) not in self.links:
                    nxt.add((hop, link))
            wanted = nxt

    def _from_identity_map(self, table: str, row_id: int) -> bool:
        mapper = _mapper_of(table)
        if mapper is None:
            return False
        obj = self.session.identity_map.get(mapper.identity_key_from_primary_key((row_id,)))
        if obj is None:
            return False
        value = instance_state(obj).dict.get(_PARENTS[table][0], NO_VALUE)
        if value is NO_VALUE:
            return False
        self.links[(table, row_id)] = value
        return True

    def organization_of(self, table: str, row_id: int | None) -> int | None:
        current: str | None = table
        value: int | None = row_id
        while current is not None and value is not None:
            link = self.links.get((current, value))
            hop = _PARENTS[current][1]
            if hop is None:
                return link
            current, value = hop, link
        return None


def _organization(plan: _Plan, row: Mapping[str, Any], orgs: _Organizations) -> int | None:
    if plan.org is None:
        return None
    if plan.org[0] == "self":
        return row.get("id")
    if plan.org[0] == "column":
        return row.get(plan.org[1])
    return orgs.organization_of(plan.org[2], row.get(plan.org[1]))


def _needs(plan: _Plan, row: Mapping[str, Any]) -> tuple[str, int] | None:
    if plan.org is not None and plan.org[0] == "via" and row.get(plan.org[1]) is not None:
        return (plan.org[2], row[plan.org[1]])
    return None


# --- the flush listener ------------------------------------------------------------------------


@dataclass
class _Pending:
    plan: _Plan
    action: str
    row: dict[str, Any]  # current (or, for deletes, last) column values, raw
    changes: dict[str, Any] = field(default_factory=dict)


def _values(plan: _Plan, state: InstanceState[Any]) -> dict[str, Any]:
    """The loaded column values (expired ones are missing; the id comes from the identity)."""
    data = state.dict
    row = {c.key: data[c.key] for c in plan.columns if c.key in data}
    if plan.pk is not None and row.get(plan.pk) is None and state.key is not None:
        row[plan.pk] = state.key[1][0]
    return row


_SIMPLE = frozenset({str, int, float, bool, list, dict})


def _row_changes(plan: _Plan, row: Mapping[str, Any]) -> dict[str, Any]:
    """{field: value} of the set fields; the id is the entry's entity_id."""
    # the hot path of bulk imports: one call per written row
    changes: dict[str, Any] = {}
    for column in plan.columns:
        value = row.get(column.key)
        if value is None or column.key == plan.pk:
            continue
        if column.masked:
            changes[column.name] = MASK
        elif type(value) in _SIMPLE:
            changes[column.name] = value
        else:
            changes[column.name] = plain(value)
    return changes


def _insert(plan: _Plan, state: InstanceState[Any]) -> _Pending:
    row = _values(plan, state)
    return _Pending(plan, "insert", row, _row_changes(plan, row))


def _update(plan: _Plan, state: InstanceState[Any]) -> _Pending | None:
    changes: dict[str, Any] = {}
    attrs = state.attrs
    for column in plan.columns:
        history = attrs[column.key].history
        if not history.added and not history.deleted:
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        changes[column.name] = MASK if column.masked else [plain(old), plain(new)]
    if not changes:
        return None
    return _Pending(plan, "update", _values(plan, state), changes)


def _delete(plan: _Plan, state: InstanceState[Any]) -> _Pending:
    row = _values(plan, state)
    return _Pending(plan, "delete", row, _row_changes(plan, row))


def _actor(session: Session, deleted_users: set[int]) -> tuple[str, str | None, int | None]:
    context = _context.get()
    if context is None:
        line = session.info.get(REQUEST_INFO)
        return ("api", line, None) if line is not None else ("system", None, None)
    user_id = context.user_id
    gone: set[int] = session.info.get(_GONE_USERS, set())
    # an account erased in this transaction can no longer be referenced
    if user_id is not None and (user_id in deleted_users or user_id in gone):
        user_id = None
    return context.source, context.request, user_id


def _write(session: Session, connection: Connection, pending: Sequence[_Pending]) -> None:
    if not pending:
        return
    orgs = _Organizations(session, connection)
    for item in pending:
        orgs.remember(item.plan.table, item.row)
    orgs.resolve(need for item in pending if (need := _needs(item.plan, item.row)) is not None)
    deleted_users = {
        item.row["id"]
        for item in pending
        if item.plan.table == "users" and item.action == "delete" and "id" in item.row
    }
    if deleted_users:
        session.info.setdefault(_GONE_USERS, set()).update(deleted_users)
    source, request, user_id = _actor(session, deleted_users)
    at = utcnow()
    rows = [
        {
            "at": at,
            "actor_user_id": user_id,
            "source": source,
            "request": request,
            "action": item.action,
            "entity": item.plan.table,
            "entity_id": item.row.get(item.plan.pk) if item.plan.pk is not None else None,
            "organization_id": _organization(item.plan, item.row, orgs),
            "changes": item.changes,
        }
        for item in pending
    ]
    connection.execute(insert(AUDIT_TABLE), rows)


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    pending: list[_Pending] = []
    for obj in session.new:
        state = instance_state(obj)
        table = state.mapper.local_table
        if not isinstance(table, Table) or table.name in UNAUDITED:
            continue
        pending.append(_insert(_plan(table), state))
    for obj in session.dirty:
        state = instance_state(obj)
        table = state.mapper.local_table
        if not isinstance(table, Table) or table.name in UNAUDITED:
            continue
        item = _update(_plan(table), state)
        if item is not None:
            pending.append(item)
    # the flush's own list of deleted rows: besides `session.delete()` it holds the orphans a
    # replaced collection dropped (a competence or relationship left out of a new list), which
    # `session.deleted` does not show
    for state in _deleted_states(flush_context):
        table = state.mapper.local_table
        if not isinstance(table, Table) or table.name in UNAUDITED:
            continue
        pending.append(_delete(_plan(table), state))
    if pending:
        _write(session, session.connection(), pending)


def _deleted_states(flush_context: UOWTransaction) -> list[InstanceState[Any]]:
    """Rows deleted by this flush, explicit deletes and delete-orphan cascades alike."""
    return [
        state
        for state, (isdelete, listonly) in flush_context.states.items()
        if isdelete and not listonly
    ]


# --- update() and delete() statements --------------------------------------------------------


def _statement_table(state: ORMExecuteState) -> Table | None:
    mapper: Mapper[Any] | None = state.bind_mapper
    table = mapper.local_table if mapper is not None else getattr(state.statement, "table", None)
    return table if isinstance(table, Table) else None


def _on_orm_execute(state: ORMExecuteState) -> Result[Any] | None:
    if not (state.is_update or state.is_delete):
        return None
    table = _statement_table(state)
    if table is None or table.name in UNAUDITED:
        return None
    params = state.parameters
    if isinstance(params, list):
        # a bulk update by primary key (a list of rows): record what was set per row
        result = state.invoke_statement()
        plan = _plan(table)
        by_name = {c.key: c for c in plan.columns}
        rows = [
            _Pending(
                plan,
                "update",
                dict(p),
                {k: _shown(by_name[k], v) for k, v in p.items() if k in by_name and k != plan.pk},
            )
            for p in params
        ]
        _write(state.session, state.session.connection(), rows)
        return result
    session = state.session
    connection = session.connection()
    plan = _plan(table)
    where = getattr(state.statement, "whereclause", None)
    query = select(table) if where is None else select(table).where(where)
    before = [dict(r) for r in connection.execute(query, params or {}).mappings()]
    result = state.invoke_statement()
    if not before:
        return result
    pending: list[_Pending] = []
    if state.is_delete:
        pending.extend(_Pending(plan, "delete", row, _row_changes(plan, row)) for row in before)
    else:
        pks = list(table.primary_key.columns)
        keys = [tuple(row[c.key] for c in pks) for row in before]
        after = {
            tuple(r[c.key] for c in pks): dict(r)
            for r in connection.execute(
                select(table).where(tuple_(*pks).in_(keys))
                if len(pks) > 1
                else select(table).where(pks[0].in_([k[0] for k in keys]))
            ).mappings()
        }
        for key, row in zip(keys, before, strict=True):
            new = after.get(key, row)
            changes = {
                c.name: MASK if c.masked else [plain(row[c.key]), plain(new[c.key])]
                for c in plan.columns
                if row[c.key] != new[c.key]
            }
            if changes:
                pending.append(_Pending(plan, "update", new, changes))
    _write(session, connection, pending)
    return result


_forget_gone_users = forget_at_end(_GONE_USERS)


def install() -> None:
    """Register the listeners on the Session class (idempotent)."""
    listen_once(
        (
            ("after_flush", _after_flush),
            ("do_orm_execute", _on_orm_execute),
            ("after_transaction_end", _forget_gone_users),
        )
    )
