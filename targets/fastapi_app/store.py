"""Where the FastAPI app keeps its data: chosen at start by STORE (memory, the default, or postgres).

Every store has the same async methods and answers alike; the Express app's store.js mirrors
this module and store_pg.py mirrors store-pg.js. Rows are plain dicts, validated into the
response models by the routes.
"""

from __future__ import annotations

import itertools
import os
import random
from typing import Any, Protocol

Row = dict[str, Any]

WORLD_ROWS = 10_000  # TechEmpower's World table: ids 1..10,000, random numbers 1..10,000


class Conflict(Exception):
    """Another user already has this email (409)."""


class Unavailable(Exception):
    """The database cannot answer now: down, or no pooled connection free in time (503)."""


class Store(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def create_user(self, name: str, email: str) -> Row: ...
    async def get_user(self, user_id: int) -> Row | None: ...
    async def replace_user(self, user_id: int, name: str, email: str) -> Row | None: ...
    async def delete_user(self, user_id: int) -> bool: ...
    async def list_users(self, limit: int, offset: int) -> tuple[list[Row], int]: ...
    async def read_worlds(self, ids: list[int]) -> list[Row]: ...
    async def update_worlds(self, ids: list[int], numbers: list[int]) -> list[Row]: ...


def random_world_id() -> int:
    return random.randint(1, WORLD_ROWS)


class MemoryStore:
    """One store per process (so CRUD needs --workers 1): users in a dict, world rows in a list."""

    def __init__(self) -> None:
        self.users: dict[int, Row] = {}  # dicts keep insertion order: ascending ids
        self.ids_by_email: dict[str, int] = {}
        self.next_id = 1
        self.world = [random.randint(1, WORLD_ROWS) for _ in range(WORLD_ROWS)]

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def create_user(self, name: str, email: str) -> Row:
        user_id = self.next_id
        self.next_id += 1  # used up even by a conflict, as a database sequence is
        if email in self.ids_by_email:
            raise Conflict
        user = {"id": user_id, "name": name, "email": email}
        self.users[user_id] = user
        self.ids_by_email[email] = user_id
        return user

    async def get_user(self, user_id: int) -> Row | None:
        return self.users.get(user_id)

    async def replace_user(self, user_id: int, name: str, email: str) -> Row | None:
        old = self.users.get(user_id)
        if old is None:
            return None
        if self.ids_by_email.get(email, user_id) != user_id:
            raise Conflict
        del self.ids_by_email[old["email"]]
        user = {"id": user_id, "name": name, "email": email}
        self.users[user_id] = user
        self.ids_by_email[email] = user_id
        return user

    async def delete_user(self, user_id: int) -> bool:
        user = self.users.pop(user_id, None)
        if user is None:
            return False
        del self.ids_by_email[user["email"]]
        return True

    async def list_users(self, limit: int, offset: int) -> tuple[list[Row], int]:
        items = list(itertools.islice(self.users.values(), offset, offset + limit))
        return items, len(self.users)

    async def read_worlds(self, ids: list[int]) -> list[Row]:
        return [{"id": i, "randomNumber": self.world[i - 1]} for i in ids]

    async def update_worlds(self, ids: list[int], numbers: list[int]) -> list[Row]:
        for i, number in zip(ids, numbers, strict=True):
            self.world[i - 1] = number
        return [{"id": i, "randomNumber": n} for i, n in zip(ids, numbers, strict=True)]


def store_from_env() -> Store:
    """STORE=memory (default) or postgres; postgres reads DATABASE_URL, DB_POOL_SIZE and DB_TIMEOUT_MS."""
    kind = os.environ.get("STORE", "memory")
    if kind == "memory":
        return MemoryStore()
    if kind == "postgres":
        from store_pg import PostgresStore

        return PostgresStore.from_env(os.environ)
    raise SystemExit(f"STORE must be memory or postgres, not {kind!r}")
