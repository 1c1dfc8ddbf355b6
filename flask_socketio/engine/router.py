"""Puts the network engine, and an engine attached beside it, behind python-socketio's ``eio``.

python-socketio's ``Server`` talks to one Engine.IO object. The router is that
object: HTTP requests go to the network engine (ours or python-engineio's), and each
call about a session goes to the engine that owns it (``engine.owns(sid)``).

An :class:`~.base.AttachedEngine` is attached with :meth:`EngineRouter.attach` (the
test toolkit attaches its in-process engine when a test client is made, or when a
test runner adopts the server, see :mod:`.adoption`). From then on background tasks,
sleeps, events and the clock asked for by a greenlet the attached engine serves
(``engine.serves_caller()``: a test's code, a task of its scheduler) are its; asked
for by any other greenlet (a live server's thread beside the test, a gevent
greenlet) they are the network engine's. Ownership is decided per greenlet, never
by thread id, so it holds in monkey-patched processes too. Test clients and live
clients share one server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import greenlet

from ..recovery import take_reused_sid
from ..wsgi_types import StartResponse, WSGIEnvironment
from . import adoption
from .base import AttachedEngine, Cancellable, Engine
from .surface import EngineSurface

#: Tasks started on the network engine before a server is served or adopted, kept (at
#: most this many) so that adoption can move those that have not run yet.
MAX_EARLY_TASKS = 64

#: The network engines, by the name the ``engine`` option gives them.
ENGINES = ("native", "engineio")


def network_engine(name: str | None, options: dict[str, Any]) -> Engine:
    """The network Engine.IO server: ours (``'native'``) for gevent, by default, or
    python-engineio's (``'engineio'``, and for every other async mode)."""
    if name is None:
        name = "native" if options.get("async_mode", "gevent") == "gevent" else "engineio"
    if name == "native":
        from .native import NativeEngine

        return NativeEngine(**options)
    if name == "engineio":
        from .python_engineio import EngineIOServer

        engine: Engine = EngineIOServer(**options)
        return engine
    raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {name!r}")


