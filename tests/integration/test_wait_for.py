"""``wait_for``: one test body waits for timed server events in-process (the virtual
clock moves) and live (real time passes)."""

from __future__ import annotations

import pytest

from flask_socketio.testing import Match


def test_wait_for_events_a_task_emits_over_time(make_client):
    client = make_client()
    assert client.call("timed_ticks", 3, 0.05) is True
    ticks = client.wait_for("tick", count=3, within=5)
    assert [tick.args for tick in ticks] == [[0], [1], [2]]
    client.assert_nothing_received()


def test_wait_for_matching_arguments_leaves_the_others(make_client):
    client = make_client()
    assert client.call("timed_ticks", 4, 0.02) is True
    odd = client.wait_for("tick", Match(lambda n: n % 2 == 1), count=2, within=5)
    assert [tick.args for tick in odd] == [[1], [3]]
    assert [tick.args for tick in client.get_received()] == [[0], [2]]


def test_wait_for_too_few_is_a_timeout_saying_how_many(make_client):
    client = make_client()
    assert client.call("timed_ticks", 1, 0.02) is True
    with pytest.raises(TimeoutError, match="waited for 2 'tick' event.* 1 arrived"):
        client.wait_for("tick", count=2, within=0.5)
