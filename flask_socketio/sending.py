"""Module-level ``emit``, ``send``, ``call`` and room functions for use in handlers.

They find the ``SocketIO`` of the current app and the connection whose handler is
running (``request.sid``, ``request.namespace``), as Flask-SocketIO's do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

import flask

from .context import current_sid, running_handler
from .options import check_namespace

if TYPE_CHECKING:
    from .extension import SocketIO


class _HandlerRequest(Protocol):
    """Flask's request while a Socket.IO handler runs: the bridge adds these two."""

    sid: str
    namespace: str


def _socketio() -> SocketIO:
    if not flask.has_app_context():
        raise RuntimeError("no Flask app context: call this from a Socket.IO handler, or "
                           "use the methods of your SocketIO object")
    try:
        socketio: SocketIO = flask.current_app.extensions["socketio"]
        return socketio
    except KeyError:
        raise RuntimeError("this Flask app has no SocketIO: call SocketIO(app) or "
                           "socketio.init_app(app)") from None


def _handler_request(what: str) -> _HandlerRequest:
    if not flask.has_request_context() or not hasattr(flask.request, "sid"):
        raise RuntimeError(f"{what}() without a sid or namespace only works inside a "
                           "Socket.IO handler; elsewhere pass sid=/to= and namespace=, or "
                           "use the methods of your SocketIO object")
    return cast(_HandlerRequest, flask.request)


def emit(event: str, *args: Any, namespace: str | None = None, to: Any = None,
         room: Any = None, broadcast: bool = False, include_self: bool = True,
         skip_sid: Any = None, callback: Callable[..., Any] | None = None,
         ignore_queue: bool = False, exclude: Any = None,
         volatile: bool = False) -> None:
    """Emit ``event`` from a handler: to the sender, unless ``to``/``room`` or
    ``broadcast=True`` say otherwise. ``namespace`` defaults to the handler's.
    ``exclude`` and ``volatile=True``: see :meth:`SocketIO.emit`."""
    running = running_handler()
    if running is not None and running.socketio is not None:  # the handler's connection
        socketio = running.socketio
        if (namespace is None and to is None and room is None and not broadcast
                and running.sid is not None and include_self and skip_sid is None
                and callback is None and exclude is None and not volatile
                and not ignore_queue):
            # the commonest: to the sender, in the handler's namespace
            socketio._emit_from_handler(event, args, running.namespace, running.sid)
            return
        if namespace is None:
            namespace = running.namespace
        if to is None:
            to = room
        if to is None and not broadcast:
            if namespace == running.namespace and running.sid is not None:
                to = running.sid  # what current_sid() answers for the handler's namespace
            else:
                to = current_sid(socketio._require_server(), namespace) or running.sid
        socketio.emit(event, *args, namespace=namespace, to=to, include_self=include_self,
                      skip_sid=skip_sid, callback=callback, ignore_queue=ignore_queue,
                      exclude=exclude, volatile=volatile)
        return
    if to is None:
        to = room
    if namespace is None or (to is None and not broadcast):
        request = _handler_request("emit")
        if namespace is None:
            namespace = request.namespace
        if to is None and not broadcast:
            to = current_sid(_socketio()._require_server(), namespace) or request.sid
    socketio = _socketio()
    socketio.emit(event, *args, namespace=namespace, to=to, include_self=include_self,
                  skip_sid=skip_sid, callback=callback, ignore_queue=ignore_queue,
                  exclude=exclude, volatile=volatile)


def send(message: Any, json: bool = False, namespace: str | None = None, to: Any = None,
         room: Any = None, broadcast: bool = False, include_self: bool = True,
         skip_sid: Any = None, callback: Callable[..., Any] | None = None,
         ignore_queue: bool = False, exclude: Any = None,
         volatile: bool = False) -> None:
    """Send a ``'message'`` (``'json'`` with ``json=True``) event from a handler."""
    emit("json" if json else "message", message, namespace=namespace, to=to, room=room,
         broadcast=broadcast, include_self=include_self, skip_sid=skip_sid,
         callback=callback, ignore_queue=ignore_queue, exclude=exclude, volatile=volatile)


def call(event: str, *args: Any, namespace: str | None = None, to: Any = None,
         timeout: float = 60, ignore_queue: bool = False) -> Any:
    """Emit ``event`` to one client (the sender by default) and return its ack."""
    running = running_handler()
    if running is not None and running.socketio is not None:
        socketio = running.socketio
        namespace = namespace or running.namespace
        if to is None:
            to = current_sid(socketio._require_server(), namespace) or running.sid
        return socketio.call(event, *args, to=to, namespace=namespace, timeout=timeout,
                             ignore_queue=ignore_queue)
    if namespace is None or to is None:
        request = _handler_request("call")
        namespace = namespace or request.namespace
        if to is None:
            to = current_sid(_socketio()._require_server(), namespace) or request.sid
    return _socketio().call(event, *args, to=to, namespace=namespace, timeout=timeout,
                            ignore_queue=ignore_queue)


def _room_target(what: str, sid: str | None, namespace: str | None) -> tuple[str, str]:
    if namespace is not None:
        check_namespace(namespace)
    running = running_handler()
    if (sid is None or namespace is None) and running is not None \
            and running.socketio is not None:
        namespace = namespace or running.namespace
        sid = sid or current_sid(running.socketio._require_server(), namespace) or running.sid
    elif sid is None or namespace is None:
        request = _handler_request(what)
        namespace = namespace or request.namespace
        sid = sid or current_sid(_socketio()._require_server(), namespace) or request.sid
    assert sid is not None and namespace is not None  # one of the branches found them
    return sid, namespace


def join_room(room: Any, sid: str | None = None, namespace: str | None = None) -> None:
    """Put a client (the sender by default) in ``room``."""
    sid, namespace = _room_target("join_room", sid, namespace)
    _socketio()._require_server().enter_room(sid, room, namespace=namespace)


def leave_room(room: Any, sid: str | None = None, namespace: str | None = None) -> None:
    """Take a client (the sender by default) out of ``room``."""
    sid, namespace = _room_target("leave_room", sid, namespace)
    _socketio()._require_server().leave_room(sid, room, namespace=namespace)


def close_room(room: Any, namespace: str | None = None) -> None:
    """Take every client out of ``room``."""
    if namespace is None:
        namespace = _handler_request("close_room").namespace
    _socketio().close_room(room, namespace=namespace)


def rooms(sid: str | None = None, namespace: str | None = None) -> list[Any]:
    """The rooms a client (the sender by default) is in, its own sid room included."""
    sid, namespace = _room_target("rooms", sid, namespace)
    return list(_socketio()._require_server().rooms(sid, namespace=namespace))


def disconnect(sid: str | None = None, namespace: str | None = None,
               silent: bool = False) -> None:
    """Disconnect a client (the sender by default) from a namespace.

    ``silent`` is accepted for compatibility and has no effect.
    """
    sid, namespace = _room_target("disconnect", sid, namespace)
    _socketio()._require_server().disconnect(sid, namespace=namespace)