class EngineRouter(EngineSurface):
    """The ``eio`` of our python-socketio server (with python-engineio's settings and
    sessions, see :class:`~flask_socketio.engine.surface.EngineSurface`)."""

    def __init__(self, engine: str | None = None, **engineio_options: Any) -> None:
        #: The network engine (python-engineio's settings are read from it too, see
        #: :class:`~.surface.EngineSurface`).
        self.network: Engine = network_engine(engine, engineio_options)
        #: The engine attached beside the network one, if any (see :meth:`attach`).
        self.attached: AttachedEngine | None = None
        #: Set when a message queue listener delivers from a thread of its own, so
        #: in-process clients know to wait for deliveries from other threads.
        self.external_listeners = False
        self._handlers: dict[str, Callable[..., Any]] = {}
        #: The (real) thread serving network requests and its gevent hub: network
        #: sessions are written to there, since gevent queues serve one thread only.
        self._network_thread: int | None = None
        self._network_hub: Any = None
        #: ``(greenlet, target, args, kwargs)`` of gevent tasks started before the
        #: server was served or adopted; ``None`` once it is either.
        self._early_tasks: list[
            tuple[Any, Callable[..., Any], tuple[Any, ...], dict[str, Any]]] | None = []
        self._served = False
        if adoption.in_test is not None and adoption.in_test():
            self.adopt()  # made by a test's own code: under test from the start

    @property
    def async_mode(self) -> str:
        mode: str = self.network.async_mode
        return mode

    def runs_on_attached_engine(self) -> bool:
        """Does the caller's work run on the attached engine (rather than on the
        network's: a live server's thread, another greenlet)? A server made by code
        a test runner says is a test's (see :mod:`.adoption`) is adopted first."""
        attached = self.attached
        if attached is None:
            if adoption.in_test is None or not adoption.in_test():
                return False
            attached = self.adopt()
        return attached.serves_caller()

    def caller_engine(self) -> Engine:
        """The engine whose tasks, sleeps, events and clock serve the caller: the
        attached one for the callers it serves, else the network's."""
        if self.runs_on_attached_engine():  # (which may adopt: attach an engine)
            attached = self.attached
            assert attached is not None
            return attached
        return self.network

    @property
    def _async_engine(self) -> Any:
        return self.caller_engine()

    def adopt(self) -> AttachedEngine:
        """Attach the engine the test runner makes (``adoption.make_engine``), unless
        one is attached already."""
        if self.attached is None:
            if adoption.make_engine is None:
                raise RuntimeError("no test runner makes engines to attach")
            return self.attach(adoption.make_engine(self.network.generate_id))
        return self.attached

    def _owner(self, sid: str) -> Engine:
        attached = self.attached
        if attached is not None and attached.owns(sid):
            return attached
        network: Engine = self.network
        return network

    def attach(self, engine: AttachedEngine) -> AttachedEngine:
        """Attach ``engine`` beside the network one (the first one attached stays:
        it is returned). It gets the event handlers, and the tasks started on the
        network that have not run yet (in an app factory, before the first test
        client) move to it."""
        if self.attached is not None:
            return self.attached
        for event, handler in self._handlers.items():
            engine.on(event, handler)
        self.attached = engine
        early, self._early_tasks = self._early_tasks, None
        for task, target, args, kwargs in early or ():
            if not task.dead and not greenlet.greenlet.__bool__(task):  # not started
                task.kill(block=False)
                engine.start_background_task(target, *args, **kwargs)
        for listener in adoption.adopted:
            listener(self)
        return engine

    def serves_network(self) -> bool:
        """Has this server handled a network request (a live server shares it)?"""
        return self._served

    def report_failure(self, sid: str, source: str, exc: BaseException) -> None:
        """An exception server code raised for session ``sid``, that no handler took:
        to the engine that owns the session (logged on the network)."""
        self._owner(sid).report_failure(source, exc)

    # the engine interface -----------------------------------------------------------

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            self._handlers[event] = handler
            self.network.on(event, handler)
            if self.attached is not None:
                self.attached.on(event, handler)
            return handler

        return register if handler is None else register(handler)

    def _in_network_thread(self, function: Callable[..., Any], *args: Any) -> None:
        """Call ``function`` in the thread serving the network (now, if this is it).

        Called from another thread (a test emitting to a live server's clients), it
        is handed to that thread's hub: gevent's queues and events wake only
        greenlets of the thread they belong to.
        """
        hub = self._network_hub
        if hub is None or hub.loop is None or _real_thread_id() == self._network_thread:
            function(*args)
            return
        import gevent

        hub.loop.run_callback_threadsafe(gevent.spawn, function, *args)

    def send(self, sid: str, data: Any) -> None:
        owner = self._owner(sid)
        if owner is self.network:
            self._in_network_thread(owner.send, sid, data)
        else:
            owner.send(sid, data)

    def send_packet(self, sid: str, pkt: Any) -> None:
        # once per recipient of a broadcast: _owner and _in_network_thread inlined
        attached = self.attached
        if attached is not None and attached.owns(sid):
            attached.send_packet(sid, pkt)
            return
        hub = self._network_hub
        if hub is None or hub.loop is None or _real_thread_id() == self._network_thread:
            self.network.send_packet(sid, pkt)
        else:
            self._in_network_thread(self.network.send_packet, sid, pkt)

    def send_volatile(self, sid: str, pkts: list[Any]) -> None:
        """Send the Engine.IO packets of one volatile message to session ``sid`` if
        its transport is ready for them, else drop them (counted in
        :attr:`volatile_dropped`)."""
        attached = self.attached
        if attached is not None and attached.owns(sid):
            attached.send_volatile(sid, pkts)
        else:
            self._in_network_thread(self.network.send_volatile, sid, pkts)

    @property
    def volatile_dropped(self) -> int:
        """Volatile messages dropped (not sent) since the server was made, by every
        engine."""
        count = self.network.volatile_dropped
        if self.attached is not None:
            count += self.attached.volatile_dropped
        return count

    def disconnect(self, sid: str | None = None) -> None:
        if sid is None:
            self._in_network_thread(self.network.disconnect)
            if self.attached is not None:
                self.attached.disconnect()
        elif self._owner(sid) is self.network:
            self._in_network_thread(self.network.disconnect, sid)
        else:
            self._owner(sid).disconnect(sid)

    def transport(self, sid: str) -> str:
        transport: str = self._owner(sid).transport(sid)
        return transport

    def get_session(self, sid: str) -> dict[str, Any]:
        session: dict[str, Any] = self._owner(sid).get_session(sid)
        return session

    def save_session(self, sid: str, session: dict[str, Any]) -> None:
        self._owner(sid).save_session(sid, session)

    def generate_id(self) -> str:
        # python-socketio's managers make a connection's sid here: a recovered
        # connection gets its old one back (flask_socketio.recovery.reusing_sid).
        reused = take_reused_sid()
        return reused if reused is not None else self.network.generate_id()

    def start_background_task(self, target: Callable[..., Any], *args: Any,
                              **kwargs: Any) -> Any:
        engine = self._async_engine
        task = engine.start_background_task(target, *args, **kwargs)
        early = self._early_tasks
        if (engine is self.network and early is not None and len(early) < MAX_EARLY_TASKS
                and type(task).__module__.startswith("gevent")):  # can be unscheduled
            early.append((task, target, args, kwargs))
        return task

    def call_later(self, sid: str, delay: float, target: Callable[..., Any],
                   *args: Any) -> Cancellable:
        """Run ``target(*args)`` as a task after ``delay`` seconds on the clock of the
        engine that owns session ``sid``; the result's ``cancel()`` prevents it."""
        return self._owner(sid).call_later(delay, target, *args)

    def run_event(self, sid: str, target: Callable[..., Any], *args: Any) -> None:
        """Run the handling of one event from session ``sid`` concurrently with its
        reads, the owning engine's way (the native engine reuses a worker greenlet
        per session)."""
        self._owner(sid).run_event(sid, target, *args)

    def sleep(self, seconds: float = 0) -> None:
        self._async_engine.sleep(seconds)

    def monotonic(self) -> float:
        """Seconds on the caller's clock: the attached engine's for the callers it
        serves (a test's virtual clock), else ``time.monotonic()``."""
        if self.runs_on_attached_engine() and self.attached is not None:
            return self.attached.monotonic()
        return time.monotonic()

    def create_event(self, *args: Any, **kwargs: Any) -> Any:
        return self._async_engine.create_event()

    def create_queue(self, *args: Any, **kwargs: Any) -> Any:
        return self._async_engine.create_queue(*args, **kwargs)

    def get_queue_empty_exception(self) -> type[Exception]:
        empty: type[Exception] = self._async_engine.get_queue_empty_exception()
        return empty

    def handle_request(self, environ: WSGIEnvironment,
                       start_response: StartResponse) -> Iterable[bytes]:
        self._early_tasks = None  # served: its tasks are the network's
        self._served = True
        if self.network.async_mode == "gevent":
            thread = _real_thread_id()
            if thread != self._network_thread:  # the first request, or a new server thread
                import gevent

                self._network_thread = thread
                self._network_hub = gevent.get_hub()
        response: Iterable[bytes] = self.network.handle_request(environ, start_response)
        return response

    def shutdown(self) -> None:
        self.network.shutdown()
        if self.attached is not None:
            self.attached.shutdown()


def _real_thread_id() -> int:
    """The OS thread's id, even under gevent's monkey-patching (where threads are greenlets)."""
    global _get_ident
    if _get_ident is None:
        from gevent.monkey import get_original

        _get_ident = get_original("_thread", "get_ident")
    return _get_ident()


_get_ident: Callable[[], int] | None = None


def listeners_need_threads(eio: Any) -> bool:
    """Does a message queue listener started now by the caller of server ``eio`` need
    a thread of its own (see :attr:`.base.Engine.listeners_need_threads`)? False for
    an ``eio`` that is not ours (python-socketio's own, an external emitter's)."""
    return isinstance(eio, EngineRouter) and eio.caller_engine().listeners_need_threads


def runs_service_tasks(eio: Any) -> bool:
    """Do endless service tasks started now by the caller of server ``eio`` run (see
    :attr:`.base.Engine.runs_service_tasks`)? True for an ``eio`` that is not ours."""
    return not isinstance(eio, EngineRouter) or eio.caller_engine().runs_service_tasks
