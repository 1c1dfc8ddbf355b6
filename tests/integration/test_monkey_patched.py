"""The in-process test client in monkey-patched processes (issue 12): unpatched, under
gevent's ``monkey.patch_all()`` and under ``eventlet.monkey_patch()``, patched before
and after importing flask_socketio. Each runs in a subprocess (patching is for the
whole process and cannot be undone)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .support import ROOT

EXPECTED = {
    "connected": True,
    "welcome": [{"auth": {"user": "u"}}],
    "ack": "ack:7",
    "echo": [7],
    "done": [5],
    "advanced": 5.0,
    "ticks": [1.0, 2.0, 3.0],  # the app factory's task, on the virtual clock
    "disconnected": True,
}


@pytest.mark.parametrize("order", ["before", "after"])
@pytest.mark.parametrize("mode", ["none", "gevent", "eventlet"])
def test_the_test_client_works_in_a_monkey_patched_process(mode, order):
    if mode == "eventlet":
        pytest.importorskip("eventlet")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTEST_CURRENT_TEST", None)
    result = subprocess.run(
        [sys.executable, "-m", "tests.integration.apps.patched_test_client", mode, order],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == EXPECTED
