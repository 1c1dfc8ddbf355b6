"""A warning when PyPI's Flask-SocketIO is installed in the same environment as us.

Both distributions install the import package ``flask_socketio``: whichever was
installed last overwrote the other's files, and uninstalling one deletes files
the other needs. Importing ours then runs a mixture, so we say so, once, at import.
"""

from __future__ import annotations

import warnings
from importlib import metadata

#: This project's distribution, and the one that installs the same import package.
OUR_DISTRIBUTION = "flask-socketio-ng"
PEER_DISTRIBUTION = "Flask-SocketIO"


class FlaskSocketIOInstalledWarning(UserWarning):
    """PyPI's Flask-SocketIO is installed beside flask-socketio-ng."""


def warn_if_peer_installed() -> None:
    """Warn (:class:`FlaskSocketIOInstalledWarning`) if ``Flask-SocketIO`` is installed."""
    try:
        peer_version = metadata.version(PEER_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return
    warnings.warn(
        f"{PEER_DISTRIBUTION} {peer_version} is installed beside {OUR_DISTRIBUTION}: both "
        f"install the package 'flask_socketio' and overwrite each other's files. Fix: "
        f"'pip uninstall {PEER_DISTRIBUTION}', then reinstall {OUR_DISTRIBUTION} "
        f"('pip install --force-reinstall {OUR_DISTRIBUTION}').",
        FlaskSocketIOInstalledWarning, stacklevel=3)
