"""Importing flask_socketio beside PyPI's Flask-SocketIO warns, once, with the fix."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

IMPORT_TWICE = textwrap.dedent("""\
    import warnings
    warnings.simplefilter("always")  # a second warning would show
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import flask_socketio
        import flask_socketio.extension
        import importlib
        importlib.import_module("flask_socketio")
    from flask_socketio.install_check import FlaskSocketIOInstalledWarning
    mine = [w for w in caught if issubclass(w.category, FlaskSocketIOInstalledWarning)]
    print(len(mine))
    print(issubclass(FlaskSocketIOInstalledWarning, UserWarning))
    for w in mine:
        print(w.message)
""")


def run_import(site: Path | None) -> list[str]:
    path = [str(REPO)] + ([str(site)] if site is not None else [])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    done = subprocess.run([sys.executable, "-c", IMPORT_TWICE], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def fake_peer(tmp_path: Path, version: str = "5.7.0") -> Path:
    info = tmp_path / f"Flask_SocketIO-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: Flask-SocketIO\nVersion: {version}\n")
    return tmp_path


def test_importing_beside_flask_socketio_warns_once_naming_both_and_the_fix(tmp_path):
    count, is_user_warning, message = run_import(fake_peer(tmp_path))
    assert count == "1" and is_user_warning == "True"
    assert "Flask-SocketIO 5.7.0" in message and "flask-socketio-ng" in message
    assert "pip uninstall Flask-SocketIO" in message
    assert "pip install --force-reinstall flask-socketio-ng" in message


def test_importing_alone_does_not_warn(tmp_path):
    assert run_import(tmp_path) == ["0", "True"]
