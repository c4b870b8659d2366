"""Baseline: the contract's /health, /json, /cpu and /io as one bare ASGI callable, no framework.

Not a contender: run on Uvicorn exactly as the FastAPI app is (serve.py), it shows how much
of the FastAPI app's cost is FastAPI's and Starlette's own, over Uvicorn and Python. It
answers exactly as the two apps do on these four paths (statuses, bodies, 422 items);
every other path is 404. Query integers are checked by pydantic-core, as FastAPI checks
them, so the same strings are accepted and refused with the same error items.
"""

import asyncio
import json
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import Field, TypeAdapter, ValidationError

CPU_MAX_N = 100_000
CPU_DEFAULT_N = 10_000
IO_MAX_MS = 1000
IO_DEFAULT_MS = 20

CPU_N = TypeAdapter(Annotated[int, Field(ge=0, le=CPU_MAX_N)])
IO_MS = TypeAdapter(Annotated[int, Field(ge=0, le=IO_MAX_MS)])

# Constant bodies are serialised once: the point of a baseline is the runtime's own cost.
HEALTH = b'{"status":"ok"}'
MESSAGE = b'{"message":"Hello, World!"}'
NOT_FOUND = b'{"detail":"Not Found"}'
METHOD_NOT_ALLOWED = b'{"detail":"Method Not Allowed"}'
PATHS = frozenset({"/health", "/json", "/cpu", "/io"})


def count_primes(n: int) -> int:
    """Count the primes below n by trial division: the same loop as in both apps."""
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


def int_query(query_string: bytes, name: str, default: int, adapter: TypeAdapter) -> tuple[int | None, Any]:
    """(value, None) or (None, error item): the last value when a name repeats, as Starlette reads it."""
    raw = None
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if key == name:
            raw = value
    if raw is None:
        return default, None
    try:
        return adapter.validate_python(raw), None
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        return None, {**error, "loc": ["query", name]}


async def send_json(send: Any, status: int, body: bytes, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def dumps(content: Any) -> bytes:
    return json.dumps(content, separators=(",", ":")).encode()


async def lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    path = scope["path"]
    if path not in PATHS:
        return await send_json(send, 404, NOT_FOUND)
    if scope["method"] != "GET":  # FastAPI answers HEAD and OPTIONS with 405 too
        return await send_json(send, 405, METHOD_NOT_ALLOWED, ((b"allow", b"GET"),))
    if path == "/json":
        return await send_json(send, 200, MESSAGE)
    if path == "/health":
        return await send_json(send, 200, HEALTH)
    if path == "/cpu":
        n, error = int_query(scope["query_string"], "n", CPU_DEFAULT_N, CPU_N)
        if error is not None:
            return await send_json(send, 422, dumps({"detail": [error]}))
        return await send_json(send, 200, dumps({"n": n, "result": count_primes(n)}))
    ms, error = int_query(scope["query_string"], "ms", IO_DEFAULT_MS, IO_MS)
    if error is not None:
        return await send_json(send, 422, dumps({"detail": [error]}))
    await asyncio.sleep(ms / 1000)
    await send_json(send, 200, dumps({"ms": ms}))
