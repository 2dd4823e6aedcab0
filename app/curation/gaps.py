"""The cluster's competence-gap map: needs no other organisation's core covers, and cores
offered by many.

Labels are compared by their folded key (`matching.labels.fold`). A core competence *covers* a
need when their keys are equal, when the engine's label similarity
(`matching.labels.string_similarity`, for labels sharing a word) reaches STRING_THRESHOLD,
when the core's label contains every word of the need's,
or when the cosine of their stored competence vectors (one encoder's, as in the label
suggestions) reaches `threshold`. A need is *open* for an organisation when no other
organisation offers a covering core: its own offer does not count, it seeks a partner.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.curation.labels import _label_model, _label_vectors
from app.embeddings import Encoder
from app.models import Competence
from matching.labels import Spelling, fold, group_labels, spelled_similarity

NEED_KINDS = ("complementary", "peripheral")
# cosine of two competence vectors from which a core counts as covering a need
DEFAULT_THRESHOLD = 0.7
# the engine's label similarity from which a core counts as covering a need
STRING_THRESHOLD = 0.9


class NeedGap(BaseModel):
    label: str = Field(description="The need's most used spelling")
    kinds: list[str] = Field(description="complementary and/or peripheral")
    needed_by: int = Field(description="Organisations that state this need")
    providers: int = Field(description="Organisations whose core covers it")
    open_for: int = Field(description="Needing organisations no other organisation covers")
    nearest_core: str | None = Field(description="The most similar core label, if any")
    nearest_similarity: float | None = Field(description="Its cosine (or label similarity)")


class CoreSupply(BaseModel):
    label: str = Field(description="The group's most offered label")
    labels: list[str] = Field(description="The core labels counted together (synonyms)")
    offered_by: int = Field(description="Organisations with this core competence")
    demanded_by: int = Field(description="Organisations with a need it covers")


class GapMap(BaseModel):
    organizations: int = Field(description="Organisations with at least one competence")
    needs: int = Field(description="Distinct needs (folded labels)")
    cores: int = Field(description="Distinct core competences (folded labels)")
    open_needs: int = Field(description="Needs open for at least one organisation")
    gaps: list[NeedGap] = Field(description="Open needs, the most needed first")
    crowded: list[CoreSupply] = Field(description="Cores offered by at least two, most first")
    threshold: float
    embedding_model: str | None = Field(description="Whose stored vectors were compared")


@dataclass
class _Key:
    spellings: Counter[str] = field(default_factory=Counter)
    needers: set[int] = field(default_factory=set)
    offerers: set[int] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return min(self.spellings, key=lambda s: (-self.spellings[s], s))


def _keys(session: Session) -> dict[str, _Key]:
    keys: dict[str, _Key] = defaultdict(_Key)
    rows = session.execute(
        select(Competence.organization_id, Competence.label, Competence.kind).order_by(
            Competence.id
        )
    )
    folded: dict[str, str] = {}  # a label used by many organisations is folded once
    for organization_id, label, kind in rows:
        key = folded.get(label)
        if key is None:
            key = folded[label] = fold(label)
        if not key:
            continue
        entry = keys[key]
        entry.spellings[label] += 1
        if kind == "core":
            entry.offerers.add(organization_id)
        else:
            entry.needers.add(organization_id)
            entry.kinds.add(kind)
    return keys


def _vectors(
    session: Session, need_labels: list[str], core_labels: list[str], encoder: Encoder | None
) -> tuple[np.ndarray | None, np.ndarray | None, str | None]:
    """(n_needs, d) and (n_cores, d) unit rows of the labels' stored vectors (zero rows
    without a vector), or None, and the encoder's name."""
    if not need_labels and not core_labels:
        return None, None, None
    model = _label_model(session, encoder)
    vectors = _label_vectors(session, [*need_labels, *core_labels], model)
    if vectors is None:
        return None, None, None
    return vectors[: len(need_labels)], vectors[len(need_labels) :], model


def _string_pairs(need_keys: list[str], core_keys: list[str]) -> dict[int, dict[int, float]]:
    """need -> {core: label similarity} for keys sharing a word, where it reaches the threshold."""
    cores = [Spelling.of(key) for key in core_keys]
    by_word: dict[str, list[int]] = defaultdict(list)
    for j, core in enumerate(cores):
        for word in core.word_set:
            by_word[word].append(j)
    found: dict[int, dict[int, float]] = defaultdict(dict)
    for i, key in enumerate(need_keys):
        need = Spelling.of(key)
        candidates = {j for word in need.word_set for j in by_word.get(word, ())}
        for j in candidates:
            # a core that names every word of the need offers it ("energieberatung" is
            # covered by "energieberatung fur gebaude")
            contained = need.word_set <= cores[j].word_set
            value = 1.0 if contained else spelled_similarity(need, cores[j])
            if value >= STRING_THRESHOLD:
                found[i][j] = value
    return found


