"""`bench run --list`: the scenarios and their parameters in a profile."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from harness.config import RunConfig
from harness.scenario import discover_scenarios


def print_scenarios(console: Console, config: RunConfig) -> None:
    table = Table(title=f"scenarios in {config.scenarios_dir} (profile {config.profile})")
    for column in ("scenario", "kind", "claims", "parameters", "description"):
        table.add_column(column, overflow="fold")
    for scenario in discover_scenarios(config.scenarios_dir).values():
        if config.profile in scenario.profiles:
            params = json.dumps(scenario.params(config.profile).model_dump(mode="json", exclude_defaults=True))
        else:
            params = f"(no {config.profile} profile)"
        table.add_row(scenario.name, scenario.kind, ",".join(scenario.claims), params, scenario.description)
    console.print(table)
