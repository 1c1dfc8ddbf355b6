"""The Socket.IO Admin UI (npm's ``@socket.io/admin-ui``) in headless Chromium,
served by the app (:func:`flask_socketio.admin_ui.admin_ui_blueprint`), watching a
live server instrumented with ``socketio.instrument(auth=...)``: the dashboard lists
a live connection (over each transport) and its room.

Skipped when Chromium, Node or the npm packages are missing, failed under ``CI=true``.
Set ``ADMIN_UI_SCREENSHOT`` to keep the Sockets page's screenshot.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import socketio as python_socketio
from flask import Flask

from flask_socketio import SocketIO, join_room
from flask_socketio.admin_ui import admin_ui_blueprint

from .support import (
    NODE_MODULES,
    instrumented_server,
    require_chromium,
    require_node_modules,
    run_node,
)

CREDENTIALS = {"username": "admin", "password": "s3cret"}
UI_PACKAGE = "@socket.io/admin-ui"


def create_admin_app() -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    socketio = SocketIO(app)
    app.register_blueprint(admin_ui_blueprint(NODE_MODULES / UI_PACKAGE / "ui" / "dist"))

    @socketio.on("join")
    def join(room):
        join_room(room)
        return True

    return app, socketio


@pytest.fixture
def admin_server():
    require_chromium()
    require_node_modules("playwright-core", "socket.io-client", UI_PACKAGE)
    app, socketio = create_admin_app()
    admin = socketio.instrument(auth=CREDENTIALS, server_stats_interval=0.5)
    with instrumented_server(app, admin) as server:
        yield server


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_the_dashboard_lists_live_connections_and_rooms(admin_server, transport, tmp_path):
    screenshot = os.environ.get("ADMIN_UI_SCREENSHOT") or str(tmp_path / "admin-ui.png")
    user = python_socketio.Client(reconnection=False, handle_sigint=False)
    user.connect(admin_server.url, transports=[transport], wait_timeout=5)
    try:
        assert user.call("join", "blue-room", timeout=5) is True
        sid = user.get_sid("/")
        result = run_node("admin_ui_browser.js", admin_server.url, CREDENTIALS["username"],
                          CREDENTIALS["password"], sid, "blue-room", screenshot, timeout=90)
    finally:
        user.shutdown()
    assert result["socketsListSid"], result["sockets"]
    assert result["roomsListRoom"], result["rooms"]
    assert Path(screenshot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "GET /admin-ui/js/" in admin_server.log  # the page came from the app


def test_wrong_credentials_are_refused(admin_server):
    admin = python_socketio.Client(reconnection=False, handle_sigint=False)
    with pytest.raises(python_socketio.exceptions.ConnectionError):
        admin.connect(admin_server.url, namespaces=["/admin"], transports=["websocket"],
                      auth={"username": "admin", "password": "wrong"}, wait_timeout=5)
    admin.shutdown()


def test_a_missing_ui_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="npm install @socket.io/admin-ui"):
        admin_ui_blueprint(tmp_path)
