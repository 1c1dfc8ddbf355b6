"""Smoke test of the benchmark suite: ``bench/run.py --quick`` on our server only, with
tiny client counts, writes a RESULTS file whose tables hold numbers.

It needs Node and ``node_modules/socket.io-client`` (``npm ci``); without them it is
skipped, except under ``CI=true`` where it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _require_node() -> None:
    missing = []
    if shutil.which("node") is None:
        missing.append("node")
    if not (ROOT / "node_modules" / "socket.io-client").is_dir():
        missing.append("node_modules/socket.io-client (run npm ci)")
    if missing:
        reason = f"the benchmark's load generator needs {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def test_quick_benchmark_on_ours_writes_numbers(tmp_path: Path) -> None:
    _require_node()
    output = tmp_path / "RESULTS.md"
    raw = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--servers", "ours",
         "--scale", "0.01", "--duration", "0.3", "--warmup", "0.1", "--no-testclient",
         "--output", str(output), "--json", str(raw)],
        cwd=str(ROOT), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    text = output.read_text(encoding="utf-8")
    assert "FAILED" not in done.stderr, done.stderr[-3000:]
    for label in ("echo, 100 clients", "ack, 100 clients", "echo over polling, 10 clients",
                  "1,000 members: deliveries/s", "5,000: server RSS KB per connection"):
        row = next((line for line in text.splitlines() if line.startswith(f"| {label} |")),
                   None)
        assert row is not None, f"no row {label!r} in:\n{text}"
        cells = [c.strip() for c in row.strip("|").split("|")][1:]
        assert cells and all(re.match(r"^-?[\d,]+(\.\d+)?", c) for c in cells), row
    assert "## Targets" in text
    # The server's CPU per round trip (or delivery), read from /proc by the load
    # generator: a number for every rate scenario, and work was seen.
    results = json.loads(raw.read_text(encoding="utf-8"))["ours"]
    cpu = {key: [r.get("server_cpu_us") for r in runs] for key, runs in results.items()
           if not key.startswith("conn-")}
    assert cpu and all(isinstance(v, (int, float)) and v >= 0
                       for runs in cpu.values() for v in runs), cpu
    assert any(v > 0 for runs in cpu.values() for v in runs), cpu
    assert "| broadcast, 100 members (per delivery) |" in text
