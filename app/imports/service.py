"""Bulk import: parse, validate every row, resolve references, encode, then upsert by external_id.

An import runs in three steps so that the write transaction stays short:

1. `read_file` parses and checks the file (no database);
2. `encode_import` reads what the rows will become and encodes the texts that need a vector
   (reads only; on SQLite it holds no write lock while the encoder runs);
3. `write_import` plans again against the database as it is now and writes, using the vectors
   of step 2 (a text that changed meanwhile is encoded there).

`run_import` does all three on one session. What a re-import changes (the import contract):

- a field the file does not state (no column, no key) keeps its stored value; an explicitly
  empty cell, a JSON null or an empty list clears it (fields in `validation.CLEARABLE`);
- a spreadsheet's competence columns (core, complementary, peripheral) and relationship
  columns (customers, suppliers, partners) replace only their own kind of entries;
- `replace=True` makes the file the whole truth: what it does not state is cleared or reset to
  the default, as for a new organisation (the organisation's own privacy choices excepted:
  contacts, disclosure and the competitor opt-out change only where the file gives them);
- an external_id of a duplicate merged into another profile (curation) updates that profile.
"""

from __future__ import annotations

import bisect
import itertools
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.orm import Session

from app.curation.labels import canonical_labels
from app.curation.service import merged_external_ids
from app.embeddings import (
    Encoder,
    competence_text,
    embed_organizations,
    from_bytes,
    profile_text,
)
from app.i18n import N_, Message
from app.imports.parsing import ImportFileError, ParsedFile, RowError, parse_file
from app.imports.validation import ValidRow, validate_rows
from app.models import Competence, KnownRelationship, Organization
from app.organizations import repository
from app.organizations.disclosure import name_mention_messages
from app.organizations.schemas import (
    SOVEREIGNTY_FIELDS,
    CompetenceIn,
    CompetenceKind,
    OrganizationFields,
    OrganizationRecord,
    RelationshipIn,
    RelationshipType,
)
from app.organizations.service import apply_fields, canonicalise, set_relationships

_FIELDS = frozenset(OrganizationFields.model_fields) - {"relationships"} - SOVEREIGNTY_FIELDS
_KIND_ORDER = {kind.value: i for i, kind in enumerate(CompetenceKind)}
_TYPE_ORDER = {kind.value: i for i, kind in enumerate(RelationshipType)}
# the reason of a rejected row as quoted in the errors of rows that name it
_QUOTED_REASON = 200
_BATCH = 256  # texts per encoder call


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
    replace: bool = False
    errors: list[RowError] = field(default_factory=list)
    # English text (`str`) in the API, the page's language on the pages
    warnings: list[Message] = field(default_factory=list)


