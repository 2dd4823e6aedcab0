"""Duplicate-search benchmark on synthetic databases: `python -m benchmarks.curation`.

Each database holds the 170 demo organisations (seed_data/organizations.json), other firm names
drawn from word lists (surnames, trades, regions, invented brands, legal forms; no two alike after
`normalise_name`) and planted duplicates: for one organisation in eleven a second record whose name
has its legal form changed, its umlauts spelled out (or put back), one typo, or its case and
hyphens changed. Half of the planted records keep the website domain, 60% the postal code and
city, half a nearby profile vector (cosine about 0.95); the other records get random unit vectors
(d = 384, model "bench"), which are far apart, unlike real profiles of one trade.

The search (`duplicate_pairs` with the API defaults: names 0.85, vectors 0.92, min_score 0,
limit 100) is timed on profiles already in memory: loading them from the database is the same
for both implementations and not included. The baseline is the service's former search, kept
below: all pairs of names through difflib in Python, a float64 full-matrix vector search, and a
response object for every pair before the cut to `limit`. Both run in this process with one BLAS
thread and rapidfuzz `workers=1`. Recall and precision are those of the planted pairs among all
pairs found and among those scoring at least 0.5; generated names such as "Maier X" and "Meier X"
are look-alikes that are not planted, and count against precision. Both implementations must
return the same pairs with the same scores and signals (checked on every size where the baseline
runs). Prints the markdown and writes benchmarks/results/curation.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from app.curation.schemas import CurationStatus, DuplicateList
from app.curation.service import (
    Profile,
    _domain_candidates,
    _pair,
    duplicate_pairs,
    normalise_name,
    website_domain,
)
from benchmarks.quality import machine

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "curation.md"
SEED = 20261126
SIZES = (2_000, 10_000, 20_000)
# the API defaults (app/curation/router.py)
NAME_THRESHOLD = 0.85
EMBEDDING_THRESHOLD = 0.92
# the API's default page, and more pairs than any size here produces
LIMIT = 100
ALL = 10**9
# pairs scoring at least this much are counted apart: what a curator sees first
STRONG = 0.5
DIM = 384
MODEL = "bench"
# one planted duplicate for this many organisations
DUPLICATE_EVERY = 11
MODIFIED_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _words(text: str) -> list[str]:
    return text.split()


SURNAMES = _words("""Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch
Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange
Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter Mayer
Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel Friedrich Keller Günther
Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm Winter Kraus
Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas Schreiber
Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch Bergmann Thomas Voigt Sauer Arnold
Wolff Pfeiffer Rossi Bianchi Novak Dvořák Jansen Visser Nilsson Larsen Dubois Moreau""")
TRADES = _words("""Metallbau Präzisionstechnik Kunststofftechnik Elektrotechnik Antriebstechnik Messtechnik
Sensorik Automation Maschinenbau Werkzeugbau Formenbau Drehteile Frästechnik Lasertechnik
Oberflächentechnik Galvanik Härterei Gießerei Schweißtechnik Blechbearbeitung Steuerungstechnik
Robotik Software Datentechnik Logistik Spedition Verpackung Etikettendruck Lebensmitteltechnik
Fleischwaren Bäckerei Brauerei Molkerei Kältetechnik Klimatechnik Haustechnik Solartechnik
Energietechnik Batterietechnik Medizintechnik Labortechnik Optik Feinmechanik Hydraulik Pneumatik
Fördertechnik Umwelttechnik Recycling Holzbau Möbelwerk Textiltechnik Beschichtung Kabeltechnik
Leiterplatten Elektronik Prüftechnik Ingenieurbüro Consulting Systemhaus Engineering""")
REGIONS = _words("""Nord Süd Ost West Rhein Main Ruhr Weser Elbe Donau Neckar Allgäu Eifel Harz Lausitz
Franken Schwaben Oberland Hohenlohe Sauerland Münsterland Emsland Vogtland Erzgebirge Bodensee
Ostalb Pfalz Saar Mosel Spessart Odenwald Breisgau Uckermark Altmark Thüringen Steiermark Tirol""")
SYLLABLES = _words("""vi tro nex sen ta lu mo ra dyn ix ka pro fle xo tec qua li ver sa no mat ri on
el va zen kor bi ta ly ne ro ga do mi tra vo ne xa cu pe lo fa be""")
BRAND_ENDINGS = _words(
    "tec tronic systems solutions labs works soft form line matic logic fab data"
)
LEGAL = [
    "GmbH", "AG", "KG", "GmbH & Co. KG", "e.K.", "UG (haftungsbeschränkt)", "OHG", "Ltd.",
    "S.r.l.", "B.V.", "SE", "mbH",
]  # fmt: skip
UMLAUTS = (
    ("ä", "ae"),
    ("ö", "oe"),
    ("ü", "ue"),
    ("ß", "ss"),
    ("Ä", "Ae"),
    ("Ö", "Oe"),
    ("Ü", "Ue"),
)
CITIES = [
    ("70173", "Stuttgart"), ("80331", "München"), ("90402", "Nürnberg"), ("01067", "Dresden"),
    ("04109", "Leipzig"), ("20095", "Hamburg"), ("28195", "Bremen"), ("30159", "Hannover"),
    ("50667", "Köln"), ("40213", "Düsseldorf"), ("44135", "Dortmund"), ("60311", "Frankfurt"),
    ("68159", "Mannheim"), ("76131", "Karlsruhe"), ("79098", "Freiburg"), ("89073", "Ulm"),
    ("93047", "Regensburg"), ("97070", "Würzburg"), ("99084", "Erfurt"), ("39104", "Magdeburg"),
]  # fmt: skip


# ----------------------------------------------------------------------------------- baseline


def old_name_candidates(profiles: Sequence[Profile], threshold: float) -> set[tuple[int, int]]:
    """The service's former name search: every pair in Python with difflib."""
    compact = [p.name.replace(" ", "") for p in profiles]
    order = sorted(range(len(profiles)), key=lambda i: (len(compact[i]), i))
    min_ratio = threshold / (2 - threshold) if threshold < 2 else 1.0
    found: set[tuple[int, int]] = set()
    matcher = SequenceMatcher(None)
    for pos, j in enumerate(order):
        if not compact[j]:
            continue
        matcher.set_seq2(compact[j])
        for i in reversed(order[:pos]):
            if not compact[i] or len(compact[i]) < min_ratio * len(compact[j]):
                break
            matcher.set_seq1(compact[i])
            if (
                matcher.real_quick_ratio() >= threshold
                and matcher.quick_ratio() >= threshold
                and matcher.ratio() >= threshold
            ):
                found.add((min(i, j), max(i, j)))
    return found


