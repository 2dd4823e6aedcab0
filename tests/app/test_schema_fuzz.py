"""Property-based requests generated from the OpenAPI schema: no input gives a 5xx.

Runs in-process against the ASGI app, as an admin, on both database backends, one test per
operation. Examples per operation are bounded (KOOPMATCH_FUZZ_EXAMPLES, default 10) so the
suite stays quick; raise it for a deeper run.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from sqlalchemy.orm import Session

from app.auth.service import issue_token, login_lifetime
from app.embeddings import embed_organizations
from app.main import create_app
from app.models import Competence, Organization
from app.models.user import Role, TokenKind, User
from tests.app.conftest import Account, AccountFactory

EXAMPLES = int(os.environ.get("KOOPMATCH_FUZZ_EXAMPLES", "10"))

OPERATIONS = sorted(
    result.ok().label
    for result in schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(load_encoder=False)
    ).get_all_operations()
)


def _fresh_admin_headers(session: Session, admin: Account) -> dict[str, str]:
    """A new token for an active admin: earlier examples may have logged out or demoted it."""
    user = session.get(User, admin.user.id)
    assert user is not None
    user.role, user.organization_id, user.is_active = Role.admin.value, None, True
    _, secret = issue_token(session, user=user, kind=TokenKind.login, lifetime=login_lifetime())
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _existing_ids(session: Session, encoder: Any, admin: Account) -> dict[str, str]:
    """Rows for path parameters to point at: random ids alone would nearly always be 404."""
    orgs = [
        Organization(
            external_id=f"F-{i}",
            name=name,
            visibility=visibility,
            nace_code="26.51",
            country="DE",
            cooperation_interests=["training"],
            competences=[Competence(kind="core", label=label)],
        )
        for i, (name, visibility, label) in enumerate(
            [("Fuzz GmbH", "public", "Sensorik"), ("Fuzz AG", "private", "Spritzguss")]
        )
    ]
    embed_organizations(orgs, encoder)
    session.add_all(orgs)
    session.flush()
    member = User(
        email="fuzz-member@test.example",
        name="Member",
        role=Role.member.value,
        organization_id=orgs[0].id,
        is_active=True,
    )
    session.add(member)
    session.flush()
    key, _ = issue_token(
        session, user=admin.user, kind=TokenKind.api_key, name="fuzz", lifetime=login_lifetime()
    )
    session.commit()
    return {
        "organization_id": str(orgs[0].id),
        "user_id": str(member.id),
        "key_id": str(key.id),
        "code": "26.51",
    }


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_server_errors(
    label: str, app: FastAPI, encoder: Any, db_session: Session, make_account: AccountFactory
) -> None:
    # the ASGI transport does not run the lifespan, which would set the encoder
    app.state.encoder = encoder
    operation = schemathesis.openapi.from_asgi("/openapi.json", app).find_operation_by_label(label)
    assert operation is not None
    admin = make_account(Role.admin, email="fuzz-admin@test.example")
    known = _existing_ids(db_session, encoder, admin)

    @given(case=operation.as_strategy(), use_known=st.booleans())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any, use_known: bool) -> None:
        if use_known and case.path_parameters:
            for name in case.path_parameters:
                if name in known:
                    case.path_parameters[name] = known[name]
        response = case.call(headers=_fresh_admin_headers(db_session, admin))
        case.validate_response(response, checks=[not_a_server_error])

    check()
