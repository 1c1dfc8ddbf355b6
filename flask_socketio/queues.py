"""``message_queue`` URLs to python-socketio client managers, and the in-memory queue.

With a queue, every emit, room change and disconnect is published, so several
processes (or hosts) behave as one server; a ``SocketIO(message_queue=URL)`` with no
app is a write-only emitter. The URL's scheme picks the manager:

- ``redis://``, ``rediss://``, ``unix://``, ``valkey://``, ``valkeys://``,
  ``redis+sentinel://``, ``valkey+sentinel://``: Redis (``pip install redis``);
- ``kafka://``: Kafka (``pip install kafka-python``);
- ``zmq://``: ZeroMQ (``pip install pyzmq``);
- ``memory://NAME``: an in-process queue, for tests: SocketIO instances naming the
  same ``NAME`` in one process share it as separate nodes would share a broker;
- any other scheme (``amqp://``, ``amqps://``, ``sqs://``, ...): Kombu
  (``pip install kombu``).

``message_queue_options`` is passed to the client library (Redis' connection
options, Kombu's connection options).
"""

from __future__ import annotations

import json
import threading
import weakref
from typing import Any
from urllib.parse import urlparse

import socketio

from .engine.router import EngineRouter
from .room_observer import RoomManager, observable

REDIS_SCHEMES = frozenset({"redis", "rediss", "unix", "valkey", "valkeys", "redis+sentinel",
                           "valkey+sentinel"})


class MemoryManager(socketio.PubSubManager):
    """A pub/sub manager whose broker is a dict in this process (``memory://NAME``).

    Messages go through a JSON round trip, as they would through a real broker, and
    are received by a listener task in the server's async mode: in tests, a task of
    the deterministic scheduler, so delivery between two nodes is exact.
    """

    name = "memory"
    _buses: dict[str, dict[str, weakref.WeakSet[MemoryManager]]] = {}
    _lock = threading.Lock()

    def __init__(self, url: str = "memory://", channel: str = "socketio",
                 write_only: bool = False, logger: Any = None, json: Any = None) -> None:
        super().__init__(channel=channel, write_only=write_only, logger=logger, json=json)
        self.bus = urlparse(url).netloc or "default"
        self._inbox: Any = None

    def initialize(self) -> None:
        self._inbox = self.server.eio.create_queue()
        with self._lock:
            self._buses.setdefault(self.bus, {}).setdefault(
                self.channel, weakref.WeakSet()).add(self)
        super().initialize()
        if hasattr(self.thread, "daemon"):
            self.thread.daemon = True  # a service task, not a test's leftover

    def _publish(self, data: Any) -> None:
        message = json.dumps(data)
        with self._lock:
            subscribers = list(self._buses.get(self.bus, {}).get(self.channel, ()))
        for manager in subscribers:
            if manager is not self and manager._inbox is not None:
                manager._inbox.put(message)

    def _listen(self) -> Any:
        while True:
            yield self._inbox.get()


class BrokerListenerMixin:
    """Runs a real broker's listener in a thread when in-process test clients use it.

    The listener blocks on a socket; the in-process scheduler only switches at its
    own waits, so there the listener gets a real (daemon) thread, and what it
    delivers reaches test clients through their thread-safe inbox. Served on the
    network, the manager starts its listener in the server's async mode as usual.
    """

    server: Any
    write_only: bool
    name: str

    def initialize(self) -> None:
        router = self.server.eio
        if not (isinstance(router, EngineRouter) and router.is_scheduler_thread()):
            super().initialize()  # type: ignore[misc]
            return
        router.external_listeners = True
        if not self.write_only:
            self.thread = threading.Thread(target=self._thread, daemon=True,  # type: ignore[attr-defined]
                                           name=f"flask_socketio {self.name} listener")
            self.thread.start()


def _broker_manager(manager_class: type) -> type:
    """``manager_class`` with room observation and the in-process listener thread."""
    cls = _broker_classes.get(manager_class)
    if cls is None:
        cls = _broker_classes[manager_class] = type(
            manager_class.__name__, (BrokerListenerMixin, observable(manager_class)), {})
    return cls


_broker_classes: dict[type, type] = {}


def client_manager_for(options: dict[str, Any], write_only: bool = False) -> Any:
    """The client manager the options ask for: a given one, one for the URL, or the
    default in-memory room manager."""
    if options.get("client_manager") is not None:
        return options["client_manager"]
    url = options.get("message_queue")
    if url is None:
        return RoomManager()
    if not isinstance(url, str) or "://" not in url:
        raise ValueError(f"message_queue must be a URL such as 'redis://127.0.0.1:6379/0', "
                         f"not {url!r}")
    scheme = url.split("://", 1)[0].lower()
    channel = options.get("channel", "flask-socketio")
    extra = dict(options.get("message_queue_options") or {})
    common = {"channel": channel, "write_only": write_only}
    if scheme == "memory":
        return observable(MemoryManager)(url, **common)
    if scheme in REDIS_SCHEMES:
        _require("redis", "redis", url)
        return _broker_manager(socketio.RedisManager)(url, redis_options=extra, **common)
    if scheme == "kafka":
        _require("kafka", "kafka-python", url)
        return _broker_manager(socketio.KafkaManager)(url, **common)
    if scheme == "zmq":
        _require("zmq", "pyzmq", url)
        return _broker_manager(socketio.ZmqManager)(url, **common)
    _require("kombu", "kombu", url)
    return _broker_manager(socketio.KombuManager)(url, connection_options=extra, **common)


def _require(module: str, package: str, url: str) -> None:
    try:
        __import__(module)
    except ImportError:
        raise RuntimeError(f"message_queue {url!r} needs the {package!r} package: "
                           f"pip install {package}") from None
