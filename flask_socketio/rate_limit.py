"""A per-connection token bucket, as a before-event hook (see ``docs/middleware.rst``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import flask

from .event_hooks import EventRefused

#: Where a connection's buckets live: its handshake environ, so they end with it.
BUCKETS_KEY = "flask_socketio.rate_limits"


class RateLimit:
    """Refuse events past ``rate`` per ``per`` seconds for each connection (each
    client in each namespace), with bursts of up to ``burst`` events.

    Register it as a before-event hook: ``socketio.before_event(RateLimit(5))``. A
    refused event's acknowledgement is ``{"error": message, "retry_after": seconds}``;
    ``disconnect=True`` also disconnects the client. ``events`` limits it to those
    events; ``connect`` is never limited. Time is :meth:`SocketIO.monotonic`, so in
    in-process tests the virtual clock refills the bucket.

    :param rate: events allowed per ``per`` seconds, on average.
    :param per: the period of ``rate``, in seconds.
    :param burst: the bucket's size (``rate`` rounded up, at least 1, by default).
    :param events: only these events count; all of them by default.
    :param message: the refusal's message.
    :param disconnect: disconnect a client whose event is refused.
    """

    def __init__(self, rate: float, per: float = 1.0, burst: int | None = None, *,
                 events: Iterable[str] | None = None,
                 message: str = "rate limit exceeded", disconnect: bool = False) -> None:
        if not rate > 0 or not per > 0:
            raise ValueError(f"rate and per must be > 0, not {rate!r} and {per!r}")
        if burst is None:
            burst = max(1, math.ceil(rate))
        if type(burst) is not int or burst < 1:
            raise ValueError(f"burst must be an int >= 1, not {burst!r}")
        self.refill_per_second = rate / per
        self.burst = burst
        self.events = None if events is None else frozenset(events)
        self.message = message
        self.disconnect = disconnect

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "connect" or (self.events is not None and event not in self.events):
            return
        request = flask.request
        now = flask.current_app.extensions["socketio"].monotonic()
        buckets = request.environ.setdefault(BUCKETS_KEY, {})
        key = (id(self), request.namespace)  # type: ignore[attr-defined]
        tokens, last = buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.refill_per_second)
        if tokens < 1:
            buckets[key] = (tokens, now)
            retry_after = round((1 - tokens) / self.refill_per_second, 3)
            raise EventRefused(self.message, ack={"error": self.message,
                                                  "retry_after": retry_after},
                               disconnect=self.disconnect)
        buckets[key] = (tokens - 1, now)
