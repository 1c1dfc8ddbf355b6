"""python-engineio's ``Server`` as one of our network engines (``engine='engineio'``,
and every async mode but gevent), with the members of :class:`~.base.Engine` it lacks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import engineio

from .base import CancelBy

logger = logging.getLogger("flask_socketio.engine")


class EngineIOServer(engineio.Server):
    """python-engineio's server, completed to our :class:`~.base.Engine` interface."""

    listeners_need_threads = False
    runs_service_tasks = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.volatile_dropped = 0

    def send_volatile(self, sid: str, pkts: list[Any]) -> None:
        """python-engineio has no notion of volatile messages: they are sent when the
        session is connected, not upgrading, and has nothing queued; else dropped."""
        socket = self.sockets.get(sid)
        if (socket is None or not socket.connected or socket.closing or socket.closed
                or socket.upgrading or not socket.queue.empty()):
            self.volatile_dropped += 1
            return
        for pkt in pkts:
            self.send_packet(sid, pkt)

    def run_event(self, sid: str, target: Callable[..., Any], *args: Any) -> None:
        """Run the handling of one event of session ``sid`` as a background task."""
        self.start_background_task(target, *args)

    def call_later(self, delay: float, target: Callable[..., Any], *args: Any) -> CancelBy:
        """Run ``target(*args)`` after ``delay`` seconds: python-engineio has no timers,
        so a task waits on an event for that long (setting the event cancels it)."""
        cancelled = self.create_event()

        def wait_then_run() -> None:
            if not cancelled.wait(delay):
                target(*args)

        self.start_background_task(wait_then_run)
        return CancelBy(cancelled.set)

    def report_failure(self, source: str, exc: BaseException) -> None:
        logger.error("Unhandled exception in %s", source, exc_info=exc)
