"""Authorization-matrix rows of onboarding (invitation and reset links) and the gap map."""

from __future__ import annotations

from tests.app.authz import STAFF_ONLY, Case

ROUTES: dict[tuple[str, str], Case] = {
    ("POST", "/api/v1/auth/invitations"): Case(
        "401 403 403 403 201 201",
        json={
            "organization_id": "{organization_id}",
            "email": "invited@test.example",
            "name": "Invited",
        },
    ),
    # user_id is member_own's account: curators and admins may issue its reset link
    ("POST", "/api/v1/users/{user_id}/password-reset"): Case("401 403 403 403 201 201"),
    # a link is its own credential: an unknown one is not found, whoever asks
    ("POST", "/api/v1/auth/links/redeem"): Case(
        "404 404 404 404 404 404",
        json={"token": "kml_unknown", "new_password": "Zebra-Lampe-42"},
    ),
    ("GET", "/api/v1/curation/gaps"): Case(STAFF_ONLY),
}
