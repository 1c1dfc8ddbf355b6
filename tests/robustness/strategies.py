"""Hypothesis strategies: Socket.IO packets and Engine.IO frames, valid, mutated, random.

Shared by the regular fuzz tests (``tests/robustness/test_fuzz.py``) and the long
run (``bench/fuzz_long.py``).
"""

from __future__ import annotations

import base64
import json
import random

from hypothesis import strategies as st

SEPARATOR = "\x1e"

json_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                  max_size=4),
    max_leaves=12)

namespaces = st.sampled_from([None, "/", "/chat", "/nope", "/chat?x=1", "/" * 3, "chat"])
event_names = (st.sampled_from(["echo", "connect", "disconnect", "connect_error", "message",
                                "json", "*", "", "__proto__"])
               | st.text(max_size=8))
ack_ids = st.none() | st.integers(0, 2**64) | st.sampled_from(["-1", "01", "1.5", "9" * 120])


def placeholder(num: object) -> dict:
    return {"_placeholder": True, "num": num}


placeholders = st.builds(placeholder, st.integers(-2, 12) | st.text(max_size=2) | st.none())

payloads = st.one_of(
    st.none(),
    json_values.map(lambda value: json.dumps(value)),
    st.tuples(event_names, st.lists(json_values | placeholders, max_size=3)).map(
        lambda pair: json.dumps([pair[0], *pair[1]])),
    st.lists(json_values | placeholders, max_size=3).map(json.dumps),
    st.text(max_size=16),
)


@st.composite
def socketio_packets(draw: st.DrawFn) -> str:
    """One Socket.IO packet as text: mostly well-formed in shape, any content."""
    kind = draw(st.integers(0, 9) | st.sampled_from([2, 2, 2, 3, 5]))
    text = str(kind)
    if kind in (5, 6) or draw(st.integers(0, 9)) == 0:
        text += str(draw(st.integers(0, 13) | st.sampled_from([99, 10**12]))) + "-"
    namespace = draw(namespaces)
    if namespace not in (None, "/"):
        text += namespace + ","
    ack_id = draw(ack_ids)
    if ack_id is not None:
        text += str(ack_id)
    payload = draw(payloads)
    if payload is not None:
        text += payload
    return text


@st.composite
def mutated(draw: st.DrawFn, packets: st.SearchStrategy[str]) -> str:
    """A packet with a few random edits: a slice dropped, a character changed or added."""
    text = draw(packets)
    for _ in range(draw(st.integers(1, 3))):
        if not text:
            break
        at = draw(st.integers(0, len(text) - 1))
        edit = draw(st.integers(0, 3))
        if edit == 0:
            text = text[:at] + text[at + draw(st.integers(1, 4)):]
        elif edit == 1:
            text = text[:at] + draw(st.characters()) + text[at + 1:]
        elif edit == 2:
            text = text[:at] + draw(st.sampled_from('[]{}",:-/0123456789\\')) + text[at:]
        else:
            text = text[:at] + text[at:][::-1]
    return text


valid_events = st.tuples(st.sampled_from(["echo", "other"]),
                         st.lists(json_values, max_size=2)).map(
    lambda pair: "2" + json.dumps([pair[0], *pair[1]]))

#: One Socket.IO layer message payload (what an Engine.IO "message" packet carries).
socketio_messages = st.one_of(
    socketio_packets(),
    mutated(socketio_packets()),
    mutated(valid_events),
    valid_events,
    st.sampled_from(["0", "0/chat,", "1", "1/chat,", '0{"token":1}', "40", '2["echo"]']),
    st.text(max_size=24),
    st.binary(max_size=24),
)

#: A batch sent by one hostile client: what comes first, then the rest.
socketio_batches = st.tuples(st.sampled_from(["", "0", "0/chat,"]),
                             st.lists(socketio_messages, min_size=1, max_size=25))


def engineio_text(message: str | bytes) -> str:
    """The Engine.IO text frame that carries a Socket.IO message (base64 for bytes)."""
    if isinstance(message, bytes):
        return "b" + base64.b64encode(message).decode()
    return "4" + message


