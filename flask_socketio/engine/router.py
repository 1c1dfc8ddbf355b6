"""Puts the network engine and the in-process engine behind python-socketio's ``eio``.

python-socketio's ``Server`` talks to one Engine.IO object. The router is that
object: HTTP requests go to the network engine (python-engineio), in-process test
clients to :class:`InProcessEngine`, and each call about a session goes to the
engine that owns it.

Once a server is under test (it has an in-process engine: a test client was made,
or a test runner's plugin adopted it, see :mod:`.adoption`), background tasks, sleeps
and events asked for by the test's own code or by a task of its scheduler run on that
deterministic scheduler, whenever and by whoever started. Asked for by any other
greenlet (a live server's thread beside the test, a gevent greenlet), they use the
network engine's async mode. Ownership is decided per greenlet, never by thread id,
so it holds in monkey-patched processes too. Test clients and live clients share
one server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import engineio
import greenlet

from ..recovery import take_reused_sid
from ..wsgi_types import StartResponse, WSGIEnvironment
from . import adoption
from .inprocess import InProcessEngine
from .surface import EngineSurface

#: Tasks started on the network engine before a server is served or adopted, kept (at
#: most this many) so that adoption can move those that have not run yet.
MAX_EARLY_TASKS = 64

#: The network engines, by the name the ``engine`` option gives them.
ENGINES = ("native", "engineio")


def network_engine(name: str | None, options: dict[str, Any]) -> Any:
    """The network Engine.IO server: ours (``'native'``) for gevent, by default, or
    python-engineio's (``'engineio'``, and for every other async mode)."""
    if name is None:
        name = "native" if options.get("async_mode", "gevent") == "gevent" else "engineio"
    if name == "native":
        from .native import NativeEngine

        return NativeEngine(**options)
    if name == "engineio":
        return engineio.Server(**options)
    raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {name!r}")


