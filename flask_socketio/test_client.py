"""Flask-SocketIO's module name for the test client, kept for existing imports."""

from .testing.client import SocketIOTestClient as SocketIOTestClient
