"""Who should receive each published message, and who did in time: the bookkeeping of the realtime
scenario's users on one Locust worker, free of gevent so that it can be tested on its own.

A message sent to a room is owed to every member of the room when it was sent (those whose `joined`
had arrived and whose socket is open, the sender included). Each member's copy is delivered when it
arrives within `deadline_s` of the send, and lost otherwise: `expire` counts the copies still owed
once their deadline has passed and forgets them, so a copy arriving later is late, not delivered.
Rooms are per worker (their names carry the worker's token), so one worker sees every member of its rooms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Receipt(Enum):
    ON_TIME = "on time"  # owed to this member and arrived before the deadline: a delivery
    LATE = "late"  # its deadline had passed: already counted lost
    UNOWED = "unowed"  # the member was not in the room when it was sent (it joined meanwhile)


@dataclass
class _Owed:
    deadline: float
    members: set[int] = field(default_factory=set)


class RoomLedger:
    def __init__(self, deadline_s: float) -> None:
        if deadline_s <= 0:
            raise ValueError(f"deadline_s must be positive, got {deadline_s}")
        self.deadline_s = deadline_s
        self.rooms: dict[str, set[int]] = {}
        # Sent in time order, all with the same deadline: the oldest expire first (dicts keep order).
        self._owed: dict[str, _Owed] = {}
        self._expired: set[str] = set()

    def join(self, room: str, member: int) -> None:
        self.rooms.setdefault(room, set()).add(member)

    def leave(self, room: str, member: int) -> None:
        members = self.rooms.get(room)
        if members is not None:
            members.discard(member)

    @property
    def members(self) -> int:
        """Members of every room now: clients connected and joined."""
        return sum(len(m) for m in self.rooms.values())

    def sent(self, msg_id: str, room: str, now: float) -> int:
        """A member of `room` sends `msg_id`; returns how many copies are owed."""
        members = set(self.rooms.get(room, ()))
        self._owed[msg_id] = _Owed(now + self.deadline_s, members)
        return len(members)

    def received(self, msg_id: str, member: int, now: float) -> Receipt:
        owed = self._owed.get(msg_id)
        if owed is None or now >= owed.deadline:
            return Receipt.LATE if owed is not None or msg_id in self._expired else Receipt.UNOWED
        if member not in owed.members:
            return Receipt.UNOWED
        owed.members.discard(member)
        if not owed.members:
            del self._owed[msg_id]
        return Receipt.ON_TIME

    def expire(self, now: float) -> int:
        """Copies whose deadline has passed before `now` and that never arrived: lost. Forgets them."""
        lost = 0
        while self._owed:
            msg_id, owed = next(iter(self._owed.items()))
            if owed.deadline > now:
                break
            lost += len(owed.members)
            del self._owed[msg_id]
            self._expired.add(msg_id)
        return lost

    @property
    def owed(self) -> int:
        """Copies sent and neither delivered nor lost yet."""
        return sum(len(o.members) for o in self._owed.values())


def scan_frames(buffer: bytes | bytearray) -> tuple[int, list[tuple[int, bytes]], int]:
    """Server-to-client WebSocket frames (RFC 6455 §5.2, unmasked) at the start of `buffer`:
    (data frames seen, control frames as (opcode, payload), bytes consumed). A frame cut at the end of
    the buffer is left unconsumed for the next read. Cheap on purpose: data payloads are skipped, not
    copied, so that draining a socket costs the load generator little."""
    data_frames, control, at, size = 0, [], 0, len(buffer)
    while size - at >= 2:
        opcode, length, header = buffer[at] & 0x0F, buffer[at + 1] & 0x7F, 2
        if length == 126:
            if size - at < 4:
                break
            length, header = int.from_bytes(buffer[at + 2:at + 4], "big"), 4
        elif length == 127:
            if size - at < 10:
                break
            length, header = int.from_bytes(buffer[at + 2:at + 10], "big"), 10
        if size - at < header + length:
            break
        if opcode >= 0x8:
            control.append((opcode, bytes(buffer[at + header:at + header + length])))
        else:
            data_frames += 1
        at += header + length
    return data_frames, control, at
