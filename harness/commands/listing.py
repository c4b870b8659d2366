"""`bench run --list`: the scenarios and their parameters in a profile."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.config import RunConfig
from harness.scenario import discover_scenarios


def scenario_list(config: RunConfig) -> list[dict[str, Any]]:
    """Every scenario with its parameters in the profile (None: the scenario has no such profile); the
    result of `bench run --list --json`."""
    rows = []
    for scenario in discover_scenarios(config.scenarios_dir).values():
        params = (scenario.params(config.profile).model_dump(mode="json", exclude_defaults=True)
                  if config.profile in scenario.profiles else None)
        rows.append({"name": scenario.name, "kind": scenario.kind, "claims": list(scenario.claims),
                     "database": scenario.database, "stateful": scenario.stateful, "profiles": list(scenario.profiles),
                     "parameters": params, "description": scenario.description})
    return rows


def print_scenarios(console: Console, config: RunConfig, rows: list[dict[str, Any]] | None = None) -> None:
    table = Table(title=f"scenarios in {config.scenarios_dir} (profile {config.profile})")
    for column in ("scenario", "kind", "claims", "parameters", "description"):
        table.add_column(column, overflow="fold")
    for row in scenario_list(config) if rows is None else rows:
        params = f"(no {config.profile} profile)" if row["parameters"] is None else json.dumps(row["parameters"])
        table.add_row(row["name"], row["kind"], ",".join(row["claims"]), params, row["description"])
    console.print(table)
