"""The differential corpus: every scenario of ``scenarios.py`` run by the peer and by us.

The corpus runs once per implementation, each in its own subprocess: the peer
(PyPI Flask-SocketIO 5.7.0) with its venv's Python in isolated mode, ours with
this interpreter.  Each scenario's normalised result must then be equal, unless
the scenario declares a deliberate difference (which must still be there, and
be listed in docs/compat.rst) or a known incompatibility (strict xfail).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .peer import PEER_VERSION, REPO_ROOT
from .scenarios import SCENARIOS

RUNNER = Path(__file__).with_name("corpus_runner.py")
COMPAT_DOC = REPO_ROOT / "docs" / "compat.rst"
CORPUS_TIMEOUT = 120

Results = dict[str, dict[str, Any]]


def _start(command: list[str], out: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([*command, str(RUNNER), str(out)], cwd=out.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(name: str, process: subprocess.Popen, out: Path) -> dict[str, Any]:
    try:
        stdout, stderr = process.communicate(timeout=CORPUS_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    if process.returncode != 0 or not out.exists():
        pytest.fail(f"the corpus did not run with {name} (exit {process.returncode}):\n"
                    f"{stdout[-2000:]}\n{stderr[-4000:]}", pytrace=False)
    return json.loads(out.read_text())


@pytest.fixture(scope="session")
def corpus(peer_interpreter: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> dict[str, dict[str, Any]]:
    """``{"peer": report, "ours": report}``, both runs made side by side."""
    where = tmp_path_factory.mktemp("corpus")
    (where / "peer").mkdir()
    (where / "ours").mkdir()
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    peer_env = {key: value for key, value in os.environ.items()
                if not key.startswith("PYTHON")}
    runs = {
        "peer": _start([str(peer_interpreter), "-I"], where / "peer" / "out.json", peer_env),
        "ours": _start([sys.executable], where / "ours" / "out.json",
                       {**os.environ, "PYTHONPATH": path}),
    }
    return {name: _finish(name, process, where / name / "out.json")
            for name, process in runs.items()}


def test_each_side_runs_its_own_package(corpus: dict[str, dict[str, Any]],
                                        peer_interpreter: Path) -> None:
    peer, ours = corpus["peer"]["implementation"], corpus["ours"]["implementation"]
    assert peer["flask-socketio"] == PEER_VERSION
    assert Path(peer["file"]).is_relative_to(peer_interpreter.parents[1])
    assert Path(ours["file"]).resolve().is_relative_to(REPO_ROOT)


def test_corpus_is_large_enough() -> None:
    assert len(SCENARIOS) >= 60


def test_every_deliberate_difference_is_documented() -> None:
    text = COMPAT_DOC.read_text()
    missing = [name for name, case in SCENARIOS.items() if case.differs and name not in text]
    assert not missing, f"docs/compat.rst does not name these scenarios: {missing}"


def _explain(name: str, corpus: dict[str, dict[str, Any]]) -> str:
    lines = []
    for side in ("peer", "ours"):
        entry = corpus[side]["results"][name]
        lines.append(f"{side}: {json.dumps(entry['result'], sort_keys=True)}")
        if entry["detail"]:
            lines.append(f"{side} raised:\n{entry['detail']}")
    return "\n".join(lines)


def _param(name: str) -> Any:
    known = SCENARIOS[name].known
    if known:
        return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=known))
    return name


@pytest.mark.parametrize("name", [_param(name) for name in SCENARIOS])
def test_scenario(name: str, corpus: dict[str, dict[str, Any]]) -> None:
    peer = corpus["peer"]["results"][name]["result"]
    ours = corpus["ours"]["results"][name]["result"]
    if SCENARIOS[name].differs:
        assert peer != ours, (f"{name} declares a deliberate difference but both sides now "
                              f"agree; remove the declaration:\n{_explain(name, corpus)}")
    else:
        assert peer == ours, f"{name} differs from the peer:\n{_explain(name, corpus)}"
