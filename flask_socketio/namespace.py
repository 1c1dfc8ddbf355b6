"""Class-based namespaces: one class, one ``on_<event>`` method per event."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import flask
import socketio

from .dynamic_namespaces import is_pattern
from .event_hooks import AfterHook, BeforeHook
from .handlers import HandlerSpec

if TYPE_CHECKING:
    from .context import FlaskBridge


class NamespaceHost(Protocol):
    """What a :class:`Namespace` uses of the :class:`~flask_socketio.SocketIO` it is
    registered with: its bridge (to run the methods as handlers) and its sending."""

    bridge: FlaskBridge

    def emit(self, event: str, *args: Any, namespace: str | None = None, to: Any = None,
             room: Any = None, include_self: bool = True, skip_sid: Any = None,
             callback: Callable[..., Any] | None = None, ignore_queue: bool = False,
             exclude: Any = None, volatile: bool = False) -> None: ...

    def send(self, data: Any, json: bool = False, namespace: str | None = None,
             to: Any = None, room: Any = None, include_self: bool = True,
             skip_sid: Any = None, callback: Callable[..., Any] | None = None,
             ignore_queue: bool = False, exclude: Any = None,
             volatile: bool = False) -> None: ...

    def call(self, event: str, *args: Any, to: Any = None, sid: Any = None,
             namespace: str | None = None, timeout: float = 60,
             ignore_queue: bool = False) -> Any: ...

    def close_room(self, room: str, namespace: str | None = None) -> None: ...


class Namespace(socketio.Namespace):
    """Handlers of one namespace as methods: ``on_connect``, ``on_my_event``, ...

    Register an instance with :meth:`SocketIO.on_namespace`. Methods run with the
    same Flask contexts as decorated handlers. ``Namespace('*')`` catches every
    namespace: its methods receive the event's arguments, ``request.namespace``
    names the namespace.

    A method named ``error(self, exc)``, if the class has one, is given what a
    method raised and no error handler of the ``SocketIO`` object took (as in
    Flask-SocketIO); its return value is the event's result (the acknowledgement).
    """

    namespace: str  # python-socketio's attribute

    def __init__(self, namespace: str | None = None) -> None:
        super().__init__(namespace)
        self.socketio: NamespaceHost | None = None
        self._specs: dict[str, HandlerSpec] = {}

    def _set_socketio(self, socketio: NamespaceHost) -> None:
        self.socketio = socketio

    def trigger_event(self, event: str, *args: Any) -> Any:
        """Dispatch ``event`` to ``on_<event>`` (hyphens become underscores)."""
        method = getattr(self, "on_" + event.replace("-", "_"), None)
        if method is None or self.socketio is None:
            return self.server.not_handled if self.server is not None else None
        spec = self._specs.get(event)
        on_error = getattr(self, "error", None)
        if spec is None or spec.function != method or spec.on_error != on_error:
            spec = self._specs[event] = HandlerSpec(method, event, self.namespace,
                                                    on_error=on_error, owner=self)
        return self.socketio.bridge.dispatch(spec, args)

    def _namespace_for(self, namespace: str | None) -> str:
        """``namespace``, else this one's; for a pattern, the handler's namespace."""
        if namespace:
            return namespace
        if is_pattern(self.namespace):
            handler_namespace: str = flask.request.namespace  # type: ignore[attr-defined]
            return handler_namespace
        return self.namespace

    def before_event(self, event: str, args: tuple[Any, ...]) -> None:
        """Override to run before each of this namespace's handlers (``connect``
        included), after the ``SocketIO`` object's before-event hooks; raise
        :class:`~flask_socketio.EventRefused` to refuse the event."""

    def after_event(self, event: str, args: tuple[Any, ...], result: Any,
                    error: BaseException | None) -> None:
        """Override to run after each of this namespace's handlers, before the
        ``SocketIO`` object's after-event hooks; ``result`` is the acknowledgement,
        ``error`` what the handler (or a before hook) raised, if anything."""

    def own_event_hooks(self) -> tuple[BeforeHook | None, AfterHook | None]:
        """``before_event`` and ``after_event`` where this class overrides them."""
        cls = type(self)
        return (self.before_event if cls.before_event is not Namespace.before_event else None,
                self.after_event if cls.after_event is not Namespace.after_event else None)

    def emit(self, event: str, data: Any = None, room: Any = None, include_self: bool = True,
             namespace: str | None = None, callback: Callable[..., Any] | None = None,
             to: Any = None, skip_sid: Any = None, ignore_queue: bool = False,
             exclude: Any = None, volatile: bool = False) -> None:
        """:meth:`SocketIO.emit` defaulting to this namespace."""
        assert self.socketio is not None, "register the namespace with on_namespace() first"
        args = () if data is None else (data,)
        self.socketio.emit(event, *args, to=to if to is not None else room,
                           include_self=include_self, skip_sid=skip_sid,
                           namespace=self._namespace_for(namespace), callback=callback,
                           ignore_queue=ignore_queue, exclude=exclude, volatile=volatile)

    def send(self, data: Any, room: Any = None, include_self: bool = True,
             namespace: str | None = None, callback: Callable[..., Any] | None = None,
             to: Any = None, skip_sid: Any = None, ignore_queue: bool = False,
             exclude: Any = None, volatile: bool = False) -> None:
        """:meth:`SocketIO.send` defaulting to this namespace."""
        assert self.socketio is not None, "register the namespace with on_namespace() first"
        self.socketio.send(data, to=to if to is not None else room, include_self=include_self,
                           skip_sid=skip_sid, namespace=self._namespace_for(namespace),
                           callback=callback, ignore_queue=ignore_queue, exclude=exclude,
                           volatile=volatile)

    def call(self, event: str, data: Any = None, to: Any = None, sid: Any = None,
             namespace: str | None = None, timeout: float = 60,
             ignore_queue: bool = False) -> Any:
        """:meth:`SocketIO.call` defaulting to this namespace."""
        assert self.socketio is not None, "register the namespace with on_namespace() first"
        args = () if data is None else (data,)
        return self.socketio.call(event, *args, to=to, sid=sid,
                                  namespace=self._namespace_for(namespace), timeout=timeout,
                                  ignore_queue=ignore_queue)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        """:meth:`SocketIO.close_room` defaulting to this namespace."""
        assert self.socketio is not None, "register the namespace with on_namespace() first"
        self.socketio.close_room(room, namespace=self._namespace_for(namespace))
