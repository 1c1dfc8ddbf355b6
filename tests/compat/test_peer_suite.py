"""Flask-SocketIO 5.7.0's own test suite, unmodified, run against our package.

The suite file comes from the peer's PyPI sdist at test time (see ``peer.py``);
nothing of it is in this repository.  It runs once, in a pytest subprocess whose
``flask_socketio`` is ours; each of its tests is then reported here on its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .peer import REPO_ROOT

#: Every test of the peer's ``test_socketio.py`` 5.7.0, in file order.
PEER_TESTS = (
    "test_connect", "test_connect_query_string_and_headers", "test_connect_namespace",
    "test_connect_namespace_query_string_and_headers", "test_connect_rejected",
    "test_disconnect", "test_disconnect_namespace", "test_message_queue_options", "test_send",
    "test_send_json", "test_send_namespace", "test_send_json_namespace", "test_emit",
    "test_emit_binary", "test_emit_catch_all_event", "test_send_catch_all_namespace",
    "test_request_event_data", "test_emit_namespace", "test_broadcast",
    "test_broadcast_namespace", "test_managed_session", "test_unmanaged_session", "test_room",
    "test_error_handling", "test_error_handling_namespace", "test_error_handling_default",
    "test_ack", "test_noack", "test_error_handling_ack", "test_on_event",
    "test_connect_class_based", "test_connect_class_based_query_string_and_headers",
    "test_disconnect_class_based", "test_send_class_based", "test_send_json_class_based",
    "test_server_disconnected", "test_emit_class_based", "test_request_event_data_class_based",
    "test_error_handling_class_based", "test_delayed_init", "test_encode_decode",
    "test_encode_decode_2", "test_background_task",
)

#: Peer tests we still fail, each with the reason (issue 12). Strict: a fix that lands
#: makes the xfail an error until its entry is removed here.
KNOWN_FAILURES: dict[str, str] = {}

SUITE_TIMEOUT = 300


def _outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    """``{test name: (outcome, detail)}`` from a JUnit XML report."""
    found: dict[str, tuple[str, str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome, detail = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = "skipped" if child.tag == "skipped" else "failed"
                detail = (child.get("message") or "") + "\n" + (child.text or "")
                break
        found[case.get("name", "")] = (outcome, detail)
    return found


def _suite_env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), path]))}


@pytest.fixture(scope="session")
def suite_dir(peer_suite_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of its own for the suite, as a user's project would have it."""
    directory = tmp_path_factory.mktemp("peer-suite")
    shutil.copy(peer_suite_file, directory / "test_socketio.py")
    (directory / "pytest.ini").write_text("[pytest]\n")
    return directory


@pytest.fixture(scope="session")
def suite_outcomes(suite_dir: Path) -> dict[str, tuple[str, str]]:
    """Run the whole peer suite once against our package; the outcome of each test."""
    junit = suite_dir / "junit.xml"
    command = [sys.executable, "-m", "pytest", "test_socketio.py", "-q", "-p", "no:cacheprovider",
               f"--junitxml={junit}"]
    done = subprocess.run(command, cwd=suite_dir, env=_suite_env(), capture_output=True,
                          text=True, timeout=SUITE_TIMEOUT)
    if not junit.exists():
        pytest.fail(f"the peer suite did not run (exit {done.returncode}):\n"
                    f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}", pytrace=False)
    return _outcomes(junit)


def test_suite_runs_our_package(suite_dir: Path) -> None:
    """The subprocess imports our flask_socketio, not an installed peer."""
    done = subprocess.run([sys.executable, "-c", "import flask_socketio; "
                           "print(flask_socketio.__file__)"], cwd=suite_dir, env=_suite_env(),
                          capture_output=True, text=True, timeout=60, check=True)
    assert Path(done.stdout.strip()).resolve().is_relative_to(REPO_ROOT)


def test_suite_has_exactly_the_known_tests(suite_outcomes: dict[str, tuple[str, str]]) -> None:
    assert sorted(suite_outcomes) == sorted(PEER_TESTS)


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[name]))
    if name in KNOWN_FAILURES else name
    for name in PEER_TESTS
])
def test_peer_suite(name: str, suite_outcomes: dict[str, tuple[str, str]]) -> None:
    outcome, detail = suite_outcomes.get(name, ("missing", "not in the suite's report"))
    assert outcome == "passed", f"{name} {outcome}: {detail.strip()[-2000:]}"
