"""The PostgreSQL store (STORE=postgres): asyncpg, a fixed-size pool, the SQL of contract/queries.sql.

The Express app's store-pg.js is this module in node-postgres: the same statements, parameters,
pool size and transactions. asyncpg prepares each statement once per connection (its statement
cache) and, as its pool does by default, resets a connection when it is released (one more round
trip per request: what FastAPI users get from asyncpg's defaults).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import asyncpg
from store import Conflict, Row, Unavailable

# The statements, as in contract/queries.sql (tests/test_store_sql.py checks both apps' copies).
INSERT_USER = "INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id, name, email"
SELECT_USER = "SELECT id, name, email FROM users WHERE id = $1"
UPDATE_USER = "UPDATE users SET name = $2, email = $3 WHERE id = $1 RETURNING id, name, email"
DELETE_USER = "DELETE FROM users WHERE id = $1 RETURNING id"
PAGE_USERS = "SELECT id, name, email FROM users ORDER BY id LIMIT $1 OFFSET $2"
COUNT_USERS = "SELECT count(*)::integer AS total FROM users"
SELECT_WORLD = "SELECT id, randomnumber FROM world WHERE id = $1"
UPDATE_WORLD = "UPDATE world SET randomnumber = $2 WHERE id = $1"
BEGIN_PAGE = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

# Ids are `integer` columns: a larger id (or one below 1) names no user, and is not sent.
MAX_ID = 2**31 - 1
# What says the database cannot answer, as opposed to a wrong statement (a bug: 500).
DOWN = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
        asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError)


def _user(record: asyncpg.Record | None) -> Row | None:
    return None if record is None else {"id": record["id"], "name": record["name"], "email": record["email"]}


class PostgresStore:
    def __init__(self, url: str, pool_size: int, timeout_s: float) -> None:
        self.url = url
        self.pool_size = pool_size
        self.timeout_s = timeout_s  # a request waits this long for a pooled connection, and for one statement
        self.pool: asyncpg.Pool | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PostgresStore:
        if not env.get("DATABASE_URL"):
            raise SystemExit("STORE=postgres needs DATABASE_URL")
        return cls(env["DATABASE_URL"], int(env.get("DB_POOL_SIZE", "10")),
                   int(env.get("DB_TIMEOUT_MS", "5000")) / 1000)

    async def start(self) -> None:
        """Open every pooled connection now, before the app listens (min_size = max_size)."""
        self.pool = await asyncpg.create_pool(
            self.url, min_size=self.pool_size, max_size=self.pool_size, command_timeout=self.timeout_s,
            max_inactive_connection_lifetime=0,  # keep idle connections, as the Express app's pool does here
        )

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection; a pool exhausted past the timeout, or a database gone, is Unavailable."""
        assert self.pool is not None
        try:
            async with self.pool.acquire(timeout=self.timeout_s) as connection:
                yield connection
        except DOWN as exc:
            raise Unavailable from exc

    async def create_user(self, name: str, email: str) -> Row:
        async with self._connection() as db:
            try:
                return _user(await db.fetchrow(INSERT_USER, name, email))  # type: ignore[return-value]
            except asyncpg.UniqueViolationError:
                raise Conflict from None

    async def get_user(self, user_id: int) -> Row | None:
        if not 1 <= user_id <= MAX_ID:
            return None
        async with self._connection() as db:
            return _user(await db.fetchrow(SELECT_USER, user_id))

    async def replace_user(self, user_id: int, name: str, email: str) -> Row | None:
        if not 1 <= user_id <= MAX_ID:
            return None
        async with self._connection() as db:
            try:
                return _user(await db.fetchrow(UPDATE_USER, user_id, name, email))
            except asyncpg.UniqueViolationError:
                raise Conflict from None

    async def delete_user(self, user_id: int) -> bool:
        if not 1 <= user_id <= MAX_ID:
            return False
        async with self._connection() as db:
            return await db.fetchrow(DELETE_USER, user_id) is not None

    async def list_users(self, limit: int, offset: int) -> tuple[list[Row], int]:
        """The page and the total from one snapshot (a read-only repeatable-read transaction)."""
        async with self._connection() as db:
            await db.execute(BEGIN_PAGE)
            try:
                records = await db.fetch(PAGE_USERS, limit, offset)
                total = await db.fetchval(COUNT_USERS)
            finally:
                await db.execute("COMMIT")
        return [_user(r) for r in records], total  # type: ignore[misc]

    async def read_worlds(self, ids: list[int]) -> list[Row]:
        """One round trip per row, as TechEmpower's rules require (no batching into one query)."""
        async with self._connection() as db:
            return [await self._world(db, i) for i in ids]

    async def update_worlds(self, ids: list[int], numbers: list[int]) -> list[Row]:
        """Read each row, then write each its new number: single-row statements, each its own transaction."""
        async with self._connection() as db:
            rows = [await self._world(db, i) for i in ids]
            for row, number in zip(rows, numbers, strict=True):
                await db.execute(UPDATE_WORLD, row["id"], number)
                row["randomNumber"] = number
        return rows

    @staticmethod
    async def _world(db: asyncpg.Connection, world_id: int) -> Row:
        record = await db.fetchrow(SELECT_WORLD, world_id)
        return {"id": record["id"], "randomNumber": record["randomnumber"]}

