"""The package's type hints hold: ``mypy --strict`` finds nothing (the configuration,
with the untyped third parties it may not follow, is ``[tool.mypy]`` in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_strict_finds_nothing():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "flask_socketio"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
