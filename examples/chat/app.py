"""A chat with rooms, the Flask-SocketIO example.

Run it with ``bash scripts/run-example.sh`` (installs what it needs first), or
``python examples/chat/app.py`` once the package and the JavaScript client are
installed; ``HOST`` and ``PORT`` choose where it listens (127.0.0.1:5000).

Events from the browser:

- ``join`` ``{'room', 'username'}``: enter a room; the room gets a notice.
- ``leave`` ``{'room'}``: leave a room; the room gets a notice.
- ``text`` ``{'room', 'msg'}``: say something; the room gets a ``message``.

Notices go out as ``status`` events ``{'msg': ...}``; everyone sees one when a
user connects or disconnects.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, render_template, send_file, session, url_for

from flask_socketio import SocketIO, emit, join_room, leave_room

HERE = Path(__file__).resolve().parent

#: The Socket.IO v4 browser client, installed by ``npm ci`` at the repo root.
CLIENT_JS = HERE.parents[1] / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"

#: Used only when the local copy above is missing.
CLIENT_JS_CDN = "https://cdn.socket.io/4.8.1/socket.io.min.js"


def create_app(config: dict[str, Any] | None = None) -> tuple[Flask, SocketIO]:
    """Build the chat application; return ``(app, socketio)``."""
    app = Flask(__name__, root_path=str(HERE))
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "change me")
    app.config.update(config or {})
    socketio = SocketIO(app)

    @app.route("/")
    def index() -> str:
        client_js = url_for("client_js") if CLIENT_JS.is_file() else CLIENT_JS_CDN
        return render_template("index.html", client_js=client_js)

    @app.route("/vendor/socket.io.min.js")
    def client_js() -> Any:
        return send_file(CLIENT_JS, mimetype="text/javascript")

    @socketio.on("connect")
    def on_connect() -> None:
        emit("status", {"msg": "a user connected"}, broadcast=True)

    @socketio.on("join")
    def on_join(data: dict[str, str]) -> None:
        username, room = data["username"], data["room"]
        session["username"] = username
        join_room(room)
        emit("status", {"msg": f"{username} has entered the room {room}."}, to=room)

    @socketio.on("leave")
    def on_leave(data: dict[str, str]) -> None:
        username, room = session.get("username", "someone"), data["room"]
        leave_room(room)
        emit("status", {"msg": f"{username} has left the room {room}."}, to=room)

    @socketio.on("text")
    def on_text(data: dict[str, str]) -> None:
        message = {
            "room": data["room"],
            "username": session.get("username", "someone"),
            "msg": data["msg"],
        }
        emit("message", message, to=data["room"])

    @socketio.on("disconnect")
    def on_disconnect(reason: Any = None) -> None:
        emit("status", {"msg": "a user disconnected"}, broadcast=True)

    return app, socketio


if __name__ == "__main__":
    app, socketio = create_app()
    socketio.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "5000")),
    )
