"""Passwords too weak to accept: common ones (a list shipped with the package) and trivial ones."""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt.gz")
# fewer different characters than this is a pattern, not a password ("aaaaaaaaaa")
MIN_DISTINCT = 4


@cache
def common_passwords() -> frozenset[str]:
    """The 20,000 most common passwords, lower-cased."""
    text = gzip.decompress(COMMON_PASSWORDS.read_bytes()).decode("utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip())


def weakness(password: str) -> str | None:
    """Why the password is too weak ("too common", "too simple"), or None."""
    if not password.strip() or len(set(password)) < MIN_DISTINCT:
        return "too simple"
    if (
        password.casefold() in common_passwords()
        or password.strip().casefold() in common_passwords()
    ):
        return "too common"
    return None
