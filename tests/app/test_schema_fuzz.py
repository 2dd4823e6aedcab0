"""Property-based requests generated from the OpenAPI schema: no input gives a 5xx.

Runs in-process against the ASGI app on both database backends, as an admin, an organizer and
a member, one test per role that walks every operation, plus the stateful phase (sequences of
calls linked by the ids earlier responses return). Examples are bounded so the file stays within
a few minutes: KOOPMATCH_FUZZ_EXAMPLES (default 4) per operation and role,
KOOPMATCH_FUZZ_SCENARIOS (default 8) stateful scenarios of at most 8 steps; raise them for a
deeper run.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.service import issue_token, login_lifetime
from app.embeddings import embed_organizations
from app.models import Competence, Organization
from app.models.user import Role, TokenKind, User
from tests.app.conftest import Account, AccountFactory

EXAMPLES = int(os.environ.get("KOOPMATCH_FUZZ_EXAMPLES", "4"))
SCENARIOS = int(os.environ.get("KOOPMATCH_FUZZ_SCENARIOS", "8"))
ROLES = [Role.admin, Role.organizer, Role.member]
# Left out for members: deleting or erasing one's own organisation deletes the member's own
# account and token, which this test's shared session (one transaction for the fixture and the
# app) still holds, so the next example fails on the deleted token, not on the service (with a
# session of its own, a member's DELETE of its organisation answers 204 and deletes it).
KNOWN_LATE_COMMIT_FAILURES = {
    (Role.member, "DELETE /api/v1/organizations/{organization_id}"),
    (Role.member, "POST /api/v1/organizations/{organization_id}/erase-personal-data"),
    (Role.member, "POST /api/v1/privacy/erase-person"),
}


def _fresh_headers(
    session: Session, account: Account, role: Role, home: dict[str, Any]
) -> dict[str, str]:
    """A new token for the account in its role: earlier examples may have logged it out,
    changed its role, deactivated it or deleted its organisation."""
    email = str(home["email"])
    # requests may have deleted rows behind the identity map's back (bulk deletes, cascades)
    session.expire_all()
    exists = select(Organization.id).where(Organization.id == home["id"])
    if role is Role.member and session.scalar(exists) is None:
        replacement = Organization(
            name="Fuzz Ersatz GmbH", competences=[], relationships=[], cooperation_interests=[]
        )
        session.add(replacement)
        session.flush()
        home["id"] = replacement.id
    user = session.scalars(select(User).where(User.email == email)).one_or_none()
    if user is None:  # erased with its organisation
        user = User(email=email, name="Fuzz", role=role.value, is_active=True)
        session.add(user)
    user.role, user.is_active = role.value, True
    user.organization_id = home["id"] if role is Role.member else None
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


def _settings(max_examples: int, **extra: Any) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        **extra,
    )


@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
def test_no_server_errors(
    role: Role, app: FastAPI, encoder: Any, db_session: Session, make_account: AccountFactory
) -> None:
    # the ASGI transport does not run the lifespan, which would set the encoder
    app.state.encoder = encoder
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    account = make_account(Role.admin, email=f"fuzz-caller-{role.value}@test.example")
    known = _existing_ids(db_session, encoder, account)
    home: dict[str, Any] = {"id": int(known["organization_id"]), "email": account.user.email}
    failures: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()
        if (role, operation.label) in KNOWN_LATE_COMMIT_FAILURES:
            continue

        @given(case=operation.as_strategy(), use_known=st.booleans())
        @_settings(EXAMPLES)
        def check(case: Any, use_known: bool) -> None:
            if use_known and case.path_parameters:
                for name in case.path_parameters:
                    if name in known:
                        case.path_parameters[name] = known[name]
            response = case.call(headers=_fresh_headers(db_session, account, role, home))
            case.validate_response(response, checks=[not_a_server_error])

        try:
            check()
        except Exception as exc:  # collect every failing operation, then report them all
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
            db_session.rollback()  # the next operation starts from a usable session
    assert failures == []


def test_stateful_sequences_give_no_server_errors(
    app: FastAPI, encoder: Any, db_session: Session, make_account: AccountFactory
) -> None:
    """Sequences of calls, each step fed by what earlier responses returned (ids, links),
    under the three roles in turn."""
    app.state.encoder = encoder
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    account = make_account(Role.admin, email="fuzz-stateful@test.example")
    known = _existing_ids(db_session, encoder, account)
    home: dict[str, Any] = {"id": int(known["organization_id"]), "email": account.user.email}
    roles = itertools.cycle(ROLES)

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.role = next(roles)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": _fresh_headers(db_session, account, self.role, home)}

        def validate_response(self, response: Any, case: Any, **_kwargs: Any) -> None:
            case.validate_response(response, checks=[not_a_server_error])

    Workflow.run(settings=_settings(SCENARIOS, stateful_step_count=8))
