"""Class-based namespaces: one class, one ``on_<event>`` method per event."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import socketio

from .handlers import HandlerSpec

if TYPE_CHECKING:
    from .extension import SocketIO


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

    def __init__(self, namespace: str | None = None) -> None:
        super().__init__(namespace)
        self.socketio: SocketIO | None = None
        self._specs: dict[str, HandlerSpec] = {}

    def _set_socketio(self, socketio: SocketIO) -> None:
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
                                                    on_error=on_error)
        return self.socketio.bridge.dispatch(spec, args)

    def emit(self, event: str, data: Any = None, room: Any = None, include_self: bool = True,
             namespace: str | None = None, callback: Callable[..., Any] | None = None,
             to: Any = None, skip_sid: Any = None, ignore_queue: bool = False) -> None:
        """:meth:`SocketIO.emit` defaulting to this namespace."""
        assert self.socketio is not None, "register the namespace with on_namespace() first"
        args = () if data is None else (data,)
        self.socketio.emit(event, *args, to=to if to is not None else room,
                           include_self=include_self, skip_sid=skip_sid,
                           namespace=namespace or self.namespace, callback=callback,
                           ignore_queue=ignore_queue)

    def send(self, data: Any, room: Any = None, include_self: bool = True,
             namespace: str | None = None, callback: Callable[..., Any] | None = None,
             to: Any = None, skip_sid: Any = None, ignore_queue: bool = False) -> None:
        """:meth:`SocketIO.send` defaulting to this namespace."""
        assert self.socketio is not None, "register the namespace with on_namespace() first"
        self.socketio.send(data, to=to if to is not None else room, include_self=include_self,
                           skip_sid=skip_sid, namespace=namespace or self.namespace,
                           callback=callback, ignore_queue=ignore_queue)

    def call(self, event: str, data: Any = None, to: Any = None, sid: Any = None,
             namespace: str | None = None, timeout: float = 60,
             ignore_queue: bool = False) -> Any:
        """:meth:`SocketIO.call` defaulting to this namespace."""
        assert self.socketio is not None, "register the namespace with on_namespace() first"
        args = () if data is None else (data,)
        return self.socketio.call(event, *args, to=to, sid=sid,
                                  namespace=namespace or self.namespace, timeout=timeout,
                                  ignore_queue=ignore_queue)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        """:meth:`SocketIO.close_room` defaulting to this namespace."""
        assert self.socketio is not None, "register the namespace with on_namespace() first"
        self.socketio.close_room(room, namespace=namespace or self.namespace)
