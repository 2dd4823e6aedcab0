"""Competence-label normalisation: label counts, synonym suggestions, merges, stored synonyms.

Labels are compared by their folded key (matching.labels.fold): "Kunststoff-Spritzgießen" and
"kunststoff spritzgiessen" are one key. A merge renames competences to a canonical label and,
when asked, remembers each merged key in `competence_synonyms`, so that profiles written later
can be given the canonical label (`canonical_labels`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import TypeVar

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.curation.schemas import (
    LabelCounts,
    LabelList,
    LabelMergeOut,
    LabelOut,
    LabelSignals,
    LabelSuggestion,
    LabelSuggestionList,
    LabelSuggestionMember,
    SynonymList,
    SynonymOut,
)
from app.embeddings import Encoder, embed_organizations, from_bytes
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.models import Competence, Organization
from app.models.base import utcnow
from app.models.curation import CompetenceSynonym
from app.models.user import User
from matching.labels import fold, group_labels

KINDS = ("core", "complementary", "peripheral")
# ids per IN (...) list: well below SQLite's and PostgreSQL's limits on bound parameters
_CHUNK = 2000

T = TypeVar("T")


def _chunks(items: Sequence[T]) -> Iterable[list[T]]:
    for start in range(0, len(items), _CHUNK):
        yield list(items[start : start + _CHUNK])


def _label_counts(session: Session) -> dict[str, Counter[str]]:
    """Every distinct label with its number of competences per kind."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    rows = session.execute(
        select(Competence.label, Competence.kind, func.count()).group_by(
            Competence.label, Competence.kind
        )
    )
    for label, kind, n in rows:
        counts[label][kind] += int(n)
    return counts


def _synonym_map(session: Session, keys: Iterable[str] | None = None) -> dict[str, str]:
    """key -> canonical of the stored synonyms (of `keys`, or all)."""
    query = select(CompetenceSynonym.key, CompetenceSynonym.canonical)
    if keys is None:
        return {k: c for k, c in session.execute(query)}
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(set(keys))):
        found.update(
            {k: c for k, c in session.execute(query.where(CompetenceSynonym.key.in_(chunk)))}
        )
    return found


def list_labels(
    session: Session, *, q: str | None, kind: str | None, limit: int, offset: int
) -> LabelList:
    """Distinct labels, the most used first (then alphabetical).

    `q` matches anywhere in the folded label ("giess" finds "Spritzgießen"); `kind` keeps labels
    used at least once with that kind. Counts are always given for all three kinds.
    """
    counts = _label_counts(session)
    needle = fold(q) if q else ""
    rows = [
        (label, fold(label), per_kind)
        for label, per_kind in counts.items()
        if (kind is None or per_kind[kind] > 0)
    ]
    rows = [r for r in rows if needle in r[1]]
    rows.sort(key=lambda r: (-sum(r[2].values()), r[0]))
    page = rows[offset : offset + limit]
    synonyms = _synonym_map(session, (key for _, key, _ in page))
    return LabelList(
        items=[
            LabelOut(
                label=label,
                key=key,
                total=sum(per_kind.values()),
                counts=LabelCounts(**{k: per_kind[k] for k in KINDS}),
                canonical=synonyms.get(key),
            )
            for label, key, per_kind in page
        ],
        total=len(rows),
    )


def _label_model(session: Session, encoder: Encoder | None) -> str | None:
    """The encoder whose competence vectors are compared: the app's when it made any, else
    the one that made the most."""
    models = dict(
        session.execute(
            select(Competence.embedding_model, func.count())
            .where(Competence.embedding_model.is_not(None), Competence.embedding.is_not(None))
            .group_by(Competence.embedding_model)
        ).all()
    )
    if encoder is not None and encoder.name in models:
        return encoder.name
    if not models:
        return None
    return min(models, key=lambda m: (-models[m], m))


