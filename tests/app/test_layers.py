"""The layers of the service, as the import contracts in pyproject.toml state them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_domain_packages_do_not_import_the_pages() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    kept = [line for line in result.stdout.splitlines() if line.endswith(" KEPT")]
    assert "the domain packages never import the pages (app.web) KEPT" in kept
