"""The pytest plugin is inert in a project that does not use it (issue 18): no heavy
imports, no autouse fixture, no per-test hook, until a test uses Socket.IO."""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:cov")

PROBE = '''
import json
import sys

HEAVY = ("flask", "werkzeug", "socketio", "engineio", "gevent", "flask_socketio.testing.client")


def probe(request, name):
    plugin = request.config.pluginmanager.get_plugin("flask_socketio")
    facts = {
        "modules": len(sys.modules),
        "heavy": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY or m in HEAVY),
        "active": request.config.pluginmanager.get_plugin("flask_socketio-active") is not None,
        "fixtures": sorted(f for f in request.fixturenames if "socketio" in f),
        "runtest_hooks": sorted(n for n in dir(plugin) if n.startswith("pytest_runtest"))
        if plugin is not None else [],
    }
    with open(name, "w") as out:
        json.dump(facts, out)
'''




def facts(pytester, name):
    return json.loads((pytester.path / name).read_text())


def test_a_project_that_does_not_use_it_pays_nothing(pytester):
    pytester.makeconftest(PROBE)
    pytester.makepyfile('''
        from conftest import probe

        def test_one(request):
            probe(request, "one.json")

        def test_two(request):
            probe(request, "two.json")
    ''')
    pytester.runpytest_subprocess(*QUIET).assert_outcomes(passed=2)
    one, two = facts(pytester, "one.json"), facts(pytester, "two.json")
    pytester.runpytest_subprocess(*QUIET, "-p", "no:flask_socketio").assert_outcomes(passed=2)
    without = facts(pytester, "one.json")
    for seen in (one, two):
        assert seen["heavy"] == [] and not seen["active"]
        assert seen["fixtures"] == [] and seen["runtest_hooks"] == []
        assert seen["modules"] - without["modules"] <= 10  # a few light modules of ours


def test_the_per_test_work_starts_at_the_first_test_that_uses_socketio(pytester):
    pytester.makeconftest(PROBE + '''
import pytest
from flask import Flask
from flask_socketio import SocketIO


@pytest.fixture
def app():
    app = Flask(__name__)
    SocketIO(app)
    return app
''')
    pytester.makepyfile('''
        from conftest import probe

        def test_plain(request):
            probe(request, "plain.json")

        def test_uses_the_clock(socketio_clock, request):
            probe(request, "clock.json")

        def test_after(request):
            probe(request, "after.json")
    ''')
    pytester.runpytest_subprocess(*QUIET).assert_outcomes(passed=3)
    assert not facts(pytester, "plain.json")["active"]
    assert facts(pytester, "clock.json")["active"]
    assert facts(pytester, "after.json")["active"]


@pytest.mark.parametrize("how", ["marker", "ini", "test client"])
def test_a_marker_an_ini_option_or_a_test_client_turns_it_on(pytester, how):
    pytester.makeconftest(PROBE)
    body = {
        "marker": "@pytest.mark.socketio\ndef test_first(request):\n    pass\n",
        "ini": "def test_first(request):\n    pass\n",
        "test client": ("def test_first(request):\n"
                        "    from flask import Flask\n"
                        "    from flask_socketio import SocketIO\n"
                        "    app = Flask(__name__)\n"
                        "    SocketIO(app).test_client(app)\n"),
    }[how]
    pytester.makepyfile("import pytest\nfrom conftest import probe\n\n" + body
                        + "\n\ndef test_second(request):\n    probe(request, 'second.json')\n")
    if how == "ini":
        pytester.makeini("[pytest]\nsocketio_activate = true\n")
    pytester.runpytest_subprocess(*QUIET).assert_outcomes(passed=2)
    assert facts(pytester, "second.json")["active"]
