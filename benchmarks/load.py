"""Load benchmark: a real server under a realistic mix of reads and writes.

    python -m benchmarks.load [--backend sqlite|postgresql|both] [--clients 50] [--duration 60]
                              [--single-duration 20] [--orgs 300] [--encoder hashing] [--mix ...]
                           [--read-created] [--no-write]

For each backend a fresh database is migrated (PostgreSQL: a throwaway server from the
`pgserver` package), filled with `--orgs` organisations through the import API, and served by
`uvicorn app.asgi:app` in a child process on 127.0.0.1. Then one client, and then `--clients`
concurrent clients, send for a bounded time a mix of list, read, matches, search, create,
PATCH and cooperation requests. Every client writes only to organisations it created itself, so
after the run the database must hold exactly what the 2xx answers said. Reported: requests/s,
p50/p95/p99 per route, statuses, and the writes answered 2xx but not stored (goal: 0).
Results go to benchmarks/results/load.md. Network traffic stays on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "load.md"
API = "/api/v1/organizations"
REQUESTS = "/api/v1/cooperation-requests"
# route -> weight of the mix
MIX = {
    "list": 25,
    "read": 25,
    "matches": 8,
    "search": 7,
    "create": 10,
    "patch": 17,
    "cooperation": 8,
}
NEEDS = [
    "Sensorik für Füllstandmessung",
    "Spritzguss von Kunststoffteilen",
    "OPC-UA-Anbindung von Maschinen",
    "laser welding of aluminium",
    "Softwareentwicklung für Embedded-Systeme",
]
LABELS = [
    "Füllstandsensorik",
    "Kunststoffspritzguss",
    "OPC-UA",
    "Laserschweißen",
    "Embedded-Software",
    "CNC-Fräsen",
    "Pulverbeschichtung",
    "Leiterplattenbestückung",
]
TYPES = ["data_sharing", "product_development", "purchasing_sales", "competence_building"]


def _org(external_id: str, rnd: random.Random) -> dict[str, Any]:
    labels = rnd.sample(LABELS, 3)
    return {
        "external_id": external_id,
        "name": f"Firma {external_id} GmbH",
        "description": f"Mittelständischer Betrieb mit Schwerpunkt {labels[0]} und {labels[1]}.",
        "country": "DE",
        "nace_code": rnd.choice(["26.51", "22.29", "28.41", "62.01", "25.61"]),
        "employees": rnd.randrange(5, 500),
        "visibility": "members",
        "competences": [
            {"kind": "core", "label": labels[0]},
            {"kind": "core", "label": labels[1]},
            {"kind": "complementary", "label": labels[2]},
        ],
        "cooperation_interests": ["product_development", "data_sharing"],
    }


# --- database and server ----------------------------------------------------------------------


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'load.db'}"
        return
    import pgserver

    data_dir = Path(tempfile.mkdtemp(prefix="kmload-"))
    server = pgserver.get_server(data_dir, cleanup_mode="delete")
    try:
        uri = server.get_uri()
        yield "postgresql+psycopg://" + uri.split("://", 1)[1]
    finally:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


def _env(url: str, encoder: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KOOPMATCH_DATABASE_URL=url,
        KOOPMATCH_EMBEDDING_MODEL=encoder,
        KOOPMATCH_ENVIRONMENT="development",
    )
    return env


def prepare(url: str, encoder: str) -> tuple[str, list[str]]:
    """Migrate, then an admin token and ten member accounts' tokens (organisations follow)."""
    subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        cwd=ROOT,
        env=_env(url, encoder),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return _token(url, "admin", None), []


def _token(url: str, role: str, organization_id: int | None) -> str:
    os.environ["KOOPMATCH_DATABASE_URL"] = url
    from sqlalchemy.orm import Session

    from app.auth import service as auth_service
    from app.db import make_engine
    from app.models.user import TokenKind, User

    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            count = session.query(User).count()
            user = User(
                email=f"{role}{count + 1}@load.example",
                name=f"Load {role}",
                role=role,
                organization_id=organization_id,
                is_active=True,
            )
            session.add(user)
            session.flush()
            _, secret = auth_service.issue_token(
                session, user=user, kind=TokenKind.login, lifetime=dt.timedelta(hours=4)
            )
    finally:
        engine.dispose()
    return secret


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(url: str, encoder: str) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=_env(url, encoder),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None:
                raise RuntimeError("the server exited")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the clients ------------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # answered 2xx: organisation id -> employees; cooperation request ids
    organizations: dict[int, int] = field(default_factory=dict)
    cooperation: set[int] = field(default_factory=set)
    requests: int = 0

    def add(self, route: str, started: float, status: int) -> None:
        self.latencies[route].append(time.perf_counter() - started)
        self.statuses[route][status] += 1
        self.requests += 1


@dataclass
class World:
    base: str
    admin: str
    seeded: list[int]
    mix: dict[str, int]
    # each 201 create is read at once by the same client (route "read created")
    read_created: bool = False


