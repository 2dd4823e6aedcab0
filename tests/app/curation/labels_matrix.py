"""Authorization-matrix rows of the competence-label curation routes (hub staff only)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.models.curation import CompetenceSynonym
from tests.app.authz import STAFF_ONLY, Case
from tests.app.conftest import Account

LABELS = "/api/v1/curation/labels"

ROUTES: dict[tuple[str, str], Case] = {
    ("GET", LABELS): Case(STAFF_ONLY),
    ("GET", LABELS + "/suggestions"): Case(STAFF_ONLY),
    # the third organisation of the world has the core label "Kunststoffspritzguss"
    ("POST", LABELS + "/merge"): Case(
        STAFF_ONLY, json={"canonical": "Spritzguss", "labels": ["Kunststoffspritzguss"]}
    ),
    ("GET", LABELS + "/synonyms"): Case(STAFF_ONLY),
    ("DELETE", LABELS + "/synonyms/{synonym_id}"): Case("401 403 403 403 204 204"),
}


def extend_world(
    session: Session, values: dict[str, str], accounts: dict[str, Account | None]
) -> dict[str, str]:
    """A stored synonym: {"synonym_id": ...}."""
    synonym = CompetenceSynonym(
        key="kunststoff spritzguss", label="Kunststoff-Spritzguss", canonical="Spritzguss"
    )
    session.add(synonym)
    session.flush()
    return {"synonym_id": str(synonym.id)}
