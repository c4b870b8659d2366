"""FastAPI reference app: the benchmark contract, written as FastAPI users write it.

The Express app in ../express_app serves the same contract; ../../contract/openapi.json
is generated from this module (contract/generate.py) and both apps are tested against it.
"""

import asyncio
import functools
import json
import os
import random
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import realtime
from email_validator import SPECIAL_USE_DOMAIN_NAMES
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, EmailStr, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send
from store import WORLD_ROWS, Conflict, Unavailable, random_world_id, store_from_env

# Request bodies above this many bytes get 413. FastAPI sets no limit unless asked.
MAX_BODY_BYTES = 1024 * 1024
# Largest n for /cpu: about 0.1 s of CPU here in CPython (Node needs about 5 ms).
CPU_MAX_N = 100_000
CPU_DEFAULT_N = 10_000
IO_MAX_MS = 1000
IO_DEFAULT_MS = 20
# Python ints are unbounded; JavaScript numbers are exact up to 2**53 - 1. Bounding the
# offset there lets both apps echo it back exactly.
OFFSET_MAX = 2**53 - 1
# An integer as TechEmpower's `queries` parameter is read (ASCII digits, an optional sign), alike in both apps.
INTEGER = re.compile(r"[+-]?[0-9]+")
# TechEmpower's bound on the number of rows per request of /queries and /updates.
QUERIES_MAX = 500
# The order in which a 405's Allow header lists a path's methods, the Express app's too:
# RFC 9110's (section 9.3), with PATCH (RFC 5789) after PUT.
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class Message(BaseModel):
    message: str


class Health(BaseModel):
    status: str


class ErrorMessage(BaseModel):
    detail: str


# No NUL characters: PostgreSQL's text cannot hold them, and both stores answer alike (422).
NO_NUL = r"^[^\x00]*$"


def _any_case(name: str) -> str:
    """A regex for `name` in any letter case, in the syntax JSON Schema's (ECMA-262) and Python's share."""
    return "".join(f"[{char}{char.upper()}]" if char.isalpha() else re.escape(char) for char in name)


# EmailStr (email-validator) refuses any domain that is, or ends in, one of these names; the
# contract says so, since `format: email` alone admits them. Stated for the response's emails
# too: the apps answer only addresses they accepted.
SPECIAL_USE_DOMAIN = f"[@.](?:{'|'.join(_any_case(name) for name in SPECIAL_USE_DOMAIN_NAMES)})$"
EMAIL_SCHEMA = {"format": "email", "not": {"pattern": SPECIAL_USE_DOMAIN}}


class UserIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    email: Annotated[
        EmailStr,
        Field(
            description=(
                "Read as Pydantic's EmailStr (email-validator, no deliverability check) and stored normalised:"
                " the domain lowercased, RFC 2142 mailbox names such as INFO too, and of 'Ann <ann@example.com>'"
                " or an address between spaces only the address. Refused (422) although `format: email` admits"
                " them: a domain that is, or ends in, a special-use or reserved name"
                f" ({', '.join(SPECIAL_USE_DOMAIN_NAMES)}; the `not` below), a quoted local part, an IP-address"
                " literal, a domain without a dot. The Express app also refuses internationalised addresses"
                " (non-ASCII, or Punycode domains), which the FastAPI app accepts."
            ),
            json_schema_extra={"not": EMAIL_SCHEMA["not"]},
        ),
    ]


class User(BaseModel):
    # Built only from an already validated UserIn, so plain str: no second email check.
    id: int
    name: str
    email: Annotated[str, Field(json_schema_extra=EMAIL_SCHEMA)]


class UserPage(BaseModel):
    items: list[User]
    total: int
    limit: int
    offset: int


class World(BaseModel):
    id: int
    randomNumber: int  # TechEmpower's field name


class CpuResult(BaseModel):
    n: int
    result: int


class IoResult(BaseModel):
    ms: int


class LimitedBodyRequest(Request):
    """A request whose body is refused with 413 {"detail": ...} past MAX_BODY_BYTES.

    FastAPI's own max_body_size (0.164+) answers a too-large declared Content-Length with
    Starlette's plain-text 413, not the contract's JSON, hence this (the pattern from
    FastAPI's "Custom Request and APIRoute class" docs).
    """

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            try:
                declared = int(self.headers.get("content-length", "0"))
            except ValueError:
                declared = 0
            if declared > MAX_BODY_BYTES:
                raise HTTPException(status_code=413, detail="Content Too Large")
            chunks = []
            size = 0
            async for chunk in self.stream():  # chunked bodies have no Content-Length
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise HTTPException(status_code=413, detail="Content Too Large")
                chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body


