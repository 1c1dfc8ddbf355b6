"""The pub/sub queues on real brokers: Redis (and Valkey) channels, Kombu's exchanges.

python-socketio's managers, with :class:`~.health.QueueHealthMixin`'s listener and
:class:`~.publishing.OrderedPublishing`'s publisher. A broker's pub/sub keeps
nothing for a subscriber that is not connected: what is published while a node's
listener is away is lost to that node (``redis+streams://`` is the queue that
keeps it, see :mod:`.streams`).
"""

from __future__ import annotations

import contextlib
from typing import Any

import socketio

from .health import QueueHealthMixin
from .publishing import OrderedPublishing


class RedisQueueManager(QueueHealthMixin, OrderedPublishing, socketio.RedisManager):
    """python-socketio's Redis manager, its publishes in order, its listener kept alive."""

    connected: bool  # python-socketio's RedisManager attributes
    redis: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_health()
        self._init_publishing()

    def _send_batch(self, messages: list[str], patient: bool) -> None:
        """PUBLISH each message, in one round trip (a pipeline); retried once, then
        counted as unpublished."""
        if self._is_publish_paused(len(messages)):
            return
        error: BaseException | None = None
        for _attempt in range(2):
            try:
                if not self.connected:
                    self._redis_connect()
                if len(messages) == 1:
                    self.redis.publish(self.channel, messages[0])
                else:
                    pipeline = self.redis.pipeline(transaction=False)
                    for message in messages:
                        pipeline.publish(self.channel, message)
                    pipeline.execute()
            except Exception as exc:
                error = exc
                self.connected = False
                continue
            self._published()
            return
        assert error is not None
        self._publish_failed(error, len(messages))

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


class KombuQueueManager(QueueHealthMixin, OrderedPublishing, socketio.KombuManager):
    """python-socketio's Kombu manager, its publishes in order, its listener kept alive.

    A publish retries once, briefly, instead of Kombu's default of retrying forever
    (which would block every emit while the broker is down).
    """

    #: Connection attempts of one publish before it is given up.
    publish_retries: int = 1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_health()
        self._init_publishing()

    def _send_batch(self, messages: list[str], patient: bool) -> None:
        if self._is_publish_paused(len(messages)):
            return
        retry = {"max_retries": self.publish_retries, "interval_start": 0,
                 "interval_step": 0.2, "interval_max": 0.2}
        sent = 0
        try:
            connection = self.publisher_connection
            # Connect first, with our retries: the producer's own way to a channel
            # retries for seconds when the broker refuses connections.
            connection.ensure_connection(**retry)
            producer = connection.Producer(exchange=self._exchange(), **self.producer_options)
            publish = connection.ensure(producer, producer.publish, **retry)
            for message in messages:
                publish(message)
                sent += 1
        except Exception as exc:
            self._publish_failed(exc, len(messages) - sent)
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
