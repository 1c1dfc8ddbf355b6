"""``redis+streams://``: a message queue on a Redis stream, which loses nothing over a
broker blip.

Every node appends its messages to one stream (``XADD``, its length bounded with
``MAXLEN ~``) and reads it from the last entry it has seen (``XREAD BLOCK``). A
listener that loses its connection reconnects and goes on from that entry, so what
was published meanwhile is read late, not lost; a publisher that cannot reach Redis
keeps its messages, in order, and sends them when Redis is back. Each entry carries
its publisher's id and sequence number, so a batch sent twice (its reply lost) is
delivered once.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

import socketio

from .health import QueueHealthMixin
from .publishing import OrderedPublishing

logger = logging.getLogger("flask_socketio.queue")

#: The URL schemes of the streams queue, and the client URL scheme each stands for.
STREAMS_SCHEMES = {"redis+streams": "redis", "rediss+streams": "rediss",
                   "valkey+streams": "valkey", "valkeys+streams": "valkeys",
                   "unix+streams": "unix"}

#: Entries the stream keeps, about (``MAXLEN ~``), unless the URL's ``maxlen`` says.
DEFAULT_MAXLEN = 10_000
#: Publishers whose last entry number a listener remembers (the most recent ones;
#: each write-only emitter is a publisher).
REMEMBERED_PUBLISHERS = 10_000


def split_streams_url(url: str) -> tuple[str, int]:
    """The Redis client's URL and the stream's length bound of a streams URL
    (``redis+streams://host:port/db?maxlen=N``)."""
    parsed = urlparse(url)
    query = parse_qsl(parsed.query, keep_blank_values=True)
    maxlen = DEFAULT_MAXLEN
    kept = []
    for key, value in query:
        if key == "maxlen":
            try:
                maxlen = int(value)
            except ValueError:
                maxlen = 0
            if maxlen <= 0:
                raise ValueError(f"message_queue {url!r}: maxlen must be a positive "
                                 f"number of entries, not {value!r}")
        else:
            kept.append((key, value))
    scheme = STREAMS_SCHEMES[parsed.scheme.lower()]
    address = url.split("://", 1)[1].split("?", 1)[0]
    return f"{scheme}://{address}" + (f"?{urlencode(kept)}" if kept else ""), maxlen


class RedisSharedSessions:
    """Kept sessions of connection state recovery in Redis, one key per pid
    (``<channel>:recovery:<pid>``) that expires with the session; taken with
    ``GETDEL``, so a session is restored once, on one node."""

    def __init__(self, connect: Any, prefix: str, json_module: Any) -> None:
        self._connect = connect
        self._redis: Any = None
        self._prefix = prefix
        self._json = json_module

    def _client(self) -> Any:
        if self._redis is None:
            self._redis = self._connect()
        return self._redis

    def put(self, pid: str, record: dict[str, Any], ttl: float) -> None:
        self._client().set(self._prefix + pid, self._json.dumps(record),
                           px=max(1, int(ttl * 1000)))

    def take(self, pid: str) -> dict[str, Any] | None:
        value = self._client().getdel(self._prefix + pid)
        return None if value is None else self._json.loads(value)


def _entry_id(value: bytes | str) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else value
    milliseconds, _, sequence = text.partition("-")
    return int(milliseconds), int(sequence or 0)


class RedisStreamsManager(QueueHealthMixin, OrderedPublishing, socketio.RedisManager):
    """A client manager whose queue is the Redis stream named by the channel.

    Usable on its own as python-socketio's managers are:
    ``RedisStreamsManager("redis+streams://127.0.0.1:6379/0", write_only=True)``
    is a write-only emitter. An entry is ``message`` (the JSON python-socketio's
    pub/sub managers publish), ``publisher`` and ``seq``.
    """

    name = "redis-streams"
    redis: Any  # the client (python-socketio's RedisManager attribute), None until connected
    #: Milliseconds an ``XREAD`` waits for new entries before it asks again.
    block_ms: int = 2000
    #: Entries read at most per ``XREAD``.
    read_count: int = 500
    #: Seconds a publish sent by its caller (a write-only emitter, or a node whose
    #: engine runs no publisher task) keeps trying.
    publish_timeout: float = 5.0

    def __init__(self, url: str = "redis+streams://localhost:6379/0",
                 channel: str = "socketio", write_only: bool = False, logger: Any = None,
                 json: Any = None, redis_options: dict[str, Any] | None = None) -> None:
        client_url, self.maxlen = split_streams_url(url)
        super().__init__(client_url, channel=channel, write_only=write_only, logger=logger,
                         json=json, redis_options=redis_options)
        self.streams_url = url
        self._sequence = itertools.count()
        self._init_health()
        self._init_publishing()

    def _client(self) -> Any:
        return self._get_redis_module().Redis.from_url(self.redis_url, **self.redis_options)

    def recovery_sessions(self) -> RedisSharedSessions:
        """Where connection state recovery keeps sessions, for every node to find."""
        return RedisSharedSessions(self._client, f"{self.channel}:recovery:", self.json)

    # -- publishing --------------------------------------------------------------------

    def _send_batch(self, messages: list[str], patient: bool) -> None:
        """``XADD`` each message in one round trip. The node's publisher retries
        until Redis takes them (the entries keep their numbers, so a resent batch
        is read once); a write-only emitter gives up after :attr:`publish_timeout`
        seconds, and counts them as unpublished."""
        if not patient and self._is_publish_paused(len(messages)):
            return
        entries = [{"message": message, "publisher": self.host_id,
                    "seq": next(self._sequence)} for message in messages]
        deadline = time.monotonic() + self.publish_timeout
        delays = self._retry_delays()
        while True:
            try:
                if self.redis is None:
                    self.redis = self._client()
                pipeline = self.redis.pipeline(transaction=False)
                for entry in entries:
                    pipeline.xadd(self.channel, entry, maxlen=self.maxlen, approximate=True)
                pipeline.execute()
            except Exception as exc:
                self.redis = None
                if not patient and time.monotonic() >= deadline:
                    self._publish_failed(exc, len(messages))
                    return
                if self.status.state != "down":
                    self._update_status("down", exc)
                self._sleep(next(delays))
                continue
            self._published()
            return

    # -- listening ---------------------------------------------------------------------

    def _listen(self) -> Any:
        last_id: bytes | str | None = None
        seen: dict[bytes, int] = {}
        delays = self._retry_delays()
        while True:
            client = None
            try:
                client = self._client()
                last_id = self._resume_from(client, last_id)
                self._listening(True)
                delays = self._retry_delays()
                while True:
                    response = client.xread({self.channel: last_id}, count=self.read_count,
                                            block=self.block_ms)
                    for _stream, entries in response or ():
                        for entry_id, fields in entries:
                            last_id = entry_id
                            message = self._first_time(fields, seen)
                            if message is not None:
                                yield message
            except Exception as exc:
                self._listening(False, exc)
                if client is not None:
                    with contextlib.suppress(Exception):
                        client.close()
                self._sleep(next(delays))

    def _resume_from(self, client: Any, last_id: bytes | str | None) -> bytes | str:
        """Where to read from: the stream's end the first time, else the last entry
        read, unless the stream lost entries this node had not read."""
        try:
            info = client.xinfo_stream(self.channel)
        except Exception as exc:
            if "no such key" not in str(exc).lower():
                raise
            info = None
        if last_id is None:
            return info["last-generated-id"] if info else "0-0"
        last = _entry_id(last_id)
        if info is None or _entry_id(info["last-generated-id"]) < last:
            self._gap("the stream is gone or new (a Redis restart without persistence?)")
            return "0-0"
        first = info.get("first-entry")
        if first and _entry_id(first[0]) > last:  # the entry read last is trimmed too
            self._gap(f"entries were trimmed (maxlen {self.maxlen}) before they were read")
        return last_id

    def _gap(self, why: str) -> None:
        logger.warning("message queue %s (stream %r): messages may be lost: %s",
                       self.name, self.channel, why)
        self._update_status(gaps=1)

    @staticmethod
    def _first_time(fields: dict[bytes, bytes], seen: dict[bytes, int]) -> bytes | None:
        """The entry's message, or ``None`` if this publisher's entry with this
        number was read already (a batch it sent twice). ``seen`` keeps the
        :data:`REMEMBERED_PUBLISHERS` most recent publishers."""
        publisher, sequence = fields.get(b"publisher"), fields.get(b"seq")
        if publisher is not None and sequence is not None:
            number = int(sequence)
            if number <= seen.get(publisher, -1):
                return None
            seen.pop(publisher, None)
            seen[publisher] = number
            if len(seen) > REMEMBERED_PUBLISHERS:
                del seen[next(iter(seen))]
        return fields.get(b"message")
