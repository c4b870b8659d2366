"""The real-time contract (contract/realtime.md), tested alike against both apps with one plain
WebSocket client (websocket-client): joining, fan-out with identical bytes, room isolation, the size
limit, the room limit, and every close code.

Each test runs once per app (the module-scoped `server` fixture of conftest.py); each uses its own
room names, so tests never see each other's members.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
import websocket
from websocket import ABNF

pytestmark = pytest.mark.e2e

MAX_MESSAGE_BYTES = 4096
MAX_ROOM_MEMBERS = 64
TIMEOUT_S = 5


def ws_url(server, room: str) -> str:
    return server.base_url.replace("http://", "ws://", 1) + f"/ws/rooms/{room}"


def new_room() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def connect(server, room: str) -> websocket.WebSocket:
    return websocket.create_connection(ws_url(server, room), timeout=TIMEOUT_S)


@contextmanager
def members(server, room: str, n: int) -> Iterator[list[websocket.WebSocket]]:
    """n members of `room`, each past its `joined` message."""
    with ExitStack() as stack:
        sockets = []
        for i in range(n):
            ws = connect(server, room)
            stack.callback(ws.close)
            assert json.loads(ws.recv()) == {"type": "joined", "room": room, "members": i + 1}
            sockets.append(ws)
        yield sockets


def close_code(ws: websocket.WebSocket) -> int:
    """The code of the server's close frame (data frames before it are skipped)."""
    for _ in range(10):
        opcode, frame = ws.recv_data_frame(True)
        if opcode == ABNF.OPCODE_CLOSE:
            return int.from_bytes(frame.data[:2], "big")
    raise AssertionError("no close frame among the next 10 frames")


def message(msg_id: str = "m1", sent_us: object = 1_767_225_600_123_456, body: object = "hello") -> dict:
    return {"id": msg_id, "sent_us": sent_us, "body": body}


