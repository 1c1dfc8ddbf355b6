"""The two servers the corpus compares: the reference (Node's socket.io 4.x running
``reference_app.js``) and ours (``plain_app.py`` served by ``socketio.run``).

Both listen on 127.0.0.1, port 0, with the same options; both are stopped by PID.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.integration.processes import ProcessGroup
from tests.integration.support import NODE_MODULES, require_node_modules

HERE = Path(__file__).resolve().parent
#: Short enough for the timing scenarios to be quick, long enough that a loaded
#: machine answers every ping of the other scenarios in time.
PING_INTERVAL_MS = 500
PING_TIMEOUT_MS = 1000
#: Both apps close a connection that sends no Socket.IO CONNECT within this time.
CONNECT_TIMEOUT = 0.8


@contextmanager
def oracle_servers() -> Iterator[dict[str, str]]:
    """``{"reference": url, "ours": url}``, both started and then stopped."""
    node = require_node_modules("socket.io")
    group = ProcessGroup()
    try:
        reference = group.start(
            "reference", [node, str(HERE / "reference_app.js"), str(PING_INTERVAL_MS),
                          str(PING_TIMEOUT_MS)],
            env={"NODE_PATH": str(NODE_MODULES)})
        ours = group.start(
            "ours", [sys.executable, str(HERE / "plain_app.py"), str(PING_INTERVAL_MS),
                     str(PING_TIMEOUT_MS)])
        reference_port = reference.wait_for_output(r"listening on (\d+)").group(1)
        match = ours.wait_for_output(r"Serving Flask-SocketIO app on http://([\d.]+):(\d+)")
        yield {"reference": f"http://127.0.0.1:{reference_port}",
               "ours": f"http://{match.group(1)}:{match.group(2)}"}
    finally:
        group.stop_all()
