"""One node of the cross-node recovery test, run as
``python tests/integration/apps/recovery_node.py``: the app of
``tests/integration/test_recovery_live.py`` with the message queue ``MESSAGE_QUEUE``
on channel ``CHANNEL``, served by ``socketio.run(app, port=0)`` (the line
``* Serving Flask-SocketIO app on http://127.0.0.1:PORT`` on stderr gives the port).
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.integration.test_recovery_live import create_recovery_app  # noqa: E402

if __name__ == "__main__":
    app, socketio = create_recovery_app(message_queue=os.environ["MESSAGE_QUEUE"],
                                        channel=os.environ["CHANNEL"])
    socketio.run(app, host="127.0.0.1", port=0)
