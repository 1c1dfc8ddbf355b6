"""The peer's preparation: offline it says why, and the tests skip (or fail under CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import conftest, peer


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty cache and a pip that can reach no index (a closed local port)."""
    monkeypatch.setattr(peer, "CACHE", tmp_path / "cache")
    for name, value in {"PIP_CONFIG_FILE": "/dev/null", "PIP_INDEX_URL": "http://127.0.0.1:9/",
                        "PIP_EXTRA_INDEX_URL": "", "PIP_FIND_LINKS": "", "PIP_RETRIES": "0",
                        "PIP_DEFAULT_TIMEOUT": "2"}.items():
        monkeypatch.setenv(name, value)
    return tmp_path / "cache"


def test_offline_download_says_why(offline: Path) -> None:
    with pytest.raises(peer.PeerUnavailable, match="flask-socketio==5.7.0 failed"):
        peer.peer_sdist()
    assert not (offline / "sdist").exists()


def test_offline_skips_with_the_reason(offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="Flask-SocketIO 5.7.0 is unavailable"):
        conftest.need_peer(peer.peer_suite)


def test_offline_fails_under_ci(offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI must reach PyPI"):
        conftest.need_peer(peer.peer_suite)


def test_cached_sdist_needs_no_network(peer_suite_file: Path, offline: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Once fetched, the suite comes from the cache with PyPI unreachable."""
    monkeypatch.setattr(peer, "CACHE", peer_suite_file.parents[1])
    assert peer.peer_suite() == peer_suite_file
