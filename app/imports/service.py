"""Bulk import: parse, validate every row, resolve references, then upsert by external_id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.curation.labels import canonical_labels
from app.embeddings import Encoder, embed_organizations
from app.imports.parsing import ImportFileError, RowError, parse_file
from app.imports.validation import ValidRow, validate_rows
from app.models import Organization
from app.organizations import repository
from app.organizations.disclosure import name_mentions
from app.organizations.schemas import SOVEREIGNTY_FIELDS, OrganizationFields
from app.organizations.service import apply_fields, canonicalise, set_relationships

_FIELDS = set(OrganizationFields.model_fields) - {"relationships"} - SOVEREIGNTY_FIELDS


@dataclass(slots=True)
class ImportReport:
    format: str
    mode: str
    dry_run: bool
    rows: int
    accepted: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    written: bool = False
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class ImportRejected(Exception):
    """Atomic import with bad rows: nothing was written."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"{report.rejected} of {report.rows} rows rejected; nothing was written")
        self.report = report


def _reference_errors(
    rows: list[ValidRow], known: set[str]
) -> tuple[list[ValidRow], list[RowError]]:
    """Drop rows whose relationships name an external_id that exists nowhere; repeat until stable.

    In partial mode a row can lose its target when that target's own row is rejected, hence the loop.
    """
    errors: list[RowError] = []
    accepted = rows
    while True:
        available = known | {r.record.external_id for r in accepted}
        kept: list[tuple[ValidRow, RowError | None]] = []
        dropped: list[tuple[ValidRow, RowError | None]] = []
        for row in accepted:
            problem = _row_reference_error(row, available)
            (dropped if problem else kept).append((row, problem))
        errors.extend(p for _, p in dropped if p is not None)
        accepted = [r for r, _ in kept]
        if not dropped:
            return accepted, errors


def _row_reference_error(row: ValidRow, available: set[str]) -> RowError | None:
    record = row.record
    for i, rel in enumerate(record.relationships):
        ref = rel.external_id if rel.external_id is not None else rel.name
        if ref == record.external_id:
            return RowError(
                row.line,
                f"relationships[{i}]",
                "an organisation cannot be related to itself",
                record.external_id,
            )
        if rel.external_id is not None and rel.external_id not in available:
            return RowError(
                row.line,
                f"relationships[{i}].external_id",
                f"no organisation with external_id {rel.external_id!r} in the file or the database",
                record.external_id,
            )
    return None


def run_import(
    session: Session,
    *,
    data: bytes,
    filename: str | None = None,
    content_type: str | None = None,
    partial: bool = False,
    dry_run: bool = False,
    encoder: Encoder | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a file. Atomic by default: one bad row and nothing is written (ImportRejected).

    Raises ImportFileError when the file as a whole cannot be read.
    """
    parsed = parse_file(data, filename=filename, content_type=content_type)
    report = ImportReport(
        format=parsed.format,
        mode="partial" if partial else "atomic",
        dry_run=dry_run,
        rows=len(parsed.rows) + len({e.line for e in parsed.errors if e.line is not None}),
        warnings=list(parsed.warnings),
    )
    valid, errors = validate_rows(parsed.rows)
    errors = [*parsed.errors, *errors]
    refs = {
        ref
        for row in valid
        for rel in row.record.relationships
        if (ref := rel.external_id or rel.name) is not None
    }
    file_ids = {row.record.external_id for row in valid}
    in_db = repository.organization_ids_by_external_id(session, refs | file_ids)
    accepted, ref_errors = _reference_errors(valid, set(in_db))
    errors.extend(ref_errors)
    errors.sort(key=lambda e: (e.line is None, e.line or 0))
    report.errors = errors
    report.rejected = len({(e.line, e.external_id) for e in errors})
    report.accepted = len(accepted)
    if errors and not partial:
        raise ImportRejected(report)
    if not parsed.rows and not errors:
        raise ImportFileError("the file holds no records")
    if dry_run:
        report.created = sum(1 for r in accepted if r.record.external_id not in in_db)
        report.updated = report.accepted - report.created
        return report

    existing = repository.organizations_by_external_id(
        session, [r.record.external_id for r in accepted], with_profile=True
    )
    # labels hub staff merged into canonical ones: one lookup for the whole file
    canonical = canonical_labels(
        session, sorted({c.label for row in accepted for c in row.record.competences})
    )
    with session.no_autoflush:
        before = {ext: org.version for ext, org in existing.items()}
        orgs: list[tuple[ValidRow, Organization]] = []
        for row in accepted:
            org = existing.get(row.record.external_id)
            if org is None:
                org = Organization(
                    external_id=row.record.external_id,
                    competences=[],
                    relationships=[],
                    cooperation_interests=[],
                )
                session.add(org)
                report.created += 1
            # contacts, disclosure and the opt-out change only where the file gives them, so a
            # re-import does not undo what the organisation chose for itself
            given = SOVEREIGNTY_FIELDS & row.record.model_fields_set
            record = row.record
            if canonical:
                competences = canonicalise(record.competences, canonical)
                record = record.model_copy(update={"competences": competences})
            apply_fields(org, record, {}, fields=_FIELDS | given)
            orgs.append((row, org))
        # targets: the file's own organisations (new ones too) and those already stored
        linked = repository.organizations_by_external_id(session, refs - file_ids)
        linked.update({row.record.external_id: org for row, org in orgs})
        for row, org in orgs:
            set_relationships(org, row.record.relationships, linked)
        if encoder is not None:
            embed_organizations([org for _, org in orgs], encoder, progress=progress)
        elif progress is not None:
            progress(len(orgs))
    session.flush()  # one flush: each organisation is inserted or updated once
    for row, org in orgs:
        report.warnings.extend(
            f"line {row.line} ({org.external_id}): {w['field']} {w['message']}"
            for w in name_mentions(org)
        )
    for ext, version in before.items():
        if existing[ext].version != version:
            report.updated += 1
        else:
            report.unchanged += 1
    report.written = True
    return report
