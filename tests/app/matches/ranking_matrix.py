"""Authorization-matrix rows of the ranking refit routes (admins only)."""

from __future__ import annotations

from tests.app.authz import ADMIN_ONLY, Case

ROUTES: dict[tuple[str, str], Case] = {
    ("GET", "/api/v1/admin/ranking"): Case(ADMIN_ONLY),
    # a dry run: the matrix's world has too few outcomes, and nothing is stored
    ("POST", "/api/v1/admin/ranking/refit"): Case(ADMIN_ONLY, json={"dry_run": True}),
    ("POST", "/api/v1/admin/ranking/reset"): Case(ADMIN_ONLY),
}
