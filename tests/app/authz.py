"""The shape of an authorization-matrix row, shared by the matrix and its parts.

Domains keep their rows in a module of their own (see MATRIX_PARTS in
tests/app/test_authorization_matrix.py): a `ROUTES` dict of `Case`s and, where their routes
need objects of their own, `extend_world(session, values, accounts) -> dict[str, str]`,
which adds path values ("{name}") to the world.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES = ("anonymous", "member_own", "member_other", "organizer", "curator", "admin")

VARIANTS = ("members", "private", "public", "draft", "unscheduled")


@dataclass(frozen=True)
class Case:
    """Expected statuses, one per role in ROLES order, against a `members` profile."""

    expect: str
    private: str | None = None  # the same against a private profile, where it differs
    public: str | None = None  # and a public one
    draft: str | None = None  # the event's schedule is a draft, where it differs
    unscheduled: str | None = None  # the event has no schedule, where it differs
    # "{name}" (a whole string) in json or params stands for the world's value of that name
    json: Any = None
    data: dict[str, str] | None = None
    params: dict[str, str] = field(default_factory=dict)

    def statuses(self, variant: str) -> tuple[int, ...]:
        text = {
            "members": self.expect,
            "private": self.private,
            "public": self.public,
            "draft": self.draft,
            "unscheduled": self.unscheduled,
        }[variant]
        assert text is not None
        codes = tuple(int(c) for c in text.split())
        assert len(codes) == len(ROLES)
        return codes


ALL_200 = "200 200 200 200 200 200"
TOKEN_ONLY = "401 200 200 200 200 200"
ADMIN_ONLY = "401 403 403 403 403 200"
STAFF_ONLY = "401 403 403 403 200 200"
MANAGER = "401 403 403 200 403 200"  # event managers: admin, organizer
# event managers and members of the participant's (person's, sender's...) organisation
OWN_OR_MANAGER = "401 200 403 200 403 200"
