"""Settings from the environment (prefix KOOPMATCH_)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KOOPMATCH_", env_file=".env", extra="ignore")

    environment: str = "development"
    database_url: str = f"sqlite:///{ROOT / 'koopmatch.db'}"
    embedding_model: str = "default"
    max_import_bytes: int = 50 * 1024 * 1024
    seed_file: Path = ROOT / "seed_data" / "organizations.json"
    # bearer credentials: login tokens are short-lived, API keys for integrations long-lived
    access_token_minutes: int = 12 * 60
    api_key_days: int = 365
    api_key_max_days: int = 3 * 365
    # failed logins allowed per e-mail address and client IP within the window, then 429
    login_max_failures: int = 5
    login_window_seconds: int = 60
    # every server process deletes uploads nobody imported and ended login counters at start-up
    # and then every so many minutes (0: never; then run `koopmatch housekeeping` from cron)
    housekeeping_minutes: float = 10.0
    # unsuccessful logins allowed per client address (any e-mail) within the window, then 429
    login_address_max_failures: int = 30
    # proxies (addresses or networks) whose X-Forwarded-For is believed; none by default
    trusted_proxies: list[str] = []
    # argon2id cost; raising them makes stored hashes be upgraded at the next login
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 64 * 1024
    argon2_parallelism: int = 4
    # requests that use the database at once (each holds one pooled connection); the others
    # queue for a slot. Keep it below AnyIO's 40 worker threads: a request holding a
    # connection must always find a thread to finish on.
    max_sessions: int = 32
    # connections beyond max_sessions: SQLite's one writer, work outside requests
    db_pool_overflow: int = 8
    # how long a request waits for a connection or (SQLite) the write lock before a 503
    lock_timeout_seconds: float = 20.0
    # the Retry-After of such a 503
    retry_after_seconds: float = 1.0
    # a directory where each server keeps its fitted matching index, so that a restart answers
    # from it (brought up to date by the changes since) instead of fitting; None: not kept
    index_dir: Path | None = None
    # where a match's engine state comes from: "memory", the fitted engine over every
    # organisation held by each process (app.matches.index); "database" (PostgreSQL only),
    # the candidates' rows loaded per request and corpus statistics stored in the database
    # (app.matches.stateless). SQLite always uses "memory".
    match_state: Literal["memory", "database"] = "memory"
    # a read-only copy of the database (a streaming replica) for the candidate retrieval of
    # matches and searches; None: everything reads the primary. A request that writes, and a
    # session that has written, keep the primary (they must see their own writes).
    read_replica_url: str | None = None
    # Python's cyclic garbage collector in a server process (app.gc_policy): after start-up and
    # after every load, fit or replacement of the matching index, everything alive is collected
    # once and frozen (gc.freeze), so that later collections no longer traverse the index's
    # million objects. False: the interpreter's default behaviour.
    gc_freeze: bool = True
    # the collector's first threshold (allocations that start a young collection); 0 keeps
    # the interpreter's (700); None: 50,000 with match_state "database" on PostgreSQL (every
    # match builds its candidates' objects), the interpreter's otherwise
    gc_gen0_threshold: int | None = None


@cache
def get_settings() -> Settings:
    return Settings()
