"""The Flask bridge: every handler runs inside the app and request contexts it expects.

For each event the bridge pushes an app context and a request context built from the
connection's handshake environ (so ``current_app``, ``g``, ``request`` and ``session``
work), sets ``request.sid``, ``request.namespace`` and ``request.event``, installs the
connection's session, runs the handler and routes what it raises. Per connection it
keeps a :class:`Connection` in the environ.
"""

from __future__ import annotations

import contextvars
import copy
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import flask
import socketio
from flask.ctx import RequestContext
from flask.sessions import SessionMixin
from werkzeug.datastructures import EnvironHeaders
from werkzeug.wrappers import Request as WerkzeugRequest

from .event_hooks import EventHooks, EventRefused, HookChain
from .wsgi_types import WSGIEnvironment

if TYPE_CHECKING:
    from .handlers import HandlerSpec
    from .recovery import RecoveryStore

logger = logging.getLogger("flask_socketio")

#: Where the bridge keeps a connection's :class:`Connection` in its environ.
CONNECTION_KEY = "flask_socketio.connection"
#: Where an engine may put itself in the environ of its sessions: what the handlers
#: of such a connection raise and nothing handles goes to the engine's
#: ``report_failure(source, exc)`` (else it is logged).
ENGINE_KEY = "flask_socketio.engine"
#: Where a connection's managed session lives (``manage_session=True``): the
#: handshake environ's ``'saved_session'``, where Flask-SocketIO keeps it too.
SAVED_SESSION_KEY = "saved_session"

#: What a connect handler may raise to refuse; never routed to error handlers.
REFUSALS = (socketio.exceptions.ConnectionRefusedError, ConnectionRefusedError)

_UNHANDLED: Any = object()

SessionObserver = Callable[[str, str, dict[str, Any], dict[str, Any]], None]
#: ``source(environ)``: the observer of the session of the connection of ``environ``,
#: if any (see :meth:`flask_socketio.toolkit_seam.ToolkitSeam.observe_sessions`).
SessionObserverSource = Callable[[WSGIEnvironment], "SessionObserver | None"]


class RunningHandler:
    """The handler the bridge runs in this context: its connection's ``sid`` and
    ``namespace`` (``request.sid`` and ``request.namespace``) and the ``SocketIO`` of
    its app (``None`` if the app has none), handed down to ``emit`` and friends
    instead of being found again through Flask's context-local proxies."""

    __slots__ = ("sid", "namespace", "socketio", "request")

    def __init__(self, sid: str | None, namespace: str, socketio: Any, request: Any) -> None:
        self.sid = sid
        self.namespace = namespace
        self.socketio = socketio
        #: The event's request object: a request context the handler pushes itself
        #: (``app.test_request_context()``, say) is not the handler's.
        self.request = request


#: Flask's ``request`` proxy (typed as the request it stands for): ``running_handler``
#: asks it for the current request object (Werkzeug's ``LocalProxy._get_current_object``).
_request_proxy: Any = flask.request

_RUNNING: contextvars.ContextVar[RunningHandler | None] = contextvars.ContextVar(
    "flask_socketio.running_handler", default=None)


def running_handler() -> RunningHandler | None:
    """The handler the bridge runs in the current context, if its request context is
    the current one (one lookup, instead of one per proxy attribute)."""
    running = _RUNNING.get()
    if running is None:
        return None
    try:
        current = _request_proxy._get_current_object()
    except RuntimeError:  # no request context at all
        return None
    return running if current is running.request else None


def current_sid(server: Any, namespace: str) -> str | None:
    """The sid in ``namespace`` of the connection whose handler is running, if any.

    A client has one sid per namespace, so a handler of ``'/'`` addressing
    ``'/chat'`` means the same client's ``'/chat'`` sid (``None`` if it has none).
    """
    running = running_handler()
    sid: str | None
    own_namespace: str | None
    if running is not None:
        sid, own_namespace = running.sid, running.namespace
    else:  # e.g. a request context copied into a task (copy_current_request_context)
        if not flask.has_request_context():
            return None
        request = flask.request
        sid = getattr(request, "sid", None)
        own_namespace = getattr(request, "namespace", None)
    if sid is None or own_namespace == namespace:
        return sid
    eio_sid = server.manager.eio_sid_from_sid(sid, own_namespace)
    return None if eio_sid is None else server.manager.sid_from_eio_sid(eio_sid, namespace)


class ManagedSession(dict[str, Any], SessionMixin):
    """The session of one Socket.IO connection, kept by the server (``manage_session``).

    It starts as a copy of the Flask session of the handshake request; changes made
    by handlers last for the connection and are never written back to the cookie.
    """


