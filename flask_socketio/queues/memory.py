"""``memory://NAME``: a message queue inside one process, for tests."""

from __future__ import annotations

import json
import threading
import weakref
from typing import Any
from urllib.parse import urlparse

import socketio


class MemoryManager(socketio.PubSubManager):
    """A pub/sub manager whose broker is a dict in this process (``memory://NAME``).

    Messages go through a JSON round trip, as they would through a real broker, and
    are received by a listener task in the server's async mode: in tests, a task of
    the deterministic scheduler, so delivery between two nodes is exact.
    """

    name = "memory"
    _buses: dict[str, dict[str, weakref.WeakSet[MemoryManager]]] = {}
    _lock = threading.Lock()
    thread: Any  # python-socketio's listener task

    def __init__(self, url: str = "memory://", channel: str = "socketio",
                 write_only: bool = False, logger: Any = None, json: Any = None) -> None:
        super().__init__(channel=channel, write_only=write_only, logger=logger, json=json)
        self.bus = urlparse(url).netloc or "default"
        self._inbox: Any = None

    def initialize(self) -> None:
        self._inbox = self.server.eio.create_queue()
        with self._lock:
            self._buses.setdefault(self.bus, {}).setdefault(
                self.channel, weakref.WeakSet()).add(self)
        super().initialize()
        if hasattr(self.thread, "daemon"):
            self.thread.daemon = True  # a service task, not a test's leftover

    def _publish(self, data: Any) -> None:
        message = json.dumps(data)
        with self._lock:
            subscribers = list(self._buses.get(self.bus, {}).get(self.channel, ()))
        for manager in subscribers:
            if manager is not self and manager._inbox is not None:
                manager._revive_listener()
                manager._inbox.put(message)

    def _revive_listener(self) -> None:
        """Start a new listener if the last one ended with the test scheduler it ran
        on (each test gets a fresh one): the node keeps receiving in the next test."""
        is_alive = getattr(self.thread, "is_alive", None)
        if is_alive is None or is_alive():
            return
        self._inbox = self.server.eio.create_queue()
        self.thread = self.server.start_background_task(self._thread)
        self.thread.daemon = True

    def _listen(self) -> Any:
        while True:
            yield self._inbox.get()
