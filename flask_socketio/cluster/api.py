"""The cluster-wide operations of ``SocketIO``: query, bulk room changes and
disconnects, acks from many clients, server-to-server events.

Each works the same on one node and across the nodes of a message queue, as Node's
socket.io 4 ``BroadcastOperator`` does (``fetchSockets``, ``socketsJoin``,
``socketsLeave``, ``disconnectSockets``, ``except``, ``timeout().emitWithAck``,
``serverSideEmit``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import socketio

from .. import options as opts
from .messages import pack, room_list
from .node import ClusterMixin

if TYPE_CHECKING:
    from ..extension import SocketIO

logger = logging.getLogger("flask_socketio.cluster")

F = Callable[..., Any]


def answer_value(args: list[Any]) -> Any:
    """An acknowledgement as ``call()`` returns it: one value, a tuple, or ``None``."""
    if not args:
        return None
    return args[0] if len(args) == 1 else tuple(args)


class ClusterTimeoutError(socketio.exceptions.TimeoutError):
    """Not every client (or node) answered in time.

    ``answers`` holds those that came (``{sid: answer}``, or ``{node_id: answer}``
    for server events); ``missing`` the sids (or node ids) that did not answer;
    ``missing_nodes`` the nodes that did not even report whom they sent the event to.
    """

    def __init__(self, what: str, answers: dict[str, Any], missing: tuple[str, ...],
                 missing_nodes: tuple[str, ...]) -> None:
        self.answers = answers
        self.missing = missing
        self.missing_nodes = missing_nodes
        super().__init__(f"{what}: {len(answers)} answered, no answer from {list(missing)}"
                         + (f" (nodes {list(missing_nodes)})" if missing_nodes else ""))


@dataclass
class ClusterSocket:
    """One connection somewhere in the cluster, as :meth:`SocketIO.fetch_sockets`
    found it (Node's ``RemoteSocket``): a snapshot of its ``rooms`` (its own sid
    room included) and ``data``, and methods acting on it wherever it is."""

    sid: str
    namespace: str
    rooms: list[Any]
    data: dict[str, Any] | None
    #: The id of the node that serves it.
    node_id: str
    socketio: SocketIO = field(repr=False, compare=False)

    def emit(self, event: str, *args: Any, callback: F | None = None) -> None:
        """Emit ``event`` to this connection."""
        self.socketio.emit(event, *args, to=self.sid, namespace=self.namespace,
                           callback=callback)

    def join(self, rooms: Any) -> None:
        """Put this connection in ``rooms`` (one room or a list)."""
        self.socketio.sockets_join(rooms, to=self.sid, namespace=self.namespace)

    def leave(self, rooms: Any) -> None:
        """Take this connection out of ``rooms``."""
        self.socketio.sockets_leave(rooms, to=self.sid, namespace=self.namespace)

    def disconnect(self, close: bool = False) -> None:
        """Disconnect it from its namespace (``close=True``: close the connection)."""
        self.socketio.disconnect_sockets(to=self.sid, namespace=self.namespace, close=close)


class FetchedSockets(list[Any]):
    """The list :meth:`SocketIO.fetch_sockets` returns; ``missing_nodes`` names the
    nodes that did not answer in time (their sockets are not in the list)."""

    missing_nodes: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.missing_nodes


class ClusterOperations:
    """Mixed into :class:`~flask_socketio.SocketIO`."""

    #: Seconds the callbacks of an emit to many clients are kept for late answers.
    callback_timeout: float = 60.0

    server_event_handlers: dict[str, F]

    def _cluster(self: SocketIO) -> ClusterMixin:  # type: ignore[misc]
        server = self._require_server()
        manager = server.manager
        if not isinstance(manager, ClusterMixin):
            raise RuntimeError(f"cluster operations need a client manager made by "
                               f"flask_socketio (the message_queue option), not "
                               f"{type(manager).__name__}")
        if not server.manager_initialized and manager.can_receive:
            server.manager_initialized = True  # as python-socketio does at a connect
            manager.initialize()
        return manager

    @property
    def node_id(self: SocketIO) -> str:  # type: ignore[misc]
        """This node's id in the cluster."""
        return self._cluster().node_id

    def cluster_nodes(self: SocketIO) -> list[str]:  # type: ignore[misc]
        """The ids of the live nodes of the cluster, this one included."""
        manager = self._cluster()
        return sorted({manager.node_id, *manager.live_nodes()})

    def _targets(self, to: Any, exclude: Any, namespace: str | None,
                 what: str) -> dict[str, Any]:
        return {"namespace": opts.check_namespace(namespace),
                "rooms": room_list(to, f"{what}(to=...)"),
                "exclude": room_list(exclude, f"{what}(exclude=...)")}

    # -- query -------------------------------------------------------------------------

    def fetch_sockets(self: SocketIO, to: Any = None, *,  # type: ignore[misc]
                      namespace: str | None = None, exclude: Any = None,
                      timeout: float = 5.0) -> FetchedSockets:
        """Every connection of the cluster in ``to`` (a room, a sid, or a list; the
        whole namespace by default) and in none of the ``exclude`` rooms, as
        :class:`ClusterSocket` objects.

        Nodes that do not answer within ``timeout`` seconds are named in the result's
        ``missing_nodes`` (and logged); their sockets are missing.
        """
        targets = self._targets(to, exclude, namespace, "fetch_sockets")
        request = self._cluster().request("fetch_sockets", targets, timeout)
        found = FetchedSockets(
            ClusterSocket(entry["sid"], targets["namespace"], list(entry.get("rooms") or ()),
                          entry.get("data"), entry["node"], self)
            for entry in request.sockets if isinstance(entry.get("sid"), str))
        found.missing_nodes = tuple(sorted(request.pending_nodes))
        if found.missing_nodes:
            logger.warning("fetch_sockets: nodes %s did not answer within %s s",
                           list(found.missing_nodes), timeout)
        return found

    # -- bulk operations ---------------------------------------------------------------

    def sockets_join(self: SocketIO, rooms: Any, to: Any = None, *,  # type: ignore[misc]
                     namespace: str | None = None, exclude: Any = None) -> None:
        """Put every connection of the cluster in ``to`` (all by default), except those
        in ``exclude``, in ``rooms`` (one room or a list)."""
        self._change_rooms("sockets_join", rooms, to, namespace, exclude)

    def sockets_leave(self: SocketIO, rooms: Any, to: Any = None, *,  # type: ignore[misc]
                      namespace: str | None = None, exclude: Any = None) -> None:
        """Take every connection of the cluster in ``to`` (all by default), except
        those in ``exclude``, out of ``rooms``."""
        self._change_rooms("sockets_leave", rooms, to, namespace, exclude)

    def _change_rooms(self: SocketIO, op: str, rooms: Any, to: Any,  # type: ignore[misc]
                      namespace: str | None, exclude: Any) -> None:
        change = room_list(rooms, f"{op}(rooms)")
        if not change:
            raise ValueError(f"{op}() needs the rooms to change")
        self._cluster().send_to_cluster(op, {**self._targets(to, exclude, namespace, op),
                                             "change": change})

    def disconnect_sockets(self: SocketIO, to: Any = None, *,  # type: ignore[misc]
                           namespace: str | None = None, exclude: Any = None,
                           close: bool = False) -> None:
        """Disconnect every connection of the cluster in ``to`` (all by default),
        except those in ``exclude``, from the namespace; ``close=True`` closes their
        connections (every namespace)."""
        self._cluster().send_to_cluster("disconnect_sockets", {
            **self._targets(to, exclude, namespace, "disconnect_sockets"),
            "close": bool(close)})

    # -- emits to many, with exclusions and acks ---------------------------------------

    def _cluster_emit(self: SocketIO, event: str, args: tuple[Any, ...], namespace: str,  # type: ignore[misc]
                      to: Any, exclude: list[Any] | None, callback: F | None,
                      sender: str | None, ignore_queue: bool) -> None:
        """An emit that each node resolves against its own rooms (``exclude``), or
        whose callback answers per client: ``callback(sid, *answer)`` (or
        ``callback(*answer)`` when ``to`` is one client's sid)."""
        fields = {"namespace": namespace, "rooms": room_list(to, "emit(to=...)"),
                  "exclude": exclude, "event": event, **pack(args)}
        manager = self._cluster()
        remote = not ignore_queue
        if callback is None:
            manager.send_to_cluster("emit", fields, remote=remote)
            return
        run = self._ack_callback(callback, sender, namespace)

        def answered(key: str, answer: list[Any], single: bool) -> None:
            if single:
                run(*answer)
            else:
                run(key, *answer)

        manager.request("emit", fields, self.callback_timeout, remote=remote, wait=False,
                        on_answer=answered)

    def call_all(self: SocketIO, event: str, *args: Any, to: Any = None,  # type: ignore[misc]
                 namespace: str | None = None, exclude: Any = None,
                 timeout: float = 60) -> dict[str, Any]:
        """Emit ``event`` to every client of the cluster in ``to`` (all by default),
        except those in ``exclude``, and wait for all their acknowledgements.

        Returns ``{sid: answer}`` (each answer as :meth:`call` gives it). If some do
        not answer within ``timeout`` seconds, raises :class:`ClusterTimeoutError`
        with the answers received and the sids (and nodes) that did not answer.
        """
        namespace = opts.check_namespace(namespace)
        self._check_serializable(event, answer_value(list(args)), namespace)
        fields = {**self._targets(to, exclude, namespace, "call_all"), "event": event,
                  **pack(args)}
        request = self._cluster().request("emit", fields, timeout)
        answers = {sid: answer_value(answer) for sid, answer in request.answers.items()}
        if not request.complete:
            raise ClusterTimeoutError(f"call_all({event!r})", answers,
                                      tuple(sorted(request.pending_sids)),
                                      tuple(sorted(request.pending_nodes)))
        return answers

    # -- server-to-server events -------------------------------------------------------

    def on_server_event(self: SocketIO, event: str) -> Callable[[F], F]:  # type: ignore[misc]
        """Decorator registering ``handler(*args)`` for server event ``event``, sent by
        another node with :meth:`server_side_emit`; its return value is its answer.
        It runs in a background task, in an app context."""
        if not isinstance(event, str):
            raise TypeError("a server event's name is a str")

        def decorator(handler: F) -> F:
            if not callable(handler):
                raise ValueError("a server event handler must be a callable")
            self.server_event_handlers[event] = handler
            return handler

        return decorator

    def server_side_emit(self: SocketIO, event: str, *args: Any,  # type: ignore[misc]
                         callback: F | None = None, timeout: float = 5.0) -> None:
        """Send ``event`` to the other nodes (not this one), whose
        :meth:`on_server_event` handlers run with ``args``. ``callback(node_id,
        *answer)`` is called for each node's answer that comes within ``timeout``
        seconds."""
        fields = {"event": event, **pack(args)}
        manager = self._cluster()
        if callback is None:
            manager.send_to_cluster("server_event", fields, local=False)
            return

        def answered(node: str, answer: list[Any], single: bool) -> None:
            callback(node, *answer)

        manager.request("server_event", fields, timeout, local=False, wait=False,
                        on_answer=answered)

    def server_side_call(self: SocketIO, event: str, *args: Any,  # type: ignore[misc]
                         timeout: float = 5.0) -> dict[str, Any]:
        """Send ``event`` to the other nodes and wait for their answers:
        ``{node_id: answer}``. Nodes with no handler for it answer nothing and are
        left out; if a node does not answer within ``timeout`` seconds, raises
        :class:`ClusterTimeoutError` (``missing`` names the nodes)."""
        request = self._cluster().request("server_event", {"event": event, **pack(args)},
                                          timeout, local=False)
        answers = {node: answer_value(answer) for node, answer in request.answers.items()}
        if not request.complete:
            missing = tuple(sorted(request.pending_nodes))
            raise ClusterTimeoutError(f"server_side_call({event!r})", answers, missing,
                                      missing)
        return answers

    def _run_server_event(self: SocketIO, event: str, args: list[Any]) -> tuple[bool, list[Any]]:  # type: ignore[misc]
        handler = self.server_event_handlers.get(event)
        if handler is None:
            return False, []
        try:
            if self.app is not None:
                with self.app.app_context():
                    result = handler(*args)
            else:
                result = handler(*args)
        except Exception:
            logger.exception("server event %r: the handler failed", event)
            return False, []
        if result is None:
            return True, []
        return True, list(result) if isinstance(result, tuple) else [result]

    # -- per-connection data -----------------------------------------------------------

    def socket_data(self: SocketIO, sid: str | None = None,  # type: ignore[misc]
                    namespace: str | None = None) -> dict[str, Any]:
        """The ``data`` dict of a connection of this node (the sender's, in a handler),
        Node's ``socket.data``: the app's to fill with JSON values, shown by
        :meth:`fetch_sockets` on every node; gone at the disconnect."""
        import flask

        from ..context import current_sid

        if namespace is None and flask.has_request_context():
            namespace = getattr(flask.request, "namespace", None)
        namespace = opts.check_namespace(namespace)
        if sid is None:
            sid = current_sid(self._require_server(), namespace)
            if sid is None:
                raise RuntimeError("socket_data() without a sid only works inside a "
                                   "Socket.IO handler")
        return self._cluster().socket_data(sid, namespace)
