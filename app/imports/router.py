"""Bulk import endpoint."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.config import get_settings
from app.db import WRITE_OPTION
from app.deps import EncoderDep, SessionDep, StaffUser
from app.embeddings import Encoder
from app.errors import BadRequest, PayloadTooLarge, problem, problem_responses
from app.i18n import N_
from app.imports.parsing import LIMITS, ImportFileError, ImportTooLarge
from app.imports.schemas import ImportReportOut
from app.imports.service import ImportRejected, ImportReport, run_import

router = APIRouter(prefix="/api/v1/organizations", tags=["import"])

_BODY_DOC = {
    "requestBody": {
        "description": "The file: a JSON array, JSON Lines, CSV or XLSX, as the raw body or as the "
        "multipart field `file`.",
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "application/x-ndjson": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


def _report_json(report: ImportReport) -> dict[str, object]:
    # the warnings' English text (pages show their templates in the page's language)
    data = {**dataclasses.asdict(report), "warnings": [str(w) for w in report.warnings]}
    return ImportReportOut.model_validate(data).model_dump()


async def _read_upload(request: Request) -> tuple[bytes, str | None, str | None]:
    limit = get_settings().max_import_bytes
    content_type = request.headers.get("content-type", "")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + 1_000_000:
        raise PayloadTooLarge(
            N_("The file is larger than %(limit)s bytes."), values={"limit": limit}
        )
    if content_type.startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=1, max_fields=10)
        except Exception as exc:  # malformed multipart bodies come in many shapes
            raise BadRequest(
                N_("The multipart body could not be read."),
                errors=[{"field": "file", "message": str(exc) or "malformed multipart body"}],
            ) from exc
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise BadRequest(
                N_("Send the file in the multipart field `file`."),
                errors=[{"field": "file", "message": "missing"}],
            )
        data = await upload.read(limit + 1)
        filename, file_type = upload.filename, upload.content_type
    else:
        # chunks are collected and joined once: appending to bytes would copy the body so far
        # on every chunk (quadratic in the upload's size)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                break
        data = b"".join(chunks)
        filename, file_type = None, content_type or None
    if len(data) > limit:
        raise PayloadTooLarge(
            N_("The file is larger than %(limit)s bytes."), values={"limit": limit}
        )
    return data, filename, file_type


@contextmanager
def _reader(session: Session) -> Iterator[Session]:
    """A session for the import's reads before it writes: its own connection when the request's
    session is bound to an engine, so no write transaction (no SQLite write lock) is open while
    the encoder runs; the request's session itself when it is bound to one connection."""
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        yield session
        return
    # a request that writes holds SQLite's write lock from its first read (BEGIN IMMEDIATE):
    # a reader that began IMMEDIATE too would wait for its own request until the lock timeout
    reader = Session(bind=bind.execution_options(**{WRITE_OPTION: False}))
    try:
        yield reader
    finally:
        reader.close()


def _import(
    session: Session,
    *,
    data: bytes,
    filename: str | None,
    content_type: str | None,
    partial: bool,
    dry_run: bool,
    replace: bool,
    encoder: Encoder | None,
) -> ImportReport:
    with _reader(session) as reader:
        return run_import(
            session,
            data=data,
            filename=filename,
            content_type=content_type,
            partial=partial,
            dry_run=dry_run,
            replace=replace,
            encoder=encoder,
            reader=reader,
        )


_LIMITS_DOC = (
    f"Limits: {LIMITS.max_records:,} records and {LIMITS.max_cells:,} spreadsheet cells per "
    f"file; an XLSX workbook may unpack to {LIMITS.max_xlsx_uncompressed_bytes:,} bytes."
)


@router.post(
    "/import",
    response_model=ImportReportOut,
    openapi_extra=_BODY_DOC,
    description="Upsert organisations by external_id from JSON, JSON Lines, CSV or XLSX. A "
    "field the file does not state keeps its stored value; an empty cell or null clears it; "
    "`replace=true` makes the file the whole truth. " + _LIMITS_DOC,
    responses=problem_responses(
        {
            400: "The file cannot be read as a whole",
            401: "No valid token",
            403: "Only hub staff import",
            413: "File too large, or beyond a limit on records, cells or unpacked size "
            "(`limit` names it)",
            422: "Atomic import with rejected rows: nothing written; `errors` names each row's "
            "line, field and reason",
        }
    ),
)
async def import_organizations(
    request: Request,
    _staff: StaffUser,
    session: SessionDep,
    encoder: EncoderDep,
    dry_run: Annotated[bool, Query(description="Validate and report; write nothing")] = False,
    partial: Annotated[bool, Query(description="Write the good rows even if some are bad")] = False,
    replace: Annotated[
        bool,
        Query(
            description="The file is the whole truth: fields and list entries it does not "
            "state are cleared (contacts, disclosure and the competitor opt-out excepted)"
        ),
    ] = False,
) -> JSONResponse:
    """Upsert organisations by external_id from JSON, JSON Lines, CSV or XLSX."""
    data, filename, content_type = await _read_upload(request)
    try:
        report = await run_in_threadpool(
            _import,
            session,
            data=data,
            filename=filename,
            content_type=content_type,
            partial=partial,
            dry_run=dry_run,
            replace=replace,
            encoder=encoder,
        )
    except ImportTooLarge as exc:
        raise PayloadTooLarge(
            N_("The file cannot be imported: %(reason)s"),
            values={"reason": exc.message},
            errors=[{"field": "file", "message": exc.message, "limit": exc.limit}],
            limit={"name": exc.limit, "value": exc.value},
        ) from exc
    except ImportFileError as exc:
        raise BadRequest(
            N_("The file cannot be imported: %(reason)s"),
            values={"reason": exc.message},
            errors=[{"field": "file", "message": exc.message}],
        ) from exc
    except ImportRejected as exc:
        body = _report_json(exc.report)
        return problem(
            422,
            "Import rejected",
            f"{exc.report.rejected} of {exc.report.rows} rows are invalid; nothing was written. "
            "Fix them, or import with partial=true to write the valid rows.",
            errors=body.pop("errors"),  # type: ignore[arg-type]
            report=body,
        )
    return JSONResponse(_report_json(report))
