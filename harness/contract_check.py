"""A quick check, before any load, that a target answers the contract.

Not the full contract suite (that is tests/test_contract.py): a handful of requests whose
wrong answer would make every number measured afterwards meaningless.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from harness.errors import BenchError
from harness.runtime.http_client import request

Check = tuple[str, str, Any, int, Any]  # method, path, JSON body, expected status, expected body (None: any)

VALID_USER = {"name": "Contract Check", "email": "check@example.com"}


def _expect(name: str, method: str, path: str, got: tuple[int, Any], status: int, body: Any = None) -> None:
    if got[0] != status or (body is not None and got[1] != body):
        raise BenchError(
            f"{name} answered the contract wrongly: {method} {path} gave {got[0]} {json.dumps(got[1])[:120]}, "
            f"expected {status}{' ' + json.dumps(body) if body is not None else ''}"
        )


def check_contract(
    name: str, host: str, port: int, single_store: bool = True, endpoints: Collection[str] | None = None
) -> dict[str, Any]:
    """Raise BenchError on the first wrong answer; return what was checked.

    With several workers each has its own store, so a read may not see a write: the
    create → read → delete round trip is then left out (`single_store=False`).
    `endpoints` (a baseline's manifest) limits the check to the paths it declares; None: all.
    """
    def call(method: str, path: str, status: int, body: Any = None, send: Any = None) -> Any:
        answer = request(host, port, method, path, send)
        got = (answer.status, answer.json_or_text())
        _expect(name, method, path, got, status, body)
        return got[1]

    def serves(path: str) -> bool:
        return endpoints is None or path in endpoints

    if serves("/health"):
        call("GET", "/health", 200, {"status": "ok"})
    if serves("/json"):
        call("GET", "/json", 200, {"message": "Hello, World!"})
    users = serves("/users") and serves("/users/{user_id}")
    if users:
        invalid = call("POST", "/users", 422, send={"name": "x", "email": "not-an-email"})
        if not (isinstance(invalid, dict) and isinstance(invalid.get("detail"), list) and invalid["detail"]):
            raise BenchError(f"{name} answered the contract wrongly: a 422 without a detail list: {invalid}")
        call("GET", "/users/999999999", 404, {"detail": "Not Found"})
    cpu = call("GET", "/cpu?n=1000", 200) if serves("/cpu") else None
    if serves("/io"):
        call("GET", "/io?ms=1", 200)
    if single_store and users:
        _round_trip(call, name)
    return {"cpu_result_n1000": cpu, "round_trip_checked": single_store and users}


def _round_trip(call: Any, name: str) -> None:
    created = call("POST", "/users", 201, send=VALID_USER)
    if not isinstance(created, dict) or {k: created.get(k) for k in VALID_USER} != VALID_USER or "id" not in created:
        raise BenchError(f"{name} answered the contract wrongly: POST /users gave {json.dumps(created)[:120]}")
    user_path = f"/users/{created['id']}"
    call("GET", user_path, 200, created)
    call("DELETE", user_path, 204)
    call("GET", user_path, 404, {"detail": "Not Found"})
