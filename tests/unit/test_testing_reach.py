"""What reaches test clients: emits from HTTP routes, background tasks, other threads,
several apps and SocketIO instances at once, a custom path, the msgpack serializer."""

from __future__ import annotations

import threading

import pytest
from flask import Flask, current_app, request, session
from socketio.msgpack_packet import MsgPackPacket

from flask_socketio import SocketIO, emit, join_room

pytestmark = pytest.mark.socketio_leak_guard


def make_app(name="app", **options):
    app = Flask(name)
    app.config["SECRET_KEY"] = f"secret of {name}"
    socketio = SocketIO(app, **options)
    register(socketio)

    @app.route("/login/<user>")
    def login(user):
        session["user"] = user
        return "logged in"

    @app.route("/notify/<room>")
    def notify(room):
        socketio.emit("notice", {"room": room, "by": session.get("user")}, to=room)
        return "sent"

    @app.route("/broadcast")
    def broadcast():
        socketio.emit("announcement", request.args["text"])
        return "sent"

    @app.route("/direct/<sid>")
    def direct(sid):
        socketio.emit("direct", "just you", to=sid)
        return "sent"

    return app, socketio


def register(socketio):
    @socketio.on("connect")
    def connect(auth):
        emit("hello", {"user": session.get("user"), "app": current_app.name,
                       "path": request.path})

    @socketio.on("join")
    def join(room):
        join_room(room)

    @socketio.on("whoami")
    def whoami():
        return session.get("user")

    @socketio.on("echo")
    def echo(*args):
        emit("echo", *args)
        return args

    @socketio.on("count_later")
    def count_later(count):
        sid = request.sid

        def task():
            for number in range(1, count + 1):
                socketio.sleep(1)
                socketio.emit("count", number, to=sid)

        socketio.start_background_task(task)


# -- HTTP routes ------------------------------------------------------------------


def test_emit_from_a_flask_route_reaches_a_room():
    app, socketio = make_app()
    inside = socketio.test_client(app)
    outside = socketio.test_client(app)
    inside.emit("join", "news")
    inside.get_received()
    outside.get_received()
    response = app.test_client().get("/notify/news")
    assert response.status_code == 200
    inside.assert_received("notice", {"room": "news", "by": None})
    outside.assert_nothing_received()


def test_broadcast_and_direct_emits_from_routes():
    app, socketio = make_app()
    one = socketio.test_client(app)
    two = socketio.test_client(app)
    one.get_received()
    two.get_received()
    http = app.test_client()
    http.get("/broadcast?text=hi")
    http.get(f"/direct/{two.sid}")
    one.assert_received("announcement", "hi")
    one.assert_nothing_received()
    two.assert_received("announcement", "hi")
    two.assert_received("direct", "just you")


def test_flask_test_client_shares_cookies_and_session():
    app, socketio = make_app()
    http = app.test_client()
    http.get("/login/ann")
    client = socketio.test_client(app, flask_test_client=http)
    client.assert_received("hello", {"user": "ann", "app": "app", "path": "/socket.io"})
    assert client.session["user"] == "ann"
    assert client.emit("whoami", callback=True) == "ann"
    client.emit("join", "news")
    http.get("/notify/news")  # the route sees the same cookie session
    client.assert_received("notice", {"room": "news", "by": "ann"})


def test_without_flask_test_client_there_is_no_session():
    app, socketio = make_app()
    http = app.test_client()
    http.get("/login/ann")
    client = socketio.test_client(app)
    client.assert_received("hello", {"user": None, "app": "app", "path": "/socket.io"})
    assert client.emit("whoami", callback=True) == []


def test_each_flask_test_client_is_its_own_user():
    app, socketio = make_app()
    ann_http, bob_http = app.test_client(), app.test_client()
    ann_http.get("/login/ann")
    bob_http.get("/login/bob")
    ann = socketio.test_client(app, flask_test_client=ann_http)
    bob = socketio.test_client(app, flask_test_client=bob_http)
    assert ann.emit("whoami", callback=True) == "ann"
    assert bob.emit("whoami", callback=True) == "bob"


# -- background tasks and other threads -----------------------------------------------


def test_emits_from_a_background_task_started_by_a_handler(socketio_clock):
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.get_received()
    client.emit("count_later", 3)
    client.assert_nothing_received()
    socketio_clock.advance(3)
    assert [r.args for r in client.get_received()] == [[1], [2], [3]]