class ImportRejected(Exception):
    """Atomic import with bad rows: nothing was written."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"{report.rejected} of {report.rows} rows rejected; nothing was written")
        self.report = report


@dataclass(frozen=True, slots=True)
class ReadFile:
    """A parsed and checked file (step 1): valid rows and the errors of the others."""

    parsed: ParsedFile
    valid: list[ValidRow]
    errors: list[RowError]

    @property
    def rows(self) -> int:
        parsed = self.parsed
        return len(parsed.rows) + len({e.line for e in parsed.errors if e.line is not None})


def read_file(
    data: bytes, *, filename: str | None = None, content_type: str | None = None
) -> ReadFile:
    """Parse and check a file; raises ImportFileError when it cannot be read as a whole."""
    parsed = parse_file(data, filename=filename, content_type=content_type)
    valid, errors = validate_rows(parsed.rows)
    return ReadFile(parsed, valid, [*parsed.errors, *errors])


# --- planning: which organisation each row writes, and which rows cannot be written ------------


@dataclass(slots=True)
class _Plan:
    accepted: list[ValidRow]
    errors: list[RowError]
    # external_id in the file -> the stored organisation's id it updates (merged ids included)
    targets: dict[str, int]
    # every external_id named by a row or a relationship that resolves to a stored organisation
    stored: dict[str, int]


def _refs(rows: Iterable[ValidRow]) -> set[str]:
    return {
        ref
        for row in rows
        for rel in row.record.relationships
        if (ref := rel.external_id or rel.name) is not None
    }


def _plan(session: Session, read: ReadFile) -> _Plan:
    valid = read.valid
    file_ids = {row.record.external_id for row in valid}
    wanted = _refs(valid) | file_ids
    stored = repository.organization_ids_by_external_id(session, wanted)
    # external_ids of merged duplicates lead to the profile they were merged into
    stored.update(
        (ext, kept)
        for ext, kept in merged_external_ids(session, wanted - set(stored)).items()
        if ext not in stored
    )
    accepted, errors = _check_references(valid, read.errors, stored)
    targets: dict[str, int] = {}
    by_target: dict[int, ValidRow] = {}
    kept: list[ValidRow] = []
    for row in accepted:
        ext = row.record.external_id
        target = stored.get(ext)
        if target is not None and target in by_target:
            other = by_target[target]
            errors.append(
                RowError.of(
                    row.line,
                    "external_id",
                    Message(
                        N_(
                            "external_id %(external_id)r was merged into the organisation that "
                            "line %(line)s (%(other)r) also updates; keep one of the two rows"
                        ),
                        external_id=ext,
                        line=other.line,
                        other=other.record.external_id,
                    ),
                    ext,
                )
            )
            continue
        if target is not None:
            targets[ext] = target
            by_target[target] = row
        kept.append(row)
    if len(kept) != len(accepted):
        # a row dropped here may be named by others: check the references once more
        kept, more = _check_references(kept, [], stored, rejected_before=errors)
        errors = [*errors, *more]
    errors.sort(key=lambda e: (e.line is None, e.line or 0))
    return _Plan(kept, errors, targets, stored)


def _check_references(
    rows: Sequence[ValidRow],
    errors: Sequence[RowError],
    stored: Mapping[str, int],
    *,
    rejected_before: Sequence[RowError] = (),
) -> tuple[list[ValidRow], list[RowError]]:
    """Drop rows whose relationships name an organisation that will not exist; linear time.

    A row is dropped when it names itself, names by external_id an organisation that is
    neither stored nor in the file, or names (by external_id, or by a name equal to one) an
    organisation whose own row in the file is rejected and that is not stored; a dropped row's
    rejection then reaches the rows that name it in turn. Each dropped row gets one error; when
    a partner's row is to blame, the error quotes that row's line and reason.
    """
    in_file = {row.record.external_id for row in rows}
    # external_id -> (line, reason) of its rejected row, for ids that no valid row carries
    rejected: dict[str, tuple[int | None, Message | str]] = {}
    for error in [*errors, *rejected_before]:
        ext = error.external_id
        if ext is not None and ext not in in_file and ext not in rejected:
            rejected[ext] = (error.line, _where(error))
    naming: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        for rel in row.record.relationships:
            ref = rel.external_id if rel.external_id is not None else rel.name
            if ref is not None and ref != row.record.external_id:
                naming.setdefault(ref, []).append(index)
    dropped: dict[int, RowError] = {}
    queue: list[int] = []

    def drop(index: int, error: RowError) -> None:
        dropped[index] = error
        queue.append(index)

    for index, row in enumerate(rows):
        problem = _first_problem(row, in_file, stored, rejected)
        if problem is not None:
            drop(index, problem)
    while queue:
        index = queue.pop()
        row = rows[index]
        ext = row.record.external_id
        if ext in stored:
            continue  # the stored organisation stays; rows naming it still link to it
        error = dropped[index]
        rejected[ext] = (row.line, _where(error))
        for other in naming.get(ext, ()):
            if other not in dropped:
                drop(other, _partner_error(rows[other], ext, rejected[ext]))
    accepted = [row for index, row in enumerate(rows) if index not in dropped]
    new_errors = [dropped[index] for index in sorted(dropped)]
    return accepted, [*errors, *new_errors]


def _where(error: RowError) -> Message | str:
    """A rejected row's reason as the rows that name it quote it: with its field, and as its
    English text cut short where that is long (then it stays English on the pages too)."""
    reason = (
        error.message
        if error.field is None
        else Message(N_("%(field)s: %(reason)s"), field=error.field, reason=error.message)
    )
    text = str(reason)
    if len(text) > _QUOTED_REASON:
        return text[: _QUOTED_REASON - 3] + "..."
    return reason


def _first_problem(
    row: ValidRow,
    in_file: set[str],
    stored: Mapping[str, int],
    rejected: Mapping[str, tuple[int | None, Message | str]],
) -> RowError | None:
    record = row.record
    for i, rel in enumerate(record.relationships):
        ref = rel.external_id if rel.external_id is not None else rel.name
        if ref == record.external_id:
            return RowError.of(
                row.line,
                f"relationships[{i}]",
                Message(N_("an organisation cannot be related to itself")),
                record.external_id,
            )
        if ref is None or ref in stored or ref in in_file:
            continue
        if ref in rejected:
            return _partner_error(row, ref, rejected[ref], index=i)
        if rel.external_id is not None:
            return RowError.of(
                row.line,
                f"relationships[{i}].external_id",
                Message(
                    N_(
                        "no organisation with external_id %(external_id)r in the file or the database"
                    ),
                    external_id=ref,
                ),
                record.external_id,
            )
    return None


# relationship types as the reasons name them ("customer A-7: its row ...")
_TYPE_WORDS = {
    RelationshipType.customer: N_("customer"),
    RelationshipType.supplier: N_("supplier"),
    RelationshipType.partner: N_("partner"),
}


def _partner_error(
    row: ValidRow, ref: str, cause: tuple[int | None, Message | str], *, index: int | None = None
) -> RowError:
    if index is None:
        index = next(
            i
            for i, rel in enumerate(row.record.relationships)
            if (rel.external_id if rel.external_id is not None else rel.name) == ref
        )
    rel = row.record.relationships[index]
    line, reason = cause
    values = {"type": Message(_TYPE_WORDS[rel.type]), "reference": ref, "reason": reason}
    message = (
        Message(
            N_("%(type)s %(reference)s: its row, line %(line)s, was rejected: %(reason)s"),
            line=line,
            **values,
        )
        if line is not None
        else Message(
            N_("%(type)s %(reference)s: its row, elsewhere in the file, was rejected: %(reason)s"),
            **values,
        )
    )
    return RowError.of(
        row.line,
        f"relationships[{index}]" + (".external_id" if rel.external_id is not None else ".name"),
        message,
        row.record.external_id,
    )


# --- what each row writes -----------------------------------------------------------------------


def _as_competence_in(competence: Competence) -> CompetenceIn:
    # stored values are taken as they are (they passed the checks of their day)
    return CompetenceIn.model_construct(
        kind=CompetenceKind(competence.kind),
        label=competence.label,
        description=competence.description,
    )


def _as_relationship_in(relationship: KnownRelationship) -> RelationshipIn:
    return RelationshipIn.model_construct(
        type=RelationshipType(relationship.type),
        external_id=None,
        name=relationship.name,
        revenue_share=relationship.revenue_share,
        joint_projects=relationship.joint_projects,
        last_year=relationship.last_year,
    )


@dataclass(slots=True)
class _Change:
    """What one row writes into its organisation."""

    record: OrganizationRecord
    fields: set[str]  # contract fields to set (relationships apart)
    relationships: list[RelationshipIn] | None  # the new list, or None to leave them alone
    # targets of relationships kept from the stored list, by name
    kept_targets: dict[str, Organization]


def _change(
    row: ValidRow,
    org: Organization | None,
    canonical: Mapping[str, str],
    *,
    replace: bool,
) -> _Change:
    record = row.record
    given = set(row.given)
    if org is None or replace:
        fields = set(_FIELDS)
        lists = {"competences", "relationships"}
    else:
        fields = given & _FIELDS
        lists = given & {"competences", "relationships"}
    # contacts, disclosure and the opt-out change only where the file gives them, so a
    # re-import does not undo what the organisation chose for itself
    fields |= SOVEREIGNTY_FIELDS & given
    if fields & {"latitude", "longitude"}:
        fields |= {"latitude", "longitude"}  # a pair: the record holds both or neither
    covers = row.covers or {}
    competences = list(record.competences)
    if "competences" in lists and org is not None and not replace and "competences" in covers:
        kinds = covers["competences"]
        competences += [_as_competence_in(c) for c in org.competences if c.kind not in kinds]
        competences.sort(key=lambda c: _KIND_ORDER[c.kind.value])
    if canonical:
        competences = canonicalise(competences, canonical)
    relationships: list[RelationshipIn] | None = None
    kept_targets: dict[str, Organization] = {}
    if "relationships" in lists:
        relationships = list(record.relationships)
        if org is not None and not replace and "relationships" in covers:
            types = covers["relationships"]
            for rel in org.relationships:
                if rel.type in types:
                    continue
                relationships.append(_as_relationship_in(rel))
                if rel.related_organization is not None:
                    kept_targets[rel.name] = rel.related_organization
            relationships.sort(key=lambda r: _TYPE_ORDER[r.type.value])
    record = record.model_copy(update={"competences": competences})
    return _Change(record, fields, relationships, kept_targets)


def _texts(change: _Change, org: Organization | None) -> list[str]:
    """The texts whose vectors the organisation will need after `change` (profile text last)."""
    record = change.record
    fields = change.fields
    name = record.name if org is None or "name" in fields else org.name
    description = record.description if org is None or "description" in fields else org.description
    if org is None or "competences" in fields:
        competences = [(c.kind.value, c.label, c.description) for c in record.competences]
    else:
        competences = [(c.kind, c.label, c.description) for c in org.competences]
    # a transient organisation, never added to a session: the text is built as when stored
    shadow = Organization(
        name=name,
        description=description,
        competences=[Competence(kind=k, label=label, description=d) for k, label, d in competences],
    )
    return [*(competence_text(label, d) for _, label, d in competences), profile_text(shadow)]


def _stored_vectors(orgs: Iterable[Organization], model: str) -> dict[str, np.ndarray]:
    """Vectors already stored by `model`, by text: unchanged texts are not encoded again."""
    vectors: dict[str, np.ndarray] = {}
    for org in orgs:
        for c in org.competences:
            if c.embedding is not None and c.embedding_model == model:
                vectors[competence_text(c.label, c.description)] = from_bytes(c.embedding)
        if org.profile_embedding is not None and org.embedding_model == model:
            vectors[profile_text(org)] = from_bytes(org.profile_embedding)
    return vectors


class _Precomputed:
    """An encoder that answers from vectors computed beforehand and encodes only the rest."""

    def __init__(self, encoder: Encoder, vectors: Mapping[str, np.ndarray]) -> None:
        self._encoder = encoder
        self._vectors = vectors
        self.encoded = 0  # texts that had to be encoded here, inside the write transaction

    @property
    def name(self) -> str:
        return self._encoder.name

    @property
    def dim(self) -> int:
        return self._encoder.dim

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        fresh: dict[str, np.ndarray] = {}
        if missing:
            self.encoded += len(missing)
            fresh = dict(zip(missing, self._encoder.encode(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([fresh[t] if t in fresh else self._vectors[t] for t in texts]).astype(
            np.float32, copy=False
        )


def _stored_profiles(session: Session, plan: _Plan) -> dict[int, Organization]:
    """The stored organisations the accepted rows update, with competences and relationships."""
    ids = set(plan.targets.values())
    if not ids:
        return {}
    return repository.organizations_by_id(session, ids, with_profile=True)


def encode_import(
    session: Session,
    read: ReadFile,
    *,
    encoder: Encoder,
    partial: bool = False,
    replace: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Step 2: vectors for every text the import will need, by text. Reads only, writes nothing.

    Returns an empty mapping when nothing will be written (an atomic import with bad rows).
    """
    plan = _plan(session, read)
    if plan.errors and not partial:
        return {}
    stored = _stored_profiles(session, plan)
    canonical = canonical_labels(
        session, sorted({c.label for row in plan.accepted for c in row.record.competences})
    )
    vectors = _stored_vectors(stored.values(), encoder.name)
    texts: list[str] = []
    counts: list[int] = []  # texts per row, for progress
    for row in plan.accepted:
        target = plan.targets.get(row.record.external_id)
        org = stored.get(target) if target is not None else None
        row_texts = _texts(_change(row, org, canonical, replace=replace), org)
        new = [t for t in row_texts if t not in vectors]
        texts.extend(new)
        counts.append(len(new))
    # progress counts rows: a row is done when all texts up to its last one are encoded
    ends = list(itertools.accumulate(counts))
    out: dict[str, np.ndarray] = {}
    done_rows = 0
    for start in range(0, len(texts), _BATCH):
        chunk = [t for t in dict.fromkeys(texts[start : start + _BATCH]) if t not in out]
        if chunk:
            out.update(zip(chunk, encoder.encode(chunk), strict=True))
        if progress is not None:
            done = bisect.bisect_right(ends, start + _BATCH)
            if done > done_rows:
                progress(done - done_rows)
                done_rows = done
    if progress is not None and done_rows < len(counts):
        progress(len(counts) - done_rows)
    out.update(vectors)
    return out