#: One Engine.IO frame over a WebSocket: a text str or a binary bytes.
websocket_frames = st.one_of(
    socketio_messages.map(lambda m: m if isinstance(m, bytes) else "4" + m),
    st.sampled_from(["2", "3", "3probe", "2probe", "5", "6", "0", "", "4", "7", "1"]),
    st.text(max_size=24),
    mutated(socketio_packets().map(lambda p: "4" + p)),
)

#: One HTTP long-polling POST body: Engine.IO packets joined by the separator, or junk.
polling_bodies = st.one_of(
    st.lists(st.one_of(socketio_messages.map(engineio_text),
                       st.sampled_from(["2", "3", "5", "6", "", "b", "bZZZ", "b!!", "7"]),
                       st.text(max_size=16)),
             min_size=1, max_size=6).map(SEPARATOR.join),
    st.binary(max_size=40),
)


# -- a fast mutator: hypothesis draws the templates and a seed, ``expand`` the many inputs ----

_STRUCTURE = '[]{}",:-/0123456789\\\x1eb4'


def mutate(rng: random.Random, message: str | bytes) -> str | bytes:
    """``message`` with one to three random edits (bytes stay bytes, text stays text)."""
    is_bytes = isinstance(message, bytes)
    text = message.decode("latin-1") if is_bytes else message
    for _ in range(rng.randint(1, 3)):
        at = rng.randint(0, len(text))
        edit = rng.randint(0, 5)
        if edit == 0:
            text = text[:at] + text[at + rng.randint(1, 4):]
        elif edit == 1:
            text = text[:at] + chr(rng.randint(0, 0x2FF)) + text[at + 1:]
        elif edit == 2:
            text = text[:at] + rng.choice(_STRUCTURE) + text[at:]
        elif edit == 3:
            text = text[:at]
        elif edit == 4:
            text = text[:at] + text[at:at + 8] * rng.randint(2, 4) + text[at + 8:]
        else:
            text = text[:at] + text[at:][::-1]
    if is_bytes:
        return text.encode("latin-1", "replace")
    return text


def random_message(rng: random.Random) -> str | bytes:
    size = rng.randint(0, 24)
    if rng.random() < 0.2:
        return bytes(rng.getrandbits(8) for _ in range(size))
    return "".join(rng.choice(_STRUCTURE + "aex ") for _ in range(size))


def expand(templates: list, seed: int, count: int) -> list:
    """``count`` inputs from ``templates``: the templates, then mutants, splices and junk."""
    rng = random.Random(seed)
    inputs = list(templates)
    while len(inputs) < count:
        roll = rng.random()
        if roll < 0.7:
            inputs.append(mutate(rng, rng.choice(templates)))
        elif roll < 0.85:
            first, second = rng.choice(templates), rng.choice(templates)
            if type(first) is type(second) and first and second:
                inputs.append(first[:rng.randint(0, len(first))]
                              + second[rng.randint(0, len(second)):])
            else:
                inputs.append(random_message(rng))
        else:
            inputs.append(random_message(rng))
    return inputs[:count] if len(templates) <= count else inputs


def _msgpack_dumps(value: dict) -> bytes:
    import msgpack

    return msgpack.dumps(value)


#: What msgpack can carry: integers within 64 bits, and bytes.
msgpack_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False) | st.text(max_size=12) | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                  max_size=4),
    max_leaves=12)

#: Socket.IO packets for ``serializer='msgpack'``: one msgpack map per packet.
msgpack_packets = st.fixed_dictionaries(
    {"type": st.integers(-1, 8) | st.booleans() | st.none(),
     "nsp": namespaces | st.integers(-1, 2)},
    optional={"data": st.one_of(msgpack_values, st.tuples(event_names, st.lists(
                  msgpack_values, max_size=3)).map(lambda pair: [pair[0], *pair[1]])),
              "id": st.integers(-2, 2**64 - 1) | st.text(max_size=3) | st.floats()},
).map(_msgpack_dumps)
