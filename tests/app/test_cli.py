"""The `koopmatch` command end to end in subprocesses, on SQLite and PostgreSQL.

Also the container start-up sequence of docker-compose.yml (wait for the database, migrate, seed,
serve), run without Docker.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS, _fresh_postgres_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cli.db'}"
    else:
        url = _fresh_postgres_database(request.getfixturevalue("_pg_server_url"))
    return {
        **os.environ,
        "KOOPMATCH_DATABASE_URL": url,
        "KOOPMATCH_EMBEDDING_MODEL": "hashing",
        "KOOPMATCH_ENVIRONMENT": "development",
    }


def koopmatch(
    env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def write_json(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n]")
    return path


def test_migrate_upgrades_and_downgrades(env: dict[str, str]) -> None:
    first = koopmatch(env, "migrate")
    assert first.returncode == 0, first.stderr
    assert "taxonomy rows changed: 1047" in first.stdout
    again = koopmatch(env, "migrate")
    assert "taxonomy rows changed: 0" in again.stdout
    down = subprocess.run(
        [sys.executable, "-m", "alembic", "downgrade", "base"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert down.returncode == 0, down.stderr
    up = koopmatch(env, "migrate")
    assert up.returncode == 0, up.stderr
    assert "taxonomy rows changed: 1047" in up.stdout


def test_import_dry_run_atomic_and_partial(env: dict[str, str], tmp_path: Path) -> None:
    assert koopmatch(env, "migrate").returncode == 0
    good = {"external_id": "G-1", "name": "Gut GmbH", "country": "DE"}
    bad = {"external_id": "B-1", "name": "Schlecht", "employees": -4}
    path = write_json(tmp_path / "orgs.json", [good, bad])

    dry = koopmatch(env, "import", str(path), "--dry-run")
    assert dry.returncode == 1
    assert f"{path}:line 3: employees:" in dry.stderr
    assert "nothing was written" in dry.stderr

    atomic = koopmatch(env, "import", str(path))
    assert atomic.returncode == 1
    assert "nothing was written (atomic import)" in atomic.stderr

    partial = koopmatch(env, "import", str(path), "--partial")
    assert partial.returncode == 1
    assert (
        "orgs.json: 2 rows, 1 valid, 1 rejected; wrote: 1 created, 0 updated, 0 unchanged"
        in partial.stdout
    )

    clean = write_json(tmp_path / "clean.json", [good])
    again = koopmatch(env, "import", str(clean))
    assert again.returncode == 0
    assert "wrote: 0 created, 0 updated, 1 unchanged" in again.stdout

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    failed = koopmatch(env, "import", str(empty))
    assert failed.returncode == 2
    assert "cannot import" in failed.stderr


def test_an_import_builds_the_vector_indexes_on_postgresql(
    env: dict[str, str], tmp_path: Path
) -> None:
    """The command that wrote the vectors builds the HNSW indexes of their encoder (requests
    never do); SQLite keeps its vectors in the process."""
    from sqlalchemy import create_engine, text

    assert koopmatch(env, "migrate").returncode == 0
    record = {
        "external_id": "V-1",
        "name": "Vektor GmbH",
        "country": "DE",
        "competences": [{"kind": "core", "label": "Spritzguss"}],
    }
    done = koopmatch(env, "import", str(write_json(tmp_path / "v.json", [record])))
    assert done.returncode == 0, done.stderr
    url = env["KOOPMATCH_DATABASE_URL"]
    if url.startswith("sqlite"):
        return
    from app.matches.pgvector import has_indexes

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT DISTINCT embedding_model, vector_dims(vec) FROM competence_vectors")
            ).all()
            assert len(stored) == 1 and str(stored[0][0]).startswith("hashing")
            assert has_indexes(conn, str(stored[0][0]), int(stored[0][1]))
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _compose_steps(service: str) -> list[list[str]]:
    """The `koopmatch` commands a docker-compose.yml service runs, in order, with the
    variables' defaults filled in."""
    import re
    import shlex

    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"][service]["command"]
    script = command[-1] if isinstance(command, list) else command
    script = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", script)
    steps = [shlex.split(part) for part in script.split("&&")]
    assert all(step[0] == "koopmatch" for step in steps), steps
    return [step[1:] for step in steps]


def test_container_start_sequence_serves_the_demo(env: dict[str, str]) -> None:
    """The steps of docker-compose.yml's `migrate` service (wait for the database, migrate,
    seed, store the matching statistics), then its `api` service's `serve` command and
    match state, parsed from the file: each is a command of the CLI, and the API answers."""
    import yaml

    from app.cli import build_parser

    steps = _compose_steps("migrate")
    assert [step[0] for step in steps] == ["wait-for-db", "migrate", "seed", "match-stats"]
    for step in steps:
        done = koopmatch(env, *step)
        assert done.returncode == 0, (step, done.stdout, done.stderr)
    if "postgresql" in env["KOOPMATCH_DATABASE_URL"]:
        assert "matching statistics of hashing" in done.stdout
    seeded = koopmatch(env, "seed")
    assert "wrote: 0 created, 0 updated, 170 unchanged" in seeded.stdout
    (serve,) = _compose_steps("api")
    args = build_parser().parse_args(serve)
    assert (args.command, args.host, args.port, args.workers) == ("serve", "0.0.0.0", 8000, 4)
    api_env = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["api"][
        "environment"
    ]
    assert api_env["KOOPMATCH_MATCH_STATE"] == "database"
    # the compose's serve command, on loopback and a free port
    port = _free_port()
    serve[serve.index("--host") + 1] = "127.0.0.1"
    serve[serve.index("--port") + 1] = str(port)
    serve[serve.index("--workers") + 1] = "2"
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *serve],
        cwd=ROOT,
        env={**env, "KOOPMATCH_MATCH_STATE": "database"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # two worker processes start on a shared machine: a generous bound
        deadline = time.monotonic() + 180
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        assert health.json() == {"status": "ok"}
        listing = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/organizations", params={"limit": 5}, timeout=30
        )
        assert listing.status_code == 200
        assert (
            listing.json()["total"] == 159
        )  # public teasers: 170 seeded, 11 members-only or private
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_gives_workers_time_to_fit_before_their_health_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    from app.cli import build_parser, cmd_serve

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(app=app, **kwargs))
    assert cmd_serve(build_parser().parse_args(["serve", "--workers", "4"])) == 0
    assert seen == {
        "app": "app.asgi:app",
        "host": "127.0.0.1",
        "port": 8000,
        "reload": False,
        "workers": 4,
        "timeout_worker_healthcheck": 300,
    }
    args = build_parser().parse_args(["serve", "--worker-healthcheck-timeout", "30"])
    cmd_serve(args)
    assert seen["timeout_worker_healthcheck"] == 30
