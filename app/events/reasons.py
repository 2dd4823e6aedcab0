"""The scheduling engine's reasons for refusing an instance, as messages a page translates.

`matching.scheduling` raises `InvalidInstance` with an English sentence (the engine knows
nothing of catalogues); this is where the service maps it at its boundary. Each of the
engine's sentences has a template below whose English text is the same sentence, so the API
keeps answering exactly what the engine said, and a page shows it in its own language. A
sentence the engine words in a new way stays English until it is added here
(tests/app/events/test_reasons.py reads the engine's sentences and fails until then).
"""

from __future__ import annotations

import re
from functools import cache

from app.i18n import N_, Message
from matching.scheduling import InvalidInstance

TEMPLATES = (
    N_("slot ids must be distinct"),
    N_("table ids must be distinct"),
    N_("person %(person)s registered twice"),
    N_("locked meeting %(meeting)s uses an unknown slot or table"),
    N_("locked meeting %(meeting)s has unknown or identical persons"),
    N_("locked meeting %(meeting)s joins a not-interested pair"),
    N_("locked meeting %(meeting)s joins one organisation"),
    N_("person %(person)s is unavailable for locked meeting %(meeting)s"),
    N_("person %(person)s has two locked meetings at %(slot)s"),
    N_("table %(table)s locked twice at slot %(slot)s"),
    N_("pair %(pair)s locked twice"),
    N_("person %(person)s has more locked meetings than allowed"),
    N_("slot %(slot)s does not exist"),
)

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each template as a pattern that reads its values back out of the English text."""
    out = []
    for template in TEMPLATES:
        parts = _PLACEHOLDER.split(template)
        # split alternates literal text and placeholder names
        pattern = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
        )
        out.append((re.compile(pattern, re.S), template))
    return tuple(out)


def reason(exc: InvalidInstance) -> Message | str:
    """The engine's reason as a message whose English text is exactly `str(exc)`; the text
    itself when no template words it."""
    text = str(exc)
    for pattern, template in _patterns():
        found = pattern.fullmatch(text)
        if found is not None:
            return Message(template, **found.groupdict())
    return text
