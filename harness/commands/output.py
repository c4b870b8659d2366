"""Where a command's output goes: rich text for a person, one JSON document for a script, or nothing.

Every command takes `--quiet` (nothing on stdout: the exit code and the files written say it; errors
are still one line on stderr). `run --list`, `report`, `compare`, `ab` and `history` take `--json`:
stdout is then exactly one JSON document, the envelope below around the command's own result, and
whatever a person would have read is not printed (a long command's progress goes to stderr instead).
The schema is docs/schemas/stdout.schema.json, described in docs/formats.md ("JSON on stdout").

A command builds its `Outcome` (the result document, the files, the exit code, and how to show it to a
person); `deliver` is the one place that picks the rendering, so another machine format is one more
entry in RENDERINGS.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

JSON_VERSION = 1  # of the envelope; each command's result carries its own version where it has one
JSON_COMMANDS = ("run", "report", "compare", "ab", "history")


@dataclass
class Outcome:
    command: str
    result: Any  # JSON-able (dicts, lists, strings, numbers, None), or a function making it when asked for
    exit_code: int = 0
    files: list[Path] = field(default_factory=list)
    show: Callable[[Console], None] = lambda console: None  # the human rendering


def add_output_flags(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing on stdout (errors stay one line on stderr; the exit code says the outcome)")
    if command in JSON_COMMANDS:
        parser.add_argument("--json", action="store_true",
                            help="print one JSON document on stdout instead of tables (docs/formats.md)")


def wants_json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def human_console(args: argparse.Namespace) -> Console:
    """The console for what a person reads: silent under --quiet or --json (stdout is the document)."""
    if getattr(args, "quiet", False) or wants_json(args):
        return Console(quiet=True)
    console = Console()
    return console if console.is_terminal else Console(width=160)  # a log file or CI: do not fold at 80 columns


def progress_console(args: argparse.Namespace) -> Console:
    """The console for a long command's progress: stderr under --json, silent under --quiet."""
    if getattr(args, "quiet", False):
        return Console(quiet=True)
    if wants_json(args):
        return Console(stderr=True)
    return human_console(args)


def envelope(outcome: Outcome) -> dict[str, Any]:
    return {"bench_json": JSON_VERSION, "command": outcome.command, "exit_code": outcome.exit_code,
            "files": [str(p) for p in outcome.files],
            "result": _no_nan(outcome.result() if callable(outcome.result) else outcome.result)}


def _render_json(outcome: Outcome) -> str:
    return json.dumps(envelope(outcome), indent=1, allow_nan=False) + "\n"


RENDERINGS: dict[str, Callable[[Outcome], str]] = {"json": _render_json}


def deliver(args: argparse.Namespace, outcome: Outcome) -> int:
    """Show the outcome as the flags ask; its exit code."""
    if wants_json(args):
        sys.stdout.write(RENDERINGS["json"](outcome))
        sys.stdout.flush()
    else:
        outcome.show(human_console(args))
    return outcome.exit_code


def _no_nan(value: Any) -> Any:
    """JSON has no NaN or Infinity: null instead; tuples become lists, paths strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
