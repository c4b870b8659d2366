"""`bench setup`: each target's own install step, skipped when its inputs are unchanged."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from harness.targets import discover_targets, install_native, select_targets


def setup_targets(targets_dir: Path, names: list[str] | None = None, force: bool = False) -> None:
    console = Console(stderr=True)
    for target in select_targets(discover_targets(targets_dir), names, include_baselines=True):
        with console.status(f"installing {target.name} ({target.directory.name})"):
            ran = install_native(target, force=force)
        console.print(f"{target.name}: {'installed' if ran else 'up to date'}")