def test_emits_from_a_background_task_started_by_the_test():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.get_received()

    def task(room):
        socketio.emit("from task", room)

    socketio.start_background_task(task, "everyone")
    client.assert_received("from task", "everyone")


def test_emits_from_another_thread_reach_a_waiting_receive():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.get_received()
    started = threading.Event()

    def worker():
        started.wait(5)
        socketio.emit("from thread", threading.current_thread().name)

    thread = threading.Thread(target=worker, name="worker-thread")
    thread.start()
    started.set()
    try:
        assert client.receive("from thread", timeout=5).args == ["worker-thread"]
    finally:
        thread.join(5)


# -- several apps and SocketIO instances ----------------------------------------------


def test_many_clients_on_two_apps_with_two_socketio_instances():
    app_one, socketio_one = make_app("one")
    app_two, socketio_two = make_app("two")
    ones = [socketio_one.test_client(app_one) for _ in range(20)]
    twos = [socketio_two.test_client(app_two) for _ in range(20)]
    for client in ones + twos:
        client.get_received()
    for index, client in enumerate(ones + twos):
        assert client.emit("echo", index, callback=True) == index
        client.assert_received("echo", index)
    app_one.test_client().get("/broadcast?text=for one")
    for client in ones:
        client.assert_received("announcement", "for one")
    for client in twos:
        client.assert_nothing_received()
    assert len(socketio_one.server.environ) == len(socketio_two.server.environ) == 20
    assert not set(socketio_one.server.environ) & set(socketio_two.server.environ)
    for client in ones + twos:
        client.disconnect()
    assert socketio_one.server.environ == socketio_two.server.environ == {}


def test_one_socketio_instance_serving_two_apps():
    socketio = SocketIO()
    register(socketio)
    app_one, app_two = Flask("one"), Flask("two")
    socketio.init_app(app_one)
    socketio.init_app(app_two)
    one = socketio.test_client(app_one)
    two = socketio.test_client(app_two)
    assert one.receive("hello").args[0]["app"] == "one"
    assert two.receive("hello").args[0]["app"] == "two"
    socketio.emit("everyone", 1)
    one.assert_received("everyone", 1)
    two.assert_received("everyone", 1)


def test_clients_of_two_instances_keep_separate_rooms_and_sessions():
    app_one, socketio_one = make_app("one")
    app_two, socketio_two = make_app("two")
    one = socketio_one.test_client(app_one)
    two = socketio_two.test_client(app_two)
    one.emit("join", "shared name")
    assert "shared name" in one.rooms()
    assert "shared name" not in two.rooms()
    socketio_two.emit("only two", to="shared name")
    one.get_received()
    one.assert_nothing_received()


# -- transport options ------------------------------------------------------------


def test_a_custom_path():
    app, socketio = make_app(path="/custom/io")
    client = socketio.test_client(app)
    client.assert_received("hello", {"user": None, "app": "app", "path": "/custom/io"})
    assert client.emit("echo", "x", callback=True) == "x"


def test_the_2014_resource_option_is_a_custom_path():
    app, socketio = make_app(resource="legacy")
    client = socketio.test_client(app)
    assert client.receive("hello").args[0]["path"] == "/legacy"


def test_the_msgpack_serializer():
    app, socketio = make_app(serializer="msgpack")
    client = socketio.test_client(app)
    assert socketio.server.packet_class is MsgPackPacket
    client.get_received()
    payload = {"bytes": b"\x00\xff", "nested": [1.5, None, True, {"deep": b"\x01"}]}
    assert client.emit("echo", payload, b"raw", callback=True) == [payload, b"raw"]
    client.assert_received("echo", payload, b"raw")
    # msgpack cannot carry integers beyond 64 bits (JSON can): the client really uses it
    with pytest.raises(TypeError, match="not serializable"):
        client.emit("echo", 2 ** 70)


def test_the_json_serializer_carries_big_integers_and_binary():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.get_received()
    assert client.emit("echo", 2 ** 70, callback=True) == 2 ** 70
    assert client.emit("echo", {"blob": b"\x00\xff"}, callback=True) == {"blob": b"\x00\xff"}
    client.assert_received("echo", 2 ** 70)


def test_msgpack_and_json_apps_side_by_side():
    app_packed, socketio_packed = make_app("packed", serializer="msgpack")
    app_json, socketio_json = make_app("json")
    packed = socketio_packed.test_client(app_packed)
    plain = socketio_json.test_client(app_json)
    assert packed.emit("echo", b"\x01", callback=True) == b"\x01"
    assert plain.emit("echo", b"\x01", callback=True) == b"\x01"
