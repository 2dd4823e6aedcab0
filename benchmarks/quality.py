"""Quality benchmark: `python -m benchmarks.quality`.

Runs the CORDIS ECSEL partner-prediction benchmark and, when `benchmarks.labelled` exists, the
labelled benchmark; prints the markdown and writes it to benchmarks/results/quality.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import subprocess
from pathlib import Path

from benchmarks import cordis

RESULTS = Path(__file__).resolve().parent / "results" / "quality.md"


def machine() -> str:
    """CPU model name (from lscpu), core count and Python version."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(
            (ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name")),
            platform.processor() or "unknown CPU",
        )
    except (OSError, subprocess.CalledProcessError):
        model = platform.processor() or "unknown CPU"
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def labelled_section() -> str | None:
    """The labelled benchmark's markdown, or None when that module does not exist."""
    try:
        module = importlib.import_module("benchmarks.labelled")
    except ModuleNotFoundError as exc:
        if exc.name != "benchmarks.labelled":
            raise
        return None
    return str(module.run())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--encoders",
        default="use-multilingual,hashing",
        help="comma-separated encoder specs; the first is the main one",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        "# Quality benchmark",
        "",
        f"Measured {now} on {machine()} with `python -m benchmarks.quality`.",
        "",
        cordis.run(tuple(s.strip() for s in args.encoders.split(",") if s.strip())),
    ]
    # Written before the labelled part runs, so that a failure there loses nothing measured.
    _write(args.output, sections)
    labelled = labelled_section()
    if labelled is not None:
        sections.append(labelled)
        _write(args.output, sections)
    print(args.output.read_text(encoding="utf-8"))


def _write(path: Path, sections: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(sections).rstrip() + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
