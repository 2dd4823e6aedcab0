"""How a server process uses Python's cyclic garbage collector.

A process that holds the fitted matching index keeps about a million Python objects at
100,000 organisations (profiles, their competences, per-row sides, token sets). Every full
collection of the cyclic collector traverses all of them, though none of them is garbage.
`gc.freeze()` moves every object alive to a permanent generation that collections skip (the
use the Python documentation describes for long-lived state built at start-up). So a server
collects once and freezes after the encoder is loaded and after every load or fit of the
index. Objects in the permanent generation are still freed by reference counting when the
last reference goes; only garbage in reference cycles among them would stay. So when an index
is replaced, the process unfreezes, collects everything once and freezes the new state:
nothing of the old index is kept by the freeze, at the cost of one full collection (about a
second at 100,000 organisations) per replacement, which a fit or a restore already takes far
longer than. Updates of a few organisations (the index's per-request updates) leave the freeze
as it is: their new objects are young and collected as usual.

The first threshold of the collector (how many allocations start a young collection) can be
raised as well: a request of the matching path allocates tens of thousands of short-lived
containers, each young collection traverses the survivors of the ones before.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

from app.config import Settings

log = logging.getLogger(__name__)


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
        return cls(freeze=settings.gc_freeze, gen0_threshold=settings.gc_gen0_threshold)

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
