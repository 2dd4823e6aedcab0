"""The import encodes before its write step: the write transaction runs no encoder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.embeddings import from_bytes
from app.imports.service import encode_import, read_file, write_import
from app.models import Organization

CSV = (
    "external_id,name,description,core\n"
    "A-1,Alpha,Sensoren für Maschinen,Drucksensoren;MEMS\n"
    "B-2,Beta,Lohnfertigung,Spritzguss\n"
)


class Counting:
    """Wraps an encoder and counts the texts it is asked to encode."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.texts: list[str] = []

    @property
    def name(self) -> str:
        return str(self.inner.name)

    @property
    def dim(self) -> int:
        return int(self.inner.dim)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        self.texts.extend(texts)
        return np.asarray(self.inner.encode(texts, batch_size=batch_size))


def test_write_step_encodes_nothing(db_session: Session, encoder: Any) -> None:
    counting = Counting(encoder)
    read = read_file(CSV.encode(), filename="orgs.csv")
    vectors = encode_import(db_session, read, encoder=counting)
    # three competences and two profiles
    assert len(counting.texts) == 5
    encoded = list(counting.texts)
    report = write_import(db_session, read, encoder=counting, vectors=vectors)
    assert (report.created, report.written) == (2, True)
    assert counting.texts == encoded  # nothing more was encoded while writing
    alpha = db_session.scalars(select(Organization).where(Organization.external_id == "A-1")).one()
    assert alpha.profile_embedding is not None
    expected = encoder.encode(["Alpha. Sensoren für Maschinen. Drucksensoren; MEMS"])[0]
    assert np.allclose(from_bytes(alpha.profile_embedding), expected)


def test_a_reimport_encodes_only_what_changed(db_session: Session, encoder: Any) -> None:
    first = read_file(CSV.encode(), filename="orgs.csv")
    write_import(
        db_session,
        first,
        encoder=encoder,
        vectors=encode_import(db_session, first, encoder=encoder),
    )
    counting = Counting(encoder)
    changed = CSV.replace("Spritzguss", "Spritzguss;Werkzeugbau")
    read = read_file(changed.encode(), filename="orgs.csv")
    encode_import(db_session, read, encoder=counting)
    assert counting.texts == ["Werkzeugbau", "Beta. Lohnfertigung. Spritzguss; Werkzeugbau"]
