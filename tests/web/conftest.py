"""A real server for browser tests: uvicorn on loopback, the demo data, Debian's Chromium.

The server runs the app as `make run` does (migrations, `koopmatch seed`, uvicorn), with the
small hashing encoder instead of the sentence model, once on SQLite and once on PostgreSQL.
Chromium is the system's (/usr/bin/chromium): Playwright cannot download browsers here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.db import make_engine
from app.events import service as event_service
from app.events.schemas import EventCreate
from tests.app.conftest import app, client_for, encoder, make_account  # noqa: F401 (fixtures)
from tests.conftest import BACKENDS, _fresh_postgres_database

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).with_name("axe.min.js")
ROOT = Path(__file__).resolve().parents[2]
# the README's screenshots; the tests write there only when asked (`make screenshots`)
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
SCREENSHOTS_ENV = "KOOPMATCH_SCREENSHOTS"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    database_url: str
    backend: str
    engine: Engine


def _environment(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOOPMATCH_")}
    env.update(
        KOOPMATCH_DATABASE_URL=database_url,
        KOOPMATCH_EMBEDDING_MODEL="hashing",
        KOOPMATCH_ENVIRONMENT="development",
        # cheaper password hashing keeps the suite quick; the parameters are not under test
        KOOPMATCH_ARGON2_TIME_COST="1",
        KOOPMATCH_ARGON2_MEMORY_KIB="8192",
        KOOPMATCH_ARGON2_PARALLELISM="1",
    )
    return env


@pytest.fixture(scope="session", params=BACKENDS)
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    backend = request.param
    if backend == "sqlite":
        database_url = f"sqlite:///{tmp_path_factory.mktemp('live-sqlite') / 'live.db'}"
    else:
        database_url = _fresh_postgres_database(request.getfixturevalue("_pg_server_url"))
    env = _environment(database_url)
    koopmatch = [sys.executable, "-m", "app.cli"]
    subprocess.run([*koopmatch, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([*koopmatch, "seed"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = _free_port()
    log = (tmp_path_factory.mktemp(f"log-{backend}") / "server.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if json.loads(response.read()) == {"status": "ok"}:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"the server did not start; see {log.name}")
        time.sleep(0.3)
    engine = make_engine(database_url)
    try:
        yield LiveServer(url=url, database_url=database_url, backend=backend, engine=engine)
    finally:
        engine.dispose()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "install Chromium: apt-get install -y chromium (make test does)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is now.

    axe is evaluated through the browser's debugging protocol, which the page's CSP does not
    govern, so the pages keep their strict policy while they are checked.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
    )
    return list(result)


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser tests save their screenshots: `docs/screenshots/` when
    KOOPMATCH_SCREENSHOTS=1 (`make screenshots`), else a temporary directory, so a test run
    leaves the working tree as it was."""
    if os.environ.get(SCREENSHOTS_ENV) == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return DOCS_SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


def save_screenshot(page: Any, directory: Path, name: str) -> Path:
    """The page's viewport as `<directory>/<name>.png`, checked to be a whole PNG."""
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    viewport = page.viewport_size
    assert png_size(path.read_bytes()) == (viewport["width"], viewport["height"]), path
    return path


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# bytes per pixel of 8-bit PNG colour types: grey, RGB, palette, grey+alpha, RGBA
_PIXEL_BYTES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a valid 8-bit, non-interlaced PNG; AssertionError for anything
    else: a wrong signature, a chunk whose CRC fails, no IHDR first or IEND last, or image
    data that does not inflate to exactly the rows the header announces."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    position, chunks, image = 8, [], b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert len(body) == length and zlib.crc32(kind + body) == crc, f"bad {kind!r} chunk"
        chunks.append((kind, body))
        if kind == b"IDAT":
            image += body
        position += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND", "IHDR or IEND missing"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert width > 0 and height > 0 and depth == 8 and interlace == 0
    # every row: one filter byte, then the pixels
    assert len(zlib.decompress(image)) == height * (1 + width * _PIXEL_BYTES[colour])
    return width, height


@pytest.fixture
def event_id(db_session: Session) -> int:
    """The id of a stored one-day event."""
    event = event_service.create_event(
        db_session,
        data=EventCreate(name="Börse", timezone="Europe/Berlin", dates=[dt.date(2031, 5, 6)]),
    )
    db_session.commit()
    return event.id
