"""``message_queue`` URLs to python-socketio client managers."""

from __future__ import annotations

from typing import Any


def client_manager_for(options: dict[str, Any]) -> Any:
    """The client manager the options ask for (a given one, or one for the URL)."""
    if options.get("client_manager") is not None:
        return options["client_manager"]
    url = options.get("message_queue")
    if url is None:
        from .rooms import RoomManager

        return RoomManager()
    raise ValueError(f"message_queue {url!r}: message queues are not available yet")
