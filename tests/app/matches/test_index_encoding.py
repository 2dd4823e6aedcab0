"""Encoding at the encoder's speed: each distinct text once, vectors remembered per model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.embeddings import embed_organizations, encode_texts, from_bytes, profile_text
from app.models import Competence, Organization
from app.models.index_state import EncodingCacheEntry
from matching.encoders import Encoder


class Counting:
    """An encoder that records every text it is asked to encode."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        self.seen.extend(texts)
        return self.inner.encode(texts)


def org(name: str, *labels: str) -> Organization:
    o = Organization(name=name, country="DE", visibility="public", relationships=[])
    o.competences = [Competence(kind="core", label=label) for label in labels]
    return o


def cached(session: Session, model: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(EncodingCacheEntry)
            .where(EncodingCacheEntry.model == model)
        )
        or 0
    )


def test_each_distinct_text_is_encoded_once_and_remembered(
    db_session: Session, encoder: Encoder
) -> None:
    counting = Counting(encoder)
    first = [org("Alpha", "Sensorik", "Spritzguss"), org("Beta", "Sensorik", "Logistik")]
    db_session.add_all(first)
    assert embed_organizations(first, counting) == 6  # 4 competences, 2 profiles
    assert sorted(counting.seen) == sorted(
        ["Sensorik", "Spritzguss", "Logistik", profile_text(first[0]), profile_text(first[1])]
    )
    assert cached(db_session, encoder.name) == 5
    # the stored vector is the encoder's own
    label_vec = from_bytes(first[1].competences[0].embedding or b"")
    assert np.array_equal(label_vec, encoder.encode(["Sensorik"])[0])
    assert first[0].competences[0].embedding == first[1].competences[0].embedding

    counting.seen.clear()
    second = [org("Gamma", "Logistik", "Sensorik")]
    db_session.add_all(second)
    done: list[int] = []
    embed_organizations(second, counting, progress=done.append)
    # the labels come from the cache; only the new profile text is encoded
    assert counting.seen == [profile_text(second[0])]
    assert sum(done) == 1
    assert cached(db_session, encoder.name) == 6

    # force encodes again, the cache keeps one row per text
    counting.seen.clear()
    embed_organizations(second, counting, force=True)
    assert sorted(counting.seen) == sorted(["Logistik", "Sensorik", profile_text(second[0])])
    assert cached(db_session, encoder.name) == 6


def test_without_a_session_texts_are_still_encoded_once(encoder: Encoder) -> None:
    counting = Counting(encoder)
    blobs = encode_texts(["a b", "c d", "a b", "a b"], counting)
    assert counting.seen == ["a b", "c d"]
    assert blobs[0] == blobs[2] == blobs[3] != blobs[1]
