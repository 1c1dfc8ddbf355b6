"""The seam between servers and a test runner: which servers run on a test scheduler.

A server is *under test* once an engine is attached to it beside the network one
(a test client was made for it) or a test runner adopted it. Production code only
reads these hooks; the pytest plugin sets them, so that a ``SocketIO`` made by a
test's own code (an ``app`` fixture, an app factory called in the test) is under
test from the start, and so that the plugin learns that a test uses Socket.IO.
Nothing here imports anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: ``in_test()`` is true when the caller is a test's own code (set by a test runner).
in_test: Callable[[], bool] | None = None

#: Told of each server (its ``EngineRouter``) as it comes under test.
adopted: list[Callable[[Any], None]] = []

#: Makes the engine an adopted server attaches (an ``AttachedEngine``), given the
#: network engine's session id factory (set by a test runner, with ``in_test``).
make_engine: Callable[[Callable[[], str]], Any] | None = None