def _label_vectors(session: Session, labels: Sequence[str], model: str | None) -> np.ndarray | None:
    """(n, d) float32 unit rows, one per label, zero where no competence has a vector.

    A competence vector encodes label and description; one without a description is the
    label's own vector and is preferred. One vector per label is read, not all of them.
    """
    if model is None:
        return None
    base = select(Competence.label, func.min(Competence.id)).where(
        Competence.embedding_model == model, Competence.embedding.is_not(None)
    )
    chosen: dict[str, int] = {
        label: comp_id
        for label, comp_id in session.execute(
            base.where(Competence.description.is_(None)).group_by(Competence.label)
        )
    }
    for label, comp_id in session.execute(base.group_by(Competence.label)):
        if comp_id is not None:
            chosen.setdefault(label, comp_id)
    blobs: dict[int, bytes] = {}
    for chunk in _chunks(sorted(chosen.values())):
        rows = session.execute(
            select(Competence.id, Competence.embedding).where(Competence.id.in_(chunk))
        )
        blobs.update({i: b for i, b in rows if b is not None})
    dims = {len(b) for b in blobs.values()}
    if len(dims) != 1:
        return None  # no vectors, or vectors of one model name with different widths
    vectors = np.zeros((len(labels), dims.pop() // 4), dtype=np.float32)
    found = [
        (row, blobs[chosen[label]])
        for row, label in enumerate(labels)
        if chosen.get(label) in blobs
    ]
    if found:
        positions = np.fromiter((row for row, _ in found), dtype=np.intp, count=len(found))
        stacked = np.stack([from_bytes(blob) for _, blob in found]).astype(np.float32)
        # each row's own norm, as one vector is normalised elsewhere (same float32 values)
        norms = np.fromiter((np.linalg.norm(v) for v in stacked), np.float32, len(found))[:, None]
        vectors[positions] = np.divide(stacked, norms, out=np.zeros_like(stacked), where=norms > 0)
    return vectors


def suggest(
    session: Session,
    *,
    encoder: Encoder | None,
    threshold: float,
    min_group: int,
    limit: int,
) -> LabelSuggestionList:
    """Groups of likely synonymous labels with a suggested canonical label, most used first."""
    counts = _label_counts(session)
    labels = sorted(counts)
    totals = [sum(counts[label].values()) for label in labels]
    model = _label_model(session, encoder)
    vectors = _label_vectors(session, labels, model)
    groups = group_labels(labels, totals, vectors, threshold=threshold, min_group=min_group)
    items = [
        LabelSuggestion(
            canonical=labels[group.canonical],
            total_count=group.total_count,
            members=[
                LabelSuggestionMember(
                    label=labels[m.index],
                    count=m.count,
                    similarity=m.similarity,
                    confidence=m.confidence,
                    signals=LabelSignals(
                        string=m.string_similarity, embedding=m.embedding_similarity
                    ),
                )
                for m in group.members
            ],
        )
        for group in groups[:limit]
    ]
    return LabelSuggestionList(
        items=items,
        total=len(groups),
        labels=len(labels),
        embedding_model=model if vectors is not None else None,
    )


def _remember(session: Session, *, canonical: str, labels: Sequence[str], user: User) -> int:
    """Store key(label) -> canonical for each label; returns rows added or changed.

    Synonyms that pointed to one of the merged labels now point to the canonical one, and
    the canonical label's own key no longer points elsewhere, so no chain or cycle is left.
    """
    canonical_key = fold(canonical)
    merged_keys = {fold(label) for label in labels}
    changed = 0
    stored = {s.key: s for s in session.scalars(select(CompetenceSynonym)).all()}
    own = stored.get(canonical_key)
    if own is not None and own.canonical != canonical and canonical_key not in merged_keys:
        session.delete(own)
        del stored[canonical_key]
        changed += 1
    targets = merged_keys | {canonical_key}
    for synonym in stored.values():
        repoint = synonym.key not in merged_keys and fold(synonym.canonical) in targets
        if repoint and synonym.canonical != canonical:
            synonym.canonical = canonical
            changed += 1
    for label in labels:
        if label == canonical:
            continue  # not a synonym of itself
        key = fold(label)
        row = stored.get(key)
        if row is None:
            row = CompetenceSynonym(
                key=key, label=label, canonical=canonical, created_by=user.email
            )
            session.add(row)
            stored[key] = row
            changed += 1
        elif row.canonical != canonical:
            row.label, row.canonical, row.created_by = label, canonical, user.email
            row.created_at = utcnow()
            changed += 1
    return changed


def merge_labels(
    session: Session,
    *,
    canonical: str,
    labels: Sequence[str],
    remember: bool,
    user: User,
    encoder: Encoder | None,
) -> LabelMergeOut:
    """Give every competence whose folded label is one of `labels` the label `canonical`.

    Renamed competences lose their vector and are encoded again (when an encoder is loaded;
    otherwise a later `embed` run fills them in), as are the profile vectors of organisations
    whose core labels changed. Where an organisation now has one label twice in one kind, the
    competence with a description stays (the first one if several have, or none has).
    Touched organisations get a new modified_at (and version), which is how the match index
    notices the change. Idempotent: a second identical merge changes nothing.
    """
    if all(label == canonical for label in labels):
        raise Invalid(
            N_("Nothing to merge: the labels are all the canonical label itself."),
            errors=[{"field": "labels", "message": N_("name at least one other label")}],
        )
    if not fold(canonical):
        raise Invalid(
            N_("The canonical label has no letters or digits."),
            errors=[{"field": "canonical", "message": N_("no letters or digits")}],
        )
    empty = [label for label in labels if not fold(label)]
    if empty:
        raise Invalid(
            N_("Labels without letters or digits: %(labels)s."),
            values={"labels": ", ".join(repr(e) for e in empty)},
            errors=[{"field": "labels", "message": N_("a label has no letters or digits")}],
        )
    keys = {fold(label) for label in labels}
    existing = session.scalars(select(Competence.label).distinct()).all()
    # the canonical spelling itself stays as it is
    matched = sorted({label for label in existing if fold(label) in keys} - {canonical})

    org_ids: set[int] = set()
    for chunk in _chunks(matched):
        org_ids.update(
            session.scalars(
                select(Competence.organization_id).where(Competence.label.in_(chunk)).distinct()
            )
        )
    orgs = (
        session.scalars(
            select(Organization)
            .where(Organization.id.in_(sorted(org_ids)))
            .options(selectinload(Organization.competences))
            .order_by(Organization.id)
        ).all()
        if org_ids
        else []
    )

    renamed = deduplicated = 0
    now = utcnow()
    matched_set = set(matched)
    canonical_folded = canonical.casefold()
    for org in orgs:
        core_changed = False
        for competence in org.competences:
            if competence.label in matched_set:
                competence.label = canonical
                competence.embedding = None
                competence.embedding_model = None
                renamed += 1
                core_changed = core_changed or competence.kind == "core"
        # the profile rule: one label once per kind, ignoring case
        for kind in KINDS:
            same = [
                c
                for c in org.competences
                if c.kind == kind and c.label.casefold() == canonical_folded
            ]
            if len(same) < 2:
                continue
            keep = next((c for c in same if c.description), same[0])
            for competence in same:
                if competence is not keep:
                    org.competences.remove(competence)
                    deduplicated += 1
                    core_changed = core_changed or kind == "core"
        if core_changed:
            org.profile_embedding = None  # the profile text lists the core labels
        org.modified_at = now  # also bumps the version: stale ETags must not undo the merge
    if encoder is not None and orgs:
        embed_organizations(orgs, encoder)
    synonyms = _remember(session, canonical=canonical, labels=labels, user=user) if remember else 0
    session.flush()
    return LabelMergeOut(
        canonical=canonical,
        renamed=renamed,
        deduplicated=deduplicated,
        organizations=len(orgs),
        synonyms=synonyms,
    )


def canonical_labels(session: Session, labels: Sequence[str]) -> dict[str, str]:
    """label -> canonical label, for those of `labels` whose folded key has a stored synonym.

    Call it when profiles are written or imported, to store the canonical label instead.
    """
    by_key = _synonym_map(session, (fold(label) for label in labels))
    return {label: by_key[fold(label)] for label in labels if fold(label) in by_key}


def list_synonyms(session: Session, *, limit: int, offset: int) -> SynonymList:
    """Stored synonyms, by canonical label and key."""
    total = session.scalar(select(func.count()).select_from(CompetenceSynonym))
    rows = session.scalars(
        select(CompetenceSynonym)
        .order_by(CompetenceSynonym.canonical, CompetenceSynonym.key)
        .limit(limit)
        .offset(offset)
    ).all()
    return SynonymList(items=[SynonymOut.model_validate(r) for r in rows], total=int(total or 0))


def delete_synonym(session: Session, *, synonym_id: int) -> None:
    """Forget one synonym (competences already renamed stay as they are)."""
    synonym = session.get(CompetenceSynonym, synonym_id)
    if synonym is None:
        raise NotFound(N_("No synonym with id %(id)s."), values={"id": synonym_id})
    session.delete(synonym)
    session.flush()
