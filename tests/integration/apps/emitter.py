"""A write-only emitter in a process of its own: ``python emitter.py URL CHANNEL JSON``.

``JSON`` is a list of ``[method, args, kwargs]`` calls on
``SocketIO(message_queue=URL, channel=CHANNEL)``: ``emit``, ``send``,
``close_room``, or python-socketio's ``server.enter_room`` and ``server.disconnect``
(to put a client of any node in a room, or disconnect it); it prints ``done`` when
they are all made.
"""

import json
import os
import sys

from flask_socketio import SocketIO


def main(url, channel, calls):
    options = json.loads(os.environ.get("MESSAGE_QUEUE_OPTIONS", "{}"))
    socketio = SocketIO(message_queue=url, channel=channel, message_queue_options=options)
    assert socketio.server.manager.write_only
    for method, args, kwargs in json.loads(calls):
        target = socketio
        for name in method.split("."):
            target = getattr(target, name)
        target(*args, **kwargs)
    status = socketio.queue_status
    if status is not None and status.unpublished:
        print(f"unpublished: {status.unpublished} ({status.error})", file=sys.stderr)
        return 1
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