async def _client(number: int, world: World, until: float, tally: Tally, seed: int) -> None:
    rnd = random.Random(seed * 1000 + number)
    routes = list(world.mix)
    weights = [world.mix[r] for r in routes]
    own: list[tuple[int, int]] = []
    headers = {"Authorization": f"Bearer {world.admin}"}
    async with httpx.AsyncClient(base_url=world.base, headers=headers, timeout=120) as http:
        n = 0
        while time.monotonic() < until:
            n += 1
            route = rnd.choices(routes, weights)[0]
            if route == "patch" and not own:
                route = "create"
            started = time.perf_counter()
            try:
                if route == "list":
                    params: dict[str, Any] = {"limit": 20, "offset": rnd.randrange(0, 200)}
                    if rnd.random() < 0.3:
                        params["competence"] = rnd.choice(LABELS)
                    response = await http.get(API, params=params)
                elif route == "read":
                    response = await http.get(f"{API}/{rnd.choice(world.seeded)}")
                elif route == "matches":
                    org_id = rnd.choice(world.seeded)
                    response = await http.get(f"{API}/{org_id}/matches", params={"limit": 10})
                elif route == "search":
                    response = await http.post(
                        "/api/v1/matches/search", json={"text": rnd.choice(NEEDS), "limit": 10}
                    )
                elif route == "create":
                    body = _org(f"L{seed}-{number}-{n}", rnd)
                    response = await http.post(API, json=body)
                    if response.status_code == 201:
                        created = response.json()
                        own.append((created["id"], created["version"]))
                        tally.organizations[created["id"]] = body["employees"]
                        if world.read_created:
                            tally.add(route, started, response.status_code)
                            route, started = "read created", time.perf_counter()
                            response = await http.get(f"{API}/{created['id']}")
                elif route == "patch":
                    index = rnd.randrange(len(own))
                    org_id, version = own[index]
                    employees = rnd.randrange(1, 5000)
                    response = await http.patch(
                        f"{API}/{org_id}", json={"version": version, "employees": employees}
                    )
                    if response.status_code == 200:
                        own[index] = (org_id, response.json()["version"])
                        tally.organizations[org_id] = employees
                else:  # a cooperation request between two seeded organisations
                    sender, receiver = rnd.sample(world.seeded, 2)
                    response = await http.post(
                        REQUESTS,
                        json={
                            "from_organization_id": sender,
                            "to_organization_id": receiver,
                            "type": rnd.choice(TYPES),
                            "message": "Wir würden gern über eine Zusammenarbeit sprechen.",
                        },
                    )
                    if response.status_code == 201:
                        tally.cooperation.add(response.json()["id"])
            except httpx.HTTPError as exc:
                tally.errors[f"{route}: {type(exc).__name__}"] += 1
                continue
            tally.add(route, started, response.status_code)


async def _run(world: World, clients: int, duration: float, seed: int) -> tuple[Tally, float]:
    tally = Tally()
    started = time.monotonic()
    until = started + duration
    await asyncio.gather(*(_client(n, world, until, tally, seed) for n in range(clients)))
    return tally, time.monotonic() - started


def seed_organizations(base: str, admin: str, count: int) -> list[int]:
    rnd = random.Random(7)
    rows = [_org(f"SEED-{n}", rnd) for n in range(count)]
    headers = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=base, headers=headers, timeout=600) as http:
        for start in range(0, count, 100):
            response = http.post(f"{API}/import", json=rows[start : start + 100])
            response.raise_for_status()
        ids: list[int] = []
        offset = 0
        while True:
            page = http.get(API, params={"limit": 500, "offset": offset}).json()
            ids.extend(item["id"] for item in page["items"])
            offset += 500
            if offset >= page["total"]:
                break
    return ids


