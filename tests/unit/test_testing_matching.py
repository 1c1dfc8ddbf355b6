"""Matchers (Partial, Match, Regex), assert_received taking the first *matching*
event, refute_received, and failures that show a key-level diff without the
library's frames."""

from __future__ import annotations

import re
import textwrap

import pytest
from flask import Flask

from flask_socketio import SocketIO, emit
from flask_socketio.testing import ANY, Match, Partial, Regex
from flask_socketio.testing.matchers import differences

pytestmark = pytest.mark.socketio_leak_guard
pytest_plugins = ["pytester"]


def make_app():
    app = Flask(__name__)
    socketio = SocketIO(app)

    @socketio.on("scores")
    def scores(*points):
        for value in points:
            emit("score", {"points": value, "by": "ann", "at": 17})

    @socketio.on("greet")
    def greet(name):
        emit("welcome", f"hello, {name}")

    return app, socketio


# -- the matchers themselves -------------------------------------------------------------


def test_partial_matches_dicts_having_those_keys_and_values():
    assert Partial({"a": 1}) == {"a": 1, "b": 2}
    assert {"a": 1, "b": 2} == Partial(a=1)  # noqa: SIM300 - the reflected comparison
    assert Partial({"a": 1}) != {"a": 2, "b": 2}
    assert Partial({"a": 1}) != {"b": 2}
    assert Partial({"a": 1}) != [("a", 1)]
    assert [Partial({"user": Partial({"id": 7})})] == [{"user": {"id": 7, "name": "x"}}]
    assert Partial({"a": ANY}) == {"a": None}


def test_match_uses_the_predicate_and_a_failing_predicate_says_no():
    positive = Match(lambda value: value > 0)
    assert positive == 3
    assert positive != -1
    assert positive != "text"  # TypeError in the predicate: no match
    with pytest.raises(TypeError, match="Regex"):
        Match(r"\d+")


def test_regex_matches_whole_strings_only():
    assert Regex(r"room-\d+") == "room-12"
    assert Regex(r"room-\d+") != "my room-12"
    assert Regex(r".*room-\d+.*") == "my room-12 here"
    assert Regex(re.compile("HI", re.IGNORECASE)) == "hi"
    assert Regex("1") != 1


def test_differences_are_key_level():
    expected = [{"user": {"id": 8, "name": ANY}, "tags": ["a"]}, Partial({"ok": True}), 3]
    actual = [{"user": {"id": 7, "name": "x"}, "tags": ["a", "b"], "extra": 1}, {"ok": 1.5}]
    assert differences(expected, actual) == [
        "args: expected 3 items, got 2",
        "args[0]['user']['id']: expected 8, got 7",
        "args[0]['tags']: expected 1 items, got 2",
        "args[0]['extra']: unexpected (got 1)",
        "args[1]['ok']: expected True, got 1.5",
    ]
    assert differences([Partial({"id": 1})], [{"name": "x"}]) == [
        "args[0]['id']: missing (expected 1)"]
    assert differences([Regex("a+")], ["b"]) == ["args[0]: 'b' does not match Regex('a+')"]
    assert differences([1, ANY], [1, object()]) == []


# -- assert_received finds the first matching event -----------------------------------


def test_assert_received_takes_the_first_matching_event_and_leaves_the_others():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("scores", 1, 2, 3)
    record = client.assert_received("score", Partial({"points": 2}))
    assert record.args == [{"points": 2, "by": "ann", "at": 17}]
    # the non-matching ones stay, in order
    assert [event.args[0]["points"] for event in client.get_received()] == [1, 3]


def test_a_failed_assertion_consumes_nothing():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("scores", 1)
    with pytest.raises(AssertionError):
        client.assert_received("score", Partial({"points": 5}))
    client.assert_received("score", {"points": 1, "by": "ann", "at": ANY})


def test_predicates_and_regexes_in_assert_received():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("greet", "ann")
    client.emit("scores", 10)
    client.assert_received("welcome", Regex(r"hello, \w+"))
    client.assert_received("score", Partial(points=Match(lambda p: p >= 10, "at least 10")))


def test_the_failure_shows_a_key_level_diff_and_what_else_is_waiting():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("scores", 1, 2)
    client.emit("greet", "bob")
    with pytest.raises(AssertionError) as failure:
        client.assert_received("score", Partial({"points": 3, "by": "b"}))
    assert str(failure.value) == textwrap.dedent("""\
        expected event 'score' on namespace '/' with arguments [Partial({'points': 3, 'by': 'b'})]
        but none of the 2 'score' received matched:
          ReceivedEvent('score', args=[{'points': 1, 'by': 'ann', 'at': 17}], namespace='/')
            args[0]['points']: expected 3, got 1
            args[0]['by']: expected 'b', got 'ann'
          ReceivedEvent('score', args=[{'points': 2, 'by': 'ann', 'at': 17}], namespace='/')
            args[0]['points']: expected 3, got 2
            args[0]['by']: expected 'b', got 'ann'
        waiting to be read
          ReceivedEvent('welcome', args=['hello, bob'], namespace='/')""")


# -- refute_received -----------------------------------------------------------------


def test_refute_received():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.refute_received("score")
    client.emit("scores", 1)
    client.refute_received("score", Partial({"points": 2}))
    client.refute_received("welcome")
    with pytest.raises(AssertionError, match="expected no 'score' on namespace '/', but "):
        client.refute_received("score")  # no arguments: any arguments
    with pytest.raises(AssertionError, match="'points': 1"):
        client.refute_received("score", Partial({"points": 1}))
    assert len(client.get_received()) == 1  # refuting reads nothing


def test_refute_received_runs_pending_server_work_first(socketio_clock):
    app, socketio = make_app()

    @socketio.on("later")
    def later():
        socketio.start_background_task(lambda: socketio.emit("late", 1))

    client = socketio.test_client(app)
    client.emit("later")
    with pytest.raises(AssertionError, match="'late'"):
        client.refute_received("late")
    client.clear()


# -- the library's frames are hidden ----------------------------------------------------


def test_failures_hide_the_library_frames(pytester):
    pytester.makepyfile(test_hidden=textwrap.dedent('''
        from flask import Flask
        from flask_socketio import SocketIO, emit
        from flask_socketio.testing import Partial


        def test_fails():
            app = Flask(__name__)
            socketio = SocketIO(app)
            socketio.on("ping")(lambda: emit("pong", {"n": 1}))
            client = socketio.test_client(app)
            client.emit("ping")
            client.assert_received("pong", Partial({"n": 2}))


        def test_refute_fails():
            app = Flask(__name__)
            socketio = SocketIO(app)
            socketio.on("ping")(lambda: emit("pong", {"n": 1}))
            client = socketio.test_client(app)
            client.emit("ping")
            client.refute_received("pong")
    '''))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    output = result.stdout.str()
    assert "args[0]['n']: expected 2, got 1" in output
    assert "flask_socketio/testing/" not in output.replace("\\", "/")