class LimitedBodyRoute(APIRoute):
    """Used only for the routes that take a body, so that the others pay nothing for it."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def limited_body_handler(request: Request) -> Response:
            return await handler(LimitedBodyRequest(request.scope, request.receive))

        return limited_body_handler


NOT_FOUND = {404: {"model": ErrorMessage, "description": "No user with this id"}}
TOO_LARGE = {413: {"model": ErrorMessage, "description": "Request body over 1 MiB"}}
# FastAPI answers 400 when a body cannot be decoded at all (e.g. invalid UTF-8).
UNREADABLE = {400: {"model": ErrorMessage, "description": "Request body could not be decoded"}}
CONFLICT = {409: {"model": ErrorMessage, "description": "Another user has this email"}}
UNAVAILABLE = {503: {"model": ErrorMessage, "description": "The database cannot answer (down, or its pool exhausted)"}}

# Chosen at start by STORE (memory or postgres); see store.py.
store = store_from_env()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await store.start()  # opens the database pool before the app listens
    try:
        yield
    finally:
        await store.stop()


app = FastAPI(
    title="Benchmark reference API",
    version="1.0.0",
    description="The contract that both reference apps (FastAPI and Express) serve.",
    # Express (with strict routing) answers 404 for "/users/"; Starlette would redirect it
    # to "/users" instead. The contract says an unknown path is a 404, in both apps.
    redirect_slashes=False,
    lifespan=lifespan,
)


class _AsciiJSONResponse(JSONResponse):
    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


@app.exception_handler(RequestValidationError)
async def validation_exception_handler(request: Request, exc: RequestValidationError):
    """FastAPI's own 422 handler, except where it would crash.

    The default handler echoes each error's input, and fails with a 500 when that input
    holds a lone surrogate ("\\ud800" in the JSON body), NaN/Infinity (which Python's JSON
    parser accepts) or nests so deep that encoding it hits the recursion limit (parsing
    it did not, just). Then answer the same 422 without the input, ASCII-escaped.
    """
    try:
        return await request_validation_exception_handler(request, exc)
    except (ValueError, RecursionError):  # ValueError: UnicodeEncodeError, "Out of range float values"
        errors = [{key: value for key, value in error.items() if key != "input"} for error in exc.errors()]
        return _AsciiJSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})


@functools.cache
def documented_methods() -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each path of this app's OpenAPI document (the contract), as a regex, with its methods."""
    return [
        (compile_path(path)[0], frozenset(method.upper() for method in item if method.upper() in METHOD_ORDER))
        for path, item in app.openapi()["paths"].items()
    ]


@app.exception_handler(405)
async def method_not_allowed_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """FastAPI's 405, with an Allow header that lists every method the contract gives the path.

    Starlette lists the methods of the first route whose path matched: "GET" for /users, whose
    POST is another route (RFC 9110 section 15.5.6 asks for the target resource's methods).
    Only 405s pay for this, never a served request. Paths outside the document (the docs
    pages) keep Starlette's header.
    """
    path = request.scope["path"]
    methods = set().union(*(methods for regex, methods in documented_methods() if regex.match(path)))
    headers = dict(exc.headers or {})
    if methods:
        headers["Allow"] = ", ".join(sorted(methods, key=METHOD_ORDER.index))
    return JSONResponse(status_code=405, content={"detail": exc.detail}, headers=headers)


@app.exception_handler(Conflict)
async def conflict_handler(request: Request, exc: Conflict) -> JSONResponse:
    return JSONResponse(status_code=409, content={"detail": "Email already registered"})


@app.exception_handler(Unavailable)
async def unavailable_handler(request: Request, exc: Unavailable) -> JSONResponse:
    return JSONResponse(status_code=503, content={"detail": "Service Unavailable"})


@app.get("/health")
async def health() -> Health:
    """Liveness probe."""
    return Health(status="ok")


@app.get("/json")
async def json_message() -> Message:
    """A constant object: the cost of routing and serialising alone."""
    return Message(message="Hello, World!")


# The routes that read a body, with the 1 MiB limit; included into the app below.
body_routes = APIRouter(route_class=LimitedBodyRoute)


@body_routes.post("/users", status_code=201, responses={**UNREADABLE, **CONFLICT, **TOO_LARGE, **UNAVAILABLE})
async def create_user(user_in: UserIn) -> User:
    """Validate and store a user; ids count from 1 in a fresh store. Emails are unique (409)."""
    return await store.create_user(user_in.name, user_in.email)  # type: ignore[return-value]


