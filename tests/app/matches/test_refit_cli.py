"""`koopmatch refit-ranking` in a subprocess, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tests.app.test_cli import env, koopmatch, write_json

__all__ = ["env"]  # the fixture, shared with the other command-line tests


def test_refit_ranking_keeps_the_defaults_without_outcomes(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert koopmatch(env, "migrate").returncode == 0
    orgs = [
        {"external_id": "a", "name": "Alpha", "competences": [{"kind": "core", "label": "Guss"}]},
        {"external_id": "b", "name": "Beta", "competences": [{"kind": "core", "label": "Lack"}]},
    ]
    assert koopmatch(env, "import", str(write_json(tmp_path / "o.json", orgs))).returncode == 0
    dry = koopmatch(env, "refit-ranking", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "kept the ranking in use: too little data: 0 positive pairs (at least 50) in 0 usable "
        "lists (at least 20)",
        "pairs 0, positive 0, asking organisations 0",
        "dry run: nothing stored",
    ]
    reset = koopmatch(env, "refit-ranking", "--reset")
    assert reset.returncode == 0, reset.stderr
    assert reset.stdout.splitlines() == [
        "adopted: reset to the built-in default weights and the engine's own order",
        "pairs 0, positive 0, asking organisations 0",
    ]
