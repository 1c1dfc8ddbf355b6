"""The pytest plugin through pytester: fixtures, ini option, transcripts, diffs, leak guard."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

import flask_socketio.extension  # noqa: F401  (see below)
from flask_socketio.testing import client as client_module

# pytester's in-process runs forget the modules first imported inside them: the
# server side is imported here, so that every inner run shares the scheduler module
# of the client module imported above (else each run would make a second one).

pytest_plugins = ["pytester"]

APP_CONFTEST = '''
import pytest
from flask import Flask, request, session
from flask_socketio import SocketIO, emit


@pytest.fixture
def app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"
    socketio = SocketIO(app)

    @socketio.on("connect")
    def connect(auth):
        emit("hello", {"auth": auth, "query": request.args.get("q"),
                       "header": request.headers.get("X-Test")})

    @socketio.on("connect", namespace="/chat")
    def connect_chat():
        emit("hello", "chat")

    @socketio.on("echo")
    def echo(*args):
        emit("echo", *args)
        return args

    @socketio.on("hang")
    def hang():
        socketio.sleep(100)

    @socketio.on("tick_every")
    def tick_every(period):
        sid = request.sid

        def ticker():
            count = 0
            while True:
                socketio.sleep(period)
                count += 1
                socketio.emit("tick", count, to=sid)

        socketio.start_background_task(ticker)

    return app
'''


#: Unrelated plugins that only slow the inner runs down.
QUIET = ("-p", "no:hypothesispytest", "-p", "no:benchmark", "-p", "no:cov")


@pytest.fixture
def project(pytester, monkeypatch):
    """A pytester project with an ``app`` fixture; the plugin loads by its entry point."""
    # the inner run's pytest_configure sets the module default: restore it afterwards
    monkeypatch.setattr(client_module, "DEFAULT_TIMEOUT", client_module.DEFAULT_TIMEOUT)
    pytester.makeconftest(APP_CONFTEST)
    return pytester


def run(project, *args):
    return project.runpytest(*QUIET, *args)


def test_the_plugin_is_registered_through_the_pytest11_entry_point():
    found = [e for e in entry_points(group="pytest11") if e.name == "flask_socketio"]
    assert [e.value for e in found] == ["flask_socketio.testing.plugin"]


def test_the_plugin_loads_without_being_named(project):
    result = run(project, "--fixtures")
    result.stdout.fnmatch_lines(["*socketio_client*", "*socketio_clock*"])
    assert result.ret == 0


def test_socketio_client_connects_with_options_and_closes_at_teardown(project):
    project.makepyfile('''
        made = []

        def test_make(app, socketio_client):
            client = socketio_client(auth={"token": "t"}, query_string="q=1",
                                     headers={"X-Test": "yes"})
            chat = socketio_client("/chat")
            made.extend([client, chat, app])
            assert client.receive("hello").args == [{"auth": {"token": "t"}, "query": "1",
                                                     "header": "yes"}]
            assert chat.is_connected("/chat") and not chat.is_connected()
            assert client.emit("echo", 1, callback=True) == 1
            assert len(app.extensions["socketio"].server.environ) == 2

        def test_closed_afterwards():
            client, chat, app = made
            assert not client.is_connected() and not chat.is_connected("/chat")
            assert client.disconnect_reason == "io client disconnect"
            assert app.extensions["socketio"].server.environ == {}
    ''')
    result = run(project)
    result.assert_outcomes(passed=2)


def test_socketio_client_for_another_app_or_instance(project):
    project.makepyfile('''
        from flask import Flask
        from flask_socketio import SocketIO

        def test_other(socketio_client):
            other = Flask("other")
            socketio = SocketIO(other)
            client = socketio_client(app=other)
            assert client.socketio is socketio
            assert socketio_client(app=other, socketio=socketio).is_connected()

        def test_app_without_socketio(socketio_client):
            import pytest
            with pytest.raises(LookupError, match="has no SocketIO"):
                socketio_client(app=Flask("bare"))
    ''')
    run(project).assert_outcomes(passed=2)


def test_socketio_clock_drives_background_tasks(project):
    project.makepyfile('''
        def test_ticks(socketio_client, socketio_clock):
            client = socketio_client()
            client.get_received()
            client.emit("tick_every", 10)
            socketio_clock.advance(9)
            client.assert_nothing_received()
            socketio_clock.advance(21)
            assert [r.args for r in client.get_received()] == [[1], [2], [3]]
            for task in client.scheduler.tasks:
                task.kill()
    ''')
    run(project).assert_outcomes(passed=1)


def test_the_receive_timeout_ini_option(project):
    project.makeini('''
        [pytest]
        socketio_receive_timeout = 0.25
    ''')
    project.makepyfile('''
        import pytest

        def test_timeout(socketio_client, socketio_clock):
            client = socketio_client()
            assert client.timeout == 0.25
            start = socketio_clock.now
            with pytest.raises(TimeoutError, match="within 0.25s"):
                client.call("hang")
            assert socketio_clock.now == pytest.approx(start + 0.25)
            with pytest.warns(UserWarning, match="within 0.25s"):
                assert client.emit("hang", callback=True) is None
            assert socketio_clock.now == pytest.approx(start + 0.5)
            socketio_clock.advance(100)
    ''')
    run(project).assert_outcomes(passed=1)


def test_the_default_receive_timeout_is_one_second(project):
    project.makepyfile('''
        def test_default(socketio_client):
            assert socketio_client().timeout == 1.0
    ''')
    run(project).assert_outcomes(passed=1)


def test_a_failing_test_shows_the_transcript_of_each_client(project):
    project.makepyfile('''
        def test_fails(socketio_client):
            first = socketio_client(auth="first")
            second = socketio_client("/chat")
            first.emit("echo", "looked for")
            assert False, "deliberate"

        def test_passes(socketio_client):
            socketio_client(auth="quiet").emit("echo", "not shown")
    ''')
    result = run(project)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*- socketio transcript: client 1 (*) -*",
        "-> connect       / 'first'",
        "<- connect       / {'sid': *}",
        "<- event         / 'hello' [[]{'auth': 'first'*",
        "-> event         / 'echo' ['looked for']",
        "<- event         / 'echo' ['looked for']",
        "*- socketio transcript: client 2 (*) -*",
        "-> connect       /chat",
    ])
    assert "not shown" not in result.stdout.str()


def test_a_failing_test_with_many_clients_shows_the_last_ones(project):
    project.makepyfile('''
        def test_many(socketio_client):
            for number in range(25):
                socketio_client(auth=number)
            assert False
    ''')
    result = run(project)
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "5 earlier clients not shown" in output
    assert "socketio transcript: client 25 " in output
    assert "socketio transcript: client 6 " in output
    assert "socketio transcript: client 5 " not in output


def test_readable_assertion_diffs_for_received_events(project):
    project.makepyfile('''
        def test_diff(socketio_client):
            client = socketio_client()
            client.get_received()
            client.emit("echo", 1)
            client.emit("echo", 2)
            assert client.get_received() == [
                {"name": "echo", "args": [1], "namespace": "/"},
                {"name": "echo", "args": [3], "namespace": "/"},
                {"name": "echo", "args": [4], "namespace": "/"},
            ]

        def test_one_record(socketio_client):
            client = socketio_client()
            assert client.receive("hello") == {"name": "hello", "args": [], "namespace": "/"}
    ''')
    result = run(project)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "E * received events differ:",
        "E *   [[]0[]] 'echo' args=[[]1[]] namespace='/'",
        "E * ! [[]1[]] 'echo' args=[[]2[]] namespace='/'",
        "E *     expected 'echo' args=[[]3[]] namespace='/'",
        "E * ! [[]2[]] <nothing>",
        "E *     expected 'echo' args=[[]4[]] namespace='/'",
    ])
    result.stdout.fnmatch_lines([
        "E * received events differ:",
        "E * ! [[]0[]] 'hello' args=[[]{'auth': None, 'query': None, 'header': None}[]] "
        "namespace='/'",
        "E *     expected 'hello' args=[[][]] namespace='/'",
    ])


def test_the_leak_guard_is_on_by_default(project):
    project.makepyfile('''
        def test_leaves_a_task(socketio_client):
            socketio_client().emit("tick_every", 5)

        def test_clean(socketio_client):
            socketio_client().emit("echo", 1)
    ''')
    result = run(project)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_leaves_a_task*",
        "*the test left Socket.IO work running: task *ticker*",
    ])
    assert "test_clean" not in "".join(line for line in result.stdout.lines
                                       if line.startswith("ERROR"))


def test_the_leak_guard_kills_what_it_reports(project):
    project.makepyfile('''
        import pytest
        from flask_socketio.testing.scheduler import current_scheduler

        tasks = []

        @pytest.mark.socketio_leak_guard
        def test_leaves_a_task(socketio_client):
            client = socketio_client()
            client.emit("tick_every", 5)
            tasks.extend(t for t in current_scheduler().tasks if "ticker" in t.name)

        def test_it_was_killed():
            assert tasks and not any(task.is_alive() for task in tasks)
    ''')
    run(project).assert_outcomes(passed=2, errors=1)


def test_the_leak_guard_fails_a_test_leaving_a_thread_running(project):
    project.makepyfile('''
        import threading
        import pytest

        stop = threading.Event()

        @pytest.mark.socketio_leak_guard
        def test_leaves_a_thread():
            threading.Thread(target=stop.wait, name="left-behind").start()

        def test_stop_it():
            stop.set()
            for thread in threading.enumerate():  # ended before this test's own check
                if thread.name == "left-behind":
                    thread.join(10)
    ''')
    # In a process of its own: in this one, threads of earlier tests (a broker's
    # listener reconnecting, a live server winding down) may start meanwhile and be
    # counted as left by the inner tests.
    result = project.runpytest_subprocess(*QUIET)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*the test left Socket.IO work running: thread left-behind*"])


def test_the_ini_option_turns_the_leak_guard_off_but_tasks_are_still_cancelled(project):
    project.makepyfile('''
        import pytest
        from flask_socketio.testing.scheduler import current_scheduler

        tasks = []

        def test_leaves_a_task(socketio_client, socketio_clock):
            socketio_client().emit("tick_every", 5)
            socketio_clock.advance(12)
            tasks.extend(t for t in current_scheduler().tasks if "ticker" in t.name)

        def test_the_next_test_starts_clean(socketio_clock):
            assert tasks and not any(task.is_alive() for task in tasks)
            assert socketio_clock.now == 0 and current_scheduler().tasks == []

        @pytest.mark.socketio_leak_guard
        def test_the_marker_still_turns_it_on(socketio_client):
            socketio_client().emit("tick_every", 5)
    ''')
    project.makeini('''
        [pytest]
        socketio_leak_guard = false
    ''')
    result = run(project)
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_the_marker_still_turns_it_on*"])
    run(project, "-k", "leaves", "--socketio-leak-guard").assert_outcomes(passed=1, errors=1)


def test_a_server_exception_no_client_saw_fails_its_own_test_not_the_next(project):
    project.makepyfile('''
        def test_task_fails_after_the_last_client_call(app, socketio_clock):
            socketio = app.extensions["socketio"]
            client = socketio.test_client(app)  # not from the fixture: never closed
            client.emit("echo", 1)

            def task():
                socketio.sleep(1)
                raise KeyError("raised after the client's last call")

            socketio.start_background_task(task)
            socketio_clock.advance(1)  # nothing reads the client again in this test

        def test_next(socketio_client):
            socketio_client().emit("echo", 1)
    ''')
    result = run(project)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*_ test_task_fails_after_the_last_client_call _*",
        "*raise KeyError*",
        "E *KeyError: \"raised after the client's last call\"",
    ])


def test_a_server_exception_left_with_only_quiet_clients_is_logged(project):
    project.makepyfile('''
        def test_quiet(socketio_client, socketio_clock):
            client = socketio_client(raise_server_exceptions=False)
            socketio = client.socketio

            def task():
                socketio.sleep(1)
                raise KeyError("quietly")

            socketio.start_background_task(task)
            socketio_clock.advance(1)

        def test_next(socketio_client):
            socketio_client().emit("echo", 1)
    ''')
    result = run(project)
    result.assert_outcomes(passed=2)
