"""Vectors for competences and profiles, computed when profiles are written, in batches."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from app.models import Organization
from matching.encoders import Encoder

BATCH = 256


def competence_text(label: str, description: str | None) -> str:
    return f"{label}. {description}" if description else label


def profile_text(org: Organization) -> str:
    """Name, description and core labels: what the organisation says it is."""
    parts = [org.name]
    if org.description:
        parts.append(org.description)
    core = [c.label for c in org.competences if c.kind == "core"]
    if core:
        parts.append("; ".join(core))
    return ". ".join(parts)


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    """(d,) float32 vector from stored bytes."""
    return np.frombuffer(blob, dtype=np.float32)


def embed_organizations(
    orgs: Sequence[Organization],
    encoder: Encoder,
    *,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Encode every competence and profile that has no vector from `encoder` yet.

    Returns the number of texts encoded. `progress` is called with the number of organisations done.
    """
    pending_comp = [
        c
        for org in orgs
        for c in org.competences
        if force or c.embedding is None or c.embedding_model != encoder.name
    ]
    pending_orgs = [
        o for o in orgs if force or o.profile_embedding is None or o.embedding_model != encoder.name
    ]
    for start in range(0, len(pending_comp), BATCH):
        batch = pending_comp[start : start + BATCH]
        vectors = encoder.encode([competence_text(c.label, c.description) for c in batch])
        for comp, vec in zip(batch, vectors, strict=True):
            comp.embedding = to_bytes(vec)
            comp.embedding_model = encoder.name
    for start in range(0, len(pending_orgs), BATCH):
        batch_orgs = pending_orgs[start : start + BATCH]
        vectors = encoder.encode([profile_text(o) for o in batch_orgs])
        for org, vec in zip(batch_orgs, vectors, strict=True):
            org.profile_embedding = to_bytes(vec)
            org.embedding_model = encoder.name
        if progress is not None:
            progress(len(batch_orgs))
    return len(pending_comp) + len(pending_orgs)
