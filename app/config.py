"""Settings from the environment (prefix KOOPMATCH_)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KOOPMATCH_", env_file=".env", extra="ignore")

    environment: str = "development"
    database_url: str = f"sqlite:///{ROOT / 'koopmatch.db'}"
    embedding_model: str = "default"
    max_import_bytes: int = 50 * 1024 * 1024
    seed_file: Path = ROOT / "seed_data" / "organizations.json"


@cache
def get_settings() -> Settings:
    return Settings()
