"""A chat with rooms, the Flask-SocketIO example.

Run it with ``bash scripts/run-example.sh`` (installs what it needs first), or
``python3 examples/chat/app.py`` once the package and the JavaScript client are
installed; ``HOST`` and ``PORT`` choose where it listens (127.0.0.1:5000) and
``SECRET_KEY`` signs the session cookie.

Events from the browser (each acknowledged with ``{'ok': True}`` or
``{'ok': False, 'error': ...}``):

- ``join`` ``{'room', 'username'}``: enter a room; the room gets a notice
  naming the user and its new member list.
- ``leave`` ``{'room'}``: leave a room; likewise.
- ``text`` ``{'room', 'msg'}``: say something in a room you have joined; the
  room gets a ``message`` ``{'room', 'username', 'msg'}``.

Notices go out as ``status`` events ``{'room', 'msg'}``, member lists as
``users`` events ``{'room', 'users'}``. Closing a tab leaves every room the
user was in, with a notice to each.
"""

from __future__ import annotations

import os
import secrets
import warnings
from pathlib import Path
from typing import Any

from flask import Flask, render_template, request, send_file, session, url_for

from flask_socketio import SocketIO, emit, join_room, leave_room, rooms

HERE = Path(__file__).resolve().parent

#: The Socket.IO v4 browser client, installed by ``npm ci`` at the repo root.
CLIENT_JS = HERE.parents[1] / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"

#: Used only when the local copy above is missing.
CLIENT_JS_CDN = "https://cdn.socket.io/4.8.1/socket.io.min.js"

MAX_NAME = 32
MAX_MESSAGE = 2000


class ChatRooms:
    """Who is in which room, by name: ``{room: {sid: username}}``."""

    def __init__(self) -> None:
        self.members: dict[str, dict[str, str]] = {}

    def add(self, room: str, sid: str, username: str) -> None:
        self.members.setdefault(room, {})[sid] = username

    def remove(self, room: str, sid: str) -> None:
        people = self.members.get(room, {})
        people.pop(sid, None)
        if not people:
            self.members.pop(room, None)

    def names(self, room: str) -> list[str]:
        return sorted(self.members.get(room, {}).values(), key=str.casefold)


def _text(data: Any, key: str, limit: int) -> str:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key!r} must be a non-empty string")
    return value.strip()[:limit]


def create_app(config: dict[str, Any] | None = None) -> tuple[Flask, SocketIO]:
    """Build the chat application; return ``(app, socketio)``."""
    app = Flask(__name__, root_path=str(HERE))
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or _random_secret_key()
    socketio = SocketIO(app)
    chat = ChatRooms()

    def announce(room: str, msg: str) -> None:
        emit("status", {"room": room, "msg": msg}, to=room)
        emit("users", {"room": room, "users": chat.names(room)}, to=room)

    @app.route("/")
    def index() -> str:
        client_js = url_for("client_js") if CLIENT_JS.is_file() else CLIENT_JS_CDN
        return render_template("index.html", client_js=client_js)

    @app.route("/vendor/socket.io.min.js")
    def client_js() -> Any:
        return send_file(CLIENT_JS, mimetype="text/javascript")

    @socketio.on("join")
    def on_join(data: Any) -> dict[str, Any]:
        try:
            username, room = _text(data, "username", MAX_NAME), _text(data, "room", MAX_NAME)
        except ValueError as exc:
            return {"ok": False, "error": str(exc)}
        session["username"] = username
        join_room(room)
        chat.add(room, request.sid, username)  # type: ignore[attr-defined]
        announce(room, f"{username} joined {room}")
        return {"ok": True}

    @socketio.on("leave")
    def on_leave(data: Any) -> dict[str, Any]:
        try:
            room = _text(data, "room", MAX_NAME)
        except ValueError as exc:
            return {"ok": False, "error": str(exc)}
        if room not in rooms():
            return {"ok": False, "error": f"you are not in {room}"}
        leave_room(room)
        chat.remove(room, request.sid)  # type: ignore[attr-defined]
        announce(room, f"{session.get('username', 'someone')} left {room}")
        return {"ok": True}

    @socketio.on("text")
    def on_text(data: Any) -> dict[str, Any]:
        try:
            room, msg = _text(data, "room", MAX_NAME), _text(data, "msg", MAX_MESSAGE)
        except ValueError as exc:
            return {"ok": False, "error": str(exc)}
        if room not in rooms():
            return {"ok": False, "error": f"join {room} before posting to it"}
        emit("message", {"room": room, "username": session.get("username", "someone"),
                         "msg": msg}, to=room)
        return {"ok": True}

    @socketio.on("disconnect")
    def on_disconnect(reason: Any = None) -> None:
        sid = request.sid  # type: ignore[attr-defined]
        username = session.get("username", "someone")
        for room in rooms():
            if room == sid:
                continue
            chat.remove(room, sid)
            # The leaving connection is gone: send to the others only.
            emit("status", {"room": room, "msg": f"{username} left {room}"}, to=room,
                 skip_sid=sid)
            emit("users", {"room": room, "users": chat.names(room)}, to=room, skip_sid=sid)

    return app, socketio


def _random_secret_key() -> str:
    warnings.warn("SECRET_KEY is not set: using a random key, so sessions end when the "
                  "server restarts; set the SECRET_KEY environment variable", stacklevel=3)
    return secrets.token_hex(32)


if __name__ == "__main__":
    app, socketio = create_app()
    socketio.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "5000")),
    )
