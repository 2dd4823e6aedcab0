"""The app with a commit that fails: a request creating an organisation named FAIL-COMMIT...
gets its writes flushed, then its COMMIT fails as a full disk would make it fail."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.db import get_engine
from app.main import create_app
from app.models import Organization

MARKER = "FAIL-COMMIT"
_FLAG = "fail_next_commit"


def _mark(session: Session, _context: Any) -> None:
    if any(isinstance(o, Organization) and o.name.startswith(MARKER) for o in session.new):
        session.connection().info[_FLAG] = True


def _fail(conn: Any) -> None:
    if conn.info.pop(_FLAG, False):
        raise OperationalError("COMMIT", None, Exception("disk I/O error (forced by the test)"))


def build() -> FastAPI:
    event.listen(Session, "after_flush", _mark)
    event.listen(get_engine(), "commit", _fail)
    return create_app()
