"""Password hashing and bearer secrets."""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.config import get_settings
from app.errors import TooManyRequests as TooManyRequests
from app.errors import Unauthorized as Unauthorized
from app.models.user import TokenKind

# recognisable prefixes let secret scanners find leaked credentials and tell the kinds apart
TOKEN_PREFIXES = {TokenKind.login: "kmt_", TokenKind.api_key: "kmk_"}
PASSWORD_MIN_LENGTH = 10
# argon2 would hash megabytes happily; the cap keeps one request from costing much more
PASSWORD_MAX_LENGTH = 256


@cache
def password_hasher() -> PasswordHasher:
    settings = get_settings()
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return password_hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return password_hasher().check_needs_rehash(password_hash)


@cache
def dummy_hash() -> str:
    """A hash to verify against when the account does not exist, so timing does not tell."""
    return hash_password(secrets.token_urlsafe(16))


def new_secret(kind: TokenKind) -> str:
    return TOKEN_PREFIXES[kind] + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    # the secret has 256 random bits, so a plain digest cannot be reversed by guessing
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def normalize_email(email: str) -> str:
    return email.strip().lower()