def old_embedding_candidates(profiles: Sequence[Profile], threshold: float) -> set[tuple[int, int]]:
    """The service's former vector search: float64 blocks against the whole matrix."""
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, p in enumerate(profiles):
        if p.vector is not None and p.model is not None:
            groups[(p.model, p.vector.shape[0])].append(i)
    found: set[tuple[int, int]] = set()
    for members in groups.values():
        vectors = [v for i in members if (v := profiles[i].vector) is not None]
        matrix = np.stack(vectors)  # (n, d)
        for start in range(0, len(members), 512):
            block = matrix[start : start + 512] @ matrix.T  # (b, n)
            for a, b in zip(*np.nonzero(block >= threshold), strict=True):
                i, j = members[start + int(a)], members[int(b)]
                if i < j:
                    found.add((i, j))
    return found


def old_duplicate_pairs(
    profiles: Sequence[Profile],
    *,
    name_threshold: float,
    embedding_threshold: float,
    min_score: float,
    limit: int,
) -> DuplicateList:
    """The service's former search: every pair becomes a response object before the cut."""
    candidates = (
        old_name_candidates(profiles, name_threshold)
        | _domain_candidates(profiles)
        | old_embedding_candidates(profiles, embedding_threshold)
    )
    pairs = [_pair(profiles[i], profiles[j]) for i, j in candidates]
    pairs = [p for p in pairs if p.score >= min_score]
    pairs.sort(key=lambda p: (-p.score, p.first.id, p.second.id))
    return DuplicateList(items=pairs[:limit], total=len(pairs))


