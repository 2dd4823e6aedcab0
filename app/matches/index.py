"""The fitted engine over all stored vectors, rebuilt only when the stored profiles change."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.embeddings import from_bytes
from app.models import Competence, KnownRelationship, Organization
from matching import CompetenceVec, Matcher, ProfileVec
from matching.types import CompetenceKind


@dataclass(frozen=True, slots=True)
class OrgInfo:
    id: int
    external_id: str | None
    name: str
    nace_code: str | None
    country: str | None
    city: str | None
    visibility: str
    postal_code: str | None
    employees: int | None
    hide_from_competitors: bool


@dataclass(slots=True)
class FittedIndex:
    token: tuple[Any, ...]
    matcher: Matcher
    profiles: dict[int, ProfileVec]  # every organisation, private ones too (they may ask)
    info: dict[int, OrgInfo]
    dim: int | None


def _token(session: Session, encoder_name: str) -> tuple[Any, ...]:
    row = session.execute(
        select(func.count(), func.max(Organization.id), func.max(Organization.modified_at))
    ).one()
    competences = session.scalar(select(func.count()).select_from(Competence))
    return (encoder_name, *row, competences)


def load_profiles(
    session: Session, encoder_name: str
) -> tuple[dict[int, ProfileVec], dict[int, OrgInfo]]:
    """ProfileVecs from stored vectors of `encoder_name`; vectors of other models are ignored."""
    competences: dict[int, list[CompetenceVec]] = defaultdict(list)
    rows = session.execute(
        select(
            Competence.id,
            Competence.organization_id,
            Competence.kind,
            Competence.label,
            Competence.embedding,
        )
        .where(Competence.embedding_model == encoder_name, Competence.embedding.is_not(None))
        .order_by(Competence.id)
    )
    for comp_id, org_id, kind, label, blob in rows:
        assert blob is not None  # filtered above
        competences[org_id].append(
            CompetenceVec(comp_id, cast(CompetenceKind, kind), label, from_bytes(blob))
        )
    neighbours: dict[int, set[int]] = defaultdict(set)
    for a, b in session.execute(
        select(KnownRelationship.organization_id, KnownRelationship.related_organization_id).where(
            KnownRelationship.related_organization_id.is_not(None)
        )
    ):
        if b is not None:
            neighbours[a].add(b)
            neighbours[b].add(a)
    profiles: dict[int, ProfileVec] = {}
    info: dict[int, OrgInfo] = {}
    for org in session.execute(
        select(
            Organization.id,
            Organization.external_id,
            Organization.name,
            Organization.nace_code,
            Organization.country,
            Organization.city,
            Organization.latitude,
            Organization.longitude,
            Organization.employees,
            Organization.cooperation_interests,
            Organization.visibility,
            Organization.postal_code,
            Organization.hide_from_competitors,
            Organization.profile_embedding,
            Organization.embedding_model,
        ).order_by(Organization.id)
    ):
        vector = (
            from_bytes(org.profile_embedding)
            if org.profile_embedding is not None and org.embedding_model == encoder_name
            else None
        )
        nace = org.nace_code if org.nace_code and org.nace_code[:1].isdigit() else None
        profiles[org.id] = ProfileVec(
            id=org.id,
            name=org.name,
            nace_code=nace,
            country=org.country,
            latitude=org.latitude,
            longitude=org.longitude,
            employees=org.employees,
            cooperation_interests=frozenset(org.cooperation_interests or ()),
            competences=tuple(competences.get(org.id, ())),
            profile_vector=vector,
            known_partner_ids=frozenset(neighbours.get(org.id, ())),
            # the organisation's opt-out: the engine leaves it out where it labels a competitor
            exclude_from_competitors=bool(org.hide_from_competitors),
        )
        info[org.id] = OrgInfo(
            org.id,
            org.external_id,
            org.name,
            org.nace_code,
            org.country,
            org.city,
            org.visibility,
            org.postal_code,
            org.employees,
            bool(org.hide_from_competitors),
        )
    return profiles, info


class IndexCache:
    """Holds one FittedIndex; `get` refits when the database changed since the last fit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: FittedIndex | None = None

    def get(self, session: Session, encoder_name: str) -> FittedIndex:
        token = _token(session, encoder_name)
        current = self._current
        if current is not None and current.token == token:
            return current
        with self._lock:
            if self._current is not None and self._current.token == token:
                return self._current
            profiles, info = load_profiles(session, encoder_name)
            # private profiles are never offered to others
            candidates = [p for p in profiles.values() if info[p.id].visibility != "private"]
            matcher = Matcher().fit(candidates)
            dims = [len(p.profile_vector) for p in candidates if p.profile_vector is not None]
            self._current = FittedIndex(token, matcher, profiles, info, dims[0] if dims else None)
            return self._current
