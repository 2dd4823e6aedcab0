"""Authorization-matrix rows of the audit log, the export and the erasure routes."""

from __future__ import annotations

from tests.app.authz import ADMIN_ONLY, Case

ORGANIZATION = "/api/v1/organizations/{organization_id}"
# admins and the organisation's own members; staff see a private profile (403), others not (404)
OWN_OR_ADMIN = "401 200 403 403 403 200"
OWN_OR_ADMIN_PRIVATE = "401 200 404 404 403 200"

ROUTES: dict[tuple[str, str], Case] = {
    ("GET", "/api/v1/audit"): Case(ADMIN_ONLY),
    ("GET", ORGANIZATION + "/export"): Case(
        OWN_OR_ADMIN, private=OWN_OR_ADMIN_PRIVATE, public=OWN_OR_ADMIN
    ),
    # a member erasing its own organisation deletes its own account too: still 200
    # member_own is its organisation's only member account, so it may; it types the name
    ("POST", ORGANIZATION + "/erase-personal-data"): Case(
        OWN_OR_ADMIN,
        private=OWN_OR_ADMIN_PRIVATE,
        public=OWN_OR_ADMIN,
        json={"confirm": "Target GmbH"},
    ),
    ("POST", "/api/v1/privacy/erase-person"): Case(
        ADMIN_ONLY, json={"email": "olga@target.example"}
    ),
}
