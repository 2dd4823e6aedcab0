"""Curation rules: duplicate detection, verification, stale profiles, merges.

Services flush but never commit. The few queries live here: curation reads across aggregates
(organisations, relationships, accounts, event participants) and owns no table of its own
beyond the merge history.
"""

from __future__ import annotations

import datetime as dt
import heapq
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from urllib.parse import urlsplit

import numpy as np
from rapidfuzz.distance import Indel
from rapidfuzz.process import cdist
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.curation.schemas import (
    CurationStatus,
    DuplicateList,
    DuplicatePair,
    DuplicateSignals,
    MergeOut,
    StaleList,
)
from app.embeddings import Encoder, embed_organizations, from_bytes
from app.errors import Conflict
from app.i18n import N_
from app.models import KnownRelationship, Organization
from app.models.base import utcnow
from app.models.curation import OrganizationMerge
from app.models.event import Participant
from app.models.user import User
from app.organizations import repository as organization_repository
from app.organizations import service as organization_service

# weights of the signals in a pair's score; they sum to 1
NAME_WEIGHT = 0.45
DOMAIN_WEIGHT = 0.25
EMBEDDING_WEIGHT = 0.20
LOCATION_WEIGHT = 0.10

# legal forms (after lower-casing, transliteration and dropping inner dots: e.V. -> ev)
LEGAL_FORMS = frozenset(
    {
        # German-speaking countries
        "gmbh", "mbh", "ag", "kg", "kgaa", "ohg", "gbr", "ug", "ev", "eg", "se", "co",
        "haftungsbeschraenkt", "gesmbh", "partg", "partgmbb", "ek", "ekfr",
        # English-speaking countries
        "ltd", "limited", "llc", "llp", "inc", "corp", "corporation", "plc", "company",
        # elsewhere in Europe
        "srl", "spa", "sas", "sarl", "sa", "sl", "bv", "nv", "ab", "oy", "aps", "as", "kft",
        "sro", "sp", "zoo", "oo",
    }
)  # fmt: skip
_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_INNER_DOT = re.compile(r"(?<=\w)\.(?=\w)")
_NON_WORD = re.compile(r"[\W_]+")
# profile vectors are compared in blocks of this many rows at a time
_EMBEDDING_BLOCK = 512
# float32 cosines of unit vectors are this close to the float64 ones (d up to a few thousand)
_FLOAT32_MARGIN = 1e-4
# names are compared with the earlier ones in blocks of this many
_NAME_BLOCK = 256
# how far below the threshold rapidfuzz's bound on the ratio is cut
_RATIO_MARGIN = 1e-4


def normalise_name(name: str) -> str:
    """Lower-cased words of a name without legal forms: "Sensotec GmbH" -> "sensotec"."""
    text = unicodedata.normalize("NFKC", name).casefold().translate(_TRANSLITERATION)
    words = _NON_WORD.sub(" ", _INNER_DOT.sub("", text)).split()
    kept = [w for w in words if w not in LEGAL_FORMS]
    # a name made only of legal forms ("AG & Co. KG") is compared as it is
    return " ".join(kept or words)


def website_domain(website: str | None) -> str | None:
    """The host of a website without `www.`: "https://www.Sensotec.de/en" -> "sensotec.de"."""
    if website is None or not website.strip():
        return None
    text = website.strip()
    if "://" not in text:
        text = f"http://{text}"
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".").removeprefix("www.")
    return host or None


def name_similarity(a: str, b: str) -> float:
    """SequenceMatcher ratio of two normalised names, ignoring the spaces between words."""
    return SequenceMatcher(None, a.replace(" ", ""), b.replace(" ", "")).ratio()


@dataclass(frozen=True, slots=True)
class Profile:
    """What the duplicate search knows of one organisation."""

    status: CurationStatus
    name: str  # normalised
    domain: str | None
    location: tuple[str, str] | None  # (postal code, city), both given
    vector: np.ndarray | None  # (d,) unit vector
    model: str | None


