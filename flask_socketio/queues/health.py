"""The health of a message queue: its state, visible and told, and a listener kept alive."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

logger = logging.getLogger("flask_socketio.queue")


@dataclass(frozen=True)
class QueueStatus:
    """The health of a message queue, as one process sees it.

    A new value is made at every change (the old ones stay as they were).
    """

    #: ``"connecting"`` (not yet subscribed), ``"connected"``, or ``"down"`` (the
    #: listener lost the broker, or a publish failed, and is retrying).
    state: str = "connecting"
    #: The last error, as ``"ExceptionType: message"``; ``None`` once connected again.
    error: str | None = None
    #: ``time.monotonic()`` of the last change of ``state``.
    since: float = 0.0
    #: How many times the state went to ``"down"``.
    outages: int = 0
    #: Messages this process could not publish (their local delivery still happened).
    unpublished: int = 0
    #: Times this process's listener found that messages it had not read yet were
    #: gone from the broker (a ``redis+streams://`` stream trimmed, or emptied by a
    #: broker restart, while the listener was away).
    gaps: int = 0

    @property
    def is_connected(self) -> bool:
        return self.state == "connected"


#: ``listener(status)``, called in the listener's task (or the emitting one).
QueueStatusListener = Callable[[QueueStatus], None]


class QueueHealthMixin:
    """Keeps a broker manager's listener alive and its health visible.

    Mixed into python-socketio's Redis and Kombu managers, through their subclass
    hooks ``_listen()`` and ``_publish()`` (the ones python-socketio documents for
    new back-ends) and the listener task ``_thread()``:

    - the listener retries a lost connection after :attr:`retry_initial` seconds,
      doubling up to :attr:`retry_max` (python-socketio doubles up to 60);
    - a failed publish is retried once, then counted and given up, never raised,
      so the emit still reaches local clients and the handler goes on;
    - should the listener task end or crash anyway, it is restarted;
    - every change of state is logged on the ``flask_socketio.queue`` logger and
      given to the :attr:`status_listeners`.
    """

    #: Seconds before the first reconnection attempt of the listener.
    retry_initial: float = 0.2
    #: The longest wait between two reconnection attempts of the listener.
    retry_max: float = 1.0
    #: While the queue is down, a publish is tried at most this often (seconds);
    #: the emits in between are counted as unpublished at once instead of each
    #: waiting for a connection to fail.
    publish_retry_interval: float = 1.0

    name: str
    write_only: bool
    server: Any
    channel: str

    def _init_health(self) -> None:
        self.status = QueueStatus(since=time.monotonic())
        #: Functions called with the new :class:`QueueStatus` at every change.
        self.status_listeners: list[QueueStatusListener] = []
        self._status_lock = threading.Lock()
        self._publish_failed_at = float("-inf")
        self._is_listening = False

    def _update_status(self, state: str | None = None, error: BaseException | None = None,
                       unpublished: int = 0, gaps: int = 0) -> None:
        with self._status_lock:
            old = self.status
            new_state = old.state if state is None else state
            changes: dict[str, Any] = {"unpublished": old.unpublished + unpublished,
                                       "gaps": old.gaps + gaps}
            if new_state != old.state:
                changes.update(state=new_state, since=time.monotonic())
                if new_state == "down":
                    changes["outages"] = old.outages + 1
            if error is not None:
                changes["error"] = f"{type(error).__name__}: {error}"
            elif new_state == "connected":
                changes["error"] = None
            self.status = new = replace(old, **changes)
        if new.state == old.state:
            return
        if new.state == "down":
            logger.warning("message queue %s (channel %r) is down: %s; retrying",
                           self.name, self.channel, new.error)
        elif new.state == "connected" and old.outages:
            logger.warning("message queue %s (channel %r) is connected again after %.1f s",
                           self.name, self.channel, new.since - old.since)
        else:
            logger.info("message queue %s (channel %r) is %s", self.name, self.channel,
                        new.state)
        for listener in list(self.status_listeners):
            try:
                listener(new)
            except Exception:
                logger.exception("queue status listener %r failed", listener)

    def _retry_delays(self) -> Any:
        delay = self.retry_initial
        while True:
            yield delay
            delay = min(delay * 2, self.retry_max)

    def _sleep(self, seconds: float) -> None:
        # Patched by gevent in a served process (the managers require it), a real
        # sleep in a listener's own thread (``Engine.listeners_need_threads``).
        time.sleep(seconds)

    def _thread(self) -> None:
        """python-socketio's listener task, restarted should it ever end."""
        for delay in self._retry_delays():
            try:
                super()._thread()  # type: ignore[misc]
            except Exception as exc:  # pragma: no cover - the base class catches all
                self._update_status("down", exc)
            else:
                self._listening(False, RuntimeError("the queue listener stopped"))
            logger.error("message queue %s listener ended; restarting in %.1f s",
                         self.name, delay)
            self._sleep(delay)

    def _is_publish_paused(self, count: int = 1) -> bool:
        """True (and the ``count`` messages counted) while a recent publish failed."""
        if self.status.state != "down" or (time.monotonic() - self._publish_failed_at
                                           >= self.publish_retry_interval):
            return False
        self._update_status(unpublished=count)
        return True

    def _publish_failed(self, exc: BaseException, count: int = 1) -> None:
        logger.debug("message queue %s: cannot publish %d message(s) (%s)", self.name,
                     count, exc)
        self._publish_failed_at = time.monotonic()
        self._update_status("down", exc, unpublished=count)

    def _published(self) -> None:
        if self.status.state != "connected" and (self.write_only or self._is_listening):
            self._update_status("connected")

    def _listening(self, is_listening: bool, error: BaseException | None = None) -> None:
        self._is_listening = is_listening
        self._update_status("connected" if is_listening else "down", error)