def write_import(
    session: Session,
    read: ReadFile,
    *,
    partial: bool = False,
    dry_run: bool = False,
    replace: bool = False,
    encoder: Encoder | None = None,
    vectors: Mapping[str, np.ndarray] | None = None,
) -> ImportReport:
    """Step 3: plan against the database as it is now and write; one flush.

    Atomic by default: one bad row and nothing is written (ImportRejected).
    """
    plan = _plan(session, read)
    report = ImportReport(
        format=read.parsed.format,
        mode="partial" if partial else "atomic",
        dry_run=dry_run,
        replace=replace,
        rows=read.rows,
        warnings=list(read.parsed.warnings),
    )
    report.errors = plan.errors
    report.rejected = len({(e.line, e.external_id) for e in plan.errors})
    report.accepted = len(plan.accepted)
    if plan.errors and not partial:
        raise ImportRejected(report)
    if not read.parsed.rows and not plan.errors:
        raise ImportFileError(N_("the file holds no records"))
    if dry_run:
        report.created = sum(1 for r in plan.accepted if r.record.external_id not in plan.targets)
        report.updated = report.accepted - report.created
        return report

    stored = _stored_profiles(session, plan)
    canonical = canonical_labels(
        session, sorted({c.label for row in plan.accepted for c in row.record.competences})
    )
    with session.no_autoflush:
        before = {org_id: org.version for org_id, org in stored.items()}
        writes: list[tuple[_Change, Organization]] = []
        lines: list[int] = []  # each write's line in the file
        for row in plan.accepted:
            target = plan.targets.get(row.record.external_id)
            org = stored.get(target) if target is not None else None
            change = _change(row, org, canonical, replace=replace)
            if org is None:
                org = Organization(
                    external_id=row.record.external_id,
                    competences=[],
                    relationships=[],
                    cooperation_interests=[],
                    disclosure={},
                )
                session.add(org)
                report.created += 1
            apply_fields(org, change.record, {}, fields=change.fields)
            writes.append((change, org))
            lines.append(row.line)
        # targets: the file's own organisations (new ones too) and those already stored
        refs = _refs(plan.accepted)
        linked: dict[str, Organization] = {}
        stored_refs = {plan.stored[ref] for ref in refs if ref in plan.stored}
        by_id = repository.organizations_by_id(session, stored_refs - set(stored)) | stored
        linked.update({ref: by_id[plan.stored[ref]] for ref in refs if ref in plan.stored})
        linked.update({change.record.external_id: org for change, org in writes})
        for change, org in writes:
            if change.relationships is not None:
                targets = ChainMap(change.kept_targets, linked) if change.kept_targets else linked
                set_relationships(org, change.relationships, targets)
        if encoder is not None:
            embed_organizations([org for _, org in writes], _Precomputed(encoder, vectors or {}))
    session.flush()  # one flush: each organisation is inserted or updated once
    # a profile whose name is hidden is told where its texts give the name away
    for line, (_, org) in zip(lines, writes, strict=True):
        report.warnings.extend(
            Message(
                N_("line %(line)s (%(external_id)s): %(field)s %(problem)s"),
                line=line,
                external_id=org.external_id,
                field=field,
                problem=problem,
            )
            for field, problem in name_mention_messages(org)
        )
    for org_id, version in before.items():
        if stored[org_id].version != version:
            report.updated += 1
        else:
            report.unchanged += 1
    report.written = True
    return report


def run_import(
    session: Session,
    *,
    data: bytes,
    filename: str | None = None,
    content_type: str | None = None,
    partial: bool = False,
    dry_run: bool = False,
    replace: bool = False,
    encoder: Encoder | None = None,
    progress: Callable[[int], None] | None = None,
    reader: Session | None = None,
) -> ImportReport:
    """Import a file: read, encode (before any write), write. Atomic by default: one bad row
    and nothing is written (ImportRejected).

    `reader` is the session the encoding step reads through (default: `session`): one with no
    write transaction, so `session` first touches the database when the vectors are ready.

    Raises ImportFileError when the file as a whole cannot be read.
    """
    read = read_file(data, filename=filename, content_type=content_type)
    vectors: dict[str, np.ndarray] = {}
    if encoder is not None and not dry_run:
        vectors = encode_import(
            reader if reader is not None else session,
            read,
            encoder=encoder,
            partial=partial,
            replace=replace,
            progress=progress,
        )
    elif progress is not None:
        progress(len(read.valid))
    return write_import(
        session,
        read,
        partial=partial,
        dry_run=dry_run,
        replace=replace,
        encoder=encoder,
        vectors=vectors,
    )