def _load_profiles(session: Session) -> list[Profile]:
    rows = session.execute(
        select(
            Organization.id,
            Organization.external_id,
            Organization.name,
            Organization.modified_at,
            Organization.verified_at,
            Organization.verified_by,
            Organization.website,
            Organization.postal_code,
            Organization.city,
            Organization.profile_embedding,
            Organization.embedding_model,
        ).order_by(Organization.id)
    )
    profiles = []
    for row in rows:
        vector = None
        if row.profile_embedding is not None and row.embedding_model is not None:
            raw = from_bytes(row.profile_embedding).astype(np.float64)
            norm = float(np.linalg.norm(raw))
            vector = raw / norm if norm > 0 else None
        location = None
        if row.postal_code and row.city and row.postal_code.strip() and row.city.strip():
            location = (row.postal_code.strip().replace(" ", ""), row.city.strip().casefold())
        profiles.append(
            Profile(
                status=CurationStatus(
                    id=row.id,
                    external_id=row.external_id,
                    name=row.name,
                    modified_at=row.modified_at,
                    verified_at=row.verified_at,
                    verified_by=row.verified_by,
                ),
                name=normalise_name(row.name),
                domain=website_domain(row.website),
                location=location,
                vector=vector,
                model=row.embedding_model if vector is not None else None,
            )
        )
    return profiles


def _similar_enough(
    matcher: SequenceMatcher[str], first: str, second: str, threshold: float
) -> bool:
    """Whether SequenceMatcher(None, first, second).ratio() >= threshold.

    The ratio depends on the order of the two strings, so the order is the caller's; the
    cheap upper bounds come first.
    """
    matcher.set_seqs(first, second)
    return (
        matcher.real_quick_ratio() >= threshold
        and matcher.quick_ratio() >= threshold
        and matcher.ratio() >= threshold
    )


def similar_name_pairs(names: Sequence[str], threshold: float) -> set[tuple[int, int]]:
    """Index pairs (i < j) of normalised names whose `name_similarity` is at least `threshold`.

    The test is difflib's ratio of the names without spaces, the shorter one first (of two
    equally long names the one with the smaller index). Every pair is compared, but in two
    stages: rapidfuzz's Indel ratio, 2 * LCS / (len(a) + len(b)), runs over blocks of names
    in C++ and is never below difflib's ratio (difflib's matching blocks are one common
    subsequence, at most the longest one), so it drops no pair that difflib would keep; difflib
    then decides on the few pairs left. Names are sorted by length, because the ratio can reach
    `threshold` only while the shorter name is at least threshold / (2 - threshold) as long as
    the longer one; equal names are compared once. Names of punctuation only say nothing and
    make no pair.
    """
    compact = [name.replace(" ", "") for name in names]
    positions: dict[str, list[int]] = defaultdict(list)
    for i, text in enumerate(compact):
        if text:
            positions[text].append(i)
    if threshold <= 0:  # every pair: nothing to search
        kept = sorted(i for members in positions.values() for i in members)
        return {(a, b) for n, a in enumerate(kept) for b in kept[n + 1 :]}
    found: set[tuple[int, int]] = set()
    if threshold <= 1.0:  # equal names have the ratio 1
        for members in positions.values():
            found.update((a, b) for n, a in enumerate(members) for b in members[n + 1 :])
    unique = sorted(positions, key=lambda text: (len(text), text))
    lengths = np.array([len(text) for text in unique])  # (m,)
    min_ratio = threshold / (2 - threshold) if threshold < 2 else 1.0
    # rapidfuzz rounds its cutoff (a ratio of exactly 0.85 fails a cutoff of 0.85 - 1e-9): the
    # margin keeps it from dropping a pair at the threshold; difflib decides anyway
    cutoff = max(threshold - _RATIO_MARGIN, 0.0)
    matcher: SequenceMatcher[str] = SequenceMatcher(None)
    for start in range(0, len(unique), _NAME_BLOCK):
        stop = min(start + _NAME_BLOCK, len(unique))
        # names in the block are compared with every earlier name long enough for any of them
        low = int(np.searchsorted(lengths, min_ratio * lengths[start], side="left"))
        scores = cdist(
            unique[start:stop],
            unique[low:stop],
            scorer=Indel.normalized_similarity,
            score_cutoff=cutoff,
            dtype=np.float32,
            workers=1,
        )  # (stop - start, stop - low); 0 below the cutoff
        rows, columns = np.nonzero(scores)
        later, earlier = rows + start, columns + low
        keep = (earlier < later) & (lengths[earlier] >= min_ratio * lengths[later])
        for u, v in zip(earlier[keep].tolist(), later[keep].tolist(), strict=True):
            found.update(_expand(unique[u], unique[v], positions, matcher, threshold))
    return found


