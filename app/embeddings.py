"""Vectors for competences and profiles, computed when profiles are written, in batches.

Each distinct text is encoded once per call, and once per model overall: vectors are kept in
the `encoding_cache` table keyed by (model, sha256 of the text), so a label that 5,000
organisations share, or a profile re-imported unchanged, costs a lookup instead of an encoder
pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, object_session

from app.config import get_settings
from app.models import Organization
from app.models.index_state import EncodingCacheEntry
from matching.encoders import Encoder

BATCH = 256
# keys per IN (...) clause when looking vectors up
_LOOKUP_CHUNK = 500
CACHE: Table = EncodingCacheEntry.__table__  # type: ignore[assignment]


def load_default_encoder() -> Encoder | None:
    """The encoder of `settings.embedding_model` with its weights loaded (None: "none").

    For the app's lifespan and the commands; never at import time."""
    from matching.encoders import load_encoder

    spec = get_settings().embedding_model
    if spec.lower() == "none":
        return None
    encoder = load_encoder(spec)
    encoder.encode(["warm-up"])  # load weights now, not on the first request
    return encoder


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


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cached_vectors(connection: Connection, model: str, keys: Iterable[str]) -> dict[str, bytes]:
    """Stored vectors of `model` for text keys (see `text_key`); missing keys are left out."""
    wanted = sorted(set(keys))
    found: dict[str, bytes] = {}
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        part = wanted[start : start + _LOOKUP_CHUNK]
        rows = connection.execute(
            select(CACHE.c.text_hash, CACHE.c.vector).where(
                CACHE.c.model == model, CACHE.c.text_hash.in_(part)
            )
        )
        found.update({k: bytes(v) for k, v in rows})
    return found


def store_vectors(connection: Connection, model: str, vectors: dict[str, bytes]) -> None:
    """Remember vectors by text key; keys stored meanwhile by another writer are kept."""
    if not vectors:
        return
    rows = [{"model": model, "text_hash": k, "vector": v} for k, v in vectors.items()]
    if connection.dialect.name == "postgresql":
        connection.execute(postgresql.insert(CACHE).on_conflict_do_nothing(), rows)
    else:
        connection.execute(sqlite.insert(CACHE).on_conflict_do_nothing(), rows)


def encode_texts(
    texts: Sequence[str],
    encoder: Encoder,
    *,
    session: Session | None = None,
    refresh: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[bytes]:
    """Stored-form vectors (float32 bytes) for `texts`, in order.

    Each distinct text goes to the encoder once, in batches of `BATCH`; with a `session`,
    vectors the database holds for (model, text) are looked up and new ones stored, in the
    session's transaction. `refresh` encodes every distinct text again (and keeps the stored
    ones). `progress(done, total)` counts distinct texts encoded.
    """
    keys = [text_key(t) for t in texts]
    text_of = dict(zip(keys, texts, strict=True))
    connection = session.connection() if session is not None else None
    known: dict[str, bytes] = {}
    if connection is not None and not refresh:
        known = cached_vectors(connection, encoder.name, text_of)
    missing = [k for k in text_of if k not in known]
    fresh: dict[str, bytes] = {}
    for start in range(0, len(missing), BATCH):
        batch = missing[start : start + BATCH]
        vectors = encoder.encode([text_of[k] for k in batch])
        for key, vec in zip(batch, vectors, strict=True):
            fresh[key] = to_bytes(vec)
        if progress is not None:
            progress(start + len(batch), len(missing))
    if connection is not None:
        store_vectors(connection, encoder.name, fresh)
    known.update(fresh)
    return [known[k] for k in keys]


def embed_organizations(
    orgs: Sequence[Organization],
    encoder: Encoder,
    *,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Give every competence and profile without a vector from `encoder` one.

    Returns the number of texts that needed a vector (looked up or encoded). `progress` is
    called with the number of organisations done, as the encoder gets through the texts.
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
    texts = [competence_text(c.label, c.description) for c in pending_comp]
    texts += [profile_text(o) for o in pending_orgs]
    session = next((s for o in orgs if (s := object_session(o)) is not None), None)
    reported = 0

    def _progress(done: int, total: int) -> None:
        nonlocal reported
        if progress is None:
            return
        share = len(orgs) * done // max(total, 1)
        if share > reported:
            progress(share - reported)
            reported = share

    vectors = encode_texts(texts, encoder, session=session, refresh=force, progress=_progress)
    for comp, blob in zip(pending_comp, vectors, strict=False):
        comp.embedding = blob
        comp.embedding_model = encoder.name
    for org, blob in zip(pending_orgs, vectors[len(pending_comp) :], strict=True):
        org.profile_embedding = blob
        org.embedding_model = encoder.name
    if progress is not None and reported < len(orgs):
        progress(len(orgs) - reported)
    return len(texts)
