"""The ``SocketIO`` extension: options, handler registration, sending, serving."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import flask
import socketio
from engineio import packet as eio_packet

from . import options as opts
from . import packets
from .cluster.api import ClusterOperations
from .cluster.messages import room_list
from .cluster.node import ClusterMixin
from .context import CONNECTION_KEY, FlaskBridge, current_sid
from .dynamic_namespaces import is_pattern
from .dynamic_namespaces import matches as namespace_matches
from .emit_observer import EmitObserverMixin
from .engine.base import Reason
from .event_hooks import AfterHook, BeforeHook, EventHooks
from .handlers import HandlerSpec
from .middleware import SocketIOMiddleware
from .namespace import Namespace
from .packets import binary_hint
from .protocol import ProtocolServer
from .recovery import QueuedRecoveryMixin, RecoveringManagerMixin
from .textcodec import DEFAULT_JSON, encode_text
from .toolkit_seam import ToolkitSeam
from .volatile import volatile_emit

if TYPE_CHECKING:
    from .queues import QueueStatus
    from .testing.client import SocketIOTestClient

F = TypeVar("F", bound=Callable[..., Any])
_UNSET: Any = object()


def payload(args: tuple[Any, ...]) -> Any:
    """python-socketio's ``data``: one argument as is, several as a tuple."""
    if not args:
        return None
    return args[0] if len(args) == 1 else tuple(args)


_STOCK_SERVER_EMIT = socketio.Server.emit
_STOCK_MANAGER_EMIT = socketio.Manager.emit


def _encodes_before_sending(server: Any, namespace: str) -> bool:
    """Does ``server.emit`` (without a callback) encode the packet before it sends
    anything, so that an unserializable payload raises there with nothing sent?

    True for python-socketio's own ``Server.emit`` over its in-process ``Manager``
    when ``namespace`` has connections (a message queue manager publishes instead,
    and an empty namespace returns early without encoding), neither replaced on the
    instance (as python-socketio's admin instrumentation replaces ``manager.emit``).
    """
    manager = server.manager
    return (type(server).emit is _STOCK_SERVER_EMIT
            and _emits_as_stock(manager)
            and namespace in manager.rooms
            and "emit" not in manager.__dict__ and "emit" not in server.__dict__)


def _emits_as_stock(manager: Any) -> bool:
    """Is ``manager.emit`` python-socketio's ``Manager.emit``, possibly behind our
    mixins that then only pass the call on (the emit observer with no listener,
    connection-state recovery when it is off)?"""
    try:
        checks = _emit_checks[type(manager)]
    except KeyError:
        checks = _emit_checks[type(manager)] = _stock_emit_checks(type(manager))
    if checks is None:
        return False
    listeners, recovery = checks
    return not ((listeners and manager.emit_listeners)
                or (recovery and getattr(manager.server, "recovery", None) is not None))


def _stock_emit_checks(manager_class: type) -> tuple[bool, bool] | None:
    """What to check of a ``manager_class`` instance for its ``emit`` to be
    python-socketio's: ``(its emit listeners, its server's recovery)``; or ``None``
    when some class before ``Manager`` defines an ``emit`` of its own."""
    listeners = recovery = False
    for owner in manager_class.__mro__:
        if "emit" not in owner.__dict__:
            continue
        if owner is socketio.Manager:
            return listeners, recovery
        if owner is EmitObserverMixin:
            listeners = True
        elif owner is RecoveringManagerMixin or owner is QueuedRecoveryMixin:
            recovery = True
        else:
            return None
    return None


#: Per manager class: what :func:`_emits_as_stock` checks (``None``: not stock).
_emit_checks: dict[type, tuple[bool, bool] | None] = {}


