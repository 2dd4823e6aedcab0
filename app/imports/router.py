"""Bulk import endpoint."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.config import get_settings
from app.deps import EncoderDep, SessionDep, StaffUser
from app.errors import BadRequest, PayloadTooLarge, problem, problem_responses
from app.imports.parsing import ImportFileError
from app.imports.schemas import ImportReportOut
from app.imports.service import ImportRejected, run_import

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


def _report_json(report: object) -> dict[str, object]:
    return ImportReportOut.model_validate(dataclasses.asdict(report)).model_dump()  # type: ignore[call-overload]


async def _read_upload(request: Request) -> tuple[bytes, str | None, str | None]:
    limit = get_settings().max_import_bytes
    content_type = request.headers.get("content-type", "")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + 1_000_000:
        raise PayloadTooLarge(f"The file is larger than {limit} bytes.")
    if content_type.startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=1, max_fields=10)
        except Exception as exc:  # malformed multipart bodies come in many shapes
            raise BadRequest(
                "The multipart body could not be read.",
                errors=[{"field": "file", "message": str(exc) or "malformed multipart body"}],
            ) from exc
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise BadRequest(
                "Send the file in the multipart field `file`.",
                errors=[{"field": "file", "message": "missing"}],
            )
        data = await upload.read(limit + 1)
        filename, file_type = upload.filename, upload.content_type
    else:
        data = b""
        async for chunk in request.stream():
            data += chunk
            if len(data) > limit:
                break
        filename, file_type = None, content_type or None
    if len(data) > limit:
        raise PayloadTooLarge(f"The file is larger than {limit} bytes.")
    return data, filename, file_type


@router.post(
    "/import",
    response_model=ImportReportOut,
    openapi_extra=_BODY_DOC,
    responses=problem_responses(
        {
            400: "The file cannot be read as a whole",
            401: "No valid token",
            403: "Only hub staff import",
            413: "File too large",
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
) -> JSONResponse:
    """Upsert organisations by external_id from JSON, JSON Lines, CSV or XLSX."""
    data, filename, content_type = await _read_upload(request)
    try:
        report = await run_in_threadpool(
            run_import,
            session,
            data=data,
            filename=filename,
            content_type=content_type,
            partial=partial,
            dry_run=dry_run,
            encoder=encoder,
        )
    except ImportFileError as exc:
        raise BadRequest(
            f"The file cannot be imported: {exc}", errors=[{"field": "file", "message": str(exc)}]
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
