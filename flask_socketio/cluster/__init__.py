"""Rooms and sockets across the nodes of a message queue (see ``docs/cluster.rst``).

:mod:`.messages` is the queue format, :mod:`.node` a node's side (mixed into the
client managers), :mod:`.requests` the answers a node waits for, :mod:`.api` the
``SocketIO`` methods.
"""
