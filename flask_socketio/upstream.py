"""Every private member of another library that this package touches, in one list.

python-socketio, python-engineio, Flask and Werkzeug promise nothing about their
underscored names; we override or read a few of them where their public API has no
hook. ``tests/unit/test_upstream_contract.py`` checks that each one listed here still
exists (and, for methods, still takes the parameters we call it with), and that the
code uses no private member missing from this list, so that an upgrade that changes
one fails loudly, naming it. ``scripts/check-upstream.sh`` runs that test against the
newest releases.

One guarded fast path relies on public attributes rather than private members: the
per-connection request template of ``context.py`` copies what Werkzeug's
``Request.__init__`` sets, watching the environ keys it reads;
``tests/unit/test_upstream_contract_request.py`` checks both. Likewise, the room
index (``room_index.py``) does the work of python-socketio's public
``BaseManager.basic_enter_room``, ``basic_leave_room`` and ``basic_disconnect``
itself; ``tests/unit/test_upstream_contract_rooms.py`` pins their code and compares
behaviour. The members of a room (``room_members.py``) are a ``bidict`` whose common
operations write its two backing dicts directly;
``tests/unit/test_upstream_contract_bidict.py`` checks that it leaves them as bidict's
own methods do, on random sequences.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PrivateMember:
    """One private member of an upstream library that we use."""

    #: ``module:qualname`` of the class or module that has it.
    owner: str
    #: The member's name.
    name: str
    #: Where we use it and why.
    why: str
    #: Parameter names we rely on (methods only), after ``self``.
    params: tuple[str, ...] | None = None
    #: Set on instances by the owner's ``__init__`` rather than defined on the class.
    instance: bool = False


_SERVER = "socketio.base_server:BaseServer"
_SYNC_SERVER = "socketio.server:Server"

PRIVATE_MEMBERS: tuple[PrivateMember, ...] = (
    # python-socketio's Server: protocol.py checks every packet before it acts.
    PrivateMember(_SYNC_SERVER, "_engineio_server_class",
                  "protocol.py: the Engine.IO router is the server's eio", ()),
    PrivateMember(_SYNC_SERVER, "_handle_eio_connect",
                  "protocol.py: start the connect_timeout timer", ("eio_sid", "environ")),
    PrivateMember(_SYNC_SERVER, "_handle_eio_message",
                  "protocol.py: packet rules before python-socketio decodes",
                  ("eio_sid", "data")),
    PrivateMember(_SYNC_SERVER, "_handle_eio_disconnect",
                  "protocol.py: forget per-connection protocol state; recovery: an "
                  "Engine.IO close is a transport close; its work (a _handle_disconnect "
                  "per namespace, the environ forgotten) done by ours, for the "
                  "namespaces the connection is in (tests/unit/test_connect_paths.py "
                  "checks it does no more)", ("eio_sid", "reason")),
    PrivateMember(_SYNC_SERVER, "_handle_connect",
                  "protocol.py: the CONNECT reply before what the handler emits; "
                  "connection state recovery restores a kept session",
                  ("eio_sid", "namespace", "data")),
    PrivateMember(_SYNC_SERVER, "_handle_disconnect",
                  "protocol.py: a client DISCONNECT packet; recovery keeps the state of "
                  "a connection lost to the network", ("eio_sid", "namespace", "reason")),
    PrivateMember(_SYNC_SERVER, "_handle_event",
                  "protocol.py: events run by the engine that owns the session",
                  ("eio_sid", "namespace", "id", "data")),
    PrivateMember(_SYNC_SERVER, "_handle_event_internal",
                  "protocol.py: drop events whose connection ended",
                  ("server", "sid", "eio_sid", "data", "namespace", "id")),
    PrivateMember(_SYNC_SERVER, "_trigger_event",
                  "protocol.py: event hooks run for events no handler takes; a recovered "
                  "connection's rooms and data are back before its connect handler",
                  ("event", "namespace")),
    PrivateMember(_SYNC_SERVER, "_handle_ack", "protocol.py: a client ACK packet",
                  ("eio_sid", "namespace", "id", "data")),
    PrivateMember(_SYNC_SERVER, "_send_packet",
                  "protocol.py: hold emits until the CONNECT reply is out; recovery: the "
                  "pid in the reply, the missed events after it",
                  ("eio_sid", "pkt")),
    PrivateMember(_SYNC_SERVER, "_send_eio_packet",
                  "protocol.py: hold emits until the CONNECT reply is out; extension.py: "
                  "an emit to one room hands its message to each member",
                  ("eio_sid", "eio_pkt")),
    PrivateMember(_SERVER, "_binary_packet",
                  "protocol.py: half-received binary packets, bounded by max_pending_bytes",
                  instance=True),
    # python-socketio's client managers: queues.py adds health and ordering.
    PrivateMember("socketio.pubsub_manager:PubSubManager", "_publish",
                  "queues.py: publish through our health-reporting path; cluster/node.py: "
                  "publish the cluster's messages; recovery.py: an emit's offset "
                  "published with it", ("data",)),
    PrivateMember("socketio.pubsub_manager:PubSubManager", "_listen",
                  "queues.py: listen with reconnection and health reporting; "
                  "cluster/node.py: take the cluster's messages out of the stream", ()),
    PrivateMember("socketio.pubsub_manager:PubSubManager", "_thread",
                  "queues.py: the listener thread, wrapped to report its state", ()),
    PrivateMember("socketio.pubsub_manager:PubSubManager", "_handle_emit",
                  "emit_observer.py: the emit recorder sees emits from other processes; "
                  "recovery.py: an emit is logged under its publisher's offset",
                  ("message",)),
    PrivateMember("socketio.redis_manager:RedisManager", "_get_redis_module",
                  "queues/streams.py: the redis (or valkey) module the URL names", ()),
    PrivateMember("socketio.redis_manager:RedisManager", "_redis_connect",
                  "queues.py: reconnect before publishing or listening", ()),
    PrivateMember("socketio.kombu_manager:KombuManager", "_exchange",
                  "queues.py: the exchange to publish to", ()),
    PrivateMember("socketio.kombu_manager:KombuManager", "_queue",
                  "queues.py: the queue to listen on", ()),
    PrivateMember("socketio.kombu_manager:KombuManager", "_connection",
                  "queues.py: a connection to listen with", ()),
    # python-socketio's and python-engineio's clients: the live test client.
    PrivateMember("engineio.client:Client", "_trigger_event",
                  "testing/live_client.py: deliver packets in arrival order",
                  ("event",)),
    PrivateMember("engineio.client:Client", "_send_request",
                  "testing/live_client.py: close a polling session without waiting",
                  ("method", "url")),
    PrivateMember("socketio.client:Client", "_engineio_client_class",
                  "testing/live_client.py: the in-order Engine.IO client", ()),
    PrivateMember("socketio.client:Client", "_send_packet",
                  "testing/live_client.py: record every packet sent", ("pkt",)),
    # gevent-websocket: permessage-deflate on its WebSocket.
    PrivateMember("geventwebsocket.websocket:WebSocket", "_encode_bytes",
                  "engine/deflate.py: text frames encoded as gevent-websocket does",
                  ("text",)),
    # gevent's pywsgi handler: the embedded server's request heads and responses.
    PrivateMember("gevent.pywsgi:WSGIHandler", "_check_http_version",
                  "serving.py: the request line's version checked as pywsgi does", ()),
    PrivateMember("gevent.pywsgi:WSGIHandler", "_headers",
                  "serving.py: the environ's HTTP_* items from the llhttp-parsed head", ()),
    PrivateMember("gevent.pywsgi:WSGIHandler", "_write_with_headers",
                  "serving.py: a small response's head and body in one send", ("data",)),
    PrivateMember("gevent.pywsgi:WSGIHandler", "_sendall",
                  "serving.py: the one send (counts the response length)", ("data",)),
    PrivateMember("gevent.pywsgi:WSGIHandler", "_write",
                  "serving.py: a body sent after its head (large, or chunked)", ("data",)),
    PrivateMember("gevent.pywsgi", "_InvalidClientRequest",
                  "serving.py: a refused request head answered 400 as pywsgi answers"),
    # bidict: a room's members (room_members.py), python-socketio's bidict made cheap
    # to make, join and leave; tests/unit/test_upstream_contract_bidict.py compares
    # it with bidict.
    PrivateMember("bidict:bidict", "_fwdm",
                  "room_members.py: a room's {sid: eio_sid}, written and read directly "
                  "(python-socketio reads it too, in get_participants)", instance=True),
    PrivateMember("bidict:bidict", "_invm",
                  "room_members.py: a room's {eio_sid: sid}, written and read directly "
                  "(python-socketio reads it too, in sid_from_eio_sid)", instance=True),
    # Flask and Werkzeug.
    PrivateMember("flask.testing:FlaskClient", "_add_cookies_to_wsgi",
                  "testing/client.py: the Flask test client's cookies in the handshake",
                  ("environ",)),
    PrivateMember("werkzeug.local:LocalProxy", "_get_current_object",
                  "extension.py, testing/client.py: the object behind current_app/session"),
    PrivateMember("werkzeug._reloader", "run_with_reloader",
                  "serving.py: socketio.run(debug=True) restarts on code changes"),
    PrivateMember("flask.ctx:RequestContext", "_session",
                  "context.py: the per-event request context fast path (guarded: "
                  "falls back to RequestContext when its fields differ)", instance=True),
    PrivateMember("flask.ctx:RequestContext", "_after_request_functions",
                  "context.py: the per-event request context fast path (guarded)",
                  instance=True),
    PrivateMember("flask.ctx:RequestContext", "_cv_tokens",
                  "context.py: the per-event request context fast path (guarded)",
                  instance=True),
)
