"""Requests a node sends to the cluster and the answers it collects for them."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

#: ``on_answer(key, args, single)``: one answer (``key`` a sid or a node id) to an
#: emit with a callback; ``single`` when the emit was addressed to that one sid.
AnswerListener = Callable[[str, list[Any], bool], None]


class PendingRequest:
    """What one request still waits for: node reports, and client answers.

    A request expects a report from each node it was sent to (its sockets, the
    recipients of an emit, a server event's answer); an emit with acks also
    expects an answer from each recipient a node reported. It is complete when
    nothing is left to wait for.
    """

    def __init__(self, nodes: set[str], deadline: float, waiter: Any = None,
                 on_answer: AnswerListener | None = None) -> None:
        self.id = uuid.uuid4().hex
        self.nodes = set(nodes)
        self.pending_nodes = set(nodes)
        self.pending_sids: set[str] = set()
        #: Answers by sid (acks) or node id (server events), in arrival order.
        self.answers: dict[str, list[Any]] = {}
        #: Sockets reported by the nodes (``fetch_sockets``), as dicts.
        self.sockets: list[dict[str, Any]] = []
        #: Sids an emit was addressed to as a single client.
        self.single: set[str] = set()
        self.deadline = deadline
        self.waiter = waiter
        self.on_answer = on_answer

    @property
    def complete(self) -> bool:
        return not self.pending_nodes and not self.pending_sids


class RequestTable:
    """The pending requests of one node, safe to update from its listener."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[str, PendingRequest] = {}

    def open(self, request: PendingRequest) -> PendingRequest:
        now = time.monotonic()
        with self._lock:
            for key in [key for key, old in self._requests.items() if old.deadline < now]:
                del self._requests[key]  # emits whose acks will not all come
            self._requests[request.id] = request
        return request

    def close(self, request: PendingRequest) -> None:
        with self._lock:
            self._requests.pop(request.id, None)

    def __len__(self) -> int:
        return len(self._requests)

    def update(self, request_id: Any, change: Callable[[PendingRequest], Any]) -> None:
        """Apply ``change`` to the request (if it is still pending); wake its waiter,
        and forget it, once it is complete. Answers to give to ``on_answer`` are
        returned by ``change`` as ``(key, args, single)`` tuples and given outside
        the lock."""
        with self._lock:
            request = self._requests.get(request_id) if isinstance(request_id, str) else None
            if request is None:
                return
            calls = change(request) or ()
            done = request.complete
            if done:
                del self._requests[request.id]
        if request.on_answer is not None:
            for key, args, single in calls:
                request.on_answer(key, args, single)
        if done and request.waiter is not None:
            request.waiter.set()
