"""Sphinx configuration for the flask_socketio documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` (or ``tox -e docs``).
No extension here needs the network: the build runs offline.
"""

from __future__ import annotations

import sys
from pathlib import Path

# autodoc imports the package from this checkout, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

project = "Flask-SocketIO"
author = "The flask_socketio authors"
copyright = "2014-2026, " + author

try:
    from flask_socketio import __version__ as release
except ImportError:  # the package is not importable yet: build the prose anyway
    release = "dev"
version = ".".join(release.split(".")[:2])

extensions = ["sphinx.ext.autodoc"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"

exclude_patterns = ["_build"]
html_theme = "alabaster"