#: ``report(source, exc)``: an exception ``source`` raised that nothing handled.
FailureReport = Callable[[str, BaseException], None]


def log_failure(source: str, exc: BaseException) -> None:
    """Log an exception ``source`` raised that nothing handled."""
    logger.error("Unhandled exception in %s", source, exc_info=exc)


class Connection:
    """What the bridge keeps for one Engine.IO connection."""

    __slots__ = ("app", "session_observer", "report_failure", "route")

    def __init__(self, app: flask.Flask, report_failure: FailureReport) -> None:
        self.app = app
        #: The URL routing of the handshake request, worked out by the first event
        #: and reused by the next ones (``False``: this Flask cannot reuse it).
        self.route: _Route | Literal[False] | None = None
        #: Called as ``observer(event, namespace, before, after)`` when a handler changes the
        #: session; the test client sets it, production leaves it ``None``.
        self.session_observer: SessionObserver | None = None
        #: Called as ``report_failure(source, exc)`` with what a handler raised and
        #: nothing handled: the engine's (see :data:`ENGINE_KEY`), else logging.
        self.report_failure = report_failure


class _DiscardedResponse(flask.Response):
    """Where a session interface may write cookies nobody will read."""


#: What Flask's ``RequestContext.__init__`` sets (Flask 3.1); :class:`_EventContext`
#: sets the same, and is used only while a real context shows exactly these.
_CONTEXT_FIELDS = frozenset(("app", "request", "url_adapter", "flashes", "_session",
                             "_after_request_functions", "_cv_tokens"))


#: The environ keys Werkzeug's ``Request.__init__`` reads (Werkzeug 3.1), and the
#: attributes it sets: :class:`_RequestTemplate` is used only while a fresh request
#: shows exactly these attributes (the contract test checks the keys).
REQUEST_ENVIRON_KEYS = ("REQUEST_METHOD", "wsgi.url_scheme", "SERVER_NAME", "SERVER_PORT",
                        "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REMOTE_ADDR")
_REQUEST_FIELDS = frozenset(("method", "scheme", "server", "root_path", "path",
                             "query_string", "headers", "remote_addr", "environ", "shallow"))


class _RequestTemplate:
    """What ``app.request_class(environ)`` sets on a new request, worked out once per
    connection: each event's request is a new object with the same attributes (and
    its own ``EnvironHeaders``), as long as the environ values Werkzeug reads are
    what they were (a handler may change its ``request.environ``: then the request is
    built as usual)."""

    __slots__ = ("request_class", "fields", "sources")

    def __init__(self, request_class: type[WerkzeugRequest], environ: WSGIEnvironment,
                 fields: dict[str, Any] | None = None) -> None:
        self.request_class = request_class
        if fields is None:
            fields = dict(vars(request_class(environ, populate_request=False)))
        self.fields = fields
        self.sources = tuple(map(environ.get, REQUEST_ENVIRON_KEYS))

    @staticmethod
    def of(app: flask.Flask, environ: WSGIEnvironment,
           fields: dict[str, Any] | None = None) -> _RequestTemplate | None:
        """The template of ``app``'s requests for ``environ``; ``fields``: what a
        request of ``app.request_class`` just built for it set, if there is one."""
        request_class = app.request_class
        if request_class.__init__ is not WerkzeugRequest.__init__:
            return None  # a request class of the application's, with its own __init__
        template = _RequestTemplate(request_class, environ, fields)
        return template if set(template.fields) == _REQUEST_FIELDS else None

    @staticmethod
    def fields_of(app: flask.Flask, request: Any) -> dict[str, Any] | None:
        """What ``app.request_class(environ)`` set on ``request``, taken as it was
        built (``None`` for a request class with its own ``__init__``)."""
        if type(request).__init__ is not WerkzeugRequest.__init__:
            return None
        return dict(vars(request))

    def new(self, environ: WSGIEnvironment) -> Any:
        """``request_class(environ)``, or ``None`` if ``environ`` changed since."""
        if tuple(map(environ.get, REQUEST_ENVIRON_KEYS)) != self.sources:
            return None
        request = self.request_class.__new__(self.request_class)
        fields = request.__dict__
        fields.update(self.fields)
        fields["headers"] = EnvironHeaders(environ)
        fields["environ"] = environ
        environ["werkzeug.request"] = request  # as populate_request=True does
        return request


