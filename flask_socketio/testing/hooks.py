"""Where test tools learn what a test makes: light, so the pytest plugin imports it
without importing the toolkit (or Flask) into projects that never use it.

Each list holds callables told of each new object of one kind; the pytest plugin
collects a test's clients and servers here, to show their transcripts and logs
when it fails. Nothing else keeps the objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Told of each new in-process :class:`~flask_socketio.testing.SocketIOTestClient`.
test_clients: list[Callable[[Any], None]] = []
#: Told of each new :class:`~flask_socketio.testing.LiveSocketIOClient`.
live_clients: list[Callable[[Any], None]] = []
#: Told of each new :class:`~flask_socketio.testing.LiveServer`.
live_servers: list[Callable[[Any], None]] = []
#: The receive timeout test clients use when none is given, if a test runner set one.
receive_timeout: float | None = None
