"""Fixtures of the live scale and deployment tests: server processes, clients, channels."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from .processes import Client, ProcessGroup


@pytest.fixture
def processes() -> Iterator[ProcessGroup]:
    """Start server processes with ``processes.start(...)`` or ``processes.node(...)``;
    all are stopped at the end of the test, and their output is printed (pytest
    shows it when the test fails)."""
    group = ProcessGroup()
    try:
        yield group
    finally:
        group.stop_all()
        print(group.logs())


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    """A list to put :class:`Client` objects in; they are disconnected at the end."""
    made: list[Client] = []
    yield made
    for client in made:
        client.close()


@pytest.fixture
def channel() -> str:
    """A queue channel of this test alone, so tests sharing a broker do not mix."""
    return f"flask-socketio-test-{uuid.uuid4().hex[:12]}"
