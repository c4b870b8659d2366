"""Both apps send the same SQL: each store's copy of every statement is contract/queries.sql's.

The Docker images hold only their own folder, so each app keeps its own copy; this keeps them
one. A statement edited in one app and not the other (or not here) fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STORES = {
    "fastapi": ROOT / "targets" / "fastapi_app" / "store_pg.py",
    "express": ROOT / "targets" / "express_app" / "store-pg.js",
}


def contract_statements() -> dict[str, str]:
    text = (ROOT / "contract" / "queries.sql").read_text()
    return dict(re.findall(r"^-- name: (\w+)\n(.+)$", text, flags=re.MULTILINE))


def declared_statements(path: Path) -> dict[str, str]:
    """NAME = "…" (Python) or const NAME = '…' (JavaScript), for the names in upper case."""
    found = re.findall(r"^(?:const )?([A-Z_]+) = [\"'](.+)[\"']$", path.read_text(), flags=re.MULTILINE)
    return {name.lower(): sql for name, sql in found if " " in sql}


def test_the_contract_lists_the_statements():
    statements = contract_statements()
    assert {"insert_user", "select_world", "update_world", "begin_page"} <= set(statements)
    assert all("$" in sql for name, sql in statements.items() if name not in {"count_users", "begin_page"})


@pytest.mark.parametrize("app", sorted(STORES))
def test_each_app_sends_the_contracts_sql(app):
    assert declared_statements(STORES[app]) == contract_statements()
