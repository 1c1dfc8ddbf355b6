"""Fixtures of the drop-in proofs: the peer's sdist and virtual environment, fetched lazily."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from .peer import PEER_VERSION, PeerUnavailable, peer_python, peer_suite

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
T = TypeVar("T")


def need_peer(prepare: Callable[[], T]) -> T:
    """Run a preparation step of the peer; skip when PyPI is unreachable (fail under CI)."""
    try:
        return prepare()
    except PeerUnavailable as exc:
        message = f"the peer Flask-SocketIO {PEER_VERSION} is unavailable: {exc}"
        if IN_CI:
            pytest.fail(f"{message}; CI must reach PyPI", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def peer_suite_file() -> Path:
    """The peer's own ``test_socketio.py`` (extracted from its sdist, cached)."""
    return need_peer(peer_suite)


@pytest.fixture(scope="session")
def peer_interpreter() -> Path:
    """The Python of the peer's own virtual environment (created on first use, cached)."""
    return need_peer(peer_python)
