"""``message_queue`` URLs to python-socketio client managers, and the in-memory queue.

With a queue, every emit, room change and disconnect is published, so several
processes (or hosts) behave as one server; a ``SocketIO(message_queue=URL)`` with no
app is a write-only emitter. The URL's scheme picks the manager:

- ``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://``: Redis
  (``pip install redis``); ``valkey://``, ``valkeys://``, ``valkey+sentinel://``:
  Valkey (``pip install valkey``), through the same manager;
- ``kafka://``: Kafka (``pip install kafka-python``);
- ``zmq://``: ZeroMQ (``pip install pyzmq``);
- ``memory://NAME``: an in-process queue, for tests: SocketIO instances naming the
  same ``NAME`` in one process share it as separate nodes would share a broker;
- any other scheme (``amqp://``, ``amqps://``, ``sqs://``, ...): Kombu
  (``pip install kombu``).

``message_queue_options`` is passed to the client library (Redis' connection
options, Kombu's connection options).

A broker can go away. The managers made here keep their listener alive: when the
connection drops they log a warning, retry with a short, capped back-off
(:attr:`QueueHealthMixin.retry_max` seconds at most, so delivery resumes within a
couple of seconds of the broker's return), and log again when they are back.
Meanwhile emits still reach the clients of the emitting process; what they publish
for the other processes is lost (counted in :attr:`QueueStatus.unpublished`).
:attr:`SocketIO.queue_status` tells the state, and
:meth:`SocketIO.on_queue_status` registers a function told of every change.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlparse

import socketio

from .engine.router import EngineRouter
from .room_observer import RoomManager, observable

REDIS_SCHEMES = frozenset({"redis", "rediss", "unix", "valkey", "valkeys", "redis+sentinel",
                           "valkey+sentinel"})


#: Seconds a Redis connection may take, unless ``message_queue_options`` says.
REDIS_CONNECT_TIMEOUT = 5


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


logger = logging.getLogger("flask_socketio.queue")


@dataclass(frozen=True)
class QueueStatus:
    """The health of a message queue, as one process sees it.

    A new value is made at every change (the old ones stay as they were).
    """

    #: ``"connecting"`` (not yet subscribed), ``"connected"``, or ``"down"`` (the
    #: listener lost the broker, or a publish failed, and is retrying).
    state: str = "connecting"
    #: The last error, as ``"ExceptionType: message"``; ``None`` once connected again.
    error: str | None = None
    #: ``time.monotonic()`` of the last change of ``state``.
    since: float = 0.0
    #: How many times the state went to ``"down"``.
    outages: int = 0
    #: Messages this process could not publish (their local delivery still happened).
    unpublished: int = 0

    @property
    def is_connected(self) -> bool:
        return self.state == "connected"


#: ``listener(status)``, called in the listener's task (or the emitting one).
QueueStatusListener = Callable[[QueueStatus], None]


class QueueHealthMixin:
    """Keeps a broker manager's listener alive and its health visible.

    Mixed into python-socketio's Redis and Kombu managers, through their subclass
    hooks ``_listen()`` and ``_publish()`` (the ones python-socketio documents for
    new back-ends) and the listener task ``_thread()``:

    - the listener retries a lost connection after :attr:`retry_initial` seconds,
      doubling up to :attr:`retry_max` (python-socketio doubles up to 60);
    - a failed publish is retried once, then counted and given up, never raised,
      so the emit still reaches local clients and the handler goes on;
    - should the listener task end or crash anyway, it is restarted;
    - every change of state is logged on the ``flask_socketio.queue`` logger and
      given to the :attr:`status_listeners`.
    """

    #: Seconds before the first reconnection attempt of the listener.
    retry_initial: float = 0.2
    #: The longest wait between two reconnection attempts of the listener.
    retry_max: float = 1.0
    #: While the queue is down, a publish is tried at most this often (seconds);
    #: the emits in between are counted as unpublished at once instead of each
    #: waiting for a connection to fail.
    publish_retry_interval: float = 1.0

    name: str
    write_only: bool
    server: Any
    channel: str

    def _init_health(self) -> None:
        self.status = QueueStatus(since=time.monotonic())
        #: Functions called with the new :class:`QueueStatus` at every change.
        self.status_listeners: list[QueueStatusListener] = []
        self._status_lock = threading.Lock()
        self._publish_failed_at = float("-inf")
        self._is_listening = False

    def _update_status(self, state: str | None = None, error: BaseException | None = None,
                       unpublished: int = 0) -> None:
        with self._status_lock:
            old = self.status
            new_state = old.state if state is None else state
            changes: dict[str, Any] = {"unpublished": old.unpublished + unpublished}
            if new_state != old.state:
                changes.update(state=new_state, since=time.monotonic())
                if new_state == "down":
                    changes["outages"] = old.outages + 1
            if error is not None:
                changes["error"] = f"{type(error).__name__}: {error}"
            elif new_state == "connected":
                changes["error"] = None
            self.status = new = replace(old, **changes)
        if new.state == old.state:
            return
        if new.state == "down":
            logger.warning("message queue %s (channel %r) is down: %s; retrying",
                           self.name, self.channel, new.error)
        elif new.state == "connected" and old.outages:
            logger.warning("message queue %s (channel %r) is connected again after %.1f s",
                           self.name, self.channel, new.since - old.since)
        else:
            logger.info("message queue %s (channel %r) is %s", self.name, self.channel,
                        new.state)
        for listener in list(self.status_listeners):
            try:
                listener(new)
            except Exception:
                logger.exception("queue status listener %r failed", listener)

    def _retry_delays(self) -> Any:
        delay = self.retry_initial
        while True:
            yield delay
            delay = min(delay * 2, self.retry_max)

    def _sleep(self, seconds: float) -> None:
        # Patched by gevent in a served process (the managers require it), a real
        # sleep in the listener thread of in-process tests.
        time.sleep(seconds)

    def _thread(self) -> None:
        """python-socketio's listener task, restarted should it ever end."""
        for delay in self._retry_delays():
            try:
                super()._thread()  # type: ignore[misc]
            except Exception as exc:  # pragma: no cover - the base class catches all
                self._update_status("down", exc)
            else:
                self._listening(False, RuntimeError("the queue listener stopped"))
            logger.error("message queue %s listener ended; restarting in %.1f s",
                         self.name, delay)
            self._sleep(delay)

    def _is_publish_paused(self) -> bool:
        """True (and the message counted) while a recent publish failed."""
        if self.status.state != "down" or (time.monotonic() - self._publish_failed_at
                                           >= self.publish_retry_interval):
            return False
        self._update_status(unpublished=1)
        return True

    def _publish_failed(self, exc: BaseException) -> None:
        logger.debug("message queue %s: cannot publish (%s)", self.name, exc)
        self._publish_failed_at = time.monotonic()
        self._update_status("down", exc, unpublished=1)

    def _published(self) -> None:
        if self.status.state != "connected" and (self.write_only or self._is_listening):
            self._update_status("connected")

    def _listening(self, is_listening: bool, error: BaseException | None = None) -> None:
        self._is_listening = is_listening
        self._update_status("connected" if is_listening else "down", error)


