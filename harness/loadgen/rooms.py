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
