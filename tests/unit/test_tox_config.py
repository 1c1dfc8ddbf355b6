"""tox.ini's environments are there for whoever installed the test extra (which
brings tox), as the README says: ``.venv/bin/tox -e docs``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_tox_is_installed_with_the_test_extra_and_lists_the_readmes_environments():
    listed = subprocess.run([sys.executable, "-m", "tox", "-l"], cwd=REPO, text=True,
                            capture_output=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert set(listed.stdout.split()) >= {"test", "lint", "types", "docs"}