class RedisQueueManager(QueueHealthMixin, socketio.RedisManager):
    """python-socketio's Redis manager with :class:`QueueHealthMixin`'s listener."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_health()

    def _publish(self, data: Any) -> Any:
        if self._is_publish_paused():
            return None
        message = self.json.dumps(data)
        error: BaseException | None = None
        for _attempt in range(2):
            try:
                if not self.connected:
                    self._redis_connect()
                result = self.redis.publish(self.channel, message)
            except Exception as exc:
                error = exc
                self.connected = False
                continue
            self._published()
            return result
        assert error is not None
        self._publish_failed(error)
        return None

    def _listen(self) -> Any:
        channel = self.channel.encode("utf-8")
        for delay in self._retry_delays():
            pubsub = None
            try:
                self._redis_connect()
                # Ours: a publish that reconnects replaces self.pubsub.
                pubsub = self.pubsub
                pubsub.subscribe(self.channel)
                self._listening(True)
                for message in pubsub.listen():
                    if message["channel"] == channel and message["type"] == "message" \
                            and "data" in message:
                        yield message["data"]
                raise ConnectionError("the Redis subscription ended")
            except Exception as exc:
                self._listening(False, exc)
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        pubsub.close()
                self._sleep(delay)


class KombuQueueManager(QueueHealthMixin, socketio.KombuManager):
    """python-socketio's Kombu manager with :class:`QueueHealthMixin`'s listener.

    A publish retries once, briefly, instead of Kombu's default of retrying forever
    (which would block every emit while the broker is down).
    """

    #: Connection attempts of one publish before it is given up.
    publish_retries: int = 1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_health()

    def _publish(self, data: Any) -> None:
        if self._is_publish_paused():
            return
        retry = {"max_retries": self.publish_retries, "interval_start": 0,
                 "interval_step": 0.2, "interval_max": 0.2}
        try:
            connection = self.publisher_connection
            # Connect first, with our retries: the producer's own way to a channel
            # retries for seconds when the broker refuses connections.
            connection.ensure_connection(**retry)
            producer = connection.Producer(exchange=self._exchange(), **self.producer_options)
            connection.ensure(producer, producer.publish, **retry)(self.json.dumps(data))
        except Exception as exc:
            self._publish_failed(exc)
        else:
            self._published()

    def _listen(self) -> Any:
        for delay in self._retry_delays():
            try:
                reader_queue = self._queue()
                with self._connection() as connection, \
                        connection.SimpleQueue(reader_queue) as queue:
                    connection.ensure_connection(max_retries=1)
                    self._listening(True)
                    while True:
                        message = queue.get(block=True)
                        message.ack()
                        yield message.payload
            except Exception as exc:
                self._listening(False, exc)
                self._sleep(delay)


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
        if not (isinstance(router, EngineRouter) and router.runs_on_test_scheduler()):
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
    _check_url(url, scheme)
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
                         f"({exc.args[0] if exc.args else exc}); use redis://, amqp://, "
                         f"kafka://, memory:// or another Kombu transport") from None


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
    elif scheme == "unix":
        if not parsed.path:
            raise ValueError(f"message_queue {url!r} names no socket path: "
                             f"'unix:///path/to/redis.sock'")
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
