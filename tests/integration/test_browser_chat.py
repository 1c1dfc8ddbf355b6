"""The chat example (examples/chat) in headless Chromium, driven by npm's playwright-core.

Two pages join one room and see each other's messages; a third page in another room
sees none of them. The example is served by a LiveServer; the browser loads the
page and the local socket.io-client v4 from it. Skipped when Chromium, Node or the
npm packages are missing, failed under ``CI=true``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from flask_socketio.testing import LiveServer

from .support import ROOT, require_chromium, require_node_modules, run_node


def load_chat_example():
    path = ROOT / "examples" / "chat" / "app.py"
    spec = importlib.util.spec_from_file_location("chat_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def chat_server():
    require_chromium()
    require_node_modules("playwright-core", "socket.io-client")
    chat = load_chat_example()
    assert chat.CLIENT_JS.is_file(), "the example must serve the local client, not a CDN"
    app, _ = chat.create_app({"SECRET_KEY": "browser test"})
    with LiveServer(app) as server:
        yield server


def test_two_pages_in_a_room_see_each_other_and_a_third_sees_nothing(chat_server, tmp_path):
    screenshot = os.environ.get("CHAT_SCREENSHOT") or str(tmp_path / "chat.png")
    result = run_node("chat_browser.js", chat_server.url, screenshot, timeout=90)
    blue_messages = ["alice: hello from alice", "bob: hello from bob"]
    assert result["alice"]["messages"] == blue_messages
    assert result["bob"]["messages"] == blue_messages
    assert result["carol"]["messages"] == ["carol: hello from carol"]
    assert not any("blue" in status for status in result["carol"]["statuses"])
    assert "bob joined blue" in result["alice"]["statuses"]
    assert all(page["transport"] == "websocket" for name, page in result.items()
               if name in ("alice", "bob", "carol"))
    assert "/vendor/socket.io.min.js" in chat_server.log
    # Posting to a room one never joined is refused, and nobody sees it.
    assert result["refused"] == {"ok": False, "error": "join blue before posting to it"}
    assert result["aliceMessagesAfterLeaving"] == blue_messages
    # A member list per room, and a closed tab is a named notice, not an error.
    assert result["usersBeforeLeaving"] == ["alice", "bob"]
    assert result["usersAfterLeaving"] == ["alice"]
    assert result["aliceStatusesAfterLeaving"][-1] == "bob left blue"
    assert "Cannot send to sid" not in chat_server.log
    assert Path(screenshot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
