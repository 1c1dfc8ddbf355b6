"""Engine.IO transports: the layer below python-socketio's ``Server``.

``base`` names the interface python-socketio talks to, ``inprocess`` is the
in-process transport the test client drives, ``router`` puts a network engine and
the in-process one behind that single interface.
"""
