"""Client managers that can tell listeners about every emit they handle.

Every emit of a server reaches its client manager: ``Manager.emit`` for the
in-memory one; with a message queue, ``PubSubManager.emit`` for the emits of this
process (published, and delivered here) and ``_handle_emit`` for those arriving
from other processes. :class:`EmitObserverMixin` reports each of them once, with
what was asked (event, arguments, namespace, ``to``, ``skip_sid``, whether an
acknowledgement was asked for) and the sids of this process it reached, to the
``emit_listeners`` (the test toolkit's recorder). With no listener it costs one
attribute check per emit.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from socketio.packet import Packet


@dataclass(frozen=True)
class EmittedEvent:
    """One emit a client manager handled."""

    event: str
    #: The arguments, as a list (what the clients' handlers receive).
    args: list[Any]
    namespace: str
    #: The room, sid or list of them; ``None`` for everyone in the namespace.
    to: Any
    skip_sid: Any
    #: Did the emit ask for an acknowledgement (a callback, or ``call()``)?
    callback: bool
    #: The sids of this process it was delivered to.
    sids: tuple[Any, ...]
    #: ``True`` for an emit of another process, arriving through the message queue.
    from_queue: bool


#: ``listener(notice)``, called in the emitting task or thread.
EmitListener = Callable[[EmittedEvent], None]


def _as_args(data: Any) -> list[Any]:
    if isinstance(data, tuple):
        return list(data)
    return [] if data is None else [data]


class EmitObserverMixin:
    """Reports every emit to ``emit_listeners`` (add with :meth:`add_emit_listener`)."""

    emit_listeners: tuple[EmitListener, ...] = ()
    rooms: dict[str, Any]

    def add_emit_listener(self, listener: EmitListener) -> None:
        self.emit_listeners = (*self.emit_listeners, listener)

    def remove_emit_listener(self, listener: EmitListener) -> None:
        self.emit_listeners = tuple(each for each in self.emit_listeners if each != listener)

    def emit(self, event: str, data: Any, namespace: str | None = None, room: Any = None,
             skip_sid: Any = None, callback: Any = None, to: Any = None, **kwargs: Any) -> Any:
        if self.emit_listeners:
            self._notify(event, _as_args(data), namespace or "/", to if to is not None else room,
                         skip_sid, callback is not None, from_queue=False)
        return super().emit(event, data, namespace=namespace, room=room,  # type: ignore[misc]
                            skip_sid=skip_sid, callback=callback, to=to, **kwargs)

    def _handle_emit(self, message: dict[str, Any]) -> Any:
        # Called by PubSubManager.emit for this process's own emits (reported by emit()
        # above) and by its listener for the emits of other processes.
        if self.emit_listeners and message.get("host_id") != getattr(self, "host_id", None):
            data: Any = message.get("data")
            if message.get("binary"):
                data = Packet.reconstruct_binary(
                    data[0], [base64.b64decode(part) for part in data[1:]])
            if isinstance(data, list):  # as PubSubManager._handle_emit unpacks it
                data = data[0] if len(data) == 1 else tuple(data)
            self._notify(message["event"], _as_args(data),
                         message.get("namespace") or "/", message.get("room"),
                         message.get("skip_sid"), message.get("callback") is not None,
                         from_queue=True)
        return super()._handle_emit(message)  # type: ignore[misc]

    def _notify(self, event: str, args: list[Any], namespace: str, to: Any, skip_sid: Any,
                callback: bool, from_queue: bool) -> None:
        skipped = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        participants = self.get_participants(namespace, to)  # type: ignore[attr-defined]
        sids = tuple(sid for sid, _ in participants if sid not in skipped)
        notice = EmittedEvent(event, args, namespace, to, skip_sid, callback, sids, from_queue)
        for listener in self.emit_listeners:
            listener(notice)
