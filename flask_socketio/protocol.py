"""python-socketio's ``Server`` with our Engine.IO router below it.

This module is the one place that touches private hooks of python-socketio:

- ``_engineio_server_class``: the class its constructor builds as ``self.eio``;
- ``_handle_eio_connect``, ``_handle_eio_message``, ``_handle_eio_disconnect``: every
  packet a client sends is checked (:mod:`flask_socketio.packet_rules`) before
  ``_handle_connect``, ``_handle_disconnect``, ``_handle_event`` and ``_handle_ack``
  act on it (with the ``_binary_packet`` buffer of half-received binary packets), and
  the ``connect_timeout`` timer starts and ends;
- ``_handle_connect``, ``_send_packet``, ``_send_eio_packet``: the CONNECT reply goes
  out before what the connect handler emits, and a CONNECT_ERROR carries the object
  ``{"message": ...}`` that Socket.IO v5 specifies, with the reference server's text
  for an unknown namespace (``"Invalid namespace"``); what a volatile emit sends is
  collected and sent, or dropped, as one group per client (:mod:`.volatile`);
- ``_handle_event``: each event is run by the engine that owns the session
  (:meth:`EngineRouter.run_event`);
- ``_handle_event_internal``: an event whose connection ended before its handler ran
  is dropped;
- ``_trigger_event``: an event no handler takes still runs the event hooks
  (:mod:`flask_socketio.event_hooks`);
- ``_handle_connect``, ``_handle_disconnect``, ``_trigger_event``, ``_send_packet``
  also carry connection state recovery (:mod:`flask_socketio.recovery`): the pid in
  the CONNECT reply, a kept session restored before the connect handler runs and its
  missed events replayed after the reply, a session kept at a network disconnect;
- ``PubSubManager._handle_emit`` (in :mod:`flask_socketio.emit_observer`): emits
  arriving from other processes through a message queue are reported to the test
  toolkit's recorder.

Everything else uses python-socketio's public API.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import socketio
from socketio import packet

from .dynamic_namespaces import (
    NOT_FOUND,
    DynamicNamespaces,
    NamespaceNames,
    split_namespaces,
)
from .engine.router import EngineRouter
from .packet_rules import ProtocolViolation, check_packet
from .packets import Packet as FastPacket
from .recovery import (
    RECOVERABLE_REASONS,
    KeptSession,
    RecoveryOptions,
    RecoveryStore,
    reusing_sid,
    split_auth,
)
from .textcodec import DEFAULT_JSON, decode_control, decode_text
from .volatile import collecting
from .wsgi_types import WSGIEnvironment

logger = logging.getLogger("flask_socketio")


#: Default of the ``max_attachments`` option: binary attachments one packet may announce.
DEFAULT_MAX_ATTACHMENTS = 10

#: Default of the ``max_pending_bytes`` option: bytes of one binary packet (header and
#: attachments) buffered for a connection while its attachments arrive.
DEFAULT_MAX_PENDING_BYTES = 10_000_000

#: Default of the ``connect_timeout`` option, in seconds (socket.io's ``connectTimeout``).
DEFAULT_CONNECT_TIMEOUT = 45.0

#: python-socketio's CONNECT_ERROR texts that the reference server (Node's socket.io)
#: words otherwise: an unknown namespace is refused with "Invalid namespace".
CONNECT_ERROR_TEXTS = {"Unable to connect": "Invalid namespace"}

_BINARY_TYPES = (packet.BINARY_EVENT, packet.BINARY_ACK)
_EVENT_TYPES = (packet.EVENT, packet.BINARY_EVENT)

#: The fast decoders of text packets, by their first character (the packet type).
_FAST_DECODERS: dict[str, Callable[[str], Any]] = {
    str(packet.EVENT): decode_text, str(packet.ACK): decode_text,
    str(packet.CONNECT): decode_control, str(packet.DISCONNECT): decode_control}


def _not_connected(kind: int, namespace: str) -> str:
    """The violation of a packet of type ``kind`` for a namespace not connected."""
    return f"packet type {kind} for namespace {namespace}, which is not connected"


def _allows_every_origin(allowed: Any) -> bool:
    """Does ``cors_allowed_origins`` accept every origin (``'*'``, or a list with it)?"""
    if isinstance(allowed, str):
        return allowed == "*"
    return isinstance(allowed, (list, tuple, set, frozenset)) and "*" in allowed


class ProtocolServer(socketio.Server):
    """A python-socketio ``Server`` whose ``eio`` is an :class:`EngineRouter`.

    It checks every packet a client sends against the Socket.IO protocol
    (:mod:`flask_socketio.packet_rules`) before python-socketio acts on it. A
    violation closes that client's Engine.IO connection and is logged once; the
    server and its other connections carry on.

    :param max_attachments: binary attachments one packet may announce (10).
    :param max_pending_bytes: bytes of one binary packet buffered for a connection
        while its attachments arrive (10 MB).
    :param connect_timeout: seconds an Engine.IO session may stay open without
        connecting a namespace (45); ``None`` waits forever.
    :param connection_state_recovery: ``True`` or a dict of
        :class:`~flask_socketio.recovery.RecoveryOptions` turns connection state
        recovery on (:mod:`flask_socketio.recovery`).

    ``cors_allowed_origins='*'`` (every origin) implies ``cors_credentials=False``
    unless ``cors_credentials`` is given too.
    """

    eio: EngineRouter

    def __init__(self, *args: Any, max_attachments: int = DEFAULT_MAX_ATTACHMENTS,
                 max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
                 connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
                 connection_state_recovery: Any = None, **kwargs: Any) -> None:
        if type(max_attachments) is not int or max_attachments < 0:
            raise ValueError(f"max_attachments must be an int >= 0, not {max_attachments!r}")
        if type(max_pending_bytes) is not int or max_pending_bytes < 1:
            raise ValueError(f"max_pending_bytes must be an int >= 1, not "
                             f"{max_pending_bytes!r}")
        if connect_timeout is not None and (
                isinstance(connect_timeout, bool) or not isinstance(connect_timeout, (int, float))
                or not connect_timeout > 0):
            raise ValueError(f"connect_timeout must be a number of seconds > 0 or None, not "
                             f"{connect_timeout!r}")
        if _allows_every_origin(kwargs.get("cors_allowed_origins")):
            # Every origin, yes, but then no cookies or HTTP auth unless asked for too:
            # with credentials, any web page could act as its visitors.
            kwargs.setdefault("cors_credentials", False)
        self.max_attachments = max_attachments
        self.max_pending_bytes = max_pending_bytes
        self.connect_timeout = connect_timeout
        recovery_options = RecoveryOptions.from_option(connection_state_recovery)
        #: Engine.IO connections closed for a protocol violation (a connect timeout
        #: included) since the server was made.
        self.violation_count = 0
        self._condemned: set[str] = set()
        #: Engine.IO sessions whose namespaces are being disconnected as they end.
        self._closing_transports: set[str] = set()
        self._pending_bytes: dict[str, int] = {}
        self._connect_deadlines: dict[str, Any] = {}
        #: Packets sent to a connection while its connect handler runs, held until the
        #: CONNECT (or CONNECT_ERROR) reply has gone out, as the protocol orders them.
        self._held_while_connecting: dict[str, list[tuple[Callable[..., Any], Any]]] = {}
        #: Called as ``unhandled_event(event, namespace, args, owner)`` for an event
        #: (``connect`` included, ``disconnect`` not: no hook runs for it) that no
        #: handler takes, so that event hooks run; what it returns is the event's result.
        self.unhandled_event: Callable[..., Any] | None = None
        names, patterns = split_namespaces(kwargs.get("namespaces"))
        if patterns:
            kwargs["namespaces"] = names
        #: Namespaces named by patterns, and the handlers registered on them.
        self.dynamic = DynamicNamespaces(patterns)
        super().__init__(*args, **kwargs)
        #: python-socketio's accepted namespaces: ``'*'``, or names (and patterns).
        self.namespaces: Any
        if isinstance(self.namespaces, list):
            self.namespaces = NamespaceNames(self.namespaces, self.dynamic)
        #: The event log and kept sessions of connection state recovery; ``None`` when
        #: the option is off.
        self.recovery: RecoveryStore | None = None
        if recovery_options is not None:
            shared = getattr(self.manager, "recovery_sessions", None)
            self.recovery = RecoveryStore(recovery_options, self._recovery_clock,
                                          shared() if shared is not None else None)

    def _engineio_server_class(self) -> Any:
        return EngineRouter

    def _recovery_clock(self) -> float:
        """The server's clock, whoever asks (a queue's listener thread too): the clock
        of the engine attached beside the network one (a test's virtual clock) once
        there is one, else ``time.monotonic()``."""
        attached = self.eio.attached
        return attached.monotonic() if attached is not None else time.monotonic()

    # -- protocol hygiene (python-socketio's private ``_handle_eio_*`` hooks) -----------

    def _handle_eio_connect(self, eio_sid: str, environ: WSGIEnvironment) -> Any:
        result = super()._handle_eio_connect(eio_sid, environ)
        if self.connect_timeout is not None:
            # The timer runs on the clock of the engine that owns the session (an
            # attached engine's for its own sessions: a test's virtual clock).
            self._connect_deadlines[eio_sid] = self.eio.call_later(
                eio_sid, self.connect_timeout, self._connect_timed_out, eio_sid)
        return result

    def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        self._closing_transports.add(eio_sid)
        try:
            # python-socketio's: _handle_disconnect for each namespace, then the
            # environ forgotten; only for the namespaces the connection has a sid in
            # (for another, _handle_disconnect finds nothing to do)
            manager = self.manager
            for namespace in list(manager.get_namespaces()):
                if manager.sid_from_eio_sid(eio_sid, namespace) is not None:
                    self._handle_disconnect(eio_sid, namespace, reason)
            self.environ.pop(eio_sid, None)
        finally:
            self._closing_transports.discard(eio_sid)
            self._condemned.discard(eio_sid)
            self._pending_bytes.pop(eio_sid, None)
            deadline = self._connect_deadlines.pop(eio_sid, None)
            if deadline is not None:
                deadline.cancel()

    def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if eio_sid in self._condemned:
            return  # closing: nothing more from this connection is acted on
        try:
            pending = self._binary_packet.get(eio_sid)
            if pending is None:
                pkt = self._decode(eio_sid, data)
            else:
                pkt = self._add_attachment(eio_sid, pending, data)
        except ProtocolViolation as exc:
            self._close_for_violation(eio_sid, str(exc))
            return
        if pkt is None:
            return
        kind = pkt.packet_type
        if kind == packet.EVENT:  # the commonest: its sid looked up once
            namespace = pkt.namespace or "/"
            sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
            if sid is None:
                self._close_for_violation(eio_sid, _not_connected(packet.EVENT, namespace))
                return
            try:
                self._run_event(eio_sid, sid, namespace, pkt.id, pkt.data)
            except Exception as exc:
                self.eio.report_failure(eio_sid, f"handling a packet from {eio_sid}", exc)
            return
        if kind == packet.CONNECT:  # once per connection: no second lookup of its state
            namespace = pkt.namespace or "/"
            if self.manager.sid_from_eio_sid(eio_sid, namespace) is not None:
                self._close_for_violation(eio_sid, f"a second CONNECT for namespace "
                                                   f"{namespace}")
                return
        elif kind != packet.DISCONNECT:  # (a DISCONNECT is never a state violation)
            violation = self._state_violation(eio_sid, pkt)
            if violation is not None:
                self._close_for_violation(eio_sid, violation)
                return
        try:
            self._dispatch(eio_sid, pkt)
        except Exception as exc:
            # Server code failed (an ack callback, say), not the client: the engine
            # owning the session reports it (logged on the network, where the
            # connection stays) and the connection stays.
            self.eio.report_failure(eio_sid, f"handling a packet from {eio_sid}", exc)

    def _state_violation(self, eio_sid: str, pkt: Any) -> str | None:
        """What is wrong with ``pkt`` given the connection's state, if anything.

        As the Socket.IO suite requires: an EVENT or ACK for a namespace that is not
        connected, or a second CONNECT for one that is, closes the connection.
        """
        kind, namespace = pkt.packet_type, pkt.namespace or "/"
        if kind not in (packet.EVENT, packet.ACK, packet.CONNECT):
            return None
        is_connected = self.manager.sid_from_eio_sid(eio_sid, namespace) is not None
        if kind == packet.CONNECT and is_connected:
            return f"a second CONNECT for namespace {namespace}"
        if kind != packet.CONNECT and not is_connected:
            return _not_connected(kind, namespace)
        return None

    def _decode(self, eio_sid: str, data: Any) -> Any:
        """The packet ``data`` encodes, checked; ``None`` while attachments are due."""
        packet_class = self.packet_class
        if (type(data) is str and packet_class is FastPacket
                and packet_class.json is DEFAULT_JSON):
            # a plain text EVENT or ACK, or CONNECT or DISCONNECT, decoded fast
            decode = _FAST_DECODERS.get(data[:1])
            text_packet = decode(data) if decode is not None else None
            if text_packet is not None:
                check_packet(text_packet, self.max_attachments)
                return text_packet
        if self.packet_class.uses_binary_events and not isinstance(data, str):
            raise ProtocolViolation("a binary message arrived where a packet was expected")
        try:
            pkt = self.packet_class(encoded_packet=data)
        except Exception as exc:
            raise ProtocolViolation(f"undecodable packet ({type(exc).__name__}: {exc})")
        check_packet(pkt, self.max_attachments)
        if pkt.packet_type not in _BINARY_TYPES:
            return pkt
        if self.manager.sid_from_eio_sid(eio_sid, pkt.namespace or "/") is None:
            raise ProtocolViolation(f"a binary packet for namespace {pkt.namespace or '/'} "
                                    f"that is not connected")
        if len(data) > self.max_pending_bytes:
            raise ProtocolViolation(f"a binary packet over max_pending_bytes "
                                    f"({self.max_pending_bytes})")
        self._binary_packet[eio_sid] = pkt
        self._pending_bytes[eio_sid] = len(data)
        return None

    def _add_attachment(self, eio_sid: str, pending: Any, data: Any) -> Any:
        """The completed packet once ``data`` was its last attachment, else ``None``."""
        if not isinstance(data, (bytes, bytearray)):
            raise ProtocolViolation("a text message arrived where a binary attachment was "
                                    "expected")
        size = self._pending_bytes.get(eio_sid, 0) + len(data)
        if size > self.max_pending_bytes:
            raise ProtocolViolation(f"binary attachments over max_pending_bytes "
                                    f"({self.max_pending_bytes})")
        self._pending_bytes[eio_sid] = size
        try:
            is_complete = pending.add_attachment(data)
        except Exception as exc:
            raise ProtocolViolation(f"bad attachment ({type(exc).__name__}: {exc})")
        if not is_complete:
            return None
        del self._binary_packet[eio_sid]
        self._pending_bytes.pop(eio_sid, None)
        return pending

    def _dispatch(self, eio_sid: str, pkt: Any) -> None:
        """Hand a checked packet to python-socketio, as its own dispatcher would."""
        kind, namespace = pkt.packet_type, pkt.namespace
        if kind == packet.CONNECT:
            self._handle_connect(eio_sid, namespace, pkt.data)
            deadlines = self._connect_deadlines
            if (eio_sid in deadlines
                    and self.manager.sid_from_eio_sid(eio_sid, namespace or "/") is not None):
                deadline = deadlines.pop(eio_sid, None)
                if deadline is not None:
                    deadline.cancel()
        elif kind == packet.DISCONNECT:
            self._handle_disconnect(eio_sid, namespace, self.reason.CLIENT_DISCONNECT)
        elif kind in _EVENT_TYPES:
            self._handle_event(eio_sid, namespace, pkt.id, pkt.data)
        else:
            self._handle_ack(eio_sid, namespace, pkt.id, pkt.data)

    def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None,
                      data: list[Any]) -> None:
        # python-socketio starts a background task per event; the engine that owns the
        # session is asked instead (EngineRouter.run_event), so that the native engine
        # can run events in a worker greenlet of the session's.
        namespace = namespace or "/"
        self._run_event(eio_sid, self.manager.sid_from_eio_sid(eio_sid, namespace), namespace,
                        id, data)

    def _run_event(self, eio_sid: str, sid: str | None, namespace: str, id: int | None,
                   data: list[Any]) -> None:
        """``_handle_event`` once the connection's ``sid`` in ``namespace`` is known."""
        if sid is None or not self.manager.is_connected(sid, namespace):
            logger.warning("%s is not connected to namespace %s", sid, namespace)
            return
        if self.async_handlers:
            self.eio.run_event(eio_sid, self._handle_event_internal, self, sid, eio_sid, data,
                               namespace, id)
        else:
            self._handle_event_internal(self, sid, eio_sid, data, namespace, id)

    def _handle_event_internal(self, server: Any, sid: str, eio_sid: str, data: list[Any],
                               namespace: str, id: int | None) -> None:
        # With async handlers an event waits for its task; if the connection ended
        # meanwhile (its disconnect handler already ran), there is no request context
        # left to run the handler in: the event is dropped, as its ack would be.
        if not self.manager.is_connected(sid, namespace):
            logger.info("Dropped event %r from %s [%s]: the connection closed before its "
                        "handler ran", data[0], sid, namespace)
            return
        super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)

    def _trigger_event(self, event: str, namespace: str, *args: Any) -> Any:
        if event == "connect" and self.recovery is not None and self.recovery.restoring:
            self._restore_state(args[0], namespace)
        dynamic = self.dynamic
        is_dynamic = dynamic.is_used and not self._has_own_handler(event, namespace)
        if is_dynamic:  # a pattern's handlers before the '*' namespace's
            result = dynamic.trigger(event, namespace, args)
            if result is not NOT_FOUND:
                return result
        handlers = self.handlers
        own = handlers.get(namespace)
        handler = own.get(event) if own is not None and event != "disconnect" else None
        if handler is not None:
            # what python-socketio's _trigger_event does first for a handler of this
            # namespace and event (only a disconnect handler gets a second call)
            result = handler(*args)
        elif ("*" in handlers or self.namespace_handlers or (own is not None and (
                event in own or ("*" in own and event not in self.reserved_events)))):
            result = super()._trigger_event(event, namespace, *args)
        else:  # python-socketio would find no handler: none of these names one
            result = self.not_handled
        if (result is self.not_handled and event != "disconnect"
                and self.unhandled_event is not None):
            owner = self.namespace_handlers.get(namespace)
            if owner is None and is_dynamic:
                owner = dynamic.namespace_handler_for(namespace)
            if owner is None:
                owner = self.namespace_handlers.get("*")
            return self.unhandled_event(event, namespace, args, owner)
        return result

    def _has_own_handler(self, event: str, namespace: str) -> bool:
        """Is ``event`` handled by a handler registered on the name ``namespace`` (or
        by a class-based namespace of that name)?"""
        if namespace in self.namespace_handlers:
            return True
        own = self.handlers.get(namespace)
        return own is not None and (
            event in own or (event not in self.reserved_events and "*" in own))

    def _close_for_violation(self, eio_sid: str, reason: str) -> None:
        """Log once, stop acting on the connection, close it from a task of its own.

        The close runs in a task because closing a long-polling session from the
        request that carried the violation would wait for the client's next poll.
        """
        if eio_sid in self._condemned:
            return
        self._condemned.add(eio_sid)
        self.violation_count += 1
        self._binary_packet.pop(eio_sid, None)
        self._pending_bytes.pop(eio_sid, None)
        if len(reason) > 200:
            reason = reason[:200] + "..."
        logger.warning("Closing Engine.IO connection %s: protocol violation: %s",
                       eio_sid, reason)
        self.start_background_task(self._close_engineio, eio_sid)

    def _close_engineio(self, eio_sid: str) -> None:
        if eio_sid in self.environ:
            self.eio.disconnect(eio_sid)

    def _connect_timed_out(self, eio_sid: str) -> None:
        """``connect_timeout`` passed for an Engine.IO session: close it if it still
        has no namespace connected."""
        self._connect_deadlines.pop(eio_sid, None)
        if eio_sid not in self.environ or eio_sid in self._condemned:
            return
        namespaces = list(self.manager.get_namespaces())
        if any(self.manager.sid_from_eio_sid(eio_sid, ns) is not None for ns in namespaces):
            return
        self._condemned.add(eio_sid)
        self.violation_count += 1
        logger.warning("Closing Engine.IO connection %s: no namespace connected within "
                       "connect_timeout (%g s)", eio_sid, self.connect_timeout)
        self.eio.disconnect(eio_sid)

    def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        if self.recovery is not None:
            self._connect_recovering(eio_sid, namespace or "/", data)
            return
        self._connect_holding(eio_sid, namespace, data)

    def _connect_holding(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        if self.always_connect or eio_sid in self._held_while_connecting:
            super()._handle_connect(eio_sid, namespace, data)
            return
        held = self._held_while_connecting
        held[eio_sid] = []
        try:
            super()._handle_connect(eio_sid, namespace, data)
        finally:
            if eio_sid in held:  # not released by a CONNECT or CONNECT_ERROR reply
                self._release_held(eio_sid)

    # -- connection state recovery (see flask_socketio.recovery) ------------------------

    def _connect_recovering(self, eio_sid: str, namespace: str, data: Any) -> None:
        """A CONNECT with recovery on: the auth's ``pid`` and ``offset`` taken out (the
        connect handler gets the auth the client was given), the kept session, if
        any, restored under its old sid."""
        recovery = self.recovery
        assert recovery is not None
        auth, pid, offset = split_auth(data)
        kept = None
        if pid is not None and self.manager.sid_from_eio_sid(eio_sid, namespace) is None:
            kept = recovery.restore(namespace, pid, offset)
            if kept is not None and self.manager.eio_sid_from_sid(kept.sid, namespace):
                recovery.forget(kept.sid, namespace)  # that sid is connected again
                kept = None
        if kept is None:
            self._connect_holding(eio_sid, namespace, auth)
            return
        key = (eio_sid, namespace)
        recovery.restoring[key] = kept
        try:
            with reusing_sid(kept.sid):
                self._connect_holding(eio_sid, namespace, auth)
        finally:
            recovery.restoring.pop(key, None)
            recovery.replays.pop(key, None)
            if self.manager.eio_sid_from_sid(kept.sid, namespace) != eio_sid:
                recovery.forget(kept.sid, namespace)  # refused

    def _restore_state(self, sid: str, namespace: str) -> None:
        """Before the connect handler of a recovered connection: its rooms and data
        back, its missed events ready to follow the CONNECT reply."""
        recovery = self.recovery
        assert recovery is not None
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        kept: KeptSession | None = recovery.restoring.get((eio_sid, namespace))
        if kept is None or kept.sid != sid:
            return
        for room in kept.rooms:
            if room != sid:
                self.manager.enter_room(sid, namespace, room, eio_sid=eio_sid)
        if kept.data is not None:
            self.eio.get_session(eio_sid)[namespace] = kept.data
        environ = self.environ.get(eio_sid)
        if kept.flask_session is not None and environ is not None:
            from .context import SAVED_SESSION_KEY, ManagedSession

            flask_session = kept.flask_session
            if not isinstance(flask_session, ManagedSession):  # from another node
                flask_session = ManagedSession(flask_session)
            environ[SAVED_SESSION_KEY] = flask_session
        if self.always_connect:  # the CONNECT reply is out already
            self._replay(eio_sid, namespace, kept.missed)
        else:
            recovery.replays[(eio_sid, namespace)] = kept.missed

    def _keep_state(self, eio_sid: str, namespace: str) -> Callable[[], None] | None:
        """What keeps connection ``eio_sid``'s state on ``namespace`` once its
        disconnect handler has run (rooms as they were before it)."""
        recovery = self.recovery
        assert recovery is not None
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None or not self.manager.is_connected(sid, namespace):
            return None
        rooms = self.manager.get_rooms(sid, namespace)
        try:
            data = self.eio.get_session(eio_sid).get(namespace)
        except KeyError:
            data = None
        environ = self.environ.get(eio_sid) or {}
        from .context import SAVED_SESSION_KEY

        flask_session = environ.get(SAVED_SESSION_KEY)
        return lambda: recovery.keep(sid, namespace, rooms, data, flask_session)

    def _handle_disconnect(self, eio_sid: str, namespace: str | None,
                           reason: Any = None) -> None:
        recovery = self.recovery
        if recovery is None:
            super()._handle_disconnect(eio_sid, namespace, reason)
            return
        namespace = namespace or "/"
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        keep = None
        if reason in RECOVERABLE_REASONS or (
                # an Engine.IO CLOSE with no Socket.IO DISCONNECT before it: socket.io
                # calls that a "transport close" too
                reason == self.reason.CLIENT_DISCONNECT
                and eio_sid in self._closing_transports):
            keep = self._keep_state(eio_sid, namespace)
        try:
            super()._handle_disconnect(eio_sid, namespace, reason)
        finally:
            if keep is not None:
                keep()
            if sid is not None:
                recovery.forget(sid, namespace)

    def _release_held(self, eio_sid: str) -> None:
        for send, item in self._held_while_connecting.pop(eio_sid, ()):
            send(eio_sid, item)

    def _send_packet(self, eio_sid: str, pkt: Any) -> None:
        kind = pkt.packet_type
        if kind == packet.CONNECT_ERROR and isinstance(pkt.data, str):
            pkt.data = {"message": CONNECT_ERROR_TEXTS.get(pkt.data, pkt.data)}
        replay = None
        if kind == packet.CONNECT and self.recovery is not None:
            namespace = pkt.namespace or "/"
            sid = pkt.data["sid"]
            pkt.data = {"sid": sid, "pid": self.recovery.pid_for(sid, namespace)}
            replay = self.recovery.replays.pop((eio_sid, namespace), None)
        held = self._held_while_connecting.get(eio_sid)
        if held is None:
            super()._send_packet(eio_sid, pkt)
            if replay:
                self._replay(eio_sid, pkt.namespace, replay)
        elif kind == packet.CONNECT or kind == packet.CONNECT_ERROR:
            super()._send_packet(eio_sid, pkt)  # the reply goes first, then what was held
            if replay:
                self._replay(eio_sid, pkt.namespace, replay)
            self._release_held(eio_sid)
        else:
            held.append((super()._send_packet, pkt))

    def _replay(self, eio_sid: str, namespace: str | None, missed: list[Any] | None) -> None:
        """Send a recovered connection the events it missed, in order."""
        for data in missed or ():
            try:
                super()._send_packet(eio_sid, self.packet_class(
                    packet.EVENT, data=list(data), namespace=namespace))
            except (TypeError, ValueError, OverflowError) as exc:  # emitted unchecked
                logger.warning("Not replaying event %r to %s: it cannot be encoded (%s)",
                               data[0], eio_sid, exc)

    def _send_eio_packet(self, eio_sid: str, eio_pkt: Any) -> None:
        volatile = collecting()
        if volatile is not None:  # sent as one group once the volatile emit is done
            volatile.setdefault(eio_sid, []).append(eio_pkt)
            return
        held = self._held_while_connecting.get(eio_sid)
        if held is None:
            self.eio.send_packet(eio_sid, eio_pkt)  # what python-socketio's does
        else:
            held.append((super()._send_eio_packet, eio_pkt))

    def send_volatile(self, eio_sid: str, eio_pkts: list[Any]) -> None:
        """Send the Engine.IO packets of one volatile Socket.IO packet to a client if
        its transport is ready for them, else drop them (see :mod:`.volatile`)."""
        held = self._held_while_connecting.get(eio_sid)
        if held is None:
            self.eio.send_volatile(eio_sid, eio_pkts)
        else:
            held.append((self.eio.send_volatile, eio_pkts))