def verify(url: str, tally: Tally) -> dict[str, int]:
    """Writes answered 2xx that the database does not hold as answered."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.models import Organization
    from app.models.cooperation import CooperationRequest

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            stored = {
                org_id: employees
                for org_id, employees in session.execute(
                    select(Organization.id, Organization.employees).where(
                        Organization.id.in_(list(tally.organizations))
                    )
                ).all()
            }
            requests = set(
                session.scalars(
                    select(CooperationRequest.id).where(
                        CooperationRequest.id.in_(list(tally.cooperation))
                    )
                )
            )
    finally:
        engine.dispose()
    lost_orgs = sum(1 for k, v in tally.organizations.items() if stored.get(k) != v)
    return {
        "organisation writes": len(tally.organizations),
        "organisation writes lost": lost_orgs,
        "cooperation requests": len(tally.cooperation),
        "cooperation requests lost": len(tally.cooperation - requests),
    }


# --- report -----------------------------------------------------------------------------------


def _ms(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _table(tally: Tally, elapsed: float) -> list[str]:
    lines = [
        "| route | requests | req/s | p50 ms | p95 ms | p99 ms | statuses |",
        "|---|---|---|---|---|---|---|",
    ]
    for route in tally.statuses:
        values = tally.latencies.get(route, [])
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(tally.statuses[route].items()))
        lines.append(
            f"| {route} | {len(values)} | {len(values) / elapsed:.1f} | "
            f"{statistics.median(values) * 1000 if values else float('nan'):.1f} | "
            f"{_ms(values, 0.95):.1f} | {_ms(values, 0.99):.1f} | {statuses} |"
        )
    lines.append(
        f"| **all** | {tally.requests} | {tally.requests / elapsed:.1f} | | | | "
        f"5xx: {sum(v for r in tally.statuses.values() for k, v in r.items() if k >= 500)} |"
    )
    return lines


def run_backend(backend: str, args: argparse.Namespace) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="kmload-") as tmp, database(backend, Path(tmp)) as url:
        admin, _ = prepare(url, args.encoder)
        with server(url, args.encoder) as base:
            print(f"[{backend}] seeding {args.orgs} organisations", flush=True)
            seeded = seed_organizations(base, admin, args.orgs)
            world = World(base, admin, seeded, args.mix, args.read_created)
            # a warm-up: the first match fits the index, the first search loads the labels
            asyncio.run(_run(world, 2, 3, seed=0))
            print(f"[{backend}] one client for {args.single_duration} s", flush=True)
            single, single_s = asyncio.run(_run(world, 1, args.single_duration, seed=1))
            print(f"[{backend}] {args.clients} clients for {args.duration} s", flush=True)
            many, many_s = asyncio.run(_run(world, args.clients, args.duration, seed=2))
        lost_single = verify(url, single)
        lost_many = verify(url, many)
    five = sum(v for r in many.statuses.values() for k, v in r.items() if k >= 500)
    five += sum(v for r in single.statuses.values() for k, v in r.items() if k >= 500)
    lines = [
        f"## {backend}",
        "",
        f"One client, {single_s:.0f} s: {single.requests / single_s:.1f} requests/s.",
        "",
        *_table(single, single_s),
        "",
        f"{args.clients} clients, {many_s:.0f} s: {many.requests / many_s:.1f} requests/s "
        f"({many.requests / many_s / (single.requests / single_s):.2f}x one client).",
        "",
        *_table(many, many_s),
        "",
        f"Client-side errors (no answer): {dict(many.errors) or 'none'}; 5xx in both runs: {five}.",
        "",
        "Writes answered 2xx, checked in the database afterwards: "
        + "; ".join(
            f"{k}: {v}"
            for k, v in {
                **{f"one client, {k}": v for k, v in lost_single.items()},
                **{f"{args.clients} clients, {k}": v for k, v in lost_many.items()},
            }.items()
        )
        + ".",
        "",
    ]
    print("\n".join(lines), flush=True)
    return lines


def _mix(text: str) -> dict[str, int]:
    mix = {}
    for part in text.split(","):
        route, _, weight = part.partition("=")
        if route.strip() not in MIX:
            raise argparse.ArgumentTypeError(f"unknown route {route!r}; routes: {', '.join(MIX)}")
        mix[route.strip()] = int(weight)
    return mix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--single-duration", type=float, default=20.0)
    parser.add_argument("--orgs", type=int, default=300)
    parser.add_argument("--encoder", default="hashing", help="KOOPMATCH_EMBEDDING_MODEL")
    parser.add_argument(
        "--mix",
        type=_mix,
        default=dict(MIX),
        help="route weights, e.g. list=25,read=25,create=10,patch=17 (default: the full mix)",
    )
    parser.add_argument(
        "--read-created",
        action="store_true",
        help="read every organisation answered 201 with the client's very next request",
    )
    parser.add_argument("--no-write", action="store_true", help="do not write load.md")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    body: list[str] = []
    for backend in backends:
        body.extend(run_backend(backend, args))
    command = "python -m benchmarks.load " + " ".join(sys.argv[1:])
    header = [
        "# Load benchmark",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on `{platform.processor() or platform.machine()}` "
        f"({os.cpu_count()} cores, shared with other work), `{command.strip()}`: server "
        f"(`uvicorn app.asgi:app`, one process) and clients on one machine, over 127.0.0.1. "
        f"Encoder `{args.encoder}`; {args.orgs} organisations imported first. Mix weights: "
        + ", ".join(f"{k} {v}" for k, v in args.mix.items())
        + ". Every client PATCHes only organisations it created, with the version of its last "
        "answer; afterwards every organisation created with a 201 must be stored with the value "
        "of its last 200 PATCH (`organisation writes` counts these organisations), and every "
        "cooperation request answered 201 must be stored."
        + (
            " Every organisation answered 201 is read by the same client's very next request "
            "(route `read created`: a 200 shows the create was committed before its answer)."
            if args.read_created
            else ""
        ),
        "",
    ]
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text("\n".join(header + body))
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