@app.get("/users", responses=UNAVAILABLE)
async def list_users(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=OFFSET_MAX)] = 0,
) -> UserPage:
    """A page of users in ascending id order, and their total."""
    items, total = await store.list_users(limit, offset)
    return UserPage(items=items, total=total, limit=limit, offset=offset)  # type: ignore[arg-type]


@app.get("/users/{user_id}", responses={**NOT_FOUND, **UNAVAILABLE})
async def get_user(user_id: int) -> User:
    """One user by id."""
    user = await store.get_user(user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="Not Found")
    return user  # type: ignore[return-value]


@body_routes.put("/users/{user_id}", responses={**UNREADABLE, **NOT_FOUND, **CONFLICT, **TOO_LARGE, **UNAVAILABLE})
async def replace_user(user_id: int, user_in: UserIn) -> User:
    """Replace a user's name and email (the whole body, as for POST)."""
    user = await store.replace_user(user_id, user_in.name, user_in.email)
    if user is None:
        raise HTTPException(status_code=404, detail="Not Found")
    return user  # type: ignore[return-value]


@app.delete("/users/{user_id}", status_code=204, responses={**NOT_FOUND, **UNAVAILABLE})
async def delete_user(user_id: int) -> None:
    """Delete a user; 204 with an empty body."""
    if not await store.delete_user(user_id):
        raise HTTPException(status_code=404, detail="Not Found")


def query_count(queries: str | None) -> int:
    """TechEmpower's rule: a missing or non-integer value is 1; the count is clamped to 1..500."""
    if queries is None or not INTEGER.fullmatch(queries):
        return 1
    return min(max(int(queries), 1), QUERIES_MAX)


@app.get("/db", responses=UNAVAILABLE)
async def single_query() -> World:
    """TechEmpower's single query: one random row of the world table."""
    rows = await store.read_worlds([random_world_id()])
    return rows[0]  # type: ignore[return-value]


@app.get("/queries", responses=UNAVAILABLE)
async def multiple_queries(queries: str | None = None) -> list[World]:
    """TechEmpower's multiple queries: `queries` random rows, one query each."""
    ids = [random_world_id() for _ in range(query_count(queries))]
    return await store.read_worlds(ids)  # type: ignore[return-value]


@app.get("/updates", responses=UNAVAILABLE)
async def updates(queries: str | None = None) -> list[World]:
    """TechEmpower's updates: `queries` random rows read one by one, each given a new random number."""
    count = query_count(queries)
    ids = [random_world_id() for _ in range(count)]
    numbers = [random.randint(1, WORLD_ROWS) for _ in range(count)]
    return await store.update_worlds(ids, numbers)  # type: ignore[return-value]


def count_primes(n: int) -> int:
    """Count the primes below n by trial division: the same loop as in the Express app."""
    count = 0
    for candidate in range(2, n):
        divisor = 2
        while divisor * divisor <= candidate:
            if candidate % divisor == 0:
                break
            divisor += 1
        else:
            count += 1
    return count


# `async def` on purpose: the work then runs on the event loop and blocks it, as it does
# in Node. A plain `def` would be run in Starlette's thread pool, a different concurrency
# model; the benchmark compares one event loop per worker in both apps.
@app.get("/cpu")
async def cpu(n: Annotated[int, Query(ge=0, le=CPU_MAX_N)] = CPU_DEFAULT_N) -> CpuResult:
    """CPU-bound work in the language itself: the number of primes below n."""
    return CpuResult(n=n, result=count_primes(n))


@app.get("/io")
async def io(ms: Annotated[int, Query(ge=0, le=IO_MAX_MS)] = IO_DEFAULT_MS) -> IoResult:
    """Wait ms milliseconds without blocking: stands in for a database or downstream call."""
    await asyncio.sleep(ms / 1000)
    return IoResult(ms=ms)


app.include_router(body_routes)
app.include_router(realtime.router)  # WebSocket rooms at /ws/rooms/{room} (contract/realtime.md)


class Slowdown:
    """Busy-waits before every request: a test-only knob for the harness's regression tests.

    A pure ASGI middleware, so that it adds the busy-wait and nothing else.
    """

    def __init__(self, app: ASGIApp, microseconds: float) -> None:
        self.app = app
        self.seconds = microseconds / 1_000_000

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            deadline = time.perf_counter() + self.seconds
            while time.perf_counter() < deadline:
                pass
        await self.app(scope, receive, send)


# Unset or 0 installs nothing, so the measured app carries no trace of the knob. Decimals allowed.
_slowdown_us = float(os.environ.get("SLOWDOWN_US") or 0)
if _slowdown_us > 0:
    app.add_middleware(Slowdown, microseconds=_slowdown_us)
