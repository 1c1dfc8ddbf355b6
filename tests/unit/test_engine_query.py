"""The native engine's query string reading: the same answer as ``parse_qs``."""

from __future__ import annotations

from urllib.parse import parse_qs

from hypothesis import given, settings
from hypothesis import strategies as st

from flask_socketio.engine.native import _query

PIECES = st.sampled_from(["a", "b", "sid", "EIO", "4", "=", "==", "&", "%", "%41", "%2",
                          "+", ";", " ", "é", "x"])


@settings(max_examples=2000, deadline=None)
@given(st.lists(PIECES, max_size=20).map("".join))
def test_the_first_non_empty_value_of_each_parameter_as_parse_qs_gives(query):
    assert _query(query) == {name: values[0] for name, values in parse_qs(query).items()}


def test_engine_io_parameters():
    assert _query("EIO=4&transport=polling&t=PXa1b&sid=ab-_cd") == {
        "EIO": "4", "transport": "polling", "t": "PXa1b", "sid": "ab-_cd"}
    assert _query("sid=&sid=x&EIO") == {"sid": "x"}  # empty and bare ones skipped
    assert _query("sid=a%2Bb&EIO=4") == {"sid": "a+b", "EIO": "4"}
