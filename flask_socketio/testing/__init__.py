"""Testing Socket.IO apps: an in-process client, records to assert on, a pytest plugin."""

from ..engine.scheduler import DeadlockError as DeadlockError
from ..engine.scheduler import VirtualClock as VirtualClock
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
from .transcript import Transcript as Transcript
from .transcript import TranscriptEntry as TranscriptEntry
