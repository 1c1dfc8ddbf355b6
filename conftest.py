"""Shared test set-up: service checks that skip locally and fail under CI=true."""

from __future__ import annotations

import gc
import os
import socket
from collections.abc import Iterator

import pytest

# The plugin is loaded here rather than through its pytest11 entry point (disabled
# in pyproject.toml's addopts) so that pytest-cov is already measuring when the
# package is first imported.
pytest_plugins = ["flask_socketio.testing.plugin"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(name: str, host: str, port: int) -> None:
    """Skip the test when ``host:port`` is unreachable; under ``CI=true``, fail it."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return
    except OSError as exc:
        message = f"{name} is not reachable on {host}:{port} ({exc})"
        if IN_CI:
            pytest.fail(f"{message}; CI must provide it", pytrace=False)
        pytest.skip(message)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The local Redis server's URL (skips, or fails under CI, if it is down). A Redis
    client the test left unclosed is reported at its own teardown (its ResourceWarning
    would otherwise fail whichever later test collects garbage)."""
    require_service("Redis", "127.0.0.1", 6379)
    yield "redis://127.0.0.1:6379/0"
    gc.collect()


@pytest.fixture
def amqp_url() -> str:
    """The local RabbitMQ server's URL (skips, or fails under CI, if it is down)."""
    require_service("RabbitMQ", "127.0.0.1", 5672)
    return "amqp://guest:guest@127.0.0.1:5672//"