def _emit_to_room(server: Any, event: str, data: Any, namespace: str, room: str,
                  skip_sid: Any) -> None:
    """What ``server.emit(event, data, to=room, skip_sid=skip_sid, namespace=namespace)``
    does when :func:`_encodes_before_sending` holds and its INFO log line is off
    (python-socketio's ``Server.emit`` and ``Manager.emit`` for one room, a client's
    own sid included), without the calls down the manager's mixins: the packet is
    built and encoded once (an unserializable payload raises before anything is
    sent), then handed to ``server._send_eio_packet`` for each member of ``room``
    but those in ``skip_sid``."""
    if isinstance(data, tuple):
        values = [event, *data]
    elif data is not None:
        values = [event, data]
    else:
        values = [event]
    packet_class = server.packet_class
    encoded: Any = None
    if packet_class is packets.Packet and packet_class.json is DEFAULT_JSON:
        try:  # what the packet's constructor encodes it with, without the packet
            encoded = encode_text(socketio.packet.EVENT, namespace, None, values)
        except Exception:
            encoded = None  # bytes, or no JSON at all: the packet decides, as always
    if encoded is None:
        encoded = packet_class(socketio.packet.EVENT, namespace=namespace, data=values).encode()
    members = server.manager.rooms[namespace].get(room)
    if not members:
        return
    if isinstance(encoded, list):  # binary attachments: one message each, after the header
        messages = [eio_packet.Packet(eio_packet.MESSAGE, part) for part in encoded]
    else:
        messages = [eio_packet.Packet(eio_packet.MESSAGE, encoded)]
    if skip_sid is not None and not isinstance(skip_sid, list):
        skip_sid = [skip_sid]
    send = server._send_eio_packet
    for sid, eio_sid in tuple(members.items()):
        if skip_sid is None or sid not in skip_sid:
            for message in messages:
                send(eio_sid, message)


