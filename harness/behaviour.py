"""Behaviour checks made with real requests during a run, for the article's F claims.

F1: a body that fails validation gets a descriptive 422, and an email field is checked for
format. F2: interactive API docs (Swagger UI at /docs, ReDoc at /redoc) with no extra
configuration. Both are recorded per target, so the report judges them from this run's
answers, not from what the frameworks' documentation promises.
"""

from __future__ import annotations

from typing import Any

from harness.runtime.http_client import request
from harness.runtime.server import Server


def _validation(server: Server, body: dict[str, Any], field: str) -> dict[str, Any]:
    answer = request(server.host, server.port, "POST", "/users", body)
    parsed = answer.json()
    detail = parsed.get("detail") if isinstance(parsed, dict) else None
    items = detail if isinstance(detail, list) else []
    about_field = [i for i in items if isinstance(i, dict) and field in (i.get("loc") or [])]
    return {
        "status": answer.status,
        "names_the_field": bool(about_field),
        "message": (about_field[0].get("msg") if about_field else None),
    }


def _page(server: Server, path: str, marker: str) -> dict[str, Any]:
    answer = request(server.host, server.port, "GET", path)
    looks_right = marker.lower() in answer.body.decode("utf-8", "replace").lower()
    return {"status": answer.status, "content_type": answer.content_type, "looks_right": looks_right}


def behaviour_checks(server: Server) -> dict[str, Any]:
    return {
        "invalid_email": _validation(server, {"name": "Ann", "email": "not-an-email"}, "email"),
        "empty_name": _validation(server, {"name": "", "email": "ann@example.com"}, "name"),
        "docs": _page(server, "/docs", "swagger-ui"),
        "redoc": _page(server, "/redoc", "redoc"),
        "openapi": _page(server, "/openapi.json", '"openapi"'),
    }