class _Route:
    """The URL routing of one connection's handshake request, as Flask worked it out
    for its first event: every event of the connection has the same environ, so the
    same URL adapter and the same match (or routing exception); and what its request
    objects are made of."""

    __slots__ = ("url_adapter", "url_rule", "view_args", "exception", "request_template")

    def __init__(self, ctx: RequestContext,
                 request_fields: dict[str, Any] | None = None) -> None:
        request = ctx.request
        self.url_adapter = ctx.url_adapter
        self.url_rule = request.url_rule
        self.view_args = request.view_args
        self.exception = request.routing_exception
        self.request_template = _RequestTemplate.of(ctx.app, request.environ, request_fields)

    @staticmethod
    def of(ctx: RequestContext,
           request_fields: dict[str, Any] | None = None) -> _Route | Literal[False]:
        """The route of ``ctx`` (pushed); ``request_fields``: what its request's
        ``__init__`` set (:meth:`_RequestTemplate.fields_of`), if known."""
        if type(ctx) is not RequestContext or set(vars(ctx)) != _CONTEXT_FIELDS:
            return False
        return _Route(ctx, request_fields)


class _EventContext(RequestContext):
    """Flask's request context for one event, reusing the connection's :class:`_Route`
    instead of binding the URL map to the environ and matching the URL again.

    Everything else is what ``RequestContext`` does: a new request object per
    event, the app context and the session opened on :meth:`push`.
    """

    def __init__(self, app: flask.Flask, environ: WSGIEnvironment, request: Any = None,
                 session: SessionMixin | None = None, route: _Route | None = None) -> None:
        if route is None:  # e.g. RequestContext.copy()
            super().__init__(app, environ, request=request, session=session)
            return
        self.app = app
        if request is None:
            template = route.request_template
            if template is not None:
                request = template.new(environ)
            if request is None:
                request = app.request_class(environ)
            request.json_module = app.json
        self.request = request
        self.url_adapter = route.url_adapter
        if route.url_adapter is None and route.exception is not None:
            request.routing_exception = _clone(route.exception)
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
            request.routing_exception = _clone(route.exception)
        else:
            request.url_rule = route.url_rule
            request.view_args = None if route.view_args is None else dict(route.view_args)


_E = TypeVar("_E", bound=BaseException)


def _clone(exception: _E) -> _E:
    """A copy of a routing exception (a fresh one per event: raising one changes it),
    as ``copy.copy`` makes, without its ``__reduce_ex__`` round trip and ``__init__``."""
    kind = type(exception)
    clone = kind.__new__(kind)
    clone.args = exception.args
    clone.__dict__.update(exception.__dict__)
    return clone


def _connect_refusal(refused: EventRefused) -> Exception:
    """The ``ConnectionRefusedError`` python-socketio turns into the CONNECT_ERROR."""
    refusal: Exception
    if refused.has_custom_ack:
        refusal = socketio.exceptions.ConnectionRefusedError(refused.message, refused.ack)
    else:
        refusal = socketio.exceptions.ConnectionRefusedError(refused.message)
    return refusal


#: An error handler: given what a handler raised, returns the acknowledgement.
ErrorHandler = Callable[[Exception], Any]


class HandlerServer(Protocol):
    """What the bridge needs of the python-socketio server of its connections."""

    #: What a dispatcher returns for an event no handler took.
    not_handled: Any
    #: The connection state recovery store, if recovery is on.
    recovery: RecoveryStore | None

    def get_environ(self, sid: str, namespace: str | None = None) -> WSGIEnvironment | None:
        """The handshake environ of connection ``sid`` of ``namespace``."""

    def start_background_task(self, target: Callable[..., Any], *args: Any,
                              **kwargs: Any) -> Any: ...

    def disconnect(self, sid: str, namespace: str | None = None) -> None: ...