class SocketIO(ClusterOperations):
    """Socket.IO for a Flask application.

    :param app: the Flask application, or ``None`` to call :meth:`init_app` later.
    :param options: every option of python-socketio's and python-engineio's
        ``Server`` (``async_mode``, ``ping_interval``, ``ping_timeout``,
        ``max_http_buffer_size``, ``cors_allowed_origins``, ``cookie``,
        ``serializer``, ``json``, ``logger``, ``engineio_logger``, ...), plus:

        - ``path``: where Socket.IO is served, ``'socket.io'`` by default;
        - ``manage_session``: ``True`` (default) keeps a per-connection copy of the
          Flask session on the server; ``False`` uses Flask's session interface, so
          server-side sessions persist;
        - ``message_queue``, ``channel``, ``message_queue_options``: share emits
          between processes through a queue;
        - ``write_only``: only emit through the queue, never listen (the default
          for a ``SocketIO`` with no app);
        - ``engine``: the Engine.IO server on gevent, ``'native'`` (ours, the
          default) or ``'engineio'`` (python-engineio's);
        - ``max_attachments``, ``max_pending_bytes``, ``connect_timeout``: limits
          of the protocol layer;
        - ``max_queued_bytes`` (10 MB), ``max_packets_per_post`` (1000): limits of
          the native engine (what may wait to be sent to one client, packets in
          one long-polling POST);
        - ``websocket_compression``: accept permessage-deflate on the embedded
          server (off by default: small messages cost more to compress than they
          save).

        ``async_mode`` defaults to ``'gevent'``, the embedded server's.

        An unknown option raises ``TypeError`` naming it. Options given here and
        to :meth:`init_app` are merged, the later ones winning.

    One instance may serve several applications: call :meth:`init_app` for each.
    """

    #: The class :meth:`test_client` returns.
    test_client_class: type[SocketIOTestClient] | None = None

    #: The disconnect reasons, as handlers receive them: python-socketio's, and
    #: ``QUEUE_FULL`` (``"queue full"``, see ``max_queued_bytes``).
    reason = Reason

    def __init__(self, app: flask.Flask | None = None, **options: Any) -> None:
        self.server: ProtocolServer | None = None
        #: The options of the server, as in Flask-SocketIO: what the constructor and
        #: :meth:`init_app` were given (visible at once; written to before
        #: :meth:`init_app`, honoured by it), without the extension's own
        #: ``manage_session``, ``channel`` and ``path``, which :meth:`init_app` takes
        #: out, and with the ``client_manager`` made for a ``message_queue``.
        self.server_options: dict[str, Any] = {}
        self.app: flask.Flask | None = None
        self.handlers: list[tuple[str, Callable[..., Any], str]] = []
        self.namespace_handlers: list[Namespace] = []
        self.exception_handlers: dict[str, Callable[[Exception], Any]] = {}
        self.default_exception_handler: Callable[[Exception], Any] | None = None
        self.manage_session = True
        #: The before- and after-event hooks (see :meth:`before_event`).
        self.event_hooks = EventHooks(namespace_matches, on_change=self._watch_unhandled_events)
        self.bridge = FlaskBridge(
            app=lambda: self.app, server=self._require_server, hooks=self.event_hooks,
            error_handler=self._error_handler_for,
            manage_session=lambda: self.manage_session)
        self.server_options.update(opts.check_options(options))
        #: ``channel`` and ``path``, taken out of :attr:`server_options` by init_app.
        self._extension_options: dict[str, Any] = {}
        self._made_client_manager: Any = None
        self._server_key: dict[str, Any] | None = None
        self._runner: Any = None
        self._toolkit_seam: ToolkitSeam | None = None
        self._queue_status_listeners: list[Callable[[Any], None]] = []
        #: Handlers of server-to-server events (see :meth:`on_server_event`).
        self.server_event_handlers: dict[str, Callable[..., Any]] = {}
        if app is not None or "message_queue" in options:
            self.init_app(app)

    # -- set-up ------------------------------------------------------------------------

    def init_app(self, app: flask.Flask | None, **options: Any) -> None:
        """Attach to ``app`` (and build the server), merging ``options`` in."""
        self.server_options.update(opts.check_options(options))
        checked = opts.check_options(self.server_options)  # written to directly, too
        if checked is not self.server_options:
            self.server_options.clear()
            self.server_options.update(checked)
        self.manage_session = self.server_options.pop("manage_session", self.manage_session)
        for name in opts.EXTENSION_ONLY_OPTIONS:
            if name in self.server_options:
                self._extension_options[name] = self.server_options.pop(name)
        write_only = self.server_options.get("write_only", app is None and self.app is None)
        self._ensure_server(bool(write_only))
        if app is not None:
            if not hasattr(app, "extensions"):
                app.extensions = {}
            app.extensions["socketio"] = self
            # Flask's documented way to wrap its WSGI app: assign over the method.
            app.wsgi_app = SocketIOMiddleware(  # type: ignore[method-assign]
                self._require_server, app, app.wsgi_app, self.path)
            if self.app is None:
                self.app = app

    @property
    def path(self) -> str:
        """Where Socket.IO is served (the ``path`` option), ``'socket.io'`` by default."""
        path: str = self._option("path", "socket.io")
        return path

    def _option(self, name: str, default: Any = None) -> Any:
        """An option's value, wherever it is kept."""
        if name in self._extension_options:
            return self._extension_options[name]
        return self.server_options.get(name, default)

    def _ensure_server(self, write_only: bool) -> None:
        merged = {**self.server_options, **self._extension_options}
        if merged.get("client_manager") is self._made_client_manager is not None:
            del merged["client_manager"]  # made by us for the message_queue option
        key = dict(merged, write_only=write_only)
        if self.server is not None and key == self._server_key:
            return
        from .queues import client_manager_for

        server_options = opts.server_options(merged)
        manager = client_manager_for(merged, write_only=write_only)
        if manager is not None:
            server_options["client_manager"] = manager
        if "client_manager" not in merged and merged.get("message_queue") is not None:
            self.server_options["client_manager"] = self._made_client_manager = manager
        server_options.setdefault("async_handlers", True)
        # gevent is the embedded server's mode; python-engineio would pick eventlet
        # first whenever it happens to be installed.
        server_options.setdefault("async_mode", "gevent")
        self.server = ProtocolServer(**server_options)
        if self.server.packet_class is socketio.packet.Packet:  # the default serializer: the
            self.server.packet_class = packets.Packet  # same packets, binary data found faster
        self._server_key = key
        if hasattr(manager, "status_listeners"):
            manager.status_listeners.extend(self._queue_status_listeners)
        if isinstance(manager, ClusterMixin):
            manager.server_event_runner = self._run_server_event
        for event, handler, namespace in self.handlers:
            self._register(event, handler, namespace)
        for namespace_handler in self.namespace_handlers:
            self._register_namespace(namespace_handler)
        self._watch_unhandled_events()

    @property
    def async_mode(self) -> str | None:
        """The server's async mode (``'gevent'``, ``'threading'``...), as in the peer;
        ``None`` before :meth:`init_app`."""
        return self.server.async_mode if self.server is not None else None

    @property
    def queue_status(self) -> QueueStatus | None:
        """The message queue's health in this process (a
        :class:`~flask_socketio.queues.QueueStatus`: ``state`` is ``"connecting"``,
        ``"connected"`` or ``"down"``, with the last ``error``, ``outages``,
        ``unpublished`` and ``gaps`` counts); ``None`` without a broker queue."""
        manager = getattr(self.server, "manager", None)
        return getattr(manager, "status", None)

    @property
    def stats(self) -> dict[str, int]:
        """Counters of this server since it was made: ``volatile_dropped``, the
        volatile emits not sent (one per client and message)."""
        server = self._require_server()
        return {"volatile_dropped": server.eio.volatile_dropped}

    def instrument(self, auth: Any = None, **options: Any) -> Any:
        """Serve the `Socket.IO Admin UI <https://socket.io/docs/v4/admin-ui/>`_'s
        ``/admin`` namespace: python-socketio's ``Server.instrument()`` (``auth``: the
        credentials dict the UI must send, a list of them, a callable, or ``False``
        for none; ``mode``, ``read_only``, ``server_id``, ``namespace``,
        ``server_stats_interval``). Returns its ``InstrumentedServer``
        (``shutdown()``, ``uninstrument()``). The UI's page can be served by the app:
        see :func:`flask_socketio.admin_ui.admin_ui_blueprint`."""
        return self._require_server().instrument(auth=auth, **options)

    def on_queue_status(self, listener: Callable[[QueueStatus], Any]) -> Callable[..., Any]:
        """Decorator registering ``listener(status)``, called at every change of the
        message queue's state (it runs in the queue's listener task: keep it short)."""
        self._queue_status_listeners.append(listener)
        manager: Any = getattr(self.server, "manager", None)
        if hasattr(manager, "status_listeners"):
            manager.status_listeners.append(listener)
        return listener

    def _error_handler_for(self, namespace: str) -> Callable[[Exception], Any] | None:
        """The error handler of ``namespace``, else the default one, if any."""
        return self.exception_handlers.get(namespace) or self.default_exception_handler

    def toolkit_seam(self) -> ToolkitSeam:
        """What the test toolkit (:mod:`flask_socketio.testing`) uses of this
        extension: its server, its path and the bridge's per-connection hooks (one
        seam, made again when the server or the path changes)."""
        server = self._require_server()
        path = self.path
        seam = self._toolkit_seam
        if seam is None or seam.server is not server or seam.path != path:
            seam = self._toolkit_seam = ToolkitSeam(server, path, self.bridge,
                                                    lambda: self.manage_session)
        return seam

    def _require_server(self) -> ProtocolServer:
        if self.server is None:
            raise RuntimeError("SocketIO has no server yet: call init_app(app) first")
        return self.server

    # -- receiving ---------------------------------------------------------------------

    def on(self, message: str, namespace: str | None = None) -> Callable[[F], F]:
        """Decorator registering a handler for ``message`` (an event name).

        ``'connect'`` and ``'disconnect'`` are connection events; ``'message'`` and
        ``'json'`` receive what clients ``send``; ``'*'`` catches every other event
        (the handler gets the event name first); ``namespace='*'`` catches every
        namespace (``request.namespace`` names it), and a pattern (a compiled regex
        or a predicate) every namespace it matches (see :doc:`dynamic_namespaces`).
        """
        namespace = _handler_namespace(namespace)

        def decorator(handler: F) -> F:
            self.handlers.append((message, handler, namespace))
            if self.server is not None:
                self._register(message, handler, namespace)
            return handler

        return decorator

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """Decorator registering a handler named after the function.

        ``@socketio.event`` or ``@socketio.event(namespace='/chat')``.
        """
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.on(args[0].__name__)(args[0])

        def decorator(handler: F) -> F:
            return self.on(handler.__name__, *args, **kwargs)(handler)

        return decorator

    def on_event(self, message: str, handler: Callable[..., Any],
                 namespace: str | None = None) -> None:
        """Register ``handler`` for ``message`` without a decorator."""
        self.on(message, namespace=namespace)(handler)

    def on_error(self, namespace: str | None = None) -> Callable[[F], F]:
        """Decorator registering the error handler of ``namespace``."""
        namespace = opts.check_namespace(namespace)

        def decorator(handler: F) -> F:
            if not callable(handler):
                raise ValueError("error handler must be a callable")
            self.exception_handlers[namespace] = handler
            return handler

        return decorator

    def on_error_default(self, handler: F) -> F:
        """Decorator registering the error handler of namespaces without their own."""
        if not callable(handler):
            raise ValueError("error handler must be a callable")
        self.default_exception_handler = handler
        return handler

    def before_event(self, hook: BeforeHook | None = None, *,
                     namespace: str | None = None) -> Any:
        """Decorator registering ``hook(event, args)``, run before the handler of every
        event (``connect`` included, ``disconnect`` not), in its Flask contexts.

        ``@socketio.before_event`` serves every namespace,
        ``@socketio.before_event(namespace='/chat')`` one. Hooks run in registration
        order, those of every namespace first. Raise
        :class:`~flask_socketio.EventRefused` to refuse the event; anything else a
        hook raises goes to the error handlers, as a handler's would, and the handler
        does not run.
        """
        return _hook_registrar(self.event_hooks.add_before, "a before-event hook",
                               hook, namespace)

    def after_event(self, hook: AfterHook | None = None, *,
                    namespace: str | None = None) -> Any:
        """Decorator registering ``hook(event, args, result, error)``, run after the
        handler of every event (``connect`` included, ``disconnect`` not), refused
        ones too, in its Flask contexts: ``result`` is the handler's return value
        (the acknowledgement), ``error`` the exception it (or a before hook) raised.

        After hooks run in reverse: those of one namespace first, then those of every
        namespace, each group latest-registered first. What a hook raises is
        reported as an unhandled handler error; the other hooks still run.
        """
        return _hook_registrar(self.event_hooks.add_after, "an after-event hook",
                               hook, namespace)

    def _watch_unhandled_events(self) -> None:
        """Have the server hand events no handler takes to the event hooks only while
        there can be hooks to run (some registered, or a class-based namespace that
        may have its own): an app without any pays nothing for it at each connect."""
        if self.server is not None:
            needed = bool(self.event_hooks) or bool(self.namespace_handlers)
            self.server.unhandled_event = self._unhandled_event if needed else None

    def _unhandled_event(self, event: str, namespace: str, args: tuple[Any, ...],
                         owner: Any) -> Any:
        if owner is not None and not isinstance(owner, Namespace):
            owner = None  # python-socketio's own class-based namespace: no hooks of its own
        return self.bridge.dispatch_unhandled(event, namespace, args, owner)

    def on_namespace(self, namespace_handler: Namespace) -> None:
        """Register a class-based :class:`~flask_socketio.Namespace`."""
        if not isinstance(namespace_handler, Namespace):
            raise ValueError("not a flask_socketio.Namespace instance")
        _handler_namespace(namespace_handler.namespace)
        namespace_handler._set_socketio(self)
        self.namespace_handlers.append(namespace_handler)
        if self.server is not None:
            self._register_namespace(namespace_handler)
            self._watch_unhandled_events()

    def _register(self, event: str, handler: Callable[..., Any], namespace: Any) -> None:
        spec = HandlerSpec(handler, event, namespace)
        dispatch = _Dispatcher(self.bridge, spec)
        server = self._require_server()
        if is_pattern(namespace):
            server.dynamic.add_handler(namespace, event, dispatch)
            return
        server.on(event, dispatch, namespace=namespace)
        self._accept_any_namespace_for(namespace)

    def _register_namespace(self, namespace_handler: Namespace) -> None:
        server = self._require_server()
        server.register_namespace(namespace_handler)
        if is_pattern(namespace_handler.namespace):
            server.dynamic.add_namespace_handler(namespace_handler.namespace,
                                                 namespace_handler)
        else:
            self._accept_any_namespace_for(namespace_handler.namespace)

    def _accept_any_namespace_for(self, namespace: str) -> None:
        """A catch-all (``'*'``) namespace handler makes every namespace connectable,
        unless the ``namespaces`` option says which are."""
        if namespace == "*" and "namespaces" not in self.server_options:
            self._require_server().namespaces = "*"

    # -- sending -----------------------------------------------------------------------

    def emit(self, event: str, *args: Any, namespace: str | None = None, to: Any = None,
             room: Any = None, include_self: bool = True, skip_sid: Any = None,
             callback: Callable[..., Any] | None = None, ignore_queue: bool = False,
             exclude: Any = None, volatile: bool = False) -> None:
        """Emit ``event`` with ``args``; without ``to`` (or ``room``) it is a broadcast.

        Usable from handlers, HTTP routes and background tasks. ``include_self=False``
        inside a handler skips the sender. ``exclude`` (a room, a sid or a list)
        skips the clients in those rooms, each node of a message queue resolving them
        against its own rooms. ``callback`` is called with the client's
        acknowledgement, inside the app context: ``callback(*answer)`` for an emit
        to one client's sid, ``callback(sid, *answer)`` per client for an emit to a
        room, a list or everyone. ``volatile=True`` drops the event, never queuing
        it, for each client whose transport is not ready for it (counted in
        :attr:`stats`; see :doc:`volatile`).
        """
        if volatile:
            with volatile_emit(self._require_server()):
                self.emit(event, *args, namespace=namespace, to=to, room=room,
                          include_self=include_self, skip_sid=skip_sid,
                          callback=callback, ignore_queue=ignore_queue, exclude=exclude)
            return
        server = self._require_server()
        namespace = opts.check_namespace(namespace)
        if to is None:
            to = room
        sender = _UNSET  # the sender's sid, looked up only when something needs it
        if not include_self and skip_sid is None:
            skip_sid = sender = current_sid(server, namespace)
        data = payload(args)
        if exclude is not None or (callback is not None
                                   and isinstance(server.manager, ClusterMixin)
                                   and not self._is_local_client(to, namespace)):
            self._check_serializable(event, data, namespace)
            excluded = room_list(exclude, "emit(exclude=...)") or []
            if skip_sid is not None:
                excluded += room_list(skip_sid, "emit(skip_sid=...)") or []
            if sender is _UNSET:
                sender = current_sid(server, namespace)
            self._cluster_emit(event, args, namespace, to, excluded or None, callback,
                               sender, ignore_queue)
            return
        if callback is None and _encodes_before_sending(server, namespace):
            # python-socketio encodes the packet once, before sending anything: an
            # unserializable payload fails there, and is named here.
            if to and type(to) is str and not server.logger.isEnabledFor(logging.INFO):
                self._emit_encoded_once(server, event, data, namespace, to, skip_sid)
                return
            try:
                server.emit(event, data, to=to, skip_sid=skip_sid, namespace=namespace,
                            ignore_queue=ignore_queue)
            except (TypeError, ValueError):
                self._check_serializable(event, data, namespace)
                raise
            return
        self._check_serializable(event, data, namespace)
        if callback is not None:
            if sender is _UNSET:
                sender = current_sid(server, namespace)
            callback = self._ack_callback(callback, sender, namespace)
        server.emit(event, data, to=to, skip_sid=skip_sid, namespace=namespace,
                    callback=callback, ignore_queue=ignore_queue)

    def _emit_from_handler(self, event: str, args: tuple[Any, ...], namespace: str,
                           to: str) -> None:
        """``self.emit(event, *args, namespace=namespace, to=to)`` from a handler's
        ``emit()`` to one client (its sender, by default), ``namespace`` being that of
        a running handler (valid): without the checks of the options it did not use."""
        server = self.server
        if (server is None or type(self).emit is not _STOCK_SOCKETIO_EMIT
                or not _encodes_before_sending(server, namespace)
                or server.logger.isEnabledFor(logging.INFO)):
            self.emit(event, *args, namespace=namespace, to=to)
            return
        self._emit_encoded_once(server, event, payload(args), namespace, to, None)

    def _emit_encoded_once(self, server: Any, event: str, data: Any, namespace: str,
                           room: str, skip_sid: Any) -> None:
        """:func:`_emit_to_room`, an unserializable payload named (nothing was sent)."""
        try:
            _emit_to_room(server, event, data, namespace, room, skip_sid)
        except (TypeError, ValueError):
            self._check_serializable(event, data, namespace)
            raise

    def send(self, data: Any, json: bool = False, namespace: str | None = None,
             to: Any = None, room: Any = None, include_self: bool = True,
             skip_sid: Any = None, callback: Callable[..., Any] | None = None,
             ignore_queue: bool = False, exclude: Any = None,
             volatile: bool = False) -> None:
        """Send a ``'message'`` (or, with ``json=True``, a ``'json'``) event."""
        self.emit("json" if json else "message", data, namespace=namespace, to=to, room=room,
                  include_self=include_self, skip_sid=skip_sid, callback=callback,
                  ignore_queue=ignore_queue, exclude=exclude, volatile=volatile)

    def _is_local_client(self, to: Any, namespace: str) -> bool:
        """Is ``to`` the sid of a client of this process (an emit whose callback
        python-socketio answers as before)?"""
        manager = self._require_server().manager
        return isinstance(to, str) and manager.eio_sid_from_sid(to, namespace) is not None

    def call(self, event: str, *args: Any, to: Any = None, sid: Any = None,
             namespace: str | None = None, timeout: float = 60,
             ignore_queue: bool = False) -> Any:
        """Emit ``event`` to one client and wait for its acknowledgement.

        Returns what the client acknowledged with (one value, a tuple for several,
        ``None`` for none). Raises ``socketio.exceptions.TimeoutError`` after
        ``timeout`` seconds.
        """
        server = self._require_server()
        namespace = opts.check_namespace(namespace)
        to = to if to is not None else sid
        if to is None:
            raise ValueError("call() needs a recipient: to=<sid>")
        data = payload(args)
        self._check_serializable(event, data, namespace)
        return server.call(event, data, to=to, namespace=namespace, timeout=timeout,
                           ignore_queue=ignore_queue)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        """Remove every client from ``room``."""
        self._require_server().close_room(room, namespace=opts.check_namespace(namespace))

    def _check_serializable(self, event: str, data: Any, namespace: str) -> None:
        server = self._require_server()
        values = list(data) if isinstance(data, tuple) else ([] if data is None else [data])
        try:
            packet_data = [event, *values]
            server.packet_class(socketio.packet.EVENT, data=packet_data, namespace=namespace,
                                binary=binary_hint(server.packet_class, packet_data)).encode()
        except (TypeError, ValueError, OverflowError) as exc:  # msgpack: ints over 64 bits
            raise TypeError(f"cannot emit {event!r}: its payload is not serializable "
                            f"({exc})") from exc

    def _ack_callback(self, callback: Callable[..., Any], sender: str | None,
                      namespace: str) -> Callable[..., Any]:
        """Wrap ``callback`` so it runs in the Flask contexts of the emitting side."""
        server = self._require_server()
        environ = server.get_environ(sender, namespace) if sender is not None else None
        app = (flask.current_app._get_current_object()  # type: ignore[attr-defined]
               if flask.has_app_context() else self.app)
        run = self.bridge.run

        def acknowledged(*args: Any) -> Any:
            if environ is None:
                if app is None:
                    return callback(*args)
                with app.app_context():
                    return callback(*args)
            return run(callback, args, sid=sender, namespace=namespace, event=None,
                       environ=environ)

        return acknowledged

    # -- tasks and serving -------------------------------------------------------------

    def start_background_task(self, target: Callable[..., Any], *args: Any,
                              **kwargs: Any) -> Any:
        """Start ``target(*args, **kwargs)`` in the server's async mode."""
        return self._require_server().start_background_task(target, *args, **kwargs)

    def sleep(self, seconds: float = 0) -> None:
        """Sleep in the server's async mode (lets other tasks run)."""
        self._require_server().sleep(seconds)

    def monotonic(self) -> float:
        """Seconds on the server's clock, for measuring intervals: in handlers of
        in-process test clients, the test's virtual clock (see :doc:`testing`)."""
        return self._require_server().eio.monotonic()

    def run(self, app: flask.Flask | None = None, host: str | None = None,
            port: int | None = None, **kwargs: Any) -> None:
        """Serve ``app`` on the embedded gevent server until :meth:`stop`.

        See :func:`flask_socketio.serving.run` for the options.
        """
        from .serving import run

        run(self, app or self.app, host=host, port=port, **kwargs)

    def stop(self) -> None:
        """Stop the server started by :meth:`run`."""
        runner = self._runner
        if runner is None:
            raise RuntimeError("the server is not running")
        runner.stop()

    def test_client(self, app: flask.Flask, namespace: str | None = None,
                    query_string: str | None = None, headers: dict[str, str] | None = None,
                    auth: Any = None, flask_test_client: Any = None,
                    **kwargs: Any) -> SocketIOTestClient:
        """An in-process :class:`~flask_socketio.testing.SocketIOTestClient`, connected."""
        cls = self.test_client_class
        if cls is None:  # ours, called positionally: a class called with keywords takes
            # them through a dict (~0.5 µs a client, a tenth of the client's own work)
            return _default_test_client()(app, self, namespace, query_string, headers, auth,
                                          flask_test_client, **kwargs)
        # a subclass gets keywords, as Flask-SocketIO passes them
        return cls(app, self, namespace=namespace, query_string=query_string,
                   headers=headers, auth=auth, flask_test_client=flask_test_client, **kwargs)