def delivered(room: str, msg_id: str, sent_us: int, body: str) -> bytes:
    # The exact bytes both apps must send: keys in this order, no spaces, UTF-8, JSON.stringify's escapes.
    text = json.dumps({"type": "message", "room": room, "id": msg_id, "sent_us": sent_us, "body": body},
                      ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8")


def test_fan_out_reaches_every_member_the_sender_too_with_identical_bytes(server):
    room = new_room()
    bodies = ["hello", "héllo wörld ✓ 𝄞", 'quote " backslash \\ newline \n tab \t ctrl \x01 del \x7f', "\u2028", ""]
    with members(server, room, 3) as (a, b, c):
        for i, body in enumerate(bodies):
            a.send(json.dumps(message(f"m{i}", 1_767_225_600_000_000 + i, body)))
            expected = delivered(room, f"m{i}", 1_767_225_600_000_000 + i, body)
            for ws in (a, b, c):
                opcode, data = ws.recv_data(True)
                assert opcode == ABNF.OPCODE_TEXT
                assert data == expected


def test_integers_written_as_floats_are_echoed_as_integers(server):
    room = new_room()
    with members(server, room, 1) as (a,):
        a.send('{"id":"f","sent_us":1e3,"body":"x"}')
        assert a.recv_data(True)[1] == delivered(room, "f", 1000, "x")
        a.send('{"body":"y","sent_us":2.0,"id":"g"}')  # key order of the input does not matter
        assert a.recv_data(True)[1] == delivered(room, "g", 2, "y")


def test_other_rooms_receive_nothing(server):
    room, other = new_room(), new_room()
    with members(server, room, 1) as (a,), members(server, other, 1) as (b,):
        a.send(json.dumps(message("only-a")))
        assert json.loads(a.recv())["id"] == "only-a"
        b.send(json.dumps(message("only-b")))
        assert json.loads(b.recv())["id"] == "only-b"  # the first thing b receives: a's never came


def test_a_message_of_exactly_the_limit_is_delivered_one_byte_more_closes_1009(server):
    room = new_room()
    overhead = len(json.dumps(message(body=""), separators=(",", ":")).encode())
    at_limit = json.dumps(message(body="é" * ((MAX_MESSAGE_BYTES - overhead) // 2)), ensure_ascii=False,
                          separators=(",", ":"))  # é is 2 bytes: the limit counts bytes, not characters
    at_limit += " " * (MAX_MESSAGE_BYTES - len(at_limit.encode()))  # JSON allows trailing whitespace
    assert len(at_limit.encode()) == MAX_MESSAGE_BYTES
    with members(server, room, 2) as (a, b):
        a.send(at_limit)
        assert json.loads(b.recv())["body"] == json.loads(at_limit)["body"]
        a.recv()
        a.send(at_limit + " ")
        assert close_code(a) == 1009
        b.send(json.dumps(message("after")))  # the others stay
        assert json.loads(b.recv())["id"] == "after"


INVALID = {
    "not JSON": "hello",
    "a JSON array": "[1, 2]",
    "a JSON string": '"hi"',
    "null": "null",
    "missing body": '{"id":"a","sent_us":1}',
    "an extra key": '{"id":"a","sent_us":1,"body":"x","to":"b"}',
    "an empty id": '{"id":"","sent_us":1,"body":"x"}',
    "an id with a space": '{"id":"a b","sent_us":1,"body":"x"}',
    "an id of 65 characters": json.dumps(message("a" * 65)),
    "a negative sent_us": '{"id":"a","sent_us":-1,"body":"x"}',
    "a fractional sent_us": '{"id":"a","sent_us":1.5,"body":"x"}',
    "sent_us above 2**53-1": '{"id":"a","sent_us":9007199254740992,"body":"x"}',
    "sent_us as a string": '{"id":"a","sent_us":"1","body":"x"}',
    "sent_us true": '{"id":"a","sent_us":true,"body":"x"}',
    "sent_us NaN": '{"id":"a","sent_us":NaN,"body":"x"}',
    "sent_us Infinity": '{"id":"a","sent_us":Infinity,"body":"x"}',
    "a number body": '{"id":"a","sent_us":1,"body":5}',
    "a lone surrogate in the body": '{"id":"a","sent_us":1,"body":"\\ud800"}',
    "trailing garbage": '{"id":"a","sent_us":1,"body":"x"} x',
}


@pytest.mark.parametrize("payload", INVALID.values(), ids=INVALID.keys())
def test_an_invalid_message_closes_1007_and_is_not_delivered(server, payload):
    room = new_room()
    with members(server, room, 2) as (a, b):
        a.send(payload)
        assert close_code(a) == 1007
        b.send(json.dumps(message("next")))
        assert json.loads(b.recv())["id"] == "next"  # nothing of a's reached b


def test_invalid_utf8_in_a_text_frame_closes_1007(server):
    with members(server, new_room(), 1) as (a,):
        a.send_frame(ABNF.create_frame(b'{"id":"a","sent_us":1,"body":"\xff"}', ABNF.OPCODE_TEXT))
        assert close_code(a) == 1007


def test_a_binary_frame_closes_1003(server):
    with members(server, new_room(), 1) as (a,):
        a.send_binary(json.dumps(message()).encode())
        assert close_code(a) == 1003


def test_the_member_past_the_limit_is_closed_1008_and_the_room_goes_on(server):
    room = new_room()
    with members(server, room, MAX_ROOM_MEMBERS) as sockets:
        extra = connect(server, room)
        try:
            assert close_code(extra) == 1008
        finally:
            extra.close()
        sockets[0].send(json.dumps(message("still")))
        for ws in (sockets[0], sockets[-1]):
            assert json.loads(ws.recv())["id"] == "still"


def test_the_room_full_client_never_receives_joined(server):
    room = new_room()
    with members(server, room, MAX_ROOM_MEMBERS):
        extra = connect(server, room)
        try:
            opcode, _ = extra.recv_data_frame(True)
            assert opcode == ABNF.OPCODE_CLOSE
        finally:
            extra.close()


@pytest.mark.parametrize("path", ["/ws/rooms/bad%20name", "/ws/rooms/" + "r" * 65, "/ws/rooms/a%2Fb", "/ws/other",
                                  "/json"])
def test_an_upgrade_elsewhere_is_refused_with_403(server, path):
    url = server.base_url.replace("http://", "ws://", 1) + path
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=TIMEOUT_S)
    assert refused.value.status_code == 403


def test_members_counts_those_still_in_the_room(server):
    room = new_room()
    with members(server, room, 2) as (a, b):
        b.close()
        # b's leaving is noticed when its close frame arrives: a round trip through a makes sure it was read
        a.send(json.dumps(message("sync")))
        a.recv()
        late = connect(server, room)
        try:
            assert json.loads(late.recv()) == {"type": "joined", "room": room, "members": 2}
        finally:
            late.close()
