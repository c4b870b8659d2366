"""What results.json says of a scenario run in paired slices (config["slicing"]), in words."""

from __future__ import annotations

from typing import Any


def slicing_lines(config: dict[str, Any]) -> list[str]:
    """One line per sliced scenario: how many pairs it got, its planned looks, and why it stopped there."""
    lines = []
    for scenario, record in config.get("slicing", {}).items():
        looks = ", ".join(map(str, record.get("looks", [])))
        stopped = record.get("stopped_because") or "interrupted"
        lines.append(f"paired slices · {scenario}: {record.get('pairs', 0)} pairs of {record.get('slice_s', 0):g}-s "
                     f"slices (looks at {looks}): {stopped}")
    return lines