_test_client_class: list[type[SocketIOTestClient]] = []


def _default_test_client() -> type[SocketIOTestClient]:
    """The toolkit's client class, imported on first use (not at each client made)."""
    if not _test_client_class:
        from .testing.client import SocketIOTestClient

        _test_client_class.append(SocketIOTestClient)
    return _test_client_class[0]


def _handler_namespace(namespace: Any) -> Any:
    """A handler's namespace: a name (``'/'`` for ``None``) or a pattern."""
    return namespace if is_pattern(namespace) else opts.check_namespace(namespace)


def _hook_registrar(add: Callable[[Any, Any], None], what: str, hook: Any,
                    namespace: str | None) -> Any:
    """``@before_event``/``@after_event``: ``hook`` registered with ``add`` for the
    namespace(s) it serves, or (``hook`` None) the decorator that registers one."""
    served = _hook_namespace(namespace)

    def decorator(function: Any) -> Any:
        if not callable(function):
            raise ValueError(f"{what} must be a callable")
        add(function, served)
        return function

    return decorator if hook is None else decorator(hook)


def _hook_namespace(namespace: Any) -> Any:
    """The namespace a hook serves: ``None`` (or ``'*'``) for every one."""
    if namespace is None or namespace == "*":
        return None
    return _handler_namespace(namespace)


class _Dispatcher:
    """What python-socketio calls for one registered handler."""

    __slots__ = ("bridge", "spec")

    def __init__(self, bridge: FlaskBridge, spec: HandlerSpec) -> None:
        self.bridge = bridge
        self.spec = spec

    def __call__(self, *args: Any) -> Any:
        return self.bridge.dispatch(self.spec, args)


#: ``SocketIO.emit`` itself: a subclass that overrides it gets every emit through it.
_STOCK_SOCKETIO_EMIT = SocketIO.emit

__all__ = ["SocketIO", "payload", "CONNECTION_KEY"]