class _SleepingTask:
    """``call_later`` for engines without timers (python-engineio): a task that waits
    on an event for ``delay`` and runs ``target`` unless the event was set."""

    def __init__(self, engine: Any, delay: float, target: Callable[..., Any],
                 args: tuple[Any, ...]) -> None:
        self._cancelled = engine.create_event()
        engine.start_background_task(self._run, delay, target, args)

    def _run(self, delay: float, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if not self._cancelled.wait(delay):
            target(*args)

    def cancel(self) -> None:
        self._cancelled.set()


class EngineRouter(EngineSurface):
    """The ``eio`` of our python-socketio server (with python-engineio's settings and
    sessions, see :class:`~flask_socketio.engine.surface.EngineSurface`)."""

    def __init__(self, engine: str | None = None, **engineio_options: Any) -> None:
        self.network = network_engine(engine, engineio_options)
        self.inprocess: InProcessEngine | None = None
        #: Set when a message queue listener delivers from a thread of its own, so
        #: in-process clients know to wait for deliveries from other threads.
        self.external_listeners = False
        self._volatile_dropped = 0
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

    def runs_on_test_scheduler(self) -> bool:
        """Is the caller the test's code or a task driving this server's in-process
        engine (rather than a live server's thread or another greenlet)?"""
        inprocess = self.inprocess
        if inprocess is None:
            if adoption.in_test is None or not adoption.in_test():
                return False
            inprocess = self.adopt()
        return inprocess.scheduler_for_caller() is not None

    @property
    def _async_engine(self) -> Any:
        return self.inprocess if self.runs_on_test_scheduler() else self.network

    def adopt(self) -> InProcessEngine:
        """Put this server under test (see :meth:`attach_inprocess`)."""
        return self.attach_inprocess()

    def _owner(self, sid: str) -> Any:
        inprocess = self.inprocess
        if inprocess is not None and sid in inprocess.sockets:
            return inprocess
        return self.network

    def attach_inprocess(self) -> InProcessEngine:
        """The in-process engine, created and wired on first use: the server is then
        under test, and tasks it started on the network that have not run yet (in an
        app factory, before the first test client) move to the test's scheduler."""
        if self.inprocess is None:
            engine = InProcessEngine(self.network.generate_id)
            for event, handler in self._handlers.items():
                engine.on(event, handler)
            self.inprocess = engine
            early, self._early_tasks = self._early_tasks, None
            for task, target, args, kwargs in early or ():
                if not task.dead and not greenlet.greenlet.__bool__(task):  # not started
                    task.kill(block=False)
                    engine.scheduler.start_background_task(target, *args, **kwargs)
            for listener in adoption.adopted:
                listener(self)
        return self.inprocess

    def serves_network(self) -> bool:
        """Has this server handled a network request (a live server shares it)?"""
        return self._served

    def is_inprocess(self, sid: str) -> bool:
        return self.inprocess is not None and sid in self.inprocess.sockets

    # the engine interface -----------------------------------------------------------

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            self._handlers[event] = handler
            self.network.on(event, handler)
            if self.inprocess is not None:
                self.inprocess.on(event, handler)
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
        inprocess = self.inprocess
        if inprocess is not None and sid in inprocess.sockets:
            inprocess.send_packet(sid, pkt)
            return
        hub = self._network_hub
        if hub is None or hub.loop is None or _real_thread_id() == self._network_thread:
            self.network.send_packet(sid, pkt)
        else:
            self._in_network_thread(self.network.send_packet, sid, pkt)

    def send_volatile(self, sid: str, pkts: list[Any]) -> None:
        """Send the Engine.IO packets of one volatile message to session ``sid`` if
        its transport is ready for them, else drop them (counted in
        :attr:`volatile_dropped`). python-engineio, which has no such notion, gets
        them when the session is connected, not upgrading, and has nothing queued."""
        owner = self._owner(sid)
        if owner is not self.network:
            owner.send_volatile(sid, pkts)
        elif hasattr(owner, "send_volatile"):
            self._in_network_thread(owner.send_volatile, sid, pkts)
        else:
            self._in_network_thread(self._send_volatile_engineio, sid, pkts)

    def _send_volatile_engineio(self, sid: str, pkts: list[Any]) -> None:
        socket = self.network.sockets.get(sid)
        if (socket is None or not socket.connected or socket.closing or socket.closed
                or socket.upgrading or not socket.queue.empty()):
            self._volatile_dropped += 1
            return
        for pkt in pkts:
            self.network.send_packet(sid, pkt)

    @property
    def volatile_dropped(self) -> int:
        """Volatile messages dropped (not sent) since the server was made, by every
        engine."""
        count = self._volatile_dropped + getattr(self.network, "volatile_dropped", 0)
        if self.inprocess is not None:
            count += self.inprocess.volatile_dropped
        return count

    def disconnect(self, sid: str | None = None) -> None:
        if sid is None:
            self._in_network_thread(self.network.disconnect)
            if self.inprocess is not None:
                self.inprocess.disconnect()
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
                   *args: Any) -> Any:
        """Run ``target(*args)`` as a task after ``delay`` seconds on the clock of the
        engine that owns session ``sid``; the result's ``cancel()`` prevents it."""
        engine = self._owner(sid)
        if hasattr(engine, "call_later"):
            return engine.call_later(delay, target, *args)
        return _SleepingTask(engine, delay, target, args)

    def run_event(self, sid: str, target: Callable[..., Any], *args: Any) -> None:
        """Run the handling of one event from session ``sid`` concurrently with its
        reads: the owning engine's own way if it has one (the native engine reuses a
        worker greenlet per session), else as a background task."""
        engine = self._owner(sid)
        if hasattr(engine, "run_event"):
            engine.run_event(sid, target, *args)
        else:
            engine.start_background_task(target, *args)

    def sleep(self, seconds: float = 0) -> None:
        self._async_engine.sleep(seconds)

    def monotonic(self) -> float:
        """Seconds on the caller's clock: the virtual clock of the test's scheduler,
        else ``time.monotonic()``."""
        if self.runs_on_test_scheduler() and self.inprocess is not None:
            return self.inprocess.monotonic()
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
        if self.inprocess is not None:
            self.inprocess.shutdown()


def _real_thread_id() -> int:
    """The OS thread's id, even under gevent's monkey-patching (where threads are greenlets)."""
    global _get_ident
    if _get_ident is None:
        from gevent.monkey import get_original

        _get_ident = get_original("_thread", "get_ident")
    return _get_ident()


_get_ident: Callable[[], int] | None = None
