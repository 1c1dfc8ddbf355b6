"""The live toolkit names its missing dependencies and the extra that installs them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

BLOCK_AND_CONNECT = textwrap.dedent("""
    import sys

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name == {module!r} or name.startswith({module!r} + "."):
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, Block())
    for name in list(sys.modules):
        if name == {module!r} or name.startswith({module!r} + "."):
            del sys.modules[name]
    from flask_socketio.testing import LiveSocketIOClient
    try:
        LiveSocketIOClient("http://127.0.0.1:9")
    except ModuleNotFoundError as exc:
        print(exc)
        raise SystemExit(3)
    raise SystemExit(0)
""")


@pytest.mark.parametrize("module", ["requests", "websocket"])
def test_a_missing_live_dependency_names_itself_and_the_testing_extra(module):
    done = subprocess.run([sys.executable, "-c", BLOCK_AND_CONNECT.format(module=module)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert f"the live test client needs {module!r}, which is not installed" in done.stdout
    assert "pip install 'flask-socketio-ng[testing]'" in done.stdout
