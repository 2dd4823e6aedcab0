"""Listeners that every session of the process carries, installed by app.db: the audit log
(audit), the matching index's change feed (index_changes) and the outcomes' change marker
(outcome_changes). They read and write app.models only, so app.db imports no domain package
(the import contract in pyproject.toml)."""

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session


def listen_once(listeners: Iterable[tuple[str, Callable[..., Any]]]) -> None:
    """Register each (event name, listener) on the Session class unless it is registered
    already: a module's `install` may run more than once."""
    for name, listener in listeners:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def forget_at_end(key: str) -> Callable[[Session, Any], None]:
    """An `after_transaction_end` listener that drops `session.info[key]` when the outermost
    transaction ends: what it held was committed with it, or is gone."""

    def forget(session: Session, transaction: Any) -> None:
        if transaction.parent is None:
            session.info.pop(key, None)

    return forget
