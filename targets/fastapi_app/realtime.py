"""Chat rooms over WebSocket: the contract's real-time endpoint, as FastAPI users write it.

`/ws/rooms/{room}`: a client joins a room and is told so; every message a member sends is
delivered to every member of the room (the sender too) with the sender's timestamp. The Express
app (../express_app/realtime.js) serves the same protocol and the same JSON, byte for byte;
../../contract/realtime.md describes it, tests/test_realtime_contract.py checks both apps.

Starlette's own WebSocket support on Uvicorn (whose `websockets` package comes with
uvicorn[standard]), and the broadcast loop of FastAPI's "WebSockets" docs page (a set of
connections per room, each sent to in turn). Rooms are kept in memory, one set per process:
with several workers, members on different workers would not see each other's messages.
"""

import json
import re

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

MAX_MESSAGE_BYTES = 4096  # a larger message closes the connection with 1009
MAX_ROOM_MEMBERS = 64  # a client joining a full room is closed with 1008
ROOM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
MESSAGE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# JavaScript numbers are exact integers up to 2**53 - 1: both apps accept that range and echo it back exactly.
SENT_US_MAX = 2**53 - 1
FIELDS = {"id", "sent_us", "body"}

# RFC 6455 §7.4.1 close codes
UNSUPPORTED_DATA = 1003  # a binary message: the protocol is JSON text
INVALID_PAYLOAD = 1007  # not JSON, or not a message object
POLICY_VIOLATION = 1008  # the room is full
TOO_BIG = 1009

router = APIRouter()
rooms: dict[str, set[WebSocket]] = {}


def parse_message(text: str) -> tuple[str, int, str] | None:
    """(id, sent_us, body) of a valid client message, else None.

    Rules shared with the Express app, so that both accept and refuse alike: Python's parser takes
    NaN and Infinity (JSON has neither; they fail the type checks below) and lone surrogates in
    strings (refused in `body`: they could not be sent on as UTF-8); a number written as 1.0 or 1e3
    is the integer it denotes in both languages.
    """
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(message, dict) or set(message) != FIELDS:
        return None
    msg_id, sent_us, body = message["id"], message["sent_us"], message["body"]
    if not (isinstance(msg_id, str) and MESSAGE_ID.fullmatch(msg_id)):
        return None
    if isinstance(sent_us, bool) or not isinstance(sent_us, int | float):
        return None
    if not (float(sent_us).is_integer() and 0 <= sent_us <= SENT_US_MAX):  # NaN and ±inf are not integers
        return None
    if not isinstance(body, str):
        return None
    try:
        body.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return msg_id, int(sent_us), body


def delivery(room: str, msg_id: str, sent_us: int, body: str) -> str:
    # Key order, separators and escapes as JavaScript's JSON.stringify writes them.
    message = {"type": "message", "room": room, "id": msg_id, "sent_us": sent_us, "body": body}
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


async def broadcast(members: set[WebSocket], text: str) -> None:
    for member in list(members):  # a copy: members may leave while we await
        try:
            await member.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):  # closed meanwhile: it leaves the room
            members.discard(member)


def close_code(message: dict) -> int | None:
    """The close code a received message calls for, or None for a text message within the size limit."""
    if message.get("text") is None:
        return UNSUPPORTED_DATA
    if len(message["text"].encode("utf-8")) > MAX_MESSAGE_BYTES:
        return TOO_BIG
    return None


@router.websocket("/ws/rooms/{room}")
async def room_socket(websocket: WebSocket, room: str) -> None:
    """Join `room`, then relay each message to every member until the client leaves."""
    if not ROOM_NAME.fullmatch(room):
        await websocket.close(code=POLICY_VIOLATION)  # before accepting: the upgrade is refused with 403
        return
    await websocket.accept()
    members = rooms.setdefault(room, set())
    if len(members) >= MAX_ROOM_MEMBERS:
        await websocket.close(code=POLICY_VIOLATION, reason="room full")
        return
    members.add(websocket)
    try:
        await websocket.send_text(json.dumps({"type": "joined", "room": room, "members": len(members)},
                                             separators=(",", ":")))
        await _relay(websocket, room, members)
    except WebSocketDisconnect:
        pass
    finally:
        members.discard(websocket)
        if not members and rooms.get(room) is members:
            del rooms[room]


async def _relay(websocket: WebSocket, room: str, members: set[WebSocket]) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        code = close_code(message)
        parsed = parse_message(message["text"]) if code is None else None
        if code is None and parsed is None:
            code = INVALID_PAYLOAD
        if code is not None:
            members.discard(websocket)
            reason = {UNSUPPORTED_DATA: "text only", TOO_BIG: "message too big"}.get(code, "invalid message")
            await websocket.close(code=code, reason=reason)
            return
        await broadcast(members, delivery(room, *parsed))
