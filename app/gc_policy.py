"""How a server process uses Python's cyclic garbage collector.

A server process that holds the fitted matching index has about 2.9 million Python objects
tracked by the collector at 100,000 organisations (profiles, their competences, per-row
sides, token sets; the encoder and the imported modules besides).
Every full collection of the cyclic collector traverses all of them, though none of them is
garbage: 2.0-2.4 s of CPU per full collection, holding the interpreter (measured in a server
restored from a saved index of 100,000 organisations, `benchmarks/results/scale.md` section 10).
`gc.freeze()` moves every object alive to a permanent generation that collections skip (the
use the Python documentation describes for long-lived state built at start-up): the same full
collection then took 0.05-0.06 s. So a server collects once and freezes after the encoder is
loaded and after every load or fit of the index.

Objects in the permanent generation are still freed by reference counting when their last
reference goes; only garbage in reference cycles among them would stay. So when an index is
replaced (a fit, a background update of many organisations, a restore), the process
unfreezes, collects everything once and freezes the new state: nothing of the old index is
kept by the freeze, at the cost of one full collection (the 2 s above) per replacement, which
a fit or a restore already takes far longer than. Updates of a few organisations (the index's
per-request updates) leave the freeze as it is: their new objects are young and collected as
usual.

The collector's first threshold: on PostgreSQL with `match_state="database"` every match
builds its candidates' objects (tens of thousands of containers), and with the interpreter's
threshold (700) about 50 young collections ran per match; there a threshold of 50,000 is the
default (10,000 organisations, one worker: 121 -> 100 ms of CPU per match with the freeze,
no collection left in 50 matches). With the in-process index it stays the interpreter's:
young collections took 1-2 ms of a 50-60 ms match or search at 100,000 organisations, and
50,000 turned them into one pause of 40-90 ms every 80 requests, which is worse for p95.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

from sqlalchemy import make_url

from app.config import Settings

log = logging.getLogger(__name__)
# the first threshold when every match builds its candidates' objects (see above)
PER_REQUEST_GEN0_THRESHOLD = 50_000


class GcPolicy:
    """`freeze`: collect and freeze after start-up and after each replacement of the index.
    `gen0_threshold`: the collector's first threshold (0 keeps the interpreter's)."""

    def __init__(self, *, freeze: bool = True, gen0_threshold: int = 0) -> None:
        if gen0_threshold < 0:
            raise ValueError("gen0_threshold must be 0 (the interpreter's) or positive")
        self.freeze = freeze
        self.gen0_threshold = gen0_threshold
        # how often this process froze its heap (start-up and index replacements)
        self.freezes = 0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> GcPolicy:
        threshold = settings.gc_gen0_threshold
        if threshold is None:
            per_request = (
                settings.match_state == "database"
                and make_url(settings.database_url).get_backend_name() == "postgresql"
            )
            threshold = PER_REQUEST_GEN0_THRESHOLD if per_request else 0
        return cls(freeze=settings.gc_freeze, gen0_threshold=threshold)

    def started(self) -> None:
        """At a server process's start, once the encoder is loaded."""
        if self.gen0_threshold:
            _, second, third = gc.get_threshold()
            gc.set_threshold(self.gen0_threshold, second, third)
        self._refreeze("start-up")

    def index_replaced(self) -> None:
        """After the matching index was loaded, fitted, or replaced by a new fit or a
        background update."""
        self._refreeze("matching index")

    def _refreeze(self, what: str) -> None:
        if not self.freeze:
            return
        with self._lock:
            start = time.perf_counter()
            # what an earlier freeze held is collected now if it has become garbage
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self.freezes += 1
            log.info(
                "garbage collector: %d objects frozen after the %s (%.2f s)",
                gc.get_freeze_count(),
                what,
                time.perf_counter() - start,
            )