def gap_map(
    session: Session,
    *,
    encoder: Encoder | None,
    threshold: float = DEFAULT_THRESHOLD,
    limit: int = 50,
) -> GapMap:
    """Which needs of the cluster's organisations no other organisation's core covers, and
    which cores many offer (each list at most `limit` long)."""
    keys = _keys(session)
    need_keys = sorted(k for k, v in keys.items() if v.needers)
    core_keys = sorted(k for k, v in keys.items() if v.offerers)
    core_labels = [keys[k].label for k in core_keys]
    need_vectors, core_vectors, model = _vectors(
        session, [keys[k].label for k in need_keys], core_labels, encoder
    )
    cosines = (
        need_vectors @ core_vectors.T
        if need_vectors is not None and core_vectors is not None and need_keys and core_keys
        else None
    )  # (n_needs, n_cores)
    strings = _string_pairs(need_keys, core_keys)
    # the cores each need's cosine reaches, found for all needs at once
    close: dict[int, list[int]] = defaultdict(list)
    if cosines is not None:
        for i, j in np.argwhere(cosines >= threshold).tolist():
            close[i].append(j)
    core_index = {k: j for j, k in enumerate(core_keys)}
    demand: dict[int, set[int]] = defaultdict(set)  # core -> organisations it would serve
    gaps: list[NeedGap] = []
    for i, key in enumerate(need_keys):
        entry = keys[key]
        covering: dict[int, float] = {}
        if key in core_index:
            covering[core_index[key]] = 1.0
        if cosines is not None:
            for j in close.get(i, ()):
                covering[j] = max(covering.get(j, 0.0), float(cosines[i, j]))
        for j, value in strings.get(i, {}).items():
            covering[j] = max(covering.get(j, 0.0), value)
        providers: set[int] = set()
        for j in covering:
            providers |= keys[core_keys[j]].offerers
            demand[j] |= entry.needers
        open_for = sum(1 for org in entry.needers if not providers - {org})
        if open_for == 0:
            continue
        nearest, similarity = None, None
        if covering:
            j = max(covering, key=lambda j: (covering[j], -j))
            nearest, similarity = keys[core_keys[j]].label, covering[j]
        elif cosines is not None and len(core_keys):
            j = int(np.argmax(cosines[i]))
            if cosines[i, j] > 0:
                nearest, similarity = keys[core_keys[j]].label, float(cosines[i, j])
        gaps.append(
            NeedGap(
                label=entry.label,
                kinds=[k for k in NEED_KINDS if k in entry.kinds],
                needed_by=len(entry.needers),
                providers=len(providers),
                open_for=open_for,
                nearest_core=nearest,
                nearest_similarity=round(similarity, 4) if similarity is not None else None,
            )
        )
    gaps.sort(key=lambda g: (-g.open_for, -g.needed_by, g.label))
    crowded = _crowded(keys, core_keys, core_labels, core_vectors, demand, threshold)
    crowded.sort(key=lambda c: (-c.offered_by, -c.demanded_by, c.label))
    organizations = {o for v in keys.values() for o in v.needers | v.offerers}
    return GapMap(
        organizations=len(organizations),
        needs=len(need_keys),
        cores=len(core_keys),
        open_needs=len(gaps),
        gaps=gaps[:limit],
        crowded=crowded[:limit],
        threshold=threshold,
        embedding_model=model,
    )


def _crowded(
    keys: dict[str, _Key],
    core_keys: list[str],
    core_labels: list[str],
    core_vectors: np.ndarray | None,
    demand: dict[int, set[int]],
    threshold: float,
) -> list[CoreSupply]:
    """Cores offered by at least two organisations, synonyms counted together: the engine's
    label groups (`matching.labels.group_labels`, spelling and vectors) at `threshold`."""
    offers = [len(keys[k].offerers) for k in core_keys]
    groups = group_labels(core_labels, offers, core_vectors, threshold=threshold, min_group=2)
    members = [[m.index for m in g.members] for g in groups]
    grouped = {i for group in members for i in group}
    members += [[j] for j in range(len(core_keys)) if j not in grouped]
    out = []
    for group in members:
        offerers = set().union(*(keys[core_keys[j]].offerers for j in group))
        if len(offerers) < 2:
            continue
        demanders = set().union(*(demand.get(j, set()) for j in group))
        out.append(
            CoreSupply(
                label=core_labels[group[0]],
                labels=[core_labels[j] for j in group],
                offered_by=len(offerers),
                demanded_by=len(demanders - offerers),
            )
        )
    return out
