"""Testing Socket.IO apps: an in-process client, records to assert on, a pytest plugin.

The names below are imported on first use, so that the pytest plugin (a module of
this package, loaded into every pytest run) costs nothing to projects that never use
it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_exports import lazy_exports

if TYPE_CHECKING:
    from .client import SocketIOTestClient as SocketIOTestClient
    from .emits import EmitRecorder as EmitRecorder
    from .emits import EmittedEvent as EmittedEvent
    from .emits import capture_emits as capture_emits
    from .live import LiveServer as LiveServer
    from .live import LiveServerError as LiveServerError
    from .live_client import LiveSocketIOClient as LiveSocketIOClient
    from .matchers import ANY as ANY
    from .matchers import Match as Match
    from .matchers import Partial as Partial
    from .matchers import Regex as Regex
    from .records import ReceivedEvent as ReceivedEvent
    from .records import SessionChange as SessionChange
    from .scheduler import BusyLoopError as BusyLoopError
    from .scheduler import DeadlockError as DeadlockError
    from .scheduler import VirtualClock as VirtualClock
    from .state import NoAckWarning as NoAckWarning
    from .transcript import Transcript as Transcript
    from .transcript import TranscriptEntry as TranscriptEntry

#: Each public name, and the module it comes from.
_EXPORTS = {
    "BusyLoopError": "flask_socketio.testing.scheduler",
    "DeadlockError": "flask_socketio.testing.scheduler",
    "VirtualClock": "flask_socketio.testing.scheduler",
    "SocketIOTestClient": "flask_socketio.testing.client",
    "EmitRecorder": "flask_socketio.testing.emits",
    "EmittedEvent": "flask_socketio.testing.emits",
    "capture_emits": "flask_socketio.testing.emits",
    "LiveServer": "flask_socketio.testing.live",
    "LiveServerError": "flask_socketio.testing.live",
    "LiveSocketIOClient": "flask_socketio.testing.live_client",
    "ANY": "flask_socketio.testing.matchers",
    "Match": "flask_socketio.testing.matchers",
    "Partial": "flask_socketio.testing.matchers",
    "Regex": "flask_socketio.testing.matchers",
    "ReceivedEvent": "flask_socketio.testing.records",
    "SessionChange": "flask_socketio.testing.records",
    "NoAckWarning": "flask_socketio.testing.state",
    "Transcript": "flask_socketio.testing.transcript",
    "TranscriptEntry": "flask_socketio.testing.transcript",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