# --------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Record:
    name: str
    website: str | None
    location: tuple[str, str] | None
    vector: np.ndarray  # (DIM,) unit


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _random_name(rng: random.Random) -> str:
    form = rng.choice(LEGAL)
    kind = rng.random()
    if kind < 0.3:
        return f"{rng.choice(SURNAMES)} {rng.choice(TRADES)} {form}"
    if kind < 0.55:
        return f"{rng.choice(TRADES)} {rng.choice(REGIONS)} {form}"
    if kind < 0.7:
        return f"{rng.choice(SURNAMES)} & {rng.choice(SURNAMES)} {rng.choice(TRADES)} {form}"
    brand = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
    if rng.random() < 0.5:
        brand += rng.choice(BRAND_ENDINGS)
    brand = brand.capitalize()
    if rng.random() < 0.5:
        return f"{brand} {rng.choice(TRADES)} {form}"
    return f"{brand} {form}"


def _swap_legal_form(name: str, rng: random.Random) -> str:
    words = name.split()
    while len(words) > 1 and _is_legal(words[-1]):
        words.pop()
    base = " ".join(words)
    current = name[len(base) :].strip()
    # mostly another legal form, sometimes none
    if rng.random() < 0.15 and current:
        return base
    return f"{base} {rng.choice([f for f in LEGAL if f != current])}"


def _is_legal(word: str) -> bool:
    """A legal form or a part of one ("&", "Co.", "(haftungsbeschränkt)")."""
    return normalise_name(f"x {word}") == "x"


def _umlauts(name: str, rng: random.Random) -> str | None:
    for a, b in rng.sample(UMLAUTS, len(UMLAUTS)):
        if a in name:
            return name.replace(a, b)
    for a, b in UMLAUTS[:4]:
        if b in name:
            return name.replace(b, a, 1)
    return None


def _typo(name: str, rng: random.Random) -> str:
    words = name.split()
    # the longest word gets one substitution, deletion, insertion or transposition
    k = max(range(len(words)), key=lambda i: len(words[i]))
    w = words[k]
    if len(w) < 4:
        return name + "x"
    p = rng.randrange(1, len(w) - 1)
    kind = rng.randrange(4)
    letters = "abcdefghiklmnoprstuz"
    if kind == 0:
        w = w[:p] + rng.choice(letters) + w[p + 1 :]
    elif kind == 1:
        w = w[:p] + w[p + 1 :]
    elif kind == 2:
        w = w[:p] + rng.choice(letters) + w[p:]
    else:
        w = w[: p - 1] + w[p] + w[p - 1] + w[p + 1 :]
    words[k] = w
    return " ".join(words)


def _case_and_hyphens(name: str, rng: random.Random) -> str:
    if "-" in name:
        return name.replace("-", " " if rng.random() < 0.5 else "")
    words = name.split()
    if len(words) > 1 and not _is_legal(words[1]) and rng.random() < 0.5:
        return f"{words[0]}-{' '.join(words[1:])}"
    return name.upper() if rng.random() < 0.5 else name.lower()


def _variant(name: str, rng: random.Random, kind: int) -> str:
    if kind == 0:
        return _swap_legal_form(name, rng)
    if kind == 1:
        return _umlauts(name, rng) or _swap_legal_form(name, rng)
    if kind == 2:
        return _typo(name, rng)
    if kind == 3:
        return _case_and_hyphens(name, rng)
    return _typo(_swap_legal_form(name, rng), rng)


