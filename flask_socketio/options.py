"""The options ``SocketIO`` accepts, checked by name so that a typo is an error."""

from __future__ import annotations

from typing import Any

#: Options of python-socketio's ``Server``.
SOCKETIO_OPTIONS = frozenset({
    "client_manager", "logger", "serializer", "json", "async_handlers", "always_connect",
    "namespaces", "engineio_logger",
})

#: Options of python-engineio's ``Server``.
ENGINEIO_OPTIONS = frozenset({
    "async_mode", "ping_interval", "ping_timeout", "max_http_buffer_size", "allow_upgrades",
    "http_compression", "compression_threshold", "cookie", "cors_allowed_origins",
    "cors_credentials", "monitor_clients", "transports",
    # ours: which Engine.IO server ("native" on gevent by default, or "engineio"), and
    # the native engine's limits, and permessage-deflate on the embedded server
    # (python-engineio ignores these)
    "engine", "max_queued_bytes", "max_packets_per_post", "websocket_compression",
})

#: Options of our protocol server (:class:`~flask_socketio.protocol.ProtocolServer`).
PROTOCOL_OPTIONS = frozenset({"max_attachments", "max_pending_bytes", "connect_timeout",
                              "connection_state_recovery"})

#: Options of this extension.
EXTENSION_OPTIONS = frozenset({
    "path", "resource", "manage_session", "message_queue", "channel", "write_only",
    "message_queue_options",
})

#: Options :meth:`SocketIO.init_app` takes out of ``server_options`` (as Flask-SocketIO
#: does; ``manage_session`` becomes the ``manage_session`` attribute).
EXTENSION_ONLY_OPTIONS = ("channel", "path")

ALL_OPTIONS = SOCKETIO_OPTIONS | ENGINEIO_OPTIONS | PROTOCOL_OPTIONS | EXTENSION_OPTIONS


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """Return ``options`` unchanged, or raise ``TypeError`` naming the unknown ones."""
    unknown = sorted(set(options) - ALL_OPTIONS)
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise TypeError(f"SocketIO got unknown option(s) {names}; known options are: "
                        + ", ".join(sorted(ALL_OPTIONS)))
    if "resource" in options:  # the 2014 name of ``path``
        options = dict(options)
        options.setdefault("path", options.pop("resource"))
    return options


def server_options(options: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``options`` that our python-socketio ``Server`` takes."""
    return {key: value for key, value in options.items()
            if key in SOCKETIO_OPTIONS or key in ENGINEIO_OPTIONS or key in PROTOCOL_OPTIONS}


def check_namespace(namespace: str | None) -> str:
    """``'/'`` for ``None``; a namespace that does not start with ``'/'`` is an error."""
    if namespace is None:
        return "/"
    if not isinstance(namespace, str) or not (namespace.startswith("/") or namespace == "*"):
        raise ValueError(f"namespace {namespace!r} must start with '/' (or be '*')")
    return namespace
