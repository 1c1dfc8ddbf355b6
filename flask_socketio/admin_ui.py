"""The Socket.IO Admin UI's page, served by the app itself.

python-socketio's ``instrument()`` serves the ``/admin`` namespace the Admin UI talks
to; the UI is a static web app, published on npm as ``@socket.io/admin-ui`` (its
``ui/dist`` folder). :func:`admin_ui_blueprint` serves that folder from the Flask app,
so the dashboard needs no third-party site and no CORS settings: it is on the same
origin as the server it watches.
"""

from __future__ import annotations

import os
from pathlib import Path

import flask

#: Where ``npm install @socket.io/admin-ui`` puts the UI, relative to the project.
NPM_UI_DIRECTORY = Path("node_modules") / "@socket.io" / "admin-ui" / "ui" / "dist"


def admin_ui_blueprint(directory: str | os.PathLike[str] = NPM_UI_DIRECTORY, *,
                       url_prefix: str = "/admin-ui",
                       name: str = "socketio_admin_ui") -> flask.Blueprint:
    """A blueprint serving the Admin UI's files (``index.html``, ``js/``, ``css/``...)
    from ``directory`` at ``url_prefix`` (``/admin-ui/``).

    ``directory`` is the ``ui/dist`` folder of the npm package ``@socket.io/admin-ui``
    (by default where ``npm install @socket.io/admin-ui`` puts it, relative to the
    current directory). A missing folder is a ``FileNotFoundError`` now, naming it.
    In the page, connect to the server's own URL (the UI adds the ``/admin``
    namespace), with the credentials given to ``instrument(auth=...)``.
    """
    folder = Path(directory).resolve()
    if not (folder / "index.html").is_file():
        raise FileNotFoundError(
            f"no Admin UI in {folder} (index.html is missing): install it with "
            f"'npm install @socket.io/admin-ui' and pass its ui/dist folder")
    blueprint = flask.Blueprint(name, __name__, url_prefix=url_prefix.rstrip("/"))

    @blueprint.route("/")
    def index() -> flask.Response:
        return flask.send_from_directory(folder, "index.html")

    @blueprint.route("/<path:filename>")
    def asset(filename: str) -> flask.Response:
        return flask.send_from_directory(folder, filename)

    return blueprint
