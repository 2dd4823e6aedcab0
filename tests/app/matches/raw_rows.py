"""Rows written with SQL as an older revision stores them, for the migrations' tests."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Connection, text

from app.embeddings import to_bytes


def store_vectors(conn: Connection, labels: tuple[str, ...] = ("x",)) -> np.ndarray:
    """One public organisation of encoder "m" with an 8-dimension profile vector, and one core
    competence per label, each with the negated vector (one vector stored once per label);
    the profile vector."""
    vector = np.linspace(-1.0, 1.0, 8, dtype=np.float32)
    vector /= np.linalg.norm(vector)
    conn.execute(
        text(
            "INSERT INTO organizations (name, visibility, cooperation_interests, disclosure,"
            " hide_from_competitors, version, created_at, modified_at, profile_embedding,"
            " embedding_model) VALUES ('A', 'public', '[]', '{}', false, 1,"
            " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :v, 'm')"
        ),
        {"v": to_bytes(vector)},
    )
    for label in labels:
        conn.execute(
            text(
                "INSERT INTO competences (organization_id, kind, label, embedding,"
                " embedding_model) SELECT max(id), 'core', :label, :v, 'm' FROM organizations"
            ),
            {"v": to_bytes(-vector), "label": label},
        )
    return vector
