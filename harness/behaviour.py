"""Behaviour checks made with real requests during a run, for the article's F claims.

F1: a body that fails validation gets a descriptive 422, and an email field is checked for
format. F2: interactive API docs (Swagger UI at /docs, ReDoc at /redoc) with no extra
configuration. Both are recorded per target, so the report judges them from this run's
answers, not from what the frameworks' documentation promises.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

from harness.runtime.server import Server


def _request(server: Server, method: str, path: str, body: Any = None) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


def _validation(server: Server, body: dict[str, Any], field: str) -> dict[str, Any]:
    status, _, raw = _request(server, "POST", "/users", body)
    try:
        detail = json.loads(raw).get("detail")
    except (ValueError, AttributeError):
        detail = None
    items = detail if isinstance(detail, list) else []
    about_field = [i for i in items if isinstance(i, dict) and field in (i.get("loc") or [])]
    return {
        "status": status,
        "names_the_field": bool(about_field),
        "message": (about_field[0].get("msg") if about_field else None),
    }


def _page(server: Server, path: str, marker: str) -> dict[str, Any]:
    status, content_type, raw = _request(server, "GET", path)
    return {"status": status, "content_type": content_type, "looks_right": marker.lower() in raw.decode(
        "utf-8", "replace").lower()}


def behaviour_checks(server: Server) -> dict[str, Any]:
    return {
        "invalid_email": _validation(server, {"name": "Ann", "email": "not-an-email"}, "email"),
        "empty_name": _validation(server, {"name": "", "email": "ann@example.com"}, "name"),
        "docs": _page(server, "/docs", "swagger-ui"),
        "redoc": _page(server, "/redoc", "redoc"),
        "openapi": _page(server, "/openapi.json", '"openapi"'),
    }
