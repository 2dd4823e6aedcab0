"""The change feed of the matching index: which organisations changed, and a counter.

Every transaction that writes organisations, competences or relationships through the ORM
raises `index_state.version` by one and records the organisations it touched in
`index_changes`, in the same transaction, just before it commits (so a rollback takes both
back, and writers hold the counter row only for the commit itself). A server process
knows whether its index is current with one primary-key read, and which organisations to
reload from the rows after its own version; this works across any number of processes.

Listeners on the Session class, as the audit log's: ``after_flush`` collects the organisations
of ORM flushes, ``do_orm_execute`` notes ORM-enabled bulk statements (which name no rows: a
change of everything, unless they only touch columns the engine never reads), and
``before_commit`` records them.

Old rows are pruned by age, counted in versions: every `PRUNE_EVERY`-th version, the writer
that raises the counter deletes the rows more than `KEEP_VERSIONS` versions old, in the same
transaction (one range delete on the version index). A process whose index is older than the
oldest kept version cannot tell which organisations changed since: `changes_since` then
answers "anything may have" (None), and that process fits afresh off the request path, exactly
as after a bulk statement. Every recorded version has at least one row, so a missing first
version after `after` is how a pruned range shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, select, update
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm.attributes import get_history

from app.models import Competence, KnownRelationship, Organization
from app.models.index_state import IndexChange, IndexState
from app.session_hooks import forget_at_end, listen_once

STATE: Table = IndexState.__table__  # type: ignore[assignment]
CHANGES: Table = IndexChange.__table__  # type: ignore[assignment]
# session.info key: organisations changed in the session's open transaction
PENDING = "index_pending"
# organisation columns the engine does not read: bulk updates of only these change nothing
_UNREAD = frozenset({"verified_at", "verified_by", "modified_at"})
_TRACKED = (Organization, Competence, KnownRelationship)
# versions of change rows kept for processes that lag behind, and how often old ones go
KEEP_VERSIONS = 10_000
PRUNE_EVERY = 1_000


def current_version(session: Session) -> int:
    """The change counter as this session sees it (one primary-key read)."""
    return int(session.scalar(select(STATE.c.version).where(STATE.c.id == 1)) or 0)


def changes_since(session: Session, after: int, upto: int) -> set[int | None]:
    """Organisations changed in (after, upto]; None in the set means anything may have
    (a bulk statement, or rows of that range already pruned)."""
    if upto <= after:
        return set()
    first = session.scalar(select(CHANGES.c.version).where(CHANGES.c.version == after + 1).limit(1))
    if first is None:
        return {None}  # pruned: which organisations changed is no longer known
    rows = session.execute(
        select(CHANGES.c.organization_id)
        .where(CHANGES.c.version > after, CHANGES.c.version <= upto)
        .distinct()
    )
    return {r[0] for r in rows}


def record(connection: Connection, organization_ids: Iterable[int | None]) -> int:
    """Raise the counter and record `organization_ids` (None: everything); the new version."""
    ids = set(organization_ids) or {None}  # every version has a row (see prune)
    version = connection.execute(
        update(STATE)
        .where(STATE.c.id == 1)
        .values(version=STATE.c.version + 1)
        .returning(STATE.c.version)
    ).scalar_one()
    connection.execute(
        insert(CHANGES), [{"version": version, "organization_id": i} for i in sorted_ids(ids)]
    )
    if version % PRUNE_EVERY == 0:
        prune(connection, keep=KEEP_VERSIONS, upto=int(version))
    return int(version)


def prune(connection: Connection, *, keep: int, upto: int | None = None) -> int:
    """Delete the change rows more than `keep` versions older than `upto` (default: the
    current version); the number of rows deleted. Processes further behind fit afresh."""
    if upto is None:
        upto = int(connection.execute(select(STATE.c.version).where(STATE.c.id == 1)).scalar() or 0)
    result = connection.execute(delete(CHANGES).where(CHANGES.c.version <= upto - keep))
    return int(result.rowcount or 0)


def sorted_ids(ids: set[int | None]) -> list[int | None]:
    """None (everything) first, then ascending ids: a stable order for the inserted rows."""
    return ([None] if None in ids else []) + sorted(i for i in ids if i is not None)


def _values(obj: Any, attribute: str) -> set[int]:
    """Current and previous values of an integer attribute (a moved row touches both sides)."""
    history = get_history(obj, attribute)
    return {
        v
        for v in (*history.added, *history.unchanged, *history.deleted)
        if isinstance(v, int) and not isinstance(v, bool)
    }


def _touched(objects: Iterable[Any]) -> set[int | None]:
    ids: set[int | None] = set()
    for obj in objects:
        if isinstance(obj, Organization):
            ids.add(obj.id)
        elif isinstance(obj, Competence):
            ids |= _values(obj, "organization_id")
        elif isinstance(obj, KnownRelationship):
            # the related organisation lists this one as a partner too
            ids |= _values(obj, "organization_id") | _values(obj, "related_organization_id")
    return ids


def pending(session: Session) -> set[int | None]:
    """Organisations this session changed in its open transaction (None: anything may have);
    they reach `index_changes` when it commits."""
    found: set[int | None] = session.info.get(PENDING, set())
    return found


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    written = [
        *session.new,
        *(o for o in session.dirty if session.is_modified(o, include_collections=False)),
        *session.deleted,
    ]
    ids = _touched(o for o in written if isinstance(o, _TRACKED))
    if ids:
        session.info.setdefault(PENDING, set()).update(ids)


def _on_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    mapper = state.bind_mapper
    if mapper is None or mapper.class_ not in _TRACKED:
        return
    if state.is_update and mapper.class_ is Organization:
        values = getattr(state.statement, "_values", None) or {}
        names = {getattr(k, "key", k) for k in values}
        if names and names <= _UNREAD:
            return
    state.session.info.setdefault(PENDING, set()).add(None)


def _before_commit(session: Session) -> None:
    # the counter row is written last, just before the commit, so that concurrent writers
    # wait for each other only that long (on PostgreSQL it is a row lock until commit)
    session.flush()
    ids = session.info.pop(PENDING, None)
    if ids:
        record(session.connection(), ids)


_settled = forget_at_end(PENDING)


def install() -> None:
    """Register the listeners on the Session class (idempotent)."""
    listen_once(
        (
            ("after_flush", _after_flush),
            ("do_orm_execute", _on_orm_execute),
            ("before_commit", _before_commit),
            ("after_transaction_end", _settled),
        )
    )
