"""Publishing in order: one task per node sends its messages to the broker, in turn."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("flask_socketio.queue")


class OrderedPublishing(ABC):
    """Mixed into a broker manager: messages reach the broker in the order they were
    published.

    python-socketio publishes in the emitting task. A connection's events are
    handled in concurrent tasks, so their publishes raced each other, over several
    connections of the client library's pool, and reached the other nodes in any
    order. Here ``_publish()`` only encodes the message (an error is the emitter's)
    and queues it; one publisher task per node sends the queue in order, in batches
    (what was queued while the previous batch was out) through the subclass's
    ``_send_batch(messages, patient)``. Until the node starts its publisher (never
    for a write-only emitter, nor on an engine that runs no service tasks: see
    ``Engine.runs_service_tasks``), ``_publish()`` sends at once, under a lock, in the
    caller.
    """

    #: The longest batch sent at once.
    max_batch: int = 500
    #: Messages waiting for the publisher at most; more are counted in
    #: ``QueueStatus.unpublished`` and dropped (a broker that does not answer).
    max_pending: int = 10_000

    server: Any
    json: Any
    _update_status: Callable[..., None]

    def _init_publishing(self) -> None:
        self._pending: deque[str] = deque()
        self._send_lock = threading.Lock()
        self._wake_publisher: Callable[[], None] | None = None
        self.publisher: Any = None

    @abstractmethod
    def _send_batch(self, messages: list[str], patient: bool) -> None:
        """Send ``messages`` in order; ``patient`` (the node's publisher) may keep
        trying while the broker is away. Never raises."""

    def _publish(self, data: Any) -> None:
        message = self.json.dumps(data)
        if self._wake_publisher is None:
            with self._send_lock:
                self._send_batch([message], False)
            return
        if len(self._pending) >= self.max_pending:
            self._update_status(unpublished=1)
            return
        self._pending.append(message)
        self._wake_publisher()

    def _start_publisher(self) -> None:
        """Start the node's publisher task, in the server's async mode (from the
        thread that serves the network)."""
        wakeup = self.server.eio.create_event()
        wake = wakeup.set
        if self.server.async_mode == "gevent":
            wake = _from_any_thread(wakeup.set)
        self._publisher_stopping = False
        self.publisher = self.server.start_background_task(self._run_publisher, wakeup)
        self._wake_publisher = wake

    def stop_publisher(self) -> None:
        """End the publisher task once it has sent what is queued; later publishes
        are sent by their callers."""
        wake = self._wake_publisher
        if wake is not None:
            self._publisher_stopping = True
            self._wake_publisher = None
            wake()

    def _run_publisher(self, wakeup: Any) -> None:
        pending = self._pending
        while not self._publisher_stopping or pending:
            wakeup.wait()
            wakeup.clear()
            while pending:
                batch = [pending.popleft() for _ in range(min(len(pending), self.max_batch))]
                try:
                    with self._send_lock:
                        self._send_batch(batch, True)
                except Exception:  # pragma: no cover - _send_batch never raises
                    logger.exception("message queue publisher failed; %d message(s) lost",
                                     len(batch))
                    self._update_status(unpublished=len(batch))


def _from_any_thread(function: Callable[[], None]) -> Callable[[], None]:
    """``function``, which must run in this thread's gevent hub, callable from any
    thread (from another one it is handed to this hub's loop)."""
    import gevent

    from ..engine.router import _real_thread_id

    hub, thread = gevent.get_hub(), _real_thread_id()

    def call() -> None:
        if _real_thread_id() == thread:
            function()
        else:
            hub.loop.run_callback_threadsafe(function)

    return call