def _expand(
    short: str,
    long_: str,
    positions: dict[str, list[int]],
    matcher: SequenceMatcher[str],
    threshold: float,
) -> Iterable[tuple[int, int]]:
    """The index pairs of two distinct names (len(short) <= len(long_)) that pass difflib."""
    verdicts: dict[bool, bool] = {}
    for i in positions[short]:
        for j in positions[long_]:
            # of two equally long names the one with the smaller index goes first
            swapped = len(short) == len(long_) and j < i
            if swapped not in verdicts:
                first, second = (long_, short) if swapped else (short, long_)
                verdicts[swapped] = _similar_enough(matcher, first, second, threshold)
            if verdicts[swapped]:
                yield (min(i, j), max(i, j))


def _domain_candidates(profiles: Sequence[Profile]) -> set[tuple[int, int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(profiles):
        if p.domain is not None:
            groups[p.domain].append(i)
    return {(a, b) for members in groups.values() for a in members for b in members if a < b}


def _embedding_candidates(profiles: Sequence[Profile], threshold: float) -> set[tuple[int, int]]:
    """Index pairs whose profile vectors (same model and dimension) have cosine >= threshold.

    Blocks of rows are compared in float32 with the later rows only (the upper triangle);
    the pairs within a small margin of the threshold are decided again in float64.
    """
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, p in enumerate(profiles):
        if p.vector is not None and p.model is not None:
            groups[(p.model, p.vector.shape[0])].append(i)
    found: set[tuple[int, int]] = set()
    for members in groups.values():
        exact = np.stack([v for i in members if (v := profiles[i].vector) is not None])  # (n, d)
        matrix = exact.astype(np.float32)
        index = np.asarray(members)  # (n,)
        for start in range(0, len(members), _EMBEDDING_BLOCK):
            block = matrix[start : start + _EMBEDDING_BLOCK] @ matrix[start:].T  # (b, n - start)
            rows, columns = np.nonzero(block >= threshold - _FLOAT32_MARGIN)
            a, b = rows + start, columns + start
            keep = a < b
            a, b = a[keep], b[keep]
            cosine = np.einsum("ij,ij->i", exact[a], exact[b])  # (k,) in float64
            keep = cosine >= threshold
            found.update(zip(index[a[keep]].tolist(), index[b[keep]].tolist(), strict=True))
    return found


def _cosine(a: Profile, b: Profile) -> float | None:
    if a.vector is None or b.vector is None or a.model != b.model:
        return None
    if a.vector.shape != b.vector.shape:
        return None
    return float(np.clip(a.vector @ b.vector, -1.0, 1.0))


@dataclass(frozen=True, slots=True)
class _Scored:
    score: float
    first: int  # index of the profile with the smaller id
    second: int
    signals: DuplicateSignals


def _signals(a: Profile, b: Profile) -> tuple[float, DuplicateSignals]:
    """The score of a pair and its signals."""
    names = round(name_similarity(a.name, b.name), 4)
    domain = a.domain if a.domain is not None and a.domain == b.domain else None
    cosine = _cosine(a, b)
    cosine = round(cosine, 4) if cosine is not None else None
    location = a.location is not None and a.location == b.location
    score = (
        NAME_WEIGHT * names
        + DOMAIN_WEIGHT * (domain is not None)
        + EMBEDDING_WEIGHT * max(cosine or 0.0, 0.0)
        + LOCATION_WEIGHT * location
    )
    signals = DuplicateSignals(
        name_similarity=names,
        same_domain=domain,
        embedding_similarity=cosine,
        same_location=location,
    )
    return round(score, 4), signals


def _pair(a: Profile, b: Profile) -> DuplicatePair:
    score, signals = _signals(a, b)
    return DuplicatePair(score=score, first=a.status, second=b.status, signals=signals)


def duplicate_pairs(
    profiles: Sequence[Profile],
    *,
    name_threshold: float,
    embedding_threshold: float,
    min_score: float,
    limit: int,
) -> DuplicateList:
    """The `limit` best likely duplicate pairs of `profiles` (see `find_duplicates`).

    `profiles` are ordered by id.
    """
    candidates = (
        similar_name_pairs([p.name for p in profiles], name_threshold)
        | _domain_candidates(profiles)
        | _embedding_candidates(profiles, embedding_threshold)
    )
    scored = []
    for i, j in candidates:
        score, signals = _signals(profiles[i], profiles[j])
        if score >= min_score:
            scored.append(_Scored(score, i, j, signals))
    # only the pairs returned become response objects: thousands of candidates are common
    best = heapq.nsmallest(
        limit,
        scored,
        key=lambda s: (-s.score, profiles[s.first].status.id, profiles[s.second].status.id),
    )
    items = [
        DuplicatePair(
            score=s.score,
            first=profiles[s.first].status,
            second=profiles[s.second].status,
            signals=s.signals,
        )
        for s in best
    ]
    return DuplicateList(items=items, total=len(scored))


def find_duplicates(
    session: Session,
    *,
    name_threshold: float,
    embedding_threshold: float,
    min_score: float,
    limit: int,
) -> DuplicateList:
    """Likely duplicate pairs, best first (score descending, then the two ids ascending).

    A pair is a candidate when its names are at least `name_threshold` similar, it shares a
    website domain, or its profile vectors have a cosine of at least `embedding_threshold`;
    the same postal code and city alone is not enough (neighbours are not duplicates). Pairs
    scoring below `min_score` are left out.
    """
    return duplicate_pairs(
        _load_profiles(session),
        name_threshold=name_threshold,
        embedding_threshold=embedding_threshold,
        min_score=min_score,
        limit=limit,
    )


def curation_status(organization: Organization) -> CurationStatus:
    return CurationStatus.model_validate(organization)


def _set_verified(
    session: Session, organization: Organization, at: dt.datetime | None, by: str | None
) -> CurationStatus:
    # a verification is no edit of the profile: modified_at (staleness) and version stay
    session.execute(
        update(Organization)
        .where(Organization.id == organization.id)
        .values(verified_at=at, verified_by=by, modified_at=Organization.modified_at),
        execution_options={"synchronize_session": False},
    )
    session.refresh(organization, ["verified_at", "verified_by", "modified_at"])
    return curation_status(organization)


def verify(session: Session, *, organization: Organization, user: User) -> CurationStatus:
    return _set_verified(session, organization, utcnow(), user.email)


def unverify(session: Session, *, organization: Organization) -> CurationStatus:
    return _set_verified(session, organization, None, None)


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day and time `months` calendar months earlier (clamped to the month's end)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    next_month = dt.date(year + month // 12, month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def stale_organizations(
    session: Session, *, months: int, limit: int, offset: int, now: dt.datetime | None = None
) -> StaleList:
    """Profiles not modified for `months` months, oldest first."""
    cutoff = months_before(now or utcnow(), months)
    condition = Organization.modified_at < cutoff
    total = session.scalar(select(func.count()).select_from(Organization).where(condition))
    rows = session.scalars(
        select(Organization)
        .where(condition)
        .order_by(Organization.modified_at, Organization.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return StaleList(
        items=[curation_status(o) for o in rows], total=int(total or 0), modified_before=cutoff
    )


def _check_events(session: Session, *, keep_id: int, merge_id: int) -> None:
    """Both organisations registered for one event cannot become one participant."""
    keep_events = select(Participant.event_id).where(Participant.organization_id == keep_id)
    shared = session.scalars(
        select(Participant.event_id)
        .where(Participant.organization_id == merge_id, Participant.event_id.in_(keep_events))
        .order_by(Participant.event_id)
    ).all()
    if shared:
        raise Conflict(
            N_(
                "Both organisations take part in event(s) %(events)s: remove one of them from "
                "the event first."
            ),
            values={"events": ", ".join(str(e) for e in shared)},
            errors=[{"field": "merge_id", "message": N_("registered for the same event")}],
        )


def _snapshot(session: Session, user: User, organization: Organization) -> dict[str, object]:
    """The merged profile as hub staff read it, kept in the merge's history row."""
    out = organization_service.organization_view(session, user=user, organization=organization)
    data = out.model_dump(mode="json")
    data["verified_at"] = (
        organization.verified_at.isoformat() if organization.verified_at is not None else None
    )
    data["verified_by"] = organization.verified_by
    return data


def _owners_linking_to(
    session: Session, organization_id: int, *, besides: Iterable[int]
) -> Iterable[Organization]:
    """Other organisations with a relationship to `organization_id`, with their full profile."""
    owner_ids = select(KnownRelationship.organization_id).where(
        KnownRelationship.related_organization_id == organization_id
    )
    return session.scalars(
        select(Organization)
        .where(Organization.id.in_(owner_ids), Organization.id.not_in([organization_id, *besides]))
        .options(*organization_repository.full_profile())
        .order_by(Organization.id)
    ).all()


def merge_pair(
    session: Session, *, keep_id: int, merge_id: int
) -> tuple[Organization, Organization]:
    """The two organisations of a merge, with their whole profiles loaded; 409 for one and
    the same."""
    if keep_id == merge_id:
        raise Conflict(
            N_("An organisation cannot be merged into itself."),
            errors=[{"field": "merge_id", "message": N_("equals keep_id")}],
        )
    keep = organization_service.get_organization(session, organization_id=keep_id)
    merged = organization_service.get_organization(session, organization_id=merge_id)
    # each load refreshes the other when they are linked, unloading its collections: load
    # both once more, without populate_existing, so whatever is missing is filled in
    session.scalars(
        select(Organization)
        .where(Organization.id.in_([keep.id, merged.id]))
        .options(*organization_repository.full_profile())
    ).all()
    return keep, merged


def merge_organizations(
    session: Session, *, keep_id: int, merge_id: int, user: User, encoder: Encoder | None
) -> MergeOut:
    """Merge organisation `merge_id` into `keep_id` and delete it, keeping a history row.

    Competences move unless the kept organisation has one of the same kind and label
    (ignoring case).
    The merged organisation's relationships move, and others' relationships to it now point
    to the kept one; relationships that would point to the kept organisation itself, or repeat
    one it already has (same type, target and name), are dropped. Member accounts and event
    registrations move too.
    """
    keep, merged = merge_pair(session, keep_id=keep_id, merge_id=merge_id)
    _check_events(session, keep_id=keep.id, merge_id=merged.id)
    snapshot = _snapshot(session, user, merged)
    now = utcnow()

    # the same rule as a profile's own competence list: kind and label, ignoring case
    have = {(c.kind, c.label.casefold()) for c in keep.competences}
    moved_competences = skipped_competences = 0
    core_moved = False
    for competence in list(merged.competences):
        key = (competence.kind, competence.label.casefold())
        if key in have:
            skipped_competences += 1
            continue
        have.add(key)
        keep.competences.append(competence)
        moved_competences += 1
        core_moved = core_moved or competence.kind == "core"

    def key_of(rel: KnownRelationship) -> tuple[str, int | None, str]:
        return (rel.type, rel.related_organization_id, rel.name)

    def renamed(name: str) -> str:
        # a relationship given by external_id is named by it
        if merged.external_id is not None and name == merged.external_id:
            return keep.external_id or keep.name
        return name

    keep_keys = {key_of(r) for r in keep.relationships}
    moved_relationships = repointed = dropped = 0
    for rel in list(merged.relationships):
        if rel.related_organization_id in (keep.id, merged.id):
            dropped += 1
            continue
        if key_of(rel) in keep_keys:
            dropped += 1
            continue
        keep_keys.add(key_of(rel))
        keep.relationships.append(rel)
        moved_relationships += 1

    for owner in [keep, *_owners_linking_to(session, merged.id, besides=[keep.id])]:
        owner_keys = {key_of(r) for r in owner.relationships}
        kept: list[KnownRelationship] = []
        changed = False
        for rel in owner.relationships:
            if rel.related_organization_id != merged.id:
                kept.append(rel)
                continue
            changed = True
            new_key = (rel.type, keep.id, renamed(rel.name))
            if owner is keep or new_key in owner_keys:
                dropped += 1
                continue
            owner_keys.add(new_key)
            rel.related_organization = keep
            rel.name = new_key[2]
            kept.append(rel)
            repointed += 1
        if changed:
            owner.relationships = kept
            if owner is not keep:
                owner.modified_at = now  # the relationship rows changed, not the owner row

    # accounts and registrations would go with the merged row (ON DELETE CASCADE)
    session.execute(
        update(User).where(User.organization_id == merged.id).values(organization_id=keep.id),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(Participant)
        .where(Participant.organization_id == merged.id)
        .values(organization_id=keep.id),
        execution_options={"synchronize_session": False},
    )

    # earlier merges into the merged organisation now lead to the kept one, so every external_id
    # that was ever merged keeps naming a living profile (see `merged_external_ids`)
    session.execute(
        update(OrganizationMerge)
        .where(OrganizationMerge.kept_organization_id == merged.id)
        .values(kept_organization_id=keep.id),
        execution_options={"synchronize_session": False},
    )
    history = OrganizationMerge(
        kept_organization_id=keep.id,
        merged_organization_id=merged.id,
        merged_external_id=merged.external_id,
        merged_name=merged.name,
        snapshot=snapshot,
        merged_by=user.email,
        merged_at=now,
    )
    session.add(history)
    session.delete(merged)
    keep.modified_at = now  # a collection change alone would not bump the version
    if core_moved:
        keep.profile_embedding = None
    if encoder is not None:
        embed_organizations([keep], encoder)
    session.flush()
    return MergeOut(
        id=history.id,
        kept_organization_id=history.kept_organization_id,
        merged_organization_id=history.merged_organization_id,
        merged_external_id=history.merged_external_id,
        merged_name=history.merged_name,
        merged_by=history.merged_by,
        merged_at=history.merged_at,
        moved_competences=moved_competences,
        skipped_competences=skipped_competences,
        moved_relationships=moved_relationships,
        repointed_relationships=repointed,
        dropped_relationships=dropped,
    )


def merged_external_ids(session: Session, external_ids: Iterable[str]) -> dict[str, int]:
    """external_id -> id of the organisation it was merged into, for those of `external_ids`
    that belonged to a merged (deleted) duplicate whose surviving profile still exists.

    Imports use it so that re-importing a duplicate's row updates the surviving profile instead
    of creating the duplicate again. The latest merge of an external_id wins.
    """
    ids = sorted(set(external_ids))
    found: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(OrganizationMerge.merged_external_id, OrganizationMerge.kept_organization_id)
            .where(
                OrganizationMerge.merged_external_id.in_(ids[start : start + 500]),
                OrganizationMerge.kept_organization_id.is_not(None),
            )
            .order_by(OrganizationMerge.merged_at, OrganizationMerge.id)
        )
        for external_id, kept_id in rows:
            if external_id is not None and kept_id is not None:
                found[external_id] = kept_id
    return found
