"""The staff roles, named once, and the operator who runs the command line."""

from __future__ import annotations

from app.models.user import Role, User

# hub staff: read and edit every profile
STAFF = frozenset({Role.admin.value, Role.curator.value})
# run matchmaking events
EVENT_MANAGERS = frozenset({Role.admin.value, Role.organizer.value})


def is_staff(user: User | None) -> bool:
    return user is not None and user.role in STAFF


def is_event_manager(user: User | None) -> bool:
    return user is not None and user.role in EVENT_MANAGERS


def member_organization(user: User | None) -> int | None:
    """The organisation a member acts for; None for anonymous callers and the other roles."""
    if user is not None and user.role == Role.member.value:
        return user.organization_id
    return None


def operator() -> User:
    """Whoever runs `koopmatch` on the server: an admin that is never stored."""
    return User(email="operator@localhost", name="operator", role=Role.admin.value, is_active=True)
