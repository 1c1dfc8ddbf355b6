"""The Flask bridge: every handler runs inside the app and request contexts it expects.

For each event the bridge pushes an app context and a request context built from the
connection's handshake environ (so ``current_app``, ``g``, ``request`` and ``session``
work), sets ``request.sid``, ``request.namespace`` and ``request.event``, installs the
connection's session, runs the handler and routes what it raises. Per connection it
keeps a :class:`Connection` in the environ.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import flask
import socketio
from flask.ctx import RequestContext
from flask.sessions import SessionMixin

if TYPE_CHECKING:
    from .extension import SocketIO
    from .handlers import HandlerSpec

logger = logging.getLogger("flask_socketio")

#: The environ keys the bridge and the in-process transport use.
CONNECTION_KEY = "flask_socketio.connection"
INPROCESS_KEY = "flask_socketio.inprocess"
#: Where a connection's managed session lives (``manage_session=True``): the
#: handshake environ's ``'saved_session'``, where Flask-SocketIO keeps it too.
SAVED_SESSION_KEY = "saved_session"

#: What a connect handler may raise to refuse; never routed to error handlers.
REFUSALS = (socketio.exceptions.ConnectionRefusedError, ConnectionRefusedError)

_UNHANDLED: Any = object()

SessionObserver = Callable[[str, str, dict, dict], None]


def current_sid(server: Any, namespace: str) -> str | None:
    """The sid in ``namespace`` of the connection whose handler is running, if any.

    A client has one sid per namespace, so a handler of ``'/'`` addressing
    ``'/chat'`` means the same client's ``'/chat'`` sid (``None`` if it has none).
    """
    if not flask.has_request_context():
        return None
    request = flask.request
    sid = getattr(request, "sid", None)
    if sid is None or getattr(request, "namespace", None) == namespace:
        return sid
    eio_sid = server.manager.eio_sid_from_sid(sid, request.namespace)
    return None if eio_sid is None else server.manager.sid_from_eio_sid(eio_sid, namespace)


class ManagedSession(dict, SessionMixin):
    """The session of one Socket.IO connection, kept by the server (``manage_session``).

    It starts as a copy of the Flask session of the handshake request; changes made
    by handlers last for the connection and are never written back to the cookie.
    """


class Connection:
    """What the bridge keeps for one Engine.IO connection."""

    __slots__ = ("app", "session_observer", "scheduler", "route")

    def __init__(self, app: flask.Flask, scheduler: Any) -> None:
        self.app = app
        #: The URL routing of the handshake request, worked out by the first event
        #: and reused by the next ones (``False``: this Flask cannot reuse it).
        self.route: _Route | bool | None = None
        #: Called as ``observer(event, namespace, before, after)`` when a handler changes the
        #: session; the test client sets it, production leaves it ``None``.
        self.session_observer: SessionObserver | None = None
        #: The in-process scheduler for test connections, ``None`` on the network.
        self.scheduler = scheduler


class _DiscardedResponse(flask.Response):
    """Where a session interface may write cookies nobody will read."""


#: What Flask's ``RequestContext.__init__`` sets (Flask 3.1); :class:`_EventContext`
#: sets the same, and is used only while a real context shows exactly these.
_CONTEXT_FIELDS = frozenset(("app", "request", "url_adapter", "flashes", "_session",
                             "_after_request_functions", "_cv_tokens"))


class _Route:
    """The URL routing of one connection's handshake request, as Flask worked it out
    for its first event: every event of the connection has the same environ, so the
    same URL adapter and the same match (or routing exception)."""

    __slots__ = ("url_adapter", "url_rule", "view_args", "exception")

    def __init__(self, ctx: RequestContext) -> None:
        request = ctx.request
        self.url_adapter = ctx.url_adapter
        self.url_rule = request.url_rule
        self.view_args = request.view_args
        self.exception = request.routing_exception

    @staticmethod
    def of(ctx: RequestContext) -> _Route | bool:
        if type(ctx) is not RequestContext or set(vars(ctx)) != _CONTEXT_FIELDS:
            return False
        return _Route(ctx)


class _EventContext(RequestContext):
    """Flask's request context for one event, reusing the connection's :class:`_Route`
    instead of binding the URL map to the environ and matching the URL again.

    Everything else is what ``RequestContext`` does: a new request object per
    event, the app context and the session opened on :meth:`push`.
    """

    def __init__(self, app: flask.Flask, environ: dict, request: Any = None,
                 session: SessionMixin | None = None, route: _Route | None = None) -> None:
        if route is None:  # e.g. RequestContext.copy()
            super().__init__(app, environ, request=request, session=session)
            return
        self.app = app
        if request is None:
            request = app.request_class(environ)
            request.json_module = app.json
        self.request = request
        self.url_adapter = route.url_adapter
        if route.url_adapter is None and route.exception is not None:
            request.routing_exception = copy.copy(route.exception)
        self.flashes = None
        self._session = session
        self._after_request_functions = []
        self._cv_tokens = []
        self._route = route

    def match_request(self) -> None:
        route = getattr(self, "_route", None)
        if route is None:
            super().match_request()
            return
        request = self.request
        if route.exception is not None:
            request.routing_exception = copy.copy(route.exception)
        else:
            request.url_rule = route.url_rule
            request.view_args = None if route.view_args is None else dict(route.view_args)


class FlaskBridge:
    """Runs user handlers for one :class:`~flask_socketio.SocketIO`."""

    def __init__(self, extension: SocketIO) -> None:
        self.extension = extension

    def connection(self, environ: dict) -> Connection:
        state = environ.get(CONNECTION_KEY)
        if state is None:
            app = environ.get("flask.app") or self.extension.app
            if app is None:
                raise RuntimeError("a Socket.IO connection arrived for no Flask app")
            inprocess = environ.get(INPROCESS_KEY)
            state = environ[CONNECTION_KEY] = Connection(
                app, inprocess.scheduler if inprocess is not None else None)
        return state

    def dispatch(self, spec: HandlerSpec, args: tuple) -> Any:
        """Run the handler ``spec`` with the arguments python-socketio called it with."""
        event, namespace, sid, user_args = spec.split(args)
        is_connect = spec.event == "connect"
        request_event = None
        if is_connect:
            environ = args[spec.leading + 1]
            # as Flask-SocketIO's: the arguments python-socketio gave, (environ, auth)
            request_event = {"message": "connect", "args": args[spec.leading + 1:]}
        else:
            environ = self.extension._require_server().get_environ(sid, namespace)
            if spec.event == "*":  # as Flask-SocketIO's: the event name is in the args
                request_event = {"message": "*", "args": user_args}
        return self.run(spec.function, user_args, sid=sid, namespace=namespace, event=event,
                        environ=environ, is_connect=is_connect, on_error=spec.on_error,
                        request_event=request_event)

    def run(self, function: Callable[..., Any], args: tuple, *, sid: str | None,
            namespace: str, event: str | None, environ: dict | None,
            is_connect: bool = False,
            on_error: Callable[[Exception], Any] | None = None,
            request_event: dict[str, Any] | None = None) -> Any:
        """Call ``function(*args)`` as a handler of ``event`` from ``sid``; what it
        raises goes to the error handlers, then to ``on_error``. ``request.event`` is
        ``request_event``, by default ``{"message": event, "args": args}``."""
        if environ is None:
            return self._run_without_connection(function, args, namespace)
        connection = self.connection(environ)
        app = connection.app
        manage_session = self.extension.manage_session
        session = None
        if manage_session:
            session = environ.get(SAVED_SESSION_KEY)
            if session is None:
                session = environ[SAVED_SESSION_KEY] = self._open_managed_session(app, environ)
        route = connection.route
        if route:
            ctx: RequestContext = _EventContext(app, environ, session=session, route=route)
        else:
            ctx = RequestContext(app, environ, session=session)
        ctx.push()
        if route is None:
            connection.route = _Route.of(ctx)
        try:
            request = ctx.request
            request.sid = sid  # type: ignore[attr-defined]
            request.namespace = namespace  # type: ignore[attr-defined]
            if request_event is None:
                request_event = {"message": event, "args": args}
            request.event = request_event  # type: ignore[attr-defined]
            observer = connection.session_observer
            before = copy.deepcopy(dict(ctx.session)) if observer is not None else None
            try:
                result = function(*args)
            except REFUSALS as exc:
                if is_connect:
                    raise
                result = self._handle_exception(exc, connection, namespace, on_error)
            except Exception as exc:
                result = self._handle_exception(exc, connection, namespace, on_error)
                if is_connect and result is _UNHANDLED:
                    result = False  # a connect handler that failed refuses the connection
            if result is _UNHANDLED:
                result = None
            if not manage_session and ctx.session.modified:
                app.session_interface.save_session(app, ctx.session, _DiscardedResponse())
            if observer is not None and before is not None:
                after = dict(ctx.session)
                if after != before:
                    observer(event or "", namespace, before, copy.deepcopy(after))
            return result
        finally:
            ctx.pop()

    @staticmethod
    def _open_managed_session(app: flask.Flask, environ: dict) -> ManagedSession:
        """A copy of the handshake request's Flask session, kept for the connection."""
        with app.app_context():
            request = app.request_class(environ)
            interface = app.session_interface
            session = interface.open_session(app, request)
            if session is None:
                session = interface.make_null_session(app)
            return ManagedSession(session)

    def _run_without_connection(self, function: Callable[..., Any], args: tuple,
                                namespace: str) -> Any:
        app = self.extension.app
        if app is None or flask.has_app_context():
            return function(*args)
        with app.app_context():
            return function(*args)

    def _handle_exception(self, exc: Exception, connection: Connection, namespace: str,
                          on_error: Callable[[Exception], Any] | None = None) -> Any:
        """Route ``exc`` to an error handler, then to ``on_error`` if that raised too
        or there is none (the one that returns gives the result); else report it."""
        ext = self.extension
        handler = ext.exception_handlers.get(namespace) or ext.default_exception_handler
        for handle in (handler, on_error):
            if handle is not None:
                try:
                    return handle(exc)
                except Exception as handler_exc:
                    exc = handler_exc
        self.report(exc, connection.scheduler)
        return _UNHANDLED

    def report(self, exc: BaseException, scheduler: Any) -> None:
        """An unhandled handler error: the test sees it in-process, else it is logged."""
        if scheduler is not None:
            scheduler.report_failure("a Socket.IO handler", exc)
        else:
            logger.error("Unhandled exception in a Socket.IO handler", exc_info=exc)
