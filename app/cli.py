"""The `koopmatch` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.orm import Session
from tqdm import tqdm

from app.auth.cli import register as register_auth_commands
from app.config import ROOT, get_settings
from app.embeddings import Encoder
from app.events.cli import register as register_event_commands


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url or get_settings().database_url)
    return config


def _session(*, writes: bool = False) -> Session:
    from app.db import get_sessionmaker

    return get_sessionmaker(writes=writes)()


def _encoder(args: argparse.Namespace) -> Encoder | None:
    if getattr(args, "no_embeddings", False):
        return None
    from app.embeddings import load_default_encoder

    return load_default_encoder()


def cmd_migrate(args: argparse.Namespace) -> int:
    from app.taxonomy.service import sync_taxonomy

    command.upgrade(alembic_config(), args.revision)
    with _session() as session, session.begin():
        changed = sync_taxonomy(session)
    print(f"database at {args.revision}; taxonomy rows changed: {changed}")
    return 0


def _import(
    path: Path, args: argparse.Namespace, *, partial: bool, dry_run: bool, replace: bool = False
) -> int:
    from app.imports.parsing import ImportFileError
    from app.imports.service import ImportRejected, run_import

    data = path.read_bytes()
    encoder = _encoder(args)
    bar = tqdm(desc=f"importing {path.name}", unit="org", disable=not sys.stderr.isatty())
    # vectors first, through a reader; the writing session takes the write lock (SQLite: up
    # front, so a server writing meanwhile cannot make it fail) only when they are ready
    with _session() as reader, _session(writes=not dry_run) as session:
        try:
            report = run_import(
                session,
                data=data,
                filename=path.name,
                partial=partial,
                dry_run=dry_run,
                replace=replace,
                encoder=encoder,
                progress=bar.update,
                reader=reader,
            )
        except ImportFileError as exc:
            print(f"{path}: cannot import: {exc}", file=sys.stderr)
            return 2
        except ImportRejected as exc:
            session.rollback()
            _print_report(path, exc.report)
            print(
                "nothing was written (atomic import); use --partial to write the valid rows",
                file=sys.stderr,
            )
            return 1
        finally:
            bar.close()
        if dry_run:
            session.rollback()
        else:
            session.commit()
    if not dry_run and report.written:
        _vector_indexes()
    _print_report(path, report)
    return 1 if report.errors else 0


def _vector_indexes() -> None:
    """PostgreSQL: the HNSW indexes of every stored encoder, created where missing (after the
    vectors are committed, in a transaction of their own; requests never build them)."""
    from app.matches.pgvector import ensure_stored_indexes

    with _session(writes=True) as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            ensure_stored_indexes(session.connection())


def _print_report(path: Path, report: object) -> None:
    from app.imports.service import ImportReport

    assert isinstance(report, ImportReport)
    for err in report.errors:
        where = f"line {err.line}" if err.line is not None else "file"
        field = f" {err.field}:" if err.field else ""
        print(f"{path}:{where}:{field} {err.reason}", file=sys.stderr)
    for warning in report.warnings:
        print(f"{path}: warning: {warning}", file=sys.stderr)
    verb = "would write" if report.dry_run else ("wrote" if report.written else "wrote nothing")
    print(
        f"{path.name}: {report.rows} rows, {report.accepted} valid, {report.rejected} rejected; "
        f"{verb}: {report.created} created, {report.updated} updated, {report.unchanged} unchanged"
    )


def cmd_import(args: argparse.Namespace) -> int:
    return _import(
        Path(args.file), args, partial=args.partial, dry_run=args.dry_run, replace=args.replace
    )


def cmd_seed(args: argparse.Namespace) -> int:
    from app.auth.service import ensure_demo_admin, ensure_demo_members

    code = _import(get_settings().seed_file, args, partial=False, dry_run=False)
    with _session() as session, session.begin():
        demo = ensure_demo_admin(session)
        members = ensure_demo_members(session)
    if demo is not None:
        print(f"demo admin (development only): {demo[0]} / {demo[1]}")
    for email, password in members:
        print(f"demo member (development only): {email} / {password}")
    return code


def cmd_reindex(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from app.embeddings import embed_organizations
    from app.models import Organization

    encoder = _encoder(args)
    if encoder is None:
        print("embeddings are switched off (KOOPMATCH_EMBEDDING_MODEL=none)", file=sys.stderr)
        return 2
    with _session() as session, session.begin():
        from sqlalchemy.orm import selectinload

        orgs = list(
            session.scalars(select(Organization).options(selectinload(Organization.competences)))
        )
        with tqdm(total=len(orgs), desc="re-encoding", unit="org") as bar:
            count = embed_organizations(orgs, encoder, force=args.force, progress=bar.update)
    _vector_indexes()
    print(f"encoded {count} texts with {encoder.name}")
    _match_stats(encoder.name)
    return 0


def _match_stats(encoder_name: str) -> None:
    """PostgreSQL: store the corpus statistics of per-request matches (app.matches.stateless)."""
    from app.matches.stateless import refresh_stats

    with _session(writes=True) as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            stats = refresh_stats(session, encoder_name)
            print(f"matching statistics of {encoder_name}: {len(stats.hub_values)} hub values")


def cmd_match_stats(args: argparse.Namespace) -> int:
    encoder = _encoder(args)
    if encoder is None:
        print("embeddings are switched off (KOOPMATCH_EMBEDDING_MODEL=none)", file=sys.stderr)
        return 2
    _match_stats(encoder.name)
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from app.auth.roles import operator
    from app.matches.index import IndexCache
    from app.matches.service import matches_for
    from app.models import Organization
    from matching import Filters

    encoder = _encoder(args)
    with _session() as session:
        ref = args.organization
        org_id = session.scalar(select(Organization.id).where(Organization.external_id == ref))
        if org_id is None and ref.isdigit():
            org_id = session.scalar(select(Organization.id).where(Organization.id == int(ref)))
        if org_id is None:
            print(f"no organisation with external_id or id {ref!r}", file=sys.stderr)
            return 2
        filters = Filters(
            include_competitors=not args.no_competitors,
            exclude_known=not args.include_known,
            countries=frozenset(c.upper() for c in args.country),
        )
        items = matches_for(
            session,
            user=operator(),  # whoever runs the command on the server sees everything
            organization_id=org_id,
            filters=filters,
            limit=args.limit,
            cache=IndexCache(),
            encoder=encoder,
        )
    for rank, item in enumerate(items, 1):
        org = item.organization
        where = ", ".join(x for x in (org.city, org.country) if x)
        print(
            f"{rank:2}. {item.score:.3f}  {org.name} ({where}; NACE {org.nace_code}) [{item.relation}]"
        )
        for reason in item.reasons[: args.reasons]:
            print(f"      - {reason.text}")
    return 0


def cmd_refit_ranking(args: argparse.Namespace) -> int:
    from app.matches import learning
    from app.matches.index import IndexCache

    encoder = _encoder(args)
    settings = learning.Settings(
        min_positives=args.min_positives,
        min_queries=args.min_queries,
        min_gain=args.min_gain,
        stage=args.stage,
    )
    with _session(writes=not args.dry_run) as session, session.begin():
        if args.reset:
            fit = learning.reset(session)
        else:
            fit = learning.refit(
                session,
                cache=IndexCache(),
                encoder=encoder,
                settings=settings,
                dry_run=args.dry_run,
            )
    print(f"{'adopted' if fit.adopted else 'kept the ranking in use'}: {fit.reason}")
    print(f"pairs {fit.pairs}, positive {fit.positives}, asking organisations {fit.queries}")
    for name, value in (fit.candidate_weights or {}).items():
        print(f"  {name:20} {value:8.4f}")
    if args.dry_run:
        print("dry run: nothing stored")
    return 0


def cmd_wait_for_db(args: argparse.Namespace) -> int:
    import time

    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from app.db import get_engine

    deadline = time.monotonic() + args.timeout
    while True:
        try:
            with get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
            print("database is up")
            return 0
        except OperationalError as exc:
            if time.monotonic() >= deadline:
                print(f"database not reachable after {args.timeout} s: {exc}", file=sys.stderr)
                return 1
            time.sleep(1)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "app.asgi:app",
        host=args.host,
        port=args.port,
        reload=args.reload,
        workers=None if args.reload else args.workers,
        timeout_worker_healthcheck=args.worker_healthcheck_timeout,
    )
    return 0


def cmd_housekeeping(args: argparse.Namespace) -> int:
    from app import housekeeping

    swept = housekeeping.run()
    print(
        f"deleted {swept.uploads} uploads nobody imported and "
        f"{swept.login_counters} ended login counters"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="koopmatch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--reload", action="store_true")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes; each admits KOOPMATCH_MAX_SESSIONS requests to the database "
        "at once with a pool of as many connections; all follow one index state, and with "
        "KOOPMATCH_INDEX_DIR they map the saved index's arrays (pages shared, not copied)",
    )
    serve.add_argument(
        "--worker-healthcheck-timeout",
        type=int,
        default=300,
        help="seconds a worker may take to answer the supervisor's health check before it is "
        "restarted (with --workers > 1); a worker fitting the matching engine over 100,000 "
        "organisations is busy for minutes",
    )
    serve.set_defaults(func=cmd_serve)

    wait = sub.add_parser("wait-for-db", help="wait until the database accepts connections")
    wait.add_argument("--timeout", type=float, default=60.0)
    wait.set_defaults(func=cmd_wait_for_db)

    sweep = sub.add_parser(
        "housekeeping",
        help="delete uploads nobody imported and ended login counters (the server does it "
        "every KOOPMATCH_HOUSEKEEPING_MINUTES; for cron when that is 0)",
    )
    sweep.set_defaults(func=cmd_housekeeping)

    migrate = sub.add_parser("migrate", help="upgrade the database schema and the NACE table")
    migrate.add_argument("revision", nargs="?", default="heads")
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed", help="load the demo organisations (idempotent)")
    seed.add_argument("--no-embeddings", action="store_true")
    seed.set_defaults(func=cmd_seed)

    imp = sub.add_parser("import", help="import organisations from JSON, JSON Lines, CSV or XLSX")
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    imp.add_argument("--partial", action="store_true", help="write the valid rows despite bad ones")
    imp.add_argument(
        "--replace",
        action="store_true",
        help="the file is the whole truth: clear what it does not state (by default a field "
        "or column the file lacks keeps its stored value)",
    )
    imp.add_argument("--no-embeddings", action="store_true")
    imp.set_defaults(func=cmd_import)

    match = sub.add_parser("match", help="show the best partners for an organisation")
    match.add_argument("organization", help="external_id or id")
    match.add_argument("--limit", type=int, default=10)
    match.add_argument("--reasons", type=int, default=3, help="reasons shown per match")
    match.add_argument("--country", action="append", default=[], help="repeatable")
    match.add_argument("--no-competitors", action="store_true")
    match.add_argument("--include-known", action="store_true", help="keep existing partners")
    match.set_defaults(func=cmd_match)

    reindex = sub.add_parser("reindex", help="re-encode competences and profiles")
    reindex.add_argument("--force", action="store_true", help="also vectors of the current model")
    reindex.set_defaults(func=cmd_reindex)

    stats = sub.add_parser(
        "match-stats",
        help="PostgreSQL: recompute the corpus statistics that per-request matches read",
    )
    stats.set_defaults(func=cmd_match_stats)

    refit = sub.add_parser(
        "refit-ranking",
        help="refit the ranking (re-ranker or weights) from recorded outcomes (adopted only if "
        "better on the newest outcomes)",
    )
    refit.add_argument("--dry-run", action="store_true", help="fit and check; store nothing")
    refit.add_argument(
        "--reset", action="store_true", help="go back to the default weights and no re-ranker"
    )
    refit.add_argument(
        "--stage",
        choices=("reranker", "weights"),
        default="reranker",
        help="a learned second stage over the engine's best 100 (default), or the weights",
    )
    refit.add_argument("--min-positives", type=int, default=50)
    refit.add_argument("--min-queries", type=int, default=20)
    refit.add_argument("--min-gain", type=float, default=0.01, help="held-out nDCG@10 gain")
    refit.set_defaults(func=cmd_refit_ranking)

    register_auth_commands(sub)
    register_event_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":  # the server's requests record their own source
        return int(args.func(args))
    from app.session_hooks.audit import acting

    with acting("cli", request=f"koopmatch {args.command}"):
        return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
