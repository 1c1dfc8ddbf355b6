"""The peer, PyPI Flask-SocketIO 5.7.0, fetched at test time and kept out of our process.

Two artefacts live under ``.cache/compat/`` (git-ignored, reused between runs):

- ``sdist/``: the peer's source distribution (``pip download --no-binary :all:``),
  from which :func:`peer_suite` extracts its own ``test_socketio.py``;
- ``peer-venv/``: a virtual environment with the peer installed, pinned to the
  python-socketio, python-engineio, Flask and Werkzeug versions of our environment,
  whose interpreter :func:`peer_python` returns.  The peer is only ever run there.

Nothing is fetched when the cache is complete.  When PyPI cannot be reached,
:class:`PeerUnavailable` says why (the tests skip, or fail under ``CI=true``).
Run this file to prepare both ahead of the tests (scripts/install-lib.sh does).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE = REPO_ROOT / ".cache" / "compat"
PEER_VERSION = "5.7.0"
PEER_REQUIREMENT = f"flask-socketio=={PEER_VERSION}"
SDIST_NAME = f"flask_socketio-{PEER_VERSION}.tar.gz"
SUITE_MEMBER = f"flask_socketio-{PEER_VERSION}/test_socketio.py"

#: Distributions the peer venv pins to our environment's versions (when installed here).
#: redis: the peer's suite and the corpus build a RedisManager from a message_queue URL.
PINNED_TO_OURS = ("python-socketio", "python-engineio", "flask", "werkzeug", "redis")

PIP_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
PIP_TIMEOUT = 300


class PeerUnavailable(RuntimeError):
    """The peer could not be fetched or installed (PyPI unreachable, most often)."""


@contextlib.contextmanager
def _cache_lock() -> Iterator[None]:
    """Serialise preparation across processes (pytest-xdist workers, parallel runs)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pip(python: str | Path, *args: str) -> None:
    command = [str(python), "-m", "pip", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT,
                              env={**os.environ, **PIP_ENV})
    except subprocess.TimeoutExpired as exc:
        raise PeerUnavailable(f"{' '.join(command)} timed out after {PIP_TIMEOUT}s") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-6:])
        raise PeerUnavailable(f"{' '.join(command[2:4])} {PEER_REQUIREMENT} failed: {tail}")


def peer_sdist() -> Path:
    """The peer's sdist, downloaded from PyPI on first use."""
    target = CACHE / "sdist" / SDIST_NAME
    with _cache_lock():
        if not target.exists():
            staging = CACHE / "sdist.partial"
            shutil.rmtree(staging, ignore_errors=True)
            _pip(sys.executable, "download", PEER_REQUIREMENT, "--no-deps",
                 "--no-binary", ":all:", "--dest", str(staging))
            target.parent.mkdir(parents=True, exist_ok=True)
            (staging / SDIST_NAME).replace(target)
            shutil.rmtree(staging, ignore_errors=True)
    return target


def peer_suite() -> Path:
    """The peer's own ``test_socketio.py``, extracted alone into ``.cache/compat/suite/``."""
    sdist = peer_sdist()
    target = CACHE / "suite" / "test_socketio.py"
    with _cache_lock():
        if not target.exists():
            with tarfile.open(sdist) as archive:
                source = archive.extractfile(SUITE_MEMBER)
                if source is None:
                    raise PeerUnavailable(f"{SDIST_NAME} has no {SUITE_MEMBER}")
                data = source.read()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.with_suffix(".partial").write_bytes(data)
            target.with_suffix(".partial").replace(target)
    return target


def _pins() -> list[str]:
    pins = [PEER_REQUIREMENT]
    for name in PINNED_TO_OURS:
        with contextlib.suppress(metadata.PackageNotFoundError):
            pins.append(f"{name}=={metadata.version(name)}")
    return pins


def peer_python() -> Path:
    """The interpreter of the peer's virtual environment, created on first use.

    The venv is rebuilt when the pins (our versions of the shared dependencies)
    change.  It has no gevent or eventlet: the peer runs in its threading mode.
    """
    venv = CACHE / "peer-venv"
    python = venv / "bin" / "python"
    stamp = venv / "compat-pins.json"
    pins = _pins()
    with _cache_lock():
        if python.exists() and stamp.exists() and json.loads(stamp.read_text()) == pins:
            return python
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                       capture_output=True, timeout=PIP_TIMEOUT)
        try:
            _pip(python, "install", *pins)
        except PeerUnavailable:
            shutil.rmtree(venv, ignore_errors=True)
            raise
        stamp.write_text(json.dumps(pins))
    return python


def main() -> int:
    try:
        print(peer_suite())
        print(peer_python())
    except PeerUnavailable as exc:
        print(f"the peer Flask-SocketIO {PEER_VERSION} is unavailable: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