class FlaskBridge:
    """Runs user handlers in Flask's contexts, for one ``SocketIO``.

    It is given what it uses, not the ``SocketIO``: ``app()``, the app of connections
    whose environ names none; ``server()``, the python-socketio server (environ
    lookup, recovery); ``hooks``, the event middleware; ``error_handler(namespace)``,
    the error handler registered for a namespace (or the default one);
    ``manage_session()``, whether the bridge keeps the Flask session per connection.
    """

    def __init__(self, *, app: Callable[[], flask.Flask | None],
                 server: Callable[[], HandlerServer], hooks: EventHooks,
                 error_handler: Callable[[str], ErrorHandler | None],
                 manage_session: Callable[[], bool]) -> None:
        self._app = app
        self._server = server
        self._hooks = hooks
        #: Asked for a connection's session observer when its state is made (the
        #: test toolkit sets it; production leaves it ``None``).
        self.session_observer_source: SessionObserverSource | None = None
        self._error_handler = error_handler
        self._manage_session = manage_session

    def connection(self, environ: WSGIEnvironment) -> Connection:
        state = environ.get(CONNECTION_KEY)
        if state is None:
            app = environ.get("flask.app") or self._app()
            if app is None:
                raise RuntimeError("a Socket.IO connection arrived for no Flask app")
            engine = environ.get(ENGINE_KEY)
            report = engine.report_failure if engine is not None else log_failure
            state = environ[CONNECTION_KEY] = Connection(app, report)
            source = self.session_observer_source
            if source is not None:  # the test toolkit's
                state.session_observer = source(environ)
        return state

    def dispatch(self, spec: HandlerSpec, args: tuple[Any, ...]) -> Any:
        """Run the handler ``spec`` with the arguments python-socketio called it with."""
        event, namespace, sid, user_args = spec.split(args)
        is_connect = spec.event == "connect"
        request_event = None
        hooks = hook_args = None
        if spec.event != "disconnect":
            hooks = self._hooks.chain(namespace, spec.owner)
            if hooks is not None:
                hook_args = args[spec.leading + 1:]
                if is_connect:  # (environ, auth): the hooks get (auth,)
                    hook_args = hook_args[1:2]
        if is_connect:
            environ = args[spec.leading + 1]
            # as Flask-SocketIO's: the arguments python-socketio gave, (environ, auth)
            request_event = {"message": "connect", "args": args[spec.leading + 1:]}
        else:
            environ = self._server().get_environ(sid, namespace)
            if spec.event == "*":  # as Flask-SocketIO's: the event name is in the args
                request_event = {"message": "*", "args": user_args}
        return self.run(spec.function, user_args, sid=sid, namespace=namespace, event=event,
                        environ=environ, is_connect=is_connect, on_error=spec.on_error,
                        request_event=request_event, hooks=hooks, hook_args=hook_args)

    def dispatch_unhandled(self, event: str, namespace: str, args: tuple[Any, ...],
                           owner: Any = None) -> Any:
        """Run the event hooks for an event no handler took (python-socketio's
        ``args``: ``(sid, environ, auth)`` for connect, ``(sid, *data)`` else).

        Returns the server's ``not_handled`` unless a hook refused the event or
        failed: then what the client's acknowledgement gets (``False`` refuses a
        connect)."""
        hooks = self._hooks.chain(namespace, owner)
        server = self._server()
        if hooks is None or event == "disconnect" or not args:
            return server.not_handled
        sid = args[0]
        if event == "connect":
            environ = args[1] if len(args) > 1 else None
            hook_args = args[2:3]
            request_event = {"message": "connect", "args": args[1:]}
        else:
            environ = server.get_environ(sid, namespace)
            hook_args = args[1:]
            request_event = {"message": event, "args": hook_args}
        handled = []

        def no_handler() -> None:
            handled.append(False)

        result = self.run(no_handler, (), sid=sid, namespace=namespace, event=event,
                          environ=environ, is_connect=event == "connect",
                          request_event=request_event, hooks=hooks, hook_args=hook_args)
        return server.not_handled if handled else result

    def run(self, function: Callable[..., Any], args: tuple[Any, ...], *, sid: str | None,
            namespace: str, event: str | None, environ: WSGIEnvironment | None,
            is_connect: bool = False,
            on_error: Callable[[Exception], Any] | None = None,
            request_event: dict[str, Any] | None = None,
            hooks: HookChain | None = None, hook_args: tuple[Any, ...] | None = None) -> Any:
        """Call ``function(*args)`` as a handler of ``event`` from ``sid``; what it
        raises goes to the error handlers, then to ``on_error``. ``request.event`` is
        ``request_event``, by default ``{"message": event, "args": args}``. The
        ``hooks`` run around it, given ``hook_args``."""
        if environ is None:
            return self._run_without_connection(function, args, namespace)
        connection = self.connection(environ)
        app = connection.app
        manage_session = self._manage_session()
        session = None
        if manage_session:
            session = environ.get(SAVED_SESSION_KEY)
            if session is None:
                session = environ[SAVED_SESSION_KEY] = self._open_managed_session(app, environ)
        route = connection.route
        request_fields = None
        if route:
            ctx: RequestContext = _EventContext(app, environ, session=session, route=route)
        elif route is None:  # the connection's first event: its route worked out
            # what RequestContext(app, environ) does, the new request's fields kept
            # for the connection's request template
            first_request = app.request_class(environ)
            request_fields = _RequestTemplate.fields_of(app, first_request)
            first_request.json_module = app.json
            ctx = RequestContext(app, environ, request=first_request, session=session)
        else:
            ctx = RequestContext(app, environ, session=session)
        ctx.push()
        if route is None:
            connection.route = _Route.of(ctx, request_fields)
        running = _RUNNING.set(RunningHandler(sid, namespace, app.extensions.get("socketio"),
                                              ctx.request))
        try:
            request = ctx.request
            request.sid = sid  # type: ignore[attr-defined]
            request.namespace = namespace  # type: ignore[attr-defined]
            if request_event is None:
                request_event = {"message": event, "args": args}
            request.event = request_event  # type: ignore[attr-defined]
            recovery = self._server().recovery
            recovered = recovery is not None and recovery.was_recovered(sid, namespace)
            request.recovered = recovered  # type: ignore[attr-defined]
            if recovered and is_connect and hooks is not None \
                    and recovery.options.skip_middlewares:  # type: ignore[union-attr]
                hooks = HookChain((), hooks.after)
            observer = connection.session_observer
            before = None
            if observer is not None:  # (the test client's: an empty session needs no copy)
                session = ctx.session
                before = copy.deepcopy(dict(session)) if session else {}
            error: BaseException | None = None
            refusal: BaseException | None = None
            try:
                if hooks is not None:
                    for hook in hooks.before:
                        hook(event or "", hook_args or ())
                result = function(*args)
            except EventRefused as exc:
                error, result = exc, exc.ack
                if is_connect:
                    result, refusal = False, _connect_refusal(exc)
                elif exc.disconnect and sid is not None:
                    self._disconnect_later(sid, namespace)
            except REFUSALS as exc:
                error = exc
                if is_connect:
                    result, refusal = False, exc
                else:
                    result = self._handle_exception(exc, connection, namespace, on_error)
            except Exception as exc:
                error = exc
                result = self._handle_exception(exc, connection, namespace, on_error)
                if is_connect and result is _UNHANDLED:
                    result = False  # a connect handler that failed refuses the connection
            if result is _UNHANDLED:
                result = None
            if hooks is not None:
                self._run_after_hooks(hooks, event or "", hook_args or (), result, error,
                                      connection)
            if refusal is not None:
                raise refusal
            if not manage_session and ctx.session.modified:
                app.session_interface.save_session(app, ctx.session, _DiscardedResponse())
            if observer is not None and before is not None:
                after = dict(ctx.session)
                if after != before:
                    observer(event or "", namespace, before, copy.deepcopy(after))
            return result
        finally:
            _RUNNING.reset(running)
            ctx.pop()

    def _run_after_hooks(self, hooks: HookChain, event: str, args: tuple[Any, ...], result: Any,
                         error: BaseException | None, connection: Connection) -> None:
        """Each after-event hook in turn; one that raises is reported (as an
        unhandled handler error) and the others still run."""
        for hook in hooks.after:
            try:
                hook(event, args, result, error)
            except Exception as exc:
                connection.report_failure("a Socket.IO handler", exc)

    def _disconnect_later(self, sid: str, namespace: str) -> None:
        """Disconnect ``sid`` from ``namespace`` once the event's acknowledgement is out."""
        server = self._server()
        server.start_background_task(server.disconnect, sid, namespace=namespace)

    @staticmethod
    def _open_managed_session(app: flask.Flask, environ: WSGIEnvironment) -> ManagedSession:
        """A copy of the handshake request's Flask session, kept for the connection."""
        with app.app_context():
            request = app.request_class(environ)
            interface = app.session_interface
            session = interface.open_session(app, request)
            if session is None:
                session = interface.make_null_session(app)
            return ManagedSession(session)

    def _run_without_connection(self, function: Callable[..., Any], args: tuple[Any, ...],
                                namespace: str) -> Any:
        app = self._app()
        if app is None or flask.has_app_context():
            return function(*args)
        with app.app_context():
            return function(*args)

    def _handle_exception(self, exc: Exception, connection: Connection, namespace: str,
                          on_error: Callable[[Exception], Any] | None = None) -> Any:
        """Route ``exc`` to an error handler, then to ``on_error`` if that raised too
        or there is none (the one that returns gives the result); else report it."""
        for handle in (self._error_handler(namespace), on_error):
            if handle is not None:
                try:
                    return handle(exc)
                except Exception as handler_exc:
                    exc = handler_exc
        connection.report_failure("a Socket.IO handler", exc)
        return _UNHANDLED
