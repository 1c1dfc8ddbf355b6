"""admin_ui_blueprint serves a folder's files; SocketIO.instrument() serves /admin."""

from __future__ import annotations

import pytest
from flask import Flask

from flask_socketio import SocketIO
from flask_socketio.admin_ui import admin_ui_blueprint

pytestmark = pytest.mark.socketio_leak_guard


@pytest.fixture
def ui_folder(tmp_path):
    (tmp_path / "index.html").write_text("<title>Socket.IO Admin UI</title>")
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "app.js").write_text("console.log('ui')")
    return tmp_path


def test_the_folder_is_served_under_the_prefix(ui_folder):
    app = Flask(__name__)
    app.register_blueprint(admin_ui_blueprint(ui_folder, url_prefix="/dashboard/"))
    http = app.test_client()
    with http.get("/dashboard/") as page:
        assert page.status_code == 200 and b"Socket.IO Admin UI" in page.data
    with http.get("/dashboard/js/app.js") as script:
        assert script.data == b"console.log('ui')"
    with http.get("/dashboard") as bare:
        assert bare.status_code == 308  # to /dashboard/, where the page's links work
    with http.get("/dashboard/../secret") as escape:
        assert escape.status_code == 404
    with http.get("/dashboard/nothing.js") as missing:
        assert missing.status_code == 404


def test_a_folder_without_index_html_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="index.html is missing"):
        admin_ui_blueprint(tmp_path)


def test_instrument_refuses_wrong_credentials_and_admits_right_ones(socketio_clock):
    app = Flask(__name__)
    socketio = SocketIO(app)
    admin_ui = socketio.instrument(auth={"username": "admin", "password": "pw"})
    try:
        wrong = socketio.test_client(app, namespace="/admin",
                                     auth={"username": "admin", "password": "no"})
        assert not wrong.is_connected("/admin")
        assert wrong.get_connect_error("/admin") == {"message": "authentication failed"}
        right = socketio.test_client(app, namespace="/admin",
                                     auth={"username": "admin", "password": "pw"})
        assert right.is_connected("/admin")
    finally:
        admin_ui.shutdown()
        admin_ui.uninstrument()