def database(size: int, seed: int = SEED) -> tuple[list[Profile], set[tuple[int, int]], int]:
    """`size` profiles (ids 1..size), the planted pairs (id, id) and the number of seed ones."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    seeds = json.loads((REPO_ROOT / "seed_data" / "organizations.json").read_text("utf-8"))
    planted_count = size // DUPLICATE_EVERY
    originals: list[Record] = []
    used: set[str] = set()
    for org in seeds:
        used.add(normalise_name(org["name"]))
        location = (org["postal_code"], org["city"]) if org.get("postal_code") else None
        vector = _unit(nrng.standard_normal(DIM))
        originals.append(Record(org["name"], org.get("website"), location, vector))
    while len(originals) < size - planted_count:
        name = _random_name(rng)
        key = normalise_name(name)
        if key in used:
            continue
        used.add(key)
        slug = key.replace(" ", "-")
        website = f"https://www.{slug}.example" if rng.random() < 0.8 else None
        location = rng.choice(CITIES) if rng.random() < 0.9 else None
        originals.append(Record(name, website, location, _unit(nrng.standard_normal(DIM))))
    records = list(originals)
    pairs: list[tuple[int, int]] = []
    for n, source in enumerate(rng.sample(range(len(originals)), planted_count)):
        original = originals[source]
        name = _variant(original.name, rng, n % 5)
        website = None
        if original.website is not None and rng.random() < 0.5:
            website = original.website.replace("https://www.", "http://") + "/kontakt"
        location = original.location if rng.random() < 0.6 else rng.choice(CITIES)
        if rng.random() < 0.5:
            noise = nrng.standard_normal(DIM) * 0.0168  # cosine about 0.95
            vector = _unit(original.vector + noise)
        else:
            vector = _unit(nrng.standard_normal(DIM))
        records.append(Record(name, website, location, vector))
        pairs.append((source, len(records) - 1))
    # the duplicates are scattered among the others, as in a real database
    order = list(range(len(records)))
    rng.shuffle(order)
    ids = {old: new + 1 for new, old in enumerate(order)}
    profiles: list[Profile | None] = [None] * len(records)
    for old, record in enumerate(records):
        profiles[ids[old] - 1] = _profile(ids[old], record)
    planted = {(min(ids[a], ids[b]), max(ids[a], ids[b])) for a, b in pairs}
    from_seeds = sum(1 for a, _ in pairs if a < len(seeds))
    return [p for p in profiles if p is not None], planted, from_seeds


def _profile(id_: int, record: Record) -> Profile:
    location = None
    if record.location is not None:
        location = (record.location[0], record.location[1].casefold())
    return Profile(
        status=CurationStatus(
            id=id_,
            external_id=None,
            name=record.name,
            modified_at=MODIFIED_AT,
            verified_at=None,
            verified_by=None,
        ),
        name=normalise_name(record.name),
        domain=website_domain(record.website),
        location=location,
        vector=record.vector,
        model=MODEL,
    )


# ---------------------------------------------------------------------------------- measuring


Search = Callable[..., DuplicateList]


def search(implementation: Search, profiles: Sequence[Profile], limit: int) -> DuplicateList:
    return implementation(
        profiles,
        name_threshold=NAME_THRESHOLD,
        embedding_threshold=EMBEDDING_THRESHOLD,
        min_score=0.0,
        limit=limit,
    )


def timed(
    implementation: Search, profiles: Sequence[Profile], repeats: int, limit: int
) -> tuple[float, list[float], DuplicateList]:
    """Median and all wall times of `repeats` searches, and the last result."""
    times: list[float] = []
    result = DuplicateList(items=[], total=0)
    for _ in range(repeats):
        start = time.perf_counter()
        result = search(implementation, profiles, limit)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def quality(found: Iterable[tuple[int, int]], planted: set[tuple[int, int]]) -> tuple[float, float]:
    """Recall and precision of the planted pairs."""
    found = set(found)
    hits = len(found & planted)
    return hits / len(planted), hits / len(found) if found else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--old-repeats",
        type=int,
        nargs="+",
        default=[3, 1, 0],
        help="runs of the baseline per size (0: not run; it is quadratic in Python)",
    )
    args = parser.parse_args()
    rows = []
    for n, size in enumerate(args.sizes):
        profiles, planted, from_seeds = database(size)
        with threadpool_limits(1):
            new_median, new_times, _ = timed(duplicate_pairs, profiles, args.repeats, LIMIT)
            # every pair, untimed, for recall, precision and the comparison
            everything = search(duplicate_pairs, profiles, ALL)
            old_runs = args.old_repeats[n] if n < len(args.old_repeats) else 0
            # the former search built every pair whatever the limit: timed with all of them
            old = timed(old_duplicate_pairs, profiles, old_runs, ALL) if old_runs else None
        found = {(p.first.id, p.second.id): p.score for p in everything.items}
        recall, precision = quality(found, planted)
        strong = [pair for pair, score in found.items() if score >= STRONG]
        strong_recall, strong_precision = quality(strong, planted)
        same = "—" if old is None else ("yes" if old[2] == everything else "**no**")
        row = {
            "size": size,
            "planted": len(planted),
            "from_seeds": from_seeds,
            "found": len(found),
            "recall": recall,
            "precision": precision,
            "strong": len(strong),
            "strong_recall": strong_recall,
            "strong_precision": strong_precision,
            "new": new_median,
            "new_times": new_times,
            "old": None if old is None else old[0],
            "old_times": None if old is None else old[1],
            "old_runs": old_runs,
            "same": same,
        }
        rows.append(row)
        print(row, flush=True)
    text = report(rows)
    print(text)
    RESULTS.write_text(text, encoding="utf-8")


def report(rows: list[dict[str, object]]) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Duplicate search: blocked candidates against all pairs",
        "",
        f"Measured {now} on {machine()} (2 cores shared with other work) with "
        "`python -m benchmarks.curation`; one BLAS thread, rapidfuzz `workers=1`.",
        "",
        "Synthetic databases (see the module docstring): the 170 demo organisations, generated "
        f"firm names and one planted duplicate per {DUPLICATE_EVERY} organisations (legal form "
        "changed, umlauts spelled out or back, one typo, case/hyphens; half keep the website "
        "domain, 60% the place, half a profile vector at cosine ~0.95). API defaults: name "
        f"threshold {NAME_THRESHOLD}, vector threshold {EMBEDDING_THRESHOLD}, min_score 0. "
        "Times are wall times of the search on profiles in memory (database loading excluded), "
        "median of the runs listed; the new search returns the API's default page of "
        f"{LIMIT} pairs, the old one built every pair before the cut whatever the limit. Recall and precision count the planted pairs among all pairs "
        f"found, then among those scoring at least {STRONG} (a name alone gives at most 0.45).",
        "",
        "| organisations | planted pairs (of seed orgs) | pairs found | recall | precision "
        f"| pairs >= {STRONG} | recall | precision "
        "| new: median s (runs) | old: median s (runs) | speed-up | same pairs and scores |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:--:|",
    ]
    for r in rows:
        new_times = ", ".join(f"{t:.2f}" for t in r["new_times"])  # type: ignore[attr-defined]
        if r["old"] is None:
            old_text, speed = "not run", "—"
        else:
            old_times = ", ".join(f"{t:.1f}" for t in r["old_times"])  # type: ignore[attr-defined]
            old_text = f"{r['old']:.1f} ({old_times})"
            speed = f"{r['old'] / r['new']:.0f}x"  # type: ignore[operator]
        lines.append(
            f"| {r['size']:,} | {r['planted']} ({r['from_seeds']}) | {r['found']} "
            f"| {r['recall']:.3f} | {r['precision']:.3f} | {r['strong']} "
            f"| {r['strong_recall']:.3f} | {r['strong_precision']:.3f} | {r['new']:.2f} ({new_times}) "
            f"| {old_text} | {speed} | {r['same']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
