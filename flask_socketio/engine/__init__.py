"""Engine.IO transports: the layer below python-socketio's ``Server``.

``base`` names the interface python-socketio talks to (``Engine``); ``native`` (ours,
on gevent) and ``python_engineio`` are the network engines; ``router`` puts the
network engine, and an engine attached beside it (the test toolkit's), behind that
single interface. The layer imports nothing of the test toolkit.
"""
