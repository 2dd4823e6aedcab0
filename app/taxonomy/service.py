"""The NACE table: filled from the package list, looked up by code, level, parent or text."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.i18n import N_
from app.models import NaceCode
from app.taxonomy.nace import german_labels, nace_entries


def sync_taxonomy(session: Session) -> int:
    """Insert or update every NACE entry; returns how many rows changed."""
    existing = {row.code: row for row in session.scalars(select(NaceCode))}
    german = german_labels()
    changed = 0
    # parents before children, so the self-reference holds on every backend
    for entry in sorted(nace_entries().values(), key=lambda e: e.level):
        values = {
            "parent_code": entry.parent_code,
            "level": entry.level,
            "label_en": entry.label_en,
            "label_de": german.get(entry.code),
        }
        row = existing.get(entry.code)
        if row is None:
            session.add(NaceCode(code=entry.code, **values))
            changed += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            changed += 1
        if changed and changed % 500 == 0:
            session.flush()
    session.flush()
    return changed


def list_codes(
    session: Session,
    *,
    level: int | None,
    parent: str | None,
    q: str | None,
    limit: int,
    offset: int,
) -> tuple[list[NaceCode], int]:
    conditions = []
    if level is not None:
        conditions.append(NaceCode.level == level)
    if parent is not None:
        conditions.append(NaceCode.parent_code == parent.upper())
    if q:
        pattern = f"%{q}%"
        conditions.append(
            or_(
                NaceCode.label_en.ilike(pattern),
                NaceCode.label_de.ilike(pattern),
                NaceCode.code.startswith(q),
            )
        )
    total = session.scalar(select(func.count()).select_from(NaceCode).where(*conditions)) or 0
    rows = session.scalars(
        select(NaceCode)
        .where(*conditions)
        .order_by(NaceCode.level, NaceCode.code)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


def get_code(session: Session, *, code: str) -> tuple[NaceCode, list[NaceCode], list[NaceCode]]:
    """A code with its ancestors (section first) and its children."""
    row = session.get(NaceCode, code.upper() if code.isalpha() else code)
    if row is None:
        raise NotFound(N_("No NACE code %(code)r."), values={"code": code})
    ancestors: list[NaceCode] = []
    parent = row.parent_code
    while parent is not None:
        node = session.get(NaceCode, parent)
        if node is None:
            break
        ancestors.insert(0, node)
        parent = node.parent_code
    children = list(
        session.scalars(
            select(NaceCode).where(NaceCode.parent_code == row.code).order_by(NaceCode.code)
        )
    )
    return row, ancestors, children
