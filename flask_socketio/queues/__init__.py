"""``message_queue`` URLs to python-socketio client managers, and the in-memory queue.

With a queue, every emit, room change and disconnect is published, so several
processes (or hosts) behave as one server; a ``SocketIO(message_queue=URL)`` with no
app is a write-only emitter. The URL's scheme picks the manager:

- ``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://``: Redis pub/sub
  (``pip install redis``); ``valkey://``, ``valkeys://``, ``valkey+sentinel://``:
  Valkey (``pip install valkey``), through the same manager;
- ``redis+streams://`` (``rediss+streams://``, ``unix+streams://``,
  ``valkey+streams://``, ``valkeys+streams://``): a Redis stream, which loses
  nothing over a broker blip (:mod:`.streams`);
- ``kafka://``: Kafka (``pip install kafka-python``);
- ``zmq://``: ZeroMQ (``pip install pyzmq``);
- ``memory://NAME``: an in-process queue, for tests: SocketIO instances naming the
  same ``NAME`` in one process share it as separate nodes would share a broker;
- any other scheme (``amqp://``, ``amqps://``, ``sqs://``, ...): Kombu
  (``pip install kombu``).

What one process publishes reaches the broker in the order it was published
(:class:`.publishing.OrderedPublishing`), so every node delivers one connection's
messages in the order they were caused.

``message_queue_options`` is passed to the client library (Redis' connection
options, Kombu's connection options).

A broker can go away. The managers made here keep their listener alive: when the
connection drops they log a warning, retry with a short, capped back-off
(:attr:`QueueHealthMixin.retry_max` seconds at most, so delivery resumes within a
couple of seconds of the broker's return), and log again when they are back.
Meanwhile emits still reach the clients of the emitting process; what they publish
for the other processes is lost on the pub/sub queues (counted in
:attr:`QueueStatus.unpublished`), kept and delivered late on ``redis+streams://``.
:attr:`SocketIO.queue_status` tells the state, and
:meth:`SocketIO.on_queue_status` registers a function told of every change.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlparse

import socketio

from ..engine.router import listeners_need_threads, runs_service_tasks
from ..room_observer import RoomManager, observable
from .health import QueueHealthMixin, QueueStatus, QueueStatusListener
from .memory import MemoryManager
from .publishing import OrderedPublishing
from .pubsub import KombuQueueManager, RedisQueueManager
from .streams import STREAMS_SCHEMES, RedisStreamsManager

__all__ = ["KombuQueueManager", "MemoryManager", "OrderedPublishing", "QueueHealthMixin",
           "QueueStatus", "QueueStatusListener", "RedisQueueManager", "RedisStreamsManager",
           "client_manager_for"]

REDIS_SCHEMES = frozenset({"redis", "rediss", "unix", "valkey", "valkeys", "redis+sentinel",
                           "valkey+sentinel"})


#: Seconds a Redis connection may take, unless ``message_queue_options`` says.
REDIS_CONNECT_TIMEOUT = 5
#: Seconds a streams queue waits for a Redis reply before it reconnects (longer than
#: an ``XREAD``'s block), unless ``message_queue_options`` says.
STREAMS_SOCKET_TIMEOUT = 10


class BrokerListenerMixin:
    """Runs a real broker's listener in a thread of its own where the engine asks
    for one.

    The listener blocks on the broker's socket. Served on the network, the manager
    starts it in the server's async mode as usual, with its ordered publisher. An
    engine whose tasks switch only at its own waits (``listeners_need_threads``)
    gets a real (daemon) thread instead, and the router is told that deliveries now
    come from another thread (``external_listeners``).
    """

    server: Any
    write_only: bool
    name: str

    def initialize(self) -> None:
        router = self.server.eio
        if not listeners_need_threads(router):
            super().initialize()  # type: ignore[misc]
        else:
            router.external_listeners = True
            if not self.write_only:
                self.thread = threading.Thread(
                    target=self._thread, daemon=True,  # type: ignore[attr-defined]
                    name=f"flask_socketio {self.name} listener")
                self.thread.start()
        if (not self.write_only and isinstance(self, OrderedPublishing)
                and runs_service_tasks(router)):
            self._start_publisher()


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
    _check_url(url, scheme)
    if scheme in STREAMS_SCHEMES:
        _require("valkey" if scheme.startswith("valkey") else "redis",
                 "valkey" if scheme.startswith("valkey") else "redis", url)
        extra.setdefault("socket_connect_timeout", REDIS_CONNECT_TIMEOUT)
        extra.setdefault("socket_timeout", STREAMS_SOCKET_TIMEOUT)
        return _broker_manager(RedisStreamsManager)(url, redis_options=extra, **common)
    if scheme in REDIS_SCHEMES:
        if scheme.startswith("valkey"):
            _require("valkey", "valkey", url)
        elif scheme != "unix" or not _has_module("valkey"):
            _require("redis", "redis", url)
        # An unreachable host must not hold an emit for the OS's connect timeout.
        extra.setdefault("socket_connect_timeout", REDIS_CONNECT_TIMEOUT)
        return _broker_manager(RedisQueueManager)(url, redis_options=extra, **common)
    if scheme == "kafka":
        _require("kafka", "kafka-python", url)
        return _broker_manager(socketio.KafkaManager)(url, **common)
    if scheme == "zmq":
        _require("zmq", "pyzmq", url)
        return _broker_manager(socketio.ZmqManager)(url, **common)
    _require("kombu", "kombu", url)
    try:
        return _broker_manager(KombuQueueManager)(url, connection_options=extra, **common)
    except KeyError as exc:  # kombu's "No such transport"
        raise ValueError(f"message_queue {url!r}: unknown scheme {scheme!r} "
                         f"({exc.args[0] if exc.args else exc}); use redis://, "
                         f"redis+streams://, amqp://, kafka://, memory:// or another Kombu "
                         f"transport") from None


def _check_url(url: str, scheme: str) -> None:
    """A clear ``ValueError`` now for a URL the client library would reject later,
    in the listener, where it would only be logged."""
    parsed = urlparse(url)
    if scheme in ("redis+sentinel", "valkey+sentinel"):
        from socketio.redis_manager import parse_redis_sentinel_url

        try:
            parse_redis_sentinel_url(url)
        except ValueError as exc:
            raise ValueError(f"message_queue {url!r} is not "
                             f"'{scheme}://[:password@]host:port[,host:port...]/db/service' "
                             f"({exc})") from None
    elif scheme in ("unix", "unix+streams"):
        if not parsed.path:
            raise ValueError(f"message_queue {url!r} names no socket path: "
                             f"'{scheme}:///path/to/redis.sock'")
    else:
        try:
            parsed.port  # noqa: B018 - parses the port
        except ValueError as exc:
            raise ValueError(f"message_queue {url!r}: {exc}") from None


def _has_module(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _require(module: str, package: str, url: str) -> None:
    try:
        __import__(module)
    except ImportError:
        raise RuntimeError(f"message_queue {url!r} needs the {package!r} package: "
                           f"pip install {package}") from None
