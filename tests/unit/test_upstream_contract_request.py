"""The contract with Werkzeug that the per-event request template relies on
(``flask_socketio.context._RequestTemplate``): ``Request.__init__`` sets the
attributes we copy and reads only the environ keys we watch. An upgrade that changes
either fails here, by name, instead of silently giving events stale requests."""

from __future__ import annotations

import io
import sys

import flask
from werkzeug.wrappers import Request as WerkzeugRequest

from flask_socketio.context import _REQUEST_FIELDS, REQUEST_ENVIRON_KEYS, _RequestTemplate


def environ() -> dict:
    return {"REQUEST_METHOD": "get", "PATH_INFO": "/socket.io/", "SCRIPT_NAME": "/app",
            "QUERY_STRING": "EIO=4&transport=websocket", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "5000", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.1",
            "HTTP_HOST": "example.org:5000", "HTTP_COOKIE": "a=b",
            "HTTP_X_FORWARDED_FOR": "1.2.3.4",
            "CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "0", "wsgi.url_scheme": "https",
            "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr, "REMOTE_PORT": "4242"}


def built(env: dict) -> dict:
    """What ``Request.__init__`` sets, headers as their items, without the environ."""
    fields = dict(vars(WerkzeugRequest(env, populate_request=False)))
    fields.pop("environ")
    fields["headers"] = list(fields["headers"].items())
    return fields


def test_request_init_sets_exactly_the_attributes_the_template_copies():
    assert set(vars(WerkzeugRequest(environ(), populate_request=False))) == _REQUEST_FIELDS
    assert set(vars(flask.Request(environ(), populate_request=False))) == _REQUEST_FIELDS


def test_request_init_reads_no_environ_key_but_those_the_template_watches():
    base = built(environ())
    for key in environ():
        if key in REQUEST_ENVIRON_KEYS or key.startswith("HTTP_") or key.startswith("CONTENT_"):
            continue  # watched; headers are a live view of the environ (EnvironHeaders)
        changed = environ()
        changed[key] = "changed" if isinstance(changed[key], str) else io.BytesIO(b"x")
        assert built(changed) == base, f"Request.__init__ now reads environ[{key!r}]"
    for key in REQUEST_ENVIRON_KEYS:
        changed = environ()
        changed[key] = "8080" if key == "SERVER_PORT" else "/changed"
        assert built(changed) != base, f"Request.__init__ no longer reads environ[{key!r}]"


def test_a_request_from_the_template_is_the_one_request_class_builds():
    app = flask.Flask(__name__)
    env = environ()
    template = _RequestTemplate.of(app, env)
    assert template is not None
    request = template.new(env)
    assert type(request) is flask.Request and env["werkzeug.request"] is request
    fresh = dict(vars(flask.Request(environ(), populate_request=False)))
    got = dict(vars(request))
    assert got.pop("environ") is env
    assert list(got.pop("headers").items()) == list(fresh.pop("headers").items())
    fresh.pop("environ")
    assert got == fresh
    assert template.new(env) is not request  # a new object per event
    env["REMOTE_ADDR"] = "10.0.0.2"
    assert template.new(env) is None  # the environ changed: built as usual


def test_a_request_class_with_its_own_init_gets_no_template():
    class Own(flask.Request):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)

    app = flask.Flask(__name__)
    app.request_class = Own
    assert _RequestTemplate.of(app, environ()) is None
