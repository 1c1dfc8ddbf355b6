"""The node's side of the cluster, mixed into every client manager we make.

:class:`ClusterMixin` applies the cluster operations (emits that exclude rooms,
emits with acks from many clients, bulk joins, leaves and disconnects, socket
queries, server-to-server events) to this node's own connections, publishes them
for the other nodes, answers the other nodes' requests, and keeps the list of live
nodes (``hello`` and ``heartbeat`` messages). With python-socketio's in-process
``Manager`` (no message queue) the node is the whole cluster.

Messages of the cluster are taken out of the listener's stream before
python-socketio's dispatcher sees them (:meth:`ClusterMixin._listen`); see
:mod:`.messages` for their format.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import socketio

from . import messages
from .messages import make, pack, unpack
from .requests import PendingRequest, RequestTable

logger = logging.getLogger("flask_socketio.cluster")

#: ``runner(event, args) -> (handled, answer args)``: runs a server event's handler.
ServerEventRunner = Callable[[str, list[Any]], "tuple[bool, list[Any]]"]


class ClusterMixin:
    """Cluster operations on a python-socketio client manager."""

    #: Seconds between two heartbeats of a served node.
    heartbeat_interval: float = 5.0
    #: A node not heard from for this many heartbeat intervals (plus one second) is
    #: taken as gone, and no longer waited for.
    heartbeat_misses: int = 2

    rooms: dict[str, Any]
    server: Any
    json: Any
    write_only: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: This node's id in the cluster (python-socketio's ``host_id`` on a queue).
        self.node_id: str = getattr(self, "host_id", None) or uuid.uuid4().hex
        self.requests = RequestTable()
        #: Set by the ``SocketIO`` that owns the server: runs server events.
        self.server_event_runner: ServerEventRunner | None = None
        #: ``{(namespace, sid): dict}``: each connection's ``socket_data``.
        self.connection_data: dict[tuple[str, str], dict[str, Any]] = {}
        self._peers: dict[str, tuple[float, float | None]] = {}
        self._peers_lock = threading.Lock()
        self._beat_interval: float | None = None

    # -- what kind of node -------------------------------------------------------------

    @property
    def is_clustered(self) -> bool:
        """Does this manager share a message queue with other nodes?"""
        return isinstance(self, socketio.PubSubManager)

    @property
    def can_receive(self) -> bool:
        """Can this node collect answers from the others (it listens)?"""
        return not self.is_clustered or not self.write_only

    def initialize(self) -> None:
        super().initialize()  # type: ignore[misc]
        if not self.is_clustered or self.write_only:
            return
        from ..engine.router import runs_service_tasks

        if runs_service_tasks(self.server.eio):
            # A served node beats; an engine whose clock must be able to run out of
            # timers runs no endless task, so nodes there never expire.
            self._beat_interval = self.heartbeat_interval
            self.server.start_background_task(self._beat)

    def _beat(self) -> None:
        while True:
            self.server.sleep(self.heartbeat_interval)
            try:
                self._publish(make("heartbeat", self.node_id,  # type: ignore[attr-defined]
                                   interval=self._beat_interval))
            except Exception:  # a broker that is away: the health mixin counts it
                logger.debug("heartbeat not published", exc_info=True)

    def announce(self) -> None:
        """Say ``hello``: the other nodes answer with a heartbeat, so this node knows
        them at once (called when the listener is subscribed)."""
        if self.is_clustered and not self.write_only:
            self._publish(make("hello", self.node_id,  # type: ignore[attr-defined]
                               interval=self._beat_interval))

    def _listening(self, is_listening: bool, error: BaseException | None = None) -> None:
        super()._listening(is_listening, error)  # type: ignore[misc]
        if is_listening:
            self.announce()

    # -- the live nodes ----------------------------------------------------------------

    def _heard(self, node: str, interval: Any = ...) -> None:
        with self._peers_lock:
            if interval is ...:
                interval = self._peers.get(node, (0.0, self._beat_interval))[1]
            if not isinstance(interval, (int, float)) or interval <= 0:
                interval = None
            self._peers[node] = (time.monotonic(), interval)

    def live_nodes(self) -> set[str]:
        """The other nodes heard from recently (gone ones are forgotten)."""
        now = time.monotonic()
        with self._peers_lock:
            for node, (seen, interval) in list(self._peers.items()):
                if interval is not None and now - seen > interval * self.heartbeat_misses + 1:
                    del self._peers[node]
                    logger.info("cluster node %s is gone (not heard for %.1f s)", node,
                                now - seen)
            return set(self._peers)

    # -- listening ---------------------------------------------------------------------

    def _listen(self) -> Any:
        from ..queues.health import QueueHealthMixin

        if not isinstance(self, QueueHealthMixin):
            self.announce()  # the queues without health reporting listen at once
        for message in super()._listen():  # type: ignore[misc]
            data = self._decoded(message)
            if messages.is_cluster(data):
                self.receive_cluster_message(data)
            else:
                yield data if isinstance(data, dict) else message

    def _decoded(self, message: Any) -> Any:
        if isinstance(message, dict):
            return message
        try:
            return self.json.loads(message)
        except (TypeError, ValueError):
            return None

    def receive_cluster_message(self, message: dict[str, Any]) -> None:
        """Handle one cluster message from the queue (never raises)."""
        try:
            self._receive(message)
        except Exception:
            logger.exception("cluster message %r failed", message.get("op"))

    def _receive(self, message: dict[str, Any]) -> None:
        if message.get("v") != messages.VERSION:
            logger.debug("cluster message of version %r skipped", message.get("v"))
            return
        node, op = message.get("node"), message.get("op")
        if not isinstance(node, str) or node == self.node_id:
            return
        if op == "bye":
            with self._peers_lock:
                self._peers.pop(node, None)
            return
        self._heard(node, message.get("interval") if op in messages.MEMBERSHIP_OPS else ...)
        if op == "hello":
            self._publish(make("heartbeat", self.node_id,  # type: ignore[attr-defined]
                               interval=self._beat_interval))
        elif op in messages.BROADCAST_OPS:
            self.apply(message)
        elif op in messages.REPLY_OPS and message.get("to") == self.node_id:
            self.take_reply(message)

    # -- asking the cluster ------------------------------------------------------------

    def send_to_cluster(self, op: str, fields: dict[str, Any], local: bool = True,
                        remote: bool = True) -> None:
        """Apply an operation here (``local``) and publish it to the other nodes."""
        message = make(op, self.node_id, **fields)
        if not self.is_clustered:  # fail as a queue would, on one node too
            try:
                self.json.dumps(message)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"{op}: not JSON ({exc})") from exc
        if local:
            self.apply(message)
        if remote and self.is_clustered:
            self._publish(message)  # type: ignore[attr-defined]

    def request(self, op: str, fields: dict[str, Any], timeout: float, *,
                local: bool = True, remote: bool = True, wait: bool = True,
                on_answer: Any = None) -> PendingRequest:
        """Send a request that the nodes answer, and (``wait``) collect the answers
        for up to ``timeout`` seconds. The returned request tells what came and
        what did not (``pending_nodes``, ``pending_sids``)."""
        if not self.can_receive:
            raise RuntimeError(f"{op}: a write-only SocketIO cannot collect answers; "
                               f"use a SocketIO that serves an app")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"{op}: timeout must be a positive number of seconds, "
                             f"not {timeout!r}")
        nodes = self.live_nodes() if remote and self.is_clustered else set()
        if local:
            nodes.add(self.node_id)
        waiter = self._waiter() if wait else None
        request = self.requests.open(PendingRequest(nodes, time.monotonic() + timeout,
                                                    waiter, on_answer))
        try:
            self.send_to_cluster(op, {**fields, "request": request.id}, local=local,
                                 remote=remote)
            if waiter is not None and not request.complete:
                waiter.wait(timeout)
        finally:
            if wait:
                self.requests.close(request)
        return request

    def _waiter(self) -> Any:
        from ..engine.router import listeners_need_threads

        router = self.server.eio
        if getattr(router, "external_listeners", False) and listeners_need_threads(router):
            return threading.Event()  # answers come from a listener's own thread
        return router.create_event()

    # -- applying an operation to this node's connections ------------------------------

    def local_sids(self, namespace: str, rooms: list[Any] | None,
                   exclude: list[Any] | None = None) -> list[str]:
        """The sids of this node in ``rooms`` (every connection of the namespace for
        ``None``) and in none of the ``exclude`` rooms."""
        if namespace not in self.rooms:
            return []
        chosen = self.get_participants(namespace, rooms)  # type: ignore[attr-defined]
        skipped = ({sid for sid, _ in self.get_participants(namespace, exclude)}  # type: ignore[attr-defined]
                   if exclude else set())
        return [sid for sid, _ in chosen if sid not in skipped]

    def apply(self, message: dict[str, Any]) -> None:
        """Apply a broadcast operation to this node's connections, answering the
        requester if it asked."""
        op = message["op"]
        if op == "server_event":
            self._run_server_event(message)
            return
        namespace = message.get("namespace") or "/"
        sids = self.local_sids(namespace, message.get("rooms"), message.get("exclude"))
        if op == "emit":
            self._deliver(message, namespace, sids)
        elif op == "fetch_sockets":
            self._reply(message, "sockets", sockets=[
                {"sid": sid, "rooms": self.get_rooms(sid, namespace),  # type: ignore[attr-defined]
                 "data": self._data_copy(namespace, sid)} for sid in sids])
        elif op in ("sockets_join", "sockets_leave"):
            change = (self.basic_enter_room if op == "sockets_join"  # type: ignore[attr-defined]
                      else self.basic_leave_room)  # type: ignore[attr-defined]
            for sid in sids:
                for room in message.get("change") or ():
                    if room != sid and not self.is_sid_room(namespace, room):  # type: ignore[attr-defined]
                        change(sid, namespace, room)
        elif op == "disconnect_sockets":
            for sid in sids:
                self._disconnect(sid, namespace, bool(message.get("close")))

    def _disconnect(self, sid: str, namespace: str, close: bool) -> None:
        eio_sid = self.eio_sid_from_sid(sid, namespace)  # type: ignore[attr-defined]
        if eio_sid is None:
            return
        if close:
            self.server.eio.disconnect(eio_sid)
        else:
            self.server.disconnect(sid, namespace=namespace, ignore_queue=True)

    def _deliver(self, message: dict[str, Any], namespace: str, sids: list[str]) -> None:
        args = unpack(message)
        data = args[0] if len(args) == 1 else tuple(args)
        request_id = message.get("request")
        rooms = message.get("rooms")
        if request_id is not None:
            single = (rooms is not None and len(rooms) == 1
                      and self.is_sid_room(namespace, rooms[0]))  # type: ignore[attr-defined]
            # the recipients go first: their answers may come at once
            self._reply(message, "recipients", sids=sids, single=single)
        if getattr(self, "emit_listeners", ()):  # the test toolkit's recorder
            to = rooms[0] if rooms is not None and len(rooms) == 1 else rooms
            skipped = [sid for sid, _ in self.get_participants(namespace, to)  # type: ignore[attr-defined]
                       if sid not in sids]
            self._notify(message.get("event"), args, namespace, to,  # type: ignore[attr-defined]
                         skipped or None, request_id is not None,
                         from_queue=message["node"] != self.node_id)
        if request_id is None:
            if sids:
                socketio.Manager.emit(self, message["event"], data, namespace,
                                      room=sids)
            return
        for sid in sids:
            socketio.Manager.emit(self, message["event"], data, namespace,
                                  room=sid, callback=partial(self._client_answered,
                                                             message["node"], request_id, sid))

    def _client_answered(self, requester: str, request_id: str, sid: str, *args: Any) -> None:
        self._answer(requester, request_id, "ack", sid=sid, **pack(args))

    def _run_server_event(self, message: dict[str, Any]) -> None:
        runner = self.server_event_runner
        if message["node"] == self.node_id or runner is None:
            return  # a server event is for the other nodes

        def run() -> None:
            handled, answer = runner(str(message.get("event")), unpack(message))
            if message.get("request") is not None:
                self._reply(message, "server_ack", handled=handled, **pack(answer))

        if getattr(self.server.eio, "external_listeners", False):
            # this is the listener's own thread (listeners_need_threads), where no
            # task of the engine would run
            threading.Thread(target=run, daemon=True, name="flask_socketio server event").start()
        else:
            self.server.start_background_task(run)

    # -- answers -----------------------------------------------------------------------

    def _reply(self, request: dict[str, Any], op: str, **fields: Any) -> None:
        if request.get("request") is not None:
            self._answer(request["node"], request["request"], op, **fields)

    def _answer(self, requester: str, request_id: str, op: str, **fields: Any) -> None:
        message = make(op, self.node_id, to=requester, request=request_id, **fields)
        if requester == self.node_id:
            self.take_reply(message)
        else:
            self._publish(message)  # type: ignore[attr-defined]

    def take_reply(self, message: dict[str, Any]) -> None:
        """Record an answer to one of this node's requests."""
        op, node = message["op"], message["node"]

        def change(request: PendingRequest) -> list[Any] | None:
            if op == "sockets":
                for entry in message.get("sockets") or ():
                    request.sockets.append({**entry, "node": node})
                request.pending_nodes.discard(node)
            elif op == "recipients":
                sids = list(message.get("sids") or ())
                request.pending_sids.update(sid for sid in sids if sid not in request.answers)
                if message.get("single"):
                    request.single.update(sids)
                request.pending_nodes.discard(node)
            elif op == "ack":
                sid = message.get("sid")
                if not isinstance(sid, str) or sid in request.answers:
                    return None
                args = request.answers[sid] = unpack(message)
                request.pending_sids.discard(sid)
                return [(sid, args, sid in request.single)]
            elif op == "server_ack":
                request.pending_nodes.discard(node)
                if message.get("handled"):
                    args = request.answers[node] = unpack(message)
                    return [(node, args, False)]
            return None

        self.requests.update(message.get("request"), change)

    # -- per-connection data -----------------------------------------------------------

    def socket_data(self, sid: str, namespace: str) -> dict[str, Any]:
        """The ``data`` dict of a connection of this node."""
        if self.eio_sid_from_sid(sid, namespace) is None:  # type: ignore[attr-defined]
            raise KeyError(f"{sid!r} is not connected to {namespace!r} on this node")
        return self.connection_data.setdefault((namespace, sid), {})

    def _data_copy(self, namespace: str, sid: str) -> dict[str, Any] | None:
        data = self.connection_data.get((namespace, sid))
        if not data:
            return {}
        try:
            copy: dict[str, Any] = json.loads(json.dumps(data))
            return copy
        except (TypeError, ValueError) as exc:
            logger.warning("socket_data of %s is not JSON (%s): fetch_sockets reports "
                           "None for it", sid, exc)
            return None

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> Any:
        self.connection_data.pop((namespace, sid), None)
        return super().basic_disconnect(sid, namespace, **kwargs)  # type: ignore[misc]
