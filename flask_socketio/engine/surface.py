"""What code written for python-engineio's ``Server`` reads on ``socketio.server.eio``.

Flask-SocketIO apps and their tests read the engine's settings there
(``socketio.server.eio.allow_upgrades``), and python-socketio's ``instrument()``
(the Socket.IO Admin UI) reads its sessions (``sockets``, ``_get_socket(sid)
.upgraded``) and wraps ``_ok``. :class:`EngineSurface` gives our router that
surface: settings are those of the network engine, sessions are those of every
engine behind the router, in-process ones included.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import engineio

#: python-engineio ``Server`` settings, read and written on the network engine. The
#: native engine keeps the ping grace period as ``ping_grace``.
SETTINGS = ("ping_interval", "ping_interval_grace_period", "ping_timeout",
            "max_http_buffer_size", "allow_upgrades", "http_compression",
            "compression_threshold", "cookie", "cors_allowed_origins", "cors_credentials",
            "async_handlers", "start_service_task", "transports", "logger", "json")
_NATIVE_NAMES = {"ping_interval_grace_period": "ping_grace"}


def _setting(name: str) -> property:
    def get(self: Any) -> Any:
        network = self.network
        return getattr(network, _engine_name(network, name))

    def set_(self: Any, value: Any) -> None:
        network = self.network
        setattr(network, _engine_name(network, name), value)

    return property(get, set_, doc=f"The network engine's ``{name}``.")


def _engine_name(engine: Any, name: str) -> str:
    native = _NATIVE_NAMES.get(name)
    return native if native is not None and not hasattr(engine, name) else name


class SocketView:
    """One session as python-engineio's ``Socket`` shows it to python-socketio's
    admin instrumentation: ``sid``, ``upgraded`` (on WebSocket) and ``closed``."""

    __slots__ = ("sid", "_engine", "_session")

    def __init__(self, engine: Any, sid: str, session: Any) -> None:
        self.sid = sid
        self._engine = engine
        self._session = session

    @property
    def upgraded(self) -> bool:
        try:
            transport: str = self._engine.transport(self.sid)
            return transport == "websocket"
        except KeyError:  # closed meanwhile
            return False

    @property
    def closed(self) -> bool:
        return bool(self._session.is_closed)

    def __repr__(self) -> str:
        return f"<SocketView {self.sid} upgraded={self.upgraded} closed={self.closed}>"


def _sessions_of(engine: Any) -> dict[str, Any]:
    """An engine's live sessions by sid, as python-engineio ``Socket`` objects or views."""
    if isinstance(engine, engineio.Server):  # closed ones stay until its service task runs
        return {sid: socket for sid, socket in list(engine.sockets.items())
                if not socket.closed}
    sessions = getattr(engine, "sessions", None)
    if sessions is None:
        sessions = getattr(engine, "sockets", {})
    return {sid: SocketView(engine, sid, session) for sid, session in list(sessions.items())}


class SocketsView(Mapping[str, Any]):
    """The sessions of every engine behind a router, by sid (read-only)."""

    def __init__(self, router: Any) -> None:
        self._router = router

    def _all(self) -> dict[str, Any]:
        found = dict(_sessions_of(self._router.network))
        if self._router.attached is not None:
            found.update(_sessions_of(self._router.attached))
        return found

    def __getitem__(self, sid: str) -> Any:
        return self._all()[sid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


class EngineSurface:
    """Mixed into the router: python-engineio ``Server`` attributes outside the engine
    interface. Expects ``self.network`` and ``self.attached``."""

    network: Any
    attached: Any

    ping_interval = _setting("ping_interval")
    ping_interval_grace_period = _setting("ping_interval_grace_period")
    ping_timeout = _setting("ping_timeout")
    max_http_buffer_size = _setting("max_http_buffer_size")
    allow_upgrades = _setting("allow_upgrades")
    http_compression = _setting("http_compression")
    compression_threshold = _setting("compression_threshold")
    cookie = _setting("cookie")
    cors_allowed_origins = _setting("cors_allowed_origins")
    cors_credentials = _setting("cors_credentials")
    async_handlers = _setting("async_handlers")
    start_service_task = _setting("start_service_task")
    transports = _setting("transports")
    logger = _setting("logger")
    json = _setting("json")

    @property
    def sockets(self) -> Mapping[str, Any]:
        """Every live session, by sid (python-engineio's ``Server.sockets``)."""
        return SocketsView(self)

    def _get_socket(self, sid: str) -> Any:
        """The session ``sid`` (python-engineio's ``Server._get_socket``); ``KeyError``
        if there is none."""
        try:
            return self.sockets[sid]
        except KeyError:
            raise KeyError("Session not found") from None

    @property
    def _ok(self) -> Any:
        """python-engineio's polling response builder, which ``instrument()`` wraps to
        count traffic: the network engine's when it has one (python-engineio's)."""
        found = getattr(self.network, "_ok", None)
        if found is None:
            found = self.__dict__.get("_ok_replacement") or self._build_ok
        return found

    @_ok.setter
    def _ok(self, value: Any) -> None:
        if hasattr(self.network, "_ok"):
            self.network._ok = value
        else:
            self.__dict__["_ok_replacement"] = value

    def _build_ok(self, packets: Any = None, headers: Any = None,
                  jsonp_index: Any = None) -> dict[str, Any]:
        response: dict[str, Any] = engineio.base_server.BaseServer._ok(
            self, packets, headers, jsonp_index)
        return response
