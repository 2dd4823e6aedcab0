"""Industry taxonomy look-ups (NACE Rev. 2.1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.deps import SessionDep
from app.errors import problem_responses
from app.taxonomy import service
from app.taxonomy.schemas import NaceCodeDetail, NaceCodeOut, NaceCodePage

router = APIRouter(prefix="/api/v1/taxonomy", tags=["taxonomy"])

# what a NACE code can look like; anything else cannot name one (and is refused before any query)
NACE_CODE_PATTERN = r"^[A-Za-z0-9.]+$"


@router.get("/nace", response_model=NaceCodePage)
def list_nace_codes(
    session: SessionDep,
    level: Annotated[
        int | None, Query(ge=1, le=4, description="1 section, 2 division, 3 group, 4 class")
    ] = None,
    parent: Annotated[str | None, Query(max_length=8, pattern=NACE_CODE_PATTERN)] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Text in the English or German label, or a code prefix"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> NaceCodePage:
    """List NACE codes by level, parent or text."""
    rows, total = service.list_codes(
        session, level=level, parent=parent, q=q, limit=limit, offset=offset
    )
    return NaceCodePage(
        items=[NaceCodeOut.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )


@router.get(
    "/nace/{code}",
    response_model=NaceCodeDetail,
    responses=problem_responses({404: "Unknown code"}),
)
def read_nace_code(
    session: SessionDep,
    code: Annotated[
        str,
        Path(
            max_length=8,
            pattern=NACE_CODE_PATTERN,
            description="A section letter or a code of digits and dots, e.g. C, 26 or 26.51",
        ),
    ],
) -> NaceCodeDetail:
    """One NACE code with its ancestors and children."""
    row, ancestors, children = service.get_code(session, code=code)
    return NaceCodeDetail(
        **NaceCodeOut.model_validate(row).model_dump(),
        ancestors=[NaceCodeOut.model_validate(a) for a in ancestors],
        children=[NaceCodeOut.model_validate(c) for c in children],
    )
