"""The harness's one HTTP request to a server it started: readiness, the contract check, the behaviour checks.

A plain `http.client` connection per request (no pooling, no retries): each check must see
exactly what one fresh request gets.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any

DEFAULT_TIMEOUT_S = 10.0
ERRORS = (OSError, http.client.HTTPException)  # what a request to a server that is not (yet) there raises


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON; None when it is empty or not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def json_or_text(self) -> Any:
        """The body as JSON, None when empty, else (not JSON) its first 200 characters, for an error message."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body[:200].decode(errors="replace")


def request(host: str, port: int, method: str, path: str, body: Any = None,
            timeout_s: float = DEFAULT_TIMEOUT_S) -> Answer:
    """One request, with `body` sent as JSON when given; raises one of ERRORS when nothing answers."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        return Answer(response.status, response.getheader("Content-Type", ""), response.read())
    finally:
        conn.close()


def get(host: str, port: int, path: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> Answer:
    return request(host, port, "GET", path, timeout_s=timeout_s)
