"""The fitted engine over all stored vectors, kept current by updates instead of refits.

Whether the index is current costs one primary-key read: every write to organisations,
competences or relationships raises `index_state.version` in its own transaction and lists the
organisations it touched (app.session_hooks.index_changes). A process that finds a newer
version reloads only those organisations (and their partners, whose partner lists follow)
and applies them to the fitted engine with `matching.incremental.updated`, which leaves the
previous generation intact for requests still using it. So an update made through any server process is used by
the next match of every other one, and no request waits for a full fit once an index exists:
bulk changes (more than `sync_limit` organisations, or a statement that names no rows) and the
periodic compaction (`matching.incremental.needs_refit`) run on a background thread (an update
of many organisations at once, or a full fit) while requests keep answering from the previous
index.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import pickle
import shutil
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, cast

import numpy as np
from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from app.embeddings import from_bytes
from app.models import Competence, KnownRelationship, Organization
from app.models.ranking import RankingFit
from app.session_hooks import index_changes as changes
from app.session_hooks.index_changes import changes_since, current_version
from matching import CompetenceVec, Matcher, ProfileVec
from matching.incremental import needs_refit, prepare, restore, share_vectors, snapshot, updated
from matching.types import CompetenceKind
from matching.weights import Weights

log = logging.getLogger(__name__)
# the layout of a persisted index; a file of another layout is ignored (and refitted)
_SNAPSHOT_FORMAT = 2
# arrays of at least this size are written to files of their own and read back memory-mapped
_MAPPED_BYTES = 1 << 20
# saved indexes kept besides the newest: a process may be reading the one before
_KEEP_SAVED = 1


class _ArrayPickler(pickle.Pickler):
    """Writes every large numpy array to a `.npy` file of its own next to the pickle, which
    names it; `_ArrayUnpickler` maps the file instead of reading it, so several processes that
    read the same saved index share its pages (and a restart reads no array in full)."""

    def __init__(self, file: Any, directory: Path) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.directory = directory
        self.written: dict[int, tuple[str, np.ndarray]] = {}  # by id(): an array once

    def reducer_override(self, obj: Any) -> Any:
        # frozen dataclasses with slots (profiles, competences, OrgInfo: a million objects
        # at 100,000 organisations) pickle as their constructor's arguments; the default
        # state of a slotted dataclass is set field by field on loading, about 2.5x slower
        if _by_constructor(type(obj)):
            return type(obj), tuple(getattr(obj, f) for f in type(obj).__slots__)
        return NotImplemented

    def persistent_id(self, obj: Any) -> str | None:
        if type(obj) is not np.ndarray or obj.dtype.hasobject or obj.nbytes < max(1, _MAPPED_BYTES):
            return None
        seen = self.written.get(id(obj))
        if seen is not None:
            return seen[0]
        name = f"{len(self.written)}.npy"
        np.save(self.directory / name, obj, allow_pickle=False)
        self.written[id(obj)] = (name, obj)  # kept, so that its id is not reused meanwhile
        return name


_BY_CONSTRUCTOR: dict[type, bool] = {}


def _by_constructor(cls: type) -> bool:
    """Whether instances of `cls` are rebuilt by `cls(*slots)`: a dataclass with slots, every
    field passed to its constructor, in slot order."""
    known = _BY_CONSTRUCTOR.get(cls)
    if known is None:
        slots = cls.__dict__.get("__slots__")
        fields = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
        known = _BY_CONSTRUCTOR[cls] = (
            slots is not None
            and bool(fields)
            and all(f.init for f in fields)
            and tuple(f.name for f in fields) == tuple(slots)
        )
    return known


class _ArrayUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, directory: Path) -> None:
        super().__init__(file)
        self.directory = directory

    def persistent_load(self, pid: Any) -> np.ndarray:
        name = str(pid)
        if Path(name).name != name or not name.endswith(".npy"):
            raise pickle.UnpicklingError(f"unexpected array file {name!r}")
        # copy-on-write: rows appended by updates go to this process's own pages
        mapped = np.load(self.directory / name, mmap_mode="c", allow_pickle=False)
        return mapped.view(np.ndarray)  # a plain array; the mapping lives as its base


@cache
def _code_version() -> str:
    """A digest of the code that shapes a fitted index: a file written by other code (an
    upgrade) is not read back, since its matcher may lack what this code expects."""
    import matching.distinct
    import matching.engine
    import matching.incremental
    import matching.types
    import matching.weights

    digest = hashlib.sha256()
    for module in (
        matching.engine,
        matching.incremental,
        matching.distinct,
        matching.types,
        matching.weights,
        sys.modules[__name__],
    ):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()


changes.install()

# ids per IN (...) clause when loading a subset of organisations
_CHUNK = 900


@dataclass(frozen=True, slots=True)
class OrgInfo:
    id: int
    external_id: str | None
    name: str
    nace_code: str | None
    country: str | None
    city: str | None
    visibility: str
    postal_code: str | None
    employees: int | None
    hide_from_competitors: bool


@dataclass(frozen=True, slots=True)
class FittedIndex:
    version: int  # index_state.version the index reflects
    encoder_name: str
    matcher: Matcher
    profiles: dict[int, ProfileVec]  # every organisation, private ones too (they may ask)
    info: dict[int, OrgInfo]
    dim: int | None
    # the organisations (not private) that opted out of being shown to their competitors, in
    # ascending order: read per request by a member's matches and searches, so kept here
    # rather than asked of the database (a scan of every organisation row on SQLite)
    opted_out: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        opted = sorted(
            pid
            for pid, i in self.info.items()
            if i.hide_from_competitors and i.visibility != "private"
        )
        object.__setattr__(self, "opted_out", tuple(opted))


def _chunks(ids: Collection[int]) -> Iterator[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def add_tie(
    ties: dict[int, dict[int, tuple[int | None, int | None]]],
    a: int,
    b: int,
    joint: int | None,
    last: int | None,
) -> None:
    """Record what `a` states about its partner `b` (`ProfileVec.partner_ties`); the same
    partner listed twice (say customer and partner) keeps the larger values."""
    if joint is None and last is None:
        return
    j0, y0 = ties[a].get(b, (None, None))
    ties[a][b] = (
        max(joint, j0) if joint is not None and j0 is not None else joint or j0,
        max(last, y0) if last is not None and y0 is not None else last or y0,
    )


# the organisation columns `profile_of_row` reads
PROFILE_COLUMNS = (
    Organization.id,
    Organization.external_id,
    Organization.name,
    Organization.nace_code,
    Organization.country,
    Organization.city,
    Organization.latitude,
    Organization.longitude,
    Organization.employees,
    Organization.cooperation_interests,
    Organization.visibility,
    Organization.postal_code,
    Organization.hide_from_competitors,
    Organization.profile_embedding,
    Organization.embedding_model,
)


def profile_of_row(
    org: Any,
    encoder_name: str,
    competences: Mapping[int, Sequence[CompetenceVec]],
    neighbours: Mapping[int, Collection[int]],
    ties: Mapping[int, dict[int, tuple[int | None, int | None]]],
) -> tuple[ProfileVec, OrgInfo]:
    """The engine's profile and the service's facts of one organisation row (the
    `PROFILE_COLUMNS`), with its competences, known partners and stated ties."""
    vector = (
        from_bytes(org.profile_embedding)
        if org.profile_embedding is not None and org.embedding_model == encoder_name
        else None
    )
    nace = org.nace_code if org.nace_code and org.nace_code[:1].isdigit() else None
    profile = ProfileVec(
        id=org.id,
        name=org.name,
        nace_code=nace,
        country=org.country,
        latitude=org.latitude,
        longitude=org.longitude,
        employees=org.employees,
        cooperation_interests=frozenset(org.cooperation_interests or ()),
        competences=tuple(competences.get(org.id, ())),
        profile_vector=vector,
        known_partner_ids=frozenset(neighbours.get(org.id, ())),
        partner_ties=ties.get(org.id, {}),
        # the organisation's opt-out: the engine leaves it out where it labels a competitor
        exclude_from_competitors=bool(org.hide_from_competitors),
    )
    info = OrgInfo(
        org.id,
        org.external_id,
        org.name,
        org.nace_code,
        org.country,
        org.city,
        org.visibility,
        org.postal_code,
        org.employees,
        bool(org.hide_from_competitors),
    )
    return profile, info


def load_profiles(
    session: Session, encoder_name: str, ids: Collection[int] | None = None
) -> tuple[dict[int, ProfileVec], dict[int, OrgInfo]]:
    """ProfileVecs from stored vectors of `encoder_name` (vectors of other models are ignored),
    of every organisation or of `ids` only (ids without a row are left out)."""
    if ids is None:
        parts: list[list[int] | None] = [None]
    else:
        parts = list(_chunks(ids))
    profiles: dict[int, ProfileVec] = {}
    info: dict[int, OrgInfo] = {}
    for part in parts:
        p, i = _load(session, encoder_name, part)
        profiles.update(p)
        info.update(i)
    return profiles, info


def _load(
    session: Session, encoder_name: str, ids: list[int] | None
) -> tuple[dict[int, ProfileVec], dict[int, OrgInfo]]:
    competences: dict[int, list[CompetenceVec]] = defaultdict(list)
    comp_query = (
        select(
            Competence.id,
            Competence.organization_id,
            Competence.kind,
            Competence.label,
            Competence.embedding,
        )
        .where(Competence.embedding_model == encoder_name, Competence.embedding.is_not(None))
        .order_by(Competence.id)
    )
    rel_query = select(
        KnownRelationship.organization_id,
        KnownRelationship.related_organization_id,
        KnownRelationship.joint_projects,
        KnownRelationship.last_year,
    ).where(KnownRelationship.related_organization_id.is_not(None))
    org_query = select(*PROFILE_COLUMNS).order_by(Organization.id)
    if ids is not None:
        comp_query = comp_query.where(Competence.organization_id.in_(ids))
        rel_query = rel_query.where(
            or_(
                KnownRelationship.organization_id.in_(ids),
                KnownRelationship.related_organization_id.in_(ids),
            )
        )
        org_query = org_query.where(Organization.id.in_(ids))
    # a label many organisations share is stored once per organisation: read it once, so
    # that loading holds one array per distinct vector (the engine copies them into its
    # matrices, after which the loaded ones are let go)
    vectors: dict[bytes, np.ndarray] = {}
    for comp_id, org_id, kind, label, blob in session.execute(comp_query):
        assert blob is not None  # filtered above
        vector = vectors.get(blob)
        if vector is None:
            vector = vectors[blob] = from_bytes(blob)
        competences[org_id].append(
            CompetenceVec(comp_id, cast(CompetenceKind, kind), label, vector)
        )
    del vectors
    neighbours: dict[int, set[int]] = defaultdict(set)
    ties: dict[int, dict[int, tuple[int | None, int | None]]] = defaultdict(dict)
    for a, b, joint, last in session.execute(rel_query):
        if b is not None:
            neighbours[a].add(b)
            neighbours[b].add(a)
            add_tie(ties, a, b, joint, last)
    profiles: dict[int, ProfileVec] = {}
    info: dict[int, OrgInfo] = {}
    for org in session.execute(org_query):
        profiles[org.id], info[org.id] = profile_of_row(
            org, encoder_name, competences, neighbours, ties
        )
    return profiles, info


def active_weights(session: Session) -> Weights | None:
    """The weights of the newest adopted refit (app.matches.learning); None: the defaults."""
    fit = session.scalar(
        select(RankingFit).where(RankingFit.adopted.is_(True)).order_by(RankingFit.id.desc())
    )
    if fit is None or fit.weights is None:
        return None
    return Weights().with_components(fit.weights)


def _dim(matcher: Matcher) -> int | None:
    return cast(int | None, getattr(matcher, "dim_", None))


class IndexCache:
    """Holds the current FittedIndex of a process; `get` brings it up to date.

    `sync_limit`: at most this many changed organisations are applied inside the request that
    notices them (an update of their rows, no fit); larger change sets are applied in the
    background.
    `matcher_params` go to `Matcher(...)` for every full fit. `on_replaced` is called after
    the index was loaded, fitted or replaced wholesale (not after an update of a few
    organisations): a server process freezes its long-lived objects then (app.gc_policy).
    """

    def __init__(
        self,
        *,
        sync_limit: int = 200,
        matcher_params: dict[str, Any] | None = None,
        snapshot_dir: Path | None = None,
        on_replaced: Callable[[], None] | None = None,
    ):
        self.sync_limit = sync_limit
        self.on_replaced = on_replaced
        self.matcher_params = dict(matcher_params or {})
        # where fitted indexes are kept across restarts (None: not kept)
        self.snapshot_dir = snapshot_dir
        self._lock = threading.Lock()  # one writer of _current at a time
        self._current: FittedIndex | None = None
        self._worker: threading.Thread | None = None
        self._saver: threading.Thread | None = None
        self._background_base: FittedIndex | None = None
        # how the index was kept current: "fits", "updates", "private", "background_updates",
        # "background_fits"
        self.stats: Counter[str] = Counter()

    @property
    def current(self) -> FittedIndex | None:
        return self._current

    def get(self, session: Session, encoder_name: str) -> FittedIndex:
        version = current_version(session)
        current = self._current
        own_writes = changes.pending(session)
        if (
            current is not None
            and current.encoder_name == encoder_name
            and current.version >= version
            and not own_writes
        ):
            return current
        if own_writes:
            # the session's own writes are not committed: an index for this request only
            self.stats["private"] += 1
            return self._brought_up(session, current, encoder_name, version, own_writes)
        with self._lock:
            current = self._current
            if current is not None and current.encoder_name == encoder_name:
                if current.version >= version or self._updating_in_background():
                    # caught up meanwhile, or a background update is extending this index
                    return current
                changed = changes_since(session, current.version, version)
                if None not in changed and len(changed) <= self.sync_limit:
                    try:
                        self._current = self._apply(
                            session, current, cast(set[int], changed), version
                        )
                    except Exception:
                        # whatever went wrong, a fresh fit does not depend on it
                        log.exception("update of the matching index failed; fitting afresh")
                        self._start_background(session, encoder_name, None)
                        return current
                    self.stats["updates"] += 1
                    if needs_refit(self._current.matcher):
                        self._start_background(session, encoder_name, None)
                    return self._current
                incremental = None not in changed and not needs_refit(current.matcher)
                self._start_background(session, encoder_name, current if incremental else None)
                return current
            # nothing to answer from yet: a persisted index brought up to date, or a fit
            restored = self._restored(session, encoder_name, version)
            if restored is not None:
                self._current = restored
                self.stats["restores"] += 1
                self._replaced()
                return restored
            self._current = self._fit(session, encoder_name, version)
            self.stats["fits"] += 1
            self._save_later(self._current)
            self._replaced()
            return self._current

    def _replaced(self) -> None:
        if self.on_replaced is not None:
            self.on_replaced()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a background fit, and the writing of a fitted index, to finish (command
        line, tests, benchmarks)."""
        for thread in (self._worker, self._saver):
            if thread is not None:
                thread.join(timeout)

    # ------------------------------------------------------------------ persisting
    def _snapshot_path(self, encoder_name: str) -> Path | None:
        """The file naming the directory of the newest saved index of `encoder_name`."""
        if self.snapshot_dir is None:
            return None
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in encoder_name)
        return self.snapshot_dir / f"match-index-{safe}.current"

    def _saved_dir(self, pointer: Path) -> Path | None:
        """The directory `pointer` names, if it is one of the saved indexes."""
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if Path(name).name != name or not name.startswith(f"{pointer.stem}.saved-"):
            return None
        return pointer.parent / name

    def _save_later(self, index: FittedIndex) -> None:
        """`_save` on a thread of its own: the request that fitted answers first."""
        if self.snapshot_dir is None:
            return
        self._saver = threading.Thread(
            target=self._save, args=(index,), name="match-index-save", daemon=True
        )
        self._saver.start()

    def _save(self, index: FittedIndex) -> None:
        """Write `index` for the next start (atomically; a failure only costs that start a
        fit). Only this server writes the directory, and only it reads it back."""
        pointer = self._snapshot_path(index.encoder_name)
        if pointer is None:
            return
        # a directory per save (the pickle and its arrays), named by `pointer`, which is
        # replaced atomically: a process reading or mapping an older one keeps its files
        target = pointer.with_name(
            f"{pointer.stem}.saved-{index.version}-{os.getpid()}-{threading.get_ident()}"
        )
        try:
            pointer.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            fitted = index.matcher.row_of_id_
            state = {
                "format": _SNAPSHOT_FORMAT,
                "code": _code_version(),
                "params": repr(sorted(self.matcher_params.items())),
                "version": index.version,
                "encoder_name": index.encoder_name,
                "matcher": snapshot(index.matcher),
                # organisations that may ask but are not fitted (private ones)
                "unfitted": {i: p for i, p in index.profiles.items() if i not in fitted},
                "info": index.info,
                "dim": index.dim,
            }
            with (target / "state.pickle").open("wb") as f:
                _ArrayPickler(f, target).dump(state)
            tmp = pointer.with_name(f"{pointer.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(target.name, encoding="utf-8")
            os.replace(tmp, pointer)
        except Exception:
            log.exception("could not persist the matching index to %s", target)
            shutil.rmtree(target, ignore_errors=True)
            return
        # older saves go; the one before stays for a process that is just reading it
        older = sorted(
            (d for d in pointer.parent.glob(f"{pointer.stem}.saved-*") if d != target),
            key=lambda d: d.stat().st_mtime,
        )
        for stale in older[: max(0, len(older) - _KEEP_SAVED)]:
            shutil.rmtree(stale, ignore_errors=True)

    def _restored(self, session: Session, encoder_name: str, version: int) -> FittedIndex | None:
        """The persisted index of `encoder_name` with the changes since it was written
        applied; None when there is none, or when the changes since are not known (pruned,
        a bulk statement, or a database older than the file): then a fit is due."""
        pointer = self._snapshot_path(encoder_name)
        path = None if pointer is None else self._saved_dir(pointer)
        if path is None or not path.is_dir():
            return None
        try:
            # the arrays are mapped, not read: pages are shared with every other process
            # that maps the same save, and read from disk only when used
            with (path / "state.pickle").open("rb") as f:
                state = _ArrayUnpickler(f, path).load()
            if (
                state.get("format") != _SNAPSHOT_FORMAT
                or state.get("code") != _code_version()
                or state.get("params") != repr(sorted(self.matcher_params.items()))
                or state["encoder_name"] != encoder_name
            ):
                return None
            if state["version"] > version:
                return None
            changed = changes_since(session, state["version"], version)
            if None in changed:
                return None
            matcher = restore(state["matcher"])
            profiles: dict[int, ProfileVec] = dict(state["unfitted"])
            alive = matcher.alive_  # type: ignore[attr-defined]
            for row, p in enumerate(matcher.profiles_):
                if alive[row]:
                    profiles[p.id] = p
            index = FittedIndex(
                state["version"], encoder_name, matcher, profiles, state["info"], state["dim"]
            )
            if changed:
                index = self._apply(session, index, cast(set[int], changed), version)
            return index
        except Exception:
            log.exception("could not read the persisted matching index %s; fitting", path)
            return None

    # ------------------------------------------------------------------ building
    def _fit(self, session: Session, encoder_name: str, version: int) -> FittedIndex:
        profiles, info = load_profiles(session, encoder_name)
        # private profiles are never offered to others
        candidates = [p for p in profiles.values() if info[p.id].visibility != "private"]
        params = dict(self.matcher_params)
        if "weights" not in params:  # weights given to the cache beat the refitted ones
            params["weights"] = active_weights(session)
        matcher = prepare(Matcher(**params).fit(candidates))
        # the fitted profiles' vectors become views of the engine's matrices: held once
        profiles.update(share_vectors(matcher))
        return FittedIndex(version, encoder_name, matcher, profiles, info, _dim(matcher))

    def _apply(
        self,
        session: Session,
        index: FittedIndex,
        changed: set[int],
        version: int,
        *,
        detached: bool = False,
    ) -> FittedIndex:
        """`index` with the organisations in `changed` reloaded, and their partners (old and
        new), whose partner lists change with theirs."""
        loaded, info = load_profiles(session, index.encoder_name, changed)
        partners: set[int] = set()
        for pid in changed:
            for source in (index.profiles.get(pid), loaded.get(pid)):
                if source is not None:
                    partners |= source.known_partner_ids
        extra = partners - changed
        if extra:
            more, more_info = load_profiles(session, index.encoder_name, extra)
            loaded.update(more)
            info.update(more_info)
        touched = changed | extra
        profiles = dict(index.profiles)
        infos = dict(index.info)
        for pid in touched:
            if pid in loaded:
                profiles[pid], infos[pid] = loaded[pid], info[pid]
            else:
                profiles.pop(pid, None)
                infos.pop(pid, None)
        upserts = [loaded[p] for p in sorted(loaded) if info[p].visibility != "private"]
        removed = [p for p in touched if p not in loaded or info[p].visibility == "private"]
        matcher = updated(index.matcher, upserts, removed, detached=detached)
        # the fitted ones as the matcher holds them: vectors in its matrices, not stored bytes
        for p in upserts:
            profiles[p.id] = matcher.profiles_[matcher.row_of_id_[p.id]]
        return FittedIndex(version, index.encoder_name, matcher, profiles, infos, _dim(matcher))

    def _brought_up(
        self,
        session: Session,
        index: FittedIndex | None,
        encoder_name: str,
        version: int,
        own_writes: set[int | None],
    ) -> FittedIndex:
        if index is None or index.encoder_name != encoder_name:
            return self._fit(session, encoder_name, version)
        changed = changes_since(session, index.version, version) | own_writes
        if None in changed:
            return self._fit(session, encoder_name, version)
        # nothing of it may stay in the shared index: the writes can still be rolled back
        return self._apply(session, index, cast(set[int], changed), version, detached=True)

    def _updating_in_background(self) -> bool:
        return (
            self._background_base is not None
            and self._worker is not None
            and (self._worker.is_alive())
        )

    def _start_background(
        self, session: Session, encoder_name: str, base: FittedIndex | None
    ) -> None:
        """A background update of `base` (the current index, which requests then leave alone
        until it is done), or a full fit when `base` is None."""
        if self._worker is not None and self._worker.is_alive():
            return
        bind = session.get_bind()
        engine = bind if isinstance(bind, Engine) else bind.engine
        self._background_base = base
        self._worker = threading.Thread(
            target=self._rebuild, args=(engine, encoder_name, base), name="match-index", daemon=True
        )
        self._worker.start()

    def _rebuild(self, engine: Engine, encoder_name: str, base: FittedIndex | None) -> None:
        """Bring `base` up to date with the changes since its version (many organisations at
        once: loading and appending, no fit), or fit afresh on a connection of its own and
        publish once caught up with updates that requests applied meanwhile (never an index
        older than the current one)."""
        try:
            if base is not None:
                try:
                    with Session(engine) as session:
                        version = current_version(session)
                        changed = changes_since(session, base.version, version)
                        if None not in changed:
                            updated_ = self._apply(session, base, cast(set[int], changed), version)
                            with self._lock:
                                self._current = updated_
                                self.stats["background_updates"] += 1
                            self._replaced()
                            return
                except Exception:
                    log.exception("update of the matching index failed; fitting afresh")
            for _attempt in range(3):
                with Session(engine) as session:
                    fitted = self._fit(session, encoder_name, current_version(session))
                with self._lock, Session(engine) as session:
                    current = self._current
                    if (
                        current is not None
                        and current.encoder_name == encoder_name
                        and current.version > fitted.version
                    ):
                        changed = changes_since(session, fitted.version, current.version)
                        if None in changed:
                            continue  # another bulk change came in: fit again
                        fitted = self._apply(
                            session, fitted, cast(set[int], changed), current.version
                        )
                    self._current = fitted
                    self.stats["background_fits"] += 1
                self._replaced()
                self._save(fitted)
                return
        except Exception:
            log.exception("background update of the matching index failed")
        finally:
            self._background_base = None
