"""The app the live tests serve: one handler per core behaviour.

``create_app(**options)`` builds a fresh app each time (``options`` go to
``SocketIO``). The JavaScript and browser tests drive the same handlers.

Events (namespace ``/`` unless said):

- ``connect(auth)``: refuses ``{"token": <anything but "secret">}`` with
  ``ConnectionRefusedError("bad token")``; no auth is accepted.
- ``echo(*args)``: emits ``echo`` back with the same args and acks them.
- ``whoami()``: acks ``request.sid``.
- ``join(room)`` / ``leave(room)``: acks the sender's rooms (its sid room excluded).
- ``say(room, text)``: emits ``said`` ``{"room", "text", "from"}`` to the room.
- ``shout(text)``: emits ``shouted`` to everyone but the sender; acks ``True``.
- ``remember(key, value)`` / ``recall(key)``: the connection's managed session.
- ``ask(question)``: ``call()``s the client's ``question`` handler and acks its answer.
- ``ask_later(question)``: emits ``question`` with a callback that emits ``answer``.
- ``ticks(count)``: a background task emits ``tick`` 0..count-1 to the sender.
- ``timed_ticks(count, period)``: the same, one every ``period`` seconds.
- ``kick()``: emits ``bye``, then disconnects the sender (server side).
- ``/chat`` ``echo(*args)``: as ``echo``, with ``{"namespace": "/chat"}`` appended.
- ``/private`` ``connect``: always refused with ``{"message": "members only"}``.
- ``is_monkey_patched()``: acks whether gevent monkey-patched the server's process.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request, session

from flask_socketio import (
    ConnectionRefusedError,
    SocketIO,
    call,
    disconnect,
    emit,
    join_room,
    leave_room,
    rooms,
)


def create_app(**options: Any) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "live tests"
    socketio = SocketIO(app, **options)

    @app.route("/")
    def index() -> str:
        return "live app"

    @socketio.on("connect")
    def on_connect(auth: Any) -> None:
        if isinstance(auth, dict) and auth.get("token") not in (None, "secret"):
            raise ConnectionRefusedError("bad token")

    @socketio.on("echo")
    def on_echo(*args: Any) -> tuple:
        emit("echo", *args)
        return args

    @socketio.on("whoami")
    def on_whoami() -> str:
        return request.sid  # type: ignore[attr-defined]

    def own_rooms() -> list[str]:
        return sorted(room for room in rooms() if room != request.sid)  # type: ignore[attr-defined]

    @socketio.on("join")
    def on_join(room: str) -> list[str]:
        join_room(room)
        return own_rooms()

    @socketio.on("leave")
    def on_leave(room: str) -> list[str]:
        leave_room(room)
        return own_rooms()

    @socketio.on("say")
    def on_say(room: str, text: str) -> bool:
        emit("said", {"room": room, "text": text, "from": request.sid}, to=room)  # type: ignore[attr-defined]
        return True

    @socketio.on("shout")
    def on_shout(text: str) -> bool:
        emit("shouted", text, broadcast=True, include_self=False)
        return True

    @socketio.on("remember")
    def on_remember(key: str, value: Any) -> bool:
        session[key] = value
        return True

    @socketio.on("recall")
    def on_recall(key: str) -> Any:
        return session.get(key)

    @socketio.on("ask")
    def on_ask(question: str) -> Any:
        return call("question", question, timeout=5)

    @socketio.on("ask_later")
    def on_ask_later(question: str) -> bool:
        emit("question", question, callback=lambda *answer: emit("answer", *answer))
        return True

    @socketio.on("ticks")
    def on_ticks(count: int) -> bool:
        sid = request.sid  # type: ignore[attr-defined]

        def tick() -> None:
            for number in range(count):
                socketio.sleep(0)
                socketio.emit("tick", number, to=sid)

        socketio.start_background_task(tick)
        return True

    @socketio.on("timed_ticks")
    def on_timed_ticks(count: int, period: float) -> bool:
        sid = request.sid  # type: ignore[attr-defined]

        def tick() -> None:
            for number in range(count):
                socketio.sleep(period)
                socketio.emit("tick", number, to=sid)

        socketio.start_background_task(tick)
        return True

    @socketio.on("kick")
    def on_kick() -> None:
        emit("bye", "kicked")
        disconnect()

    @socketio.on("echo", namespace="/chat")
    def on_chat_echo(*args: Any) -> tuple:
        emit("echo", *args, {"namespace": "/chat"})
        return (*args, {"namespace": "/chat"})

    @socketio.on("connect", namespace="/private")
    def on_private_connect(auth: Any) -> None:
        raise ConnectionRefusedError("members only")

    @socketio.on("is_monkey_patched")
    def on_is_monkey_patched() -> bool:
        import gevent.monkey

        return gevent.monkey.is_anything_patched()

    return app, socketio
