"""The test client's handshake environ is the one werkzeug's EnvironBuilder makes."""

from __future__ import annotations

import io
import sys

import pytest
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder

from flask_socketio.testing.client import _handshake_environ


def built(path, query_string, headers):
    builder = EnvironBuilder(path, query_string=query_string, headers=headers)
    try:
        return builder.get_environ()
    finally:
        builder.close()


def comparable(environ):
    return {key: value for key, value in environ.items()
            if key not in ("wsgi.input", "wsgi.errors")}


@pytest.mark.parametrize(("path", "query_string", "headers"), [
    ("/socket.io/", "", None),
    ("/socket.io/", "", {}),
    ("/custom/path/", "token=abc&x=%20y", None),
    ("/socket.io/", "", {"Authorization": "Bearer t", "X-Trace": "1"}),
    ("/socket.io/", "a=1", {"Cookie": "a=b; c=d", "Content-Type": "text/plain"}),
    ("/socket.io/", "", {"X-Many": ["1", "2"]}),  # not cacheable: built each time
    ("/socket.io/", "", [("X-One", "1"), ("X-One", "2")]),
    ("/socket.io/", "", Headers({"X-H": "v"})),
])
def test_same_environ_as_a_fresh_build(path, query_string, headers):
    for _ in range(2):  # the second one comes from the template, where there is one
        environ = _handshake_environ(path, query_string, headers)
        expected = built(path, query_string, headers)
        assert comparable(environ) == comparable(expected)
        assert environ["wsgi.input"].read() == b""
        assert environ["wsgi.errors"] is sys.stderr


def test_each_environ_is_a_new_dict_with_a_new_input_stream():
    first = _handshake_environ("/socket.io/", "", None)
    first["flask.app"] = "changed"
    first["wsgi.input"].write(b"data")
    second = _handshake_environ("/socket.io/", "", None)
    assert "flask.app" not in second
    assert second["wsgi.input"] is not first["wsgi.input"]
    assert second["wsgi.input"].getvalue() == b""


def test_errors_stream_is_the_current_stderr(monkeypatch):
    _handshake_environ("/socket.io/", "", None)
    replacement = io.StringIO()
    monkeypatch.setattr(sys, "stderr", replacement)
    assert _handshake_environ("/socket.io/", "", None)["wsgi.errors"] is replacement
