"""The engine seam: the router routes each session to the engine that owns it, any
``AttachedEngine`` can be attached (the in-process one is just one of them), and the
network engines implement the whole ``Engine`` interface (no capability probing)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from flask_socketio.engine import adoption
from flask_socketio.engine.base import CancelBy, Cancellable
from flask_socketio.engine.python_engineio import EngineIOServer
from flask_socketio.engine.router import EngineRouter, listeners_need_threads, runs_service_tasks


@pytest.fixture(autouse=True)
def no_test_runner(monkeypatch):
    """Routers made here are not adopted by the pytest plugin: the tests attach."""
    monkeypatch.setattr(adoption, "in_test", None)


class FakeEngine:
    """An attached engine that owns the sessions it is told of and records calls."""

    async_mode = "fake"
    listeners_need_threads = True
    runs_service_tasks = False

    def __init__(self, sids: set[str]) -> None:
        self.sids = sids
        self.calls: list[tuple[Any, ...]] = []
        self.volatile_dropped = 0
        self.serving = True

    def owns(self, sid: str) -> bool:
        return sid in self.sids

    def serves_caller(self) -> bool:
        return self.serving

    def monotonic(self) -> float:
        return 42.0

    def on(self, event: str, handler: Any = None) -> Any:
        self.calls.append(("on", event))

    def send_packet(self, sid: str, pkt: Any) -> None:
        self.calls.append(("send_packet", sid, pkt))

    def run_event(self, sid: str, target: Any, *args: Any) -> None:
        self.calls.append(("run_event", sid))
        target(*args)

    def call_later(self, delay: float, target: Any, *args: Any) -> Cancellable:
        self.calls.append(("call_later", delay))
        return CancelBy(lambda: None)

    def report_failure(self, source: str, exc: BaseException) -> None:
        self.calls.append(("report_failure", source, exc))

    def start_background_task(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(("start_background_task", target))

    def transport(self, sid: str) -> str:
        return "fake"

    def shutdown(self) -> None:
        pass


def test_sessions_go_to_the_engine_that_owns_them():
    router = EngineRouter(engine="engineio", async_mode="threading")
    router.on("message", lambda *args: None)
    fake = FakeEngine({"mine"})
    assert router.attach(fake) is fake
    assert ("on", "message") in fake.calls  # the handlers registered before
    router.send_packet("mine", "pkt")
    ran = []
    router.run_event("mine", ran.append, 1)
    assert router.call_later("mine", 5, print).cancel() is None
    error = ValueError("boom")
    router.report_failure("mine", "a handler", error)
    assert router.transport("mine") == "fake"
    assert fake.calls[1:] == [("send_packet", "mine", "pkt"), ("run_event", "mine"),
                              ("call_later", 5), ("report_failure", "a handler", error)]
    assert ran == [1]


def test_the_first_attached_engine_stays():
    router = EngineRouter(engine="engineio", async_mode="threading")
    first, second = FakeEngine(set()), FakeEngine(set())
    router.attach(first)
    assert router.attach(second) is first
    assert router.attached is first


def test_the_attached_engine_has_the_clock_and_tasks_of_the_callers_it_serves():
    router = EngineRouter(engine="engineio", async_mode="threading")
    fake = FakeEngine(set())
    router.attach(fake)
    assert router.monotonic() == 42.0
    router.start_background_task(print)
    assert ("start_background_task", print) in fake.calls
    fake.serving = False  # another greenlet's: the network's
    assert router.monotonic() != 42.0


def test_python_engineio_runs_events_and_timers_and_logs_failures(caplog):
    engine = EngineIOServer(async_mode="threading")
    ran = threading.Event()
    engine.run_event("sid", ran.set)
    assert ran.wait(5)
    fired, cancelled = threading.Event(), threading.Event()
    engine.call_later(0.01, fired.set)
    engine.call_later(0.2, cancelled.set).cancel()
    assert fired.wait(5)
    assert not cancelled.wait(0.5)
    with caplog.at_level(logging.ERROR, logger="flask_socketio.engine"):
        engine.report_failure("a handler", ValueError("boom"))
    assert "Unhandled exception in a handler" in caplog.text
    assert "ValueError: boom" in caplog.text


def test_native_engine_timers_fire_once_in_a_greenlet_and_cancel():
    import gevent

    engine = EngineRouter(engine="native", async_mode="gevent").network
    fired = []
    engine.call_later(0.01, lambda: fired.append(gevent.getcurrent()))
    cancelled = engine.call_later(0.01, fired.append, "cancelled")
    now = engine.call_later(-1, fired.append, "now")  # (a negative delay: at once)
    cancelled.cancel()
    gevent.sleep(0.1)
    assert fired[0] == "now" and isinstance(fired[1], gevent.Greenlet) and len(fired) == 2
    now.cancel()  # after it fired: harmless
    cancelled.cancel()
    gevent.sleep(0.05)
    assert len(fired) == 2


@pytest.mark.parametrize("engine", ["native", "engineio"])
def test_every_network_engine_implements_the_required_members(engine):
    mode = "gevent" if engine == "native" else "threading"
    router = EngineRouter(engine=engine, async_mode=mode)
    for member in ("run_event", "call_later", "report_failure"):
        assert callable(getattr(router.network, member))
    assert router.network.listeners_need_threads is False
    assert router.network.runs_service_tasks is True


def test_the_in_process_engine_declares_its_capabilities():
    from flask_socketio.testing.inprocess import InProcessEngine

    assert InProcessEngine.listeners_need_threads is True
    assert InProcessEngine.runs_service_tasks is False


def test_queue_and_cluster_code_ask_the_callers_engine_not_whether_it_is_a_test():
    router = EngineRouter(engine="engineio", async_mode="threading")
    assert not listeners_need_threads(router) and runs_service_tasks(router)
    fake = FakeEngine(set())
    router.attach(fake)
    assert listeners_need_threads(router) and not runs_service_tasks(router)
    fake.serving = False  # a caller of the network engine's
    assert not listeners_need_threads(router) and runs_service_tasks(router)
    other = object()  # not our router: python-socketio's own eio, an emitter's
    assert not listeners_need_threads(other) and runs_service_tasks(other)


class _ListenerBase:
    """Stands for a python-socketio pub/sub manager: records how it was started."""

    write_only = False
    name = "probe"

    def __init__(self, server: Any) -> None:
        self.server = server
        self.initialized_in_async_mode = False
        self.listened_in: list[int] = []
        self.listened = threading.Event()

    def initialize(self) -> None:
        self.initialized_in_async_mode = True

    def _thread(self) -> None:
        self.listened_in.append(threading.get_ident())
        self.listened.set()


def test_a_broker_listener_gets_its_own_thread_where_the_engine_asks_for_one():
    from flask_socketio.queues import BrokerListenerMixin

    class Probe(BrokerListenerMixin, _ListenerBase):
        pass

    router = EngineRouter(engine="engineio", async_mode="threading")
    server = type("Server", (), {"eio": router})()
    served = Probe(server)
    served.initialize()
    assert served.initialized_in_async_mode and not served.listened_in
    assert not router.external_listeners

    router.attach(FakeEngine(set()))
    threaded = Probe(server)
    threaded.initialize()
    assert threaded.listened.wait(5)
    assert not threaded.initialized_in_async_mode
    assert threaded.listened_in != [threading.get_ident()]
    assert router.external_listeners  # deliveries now come from another thread
