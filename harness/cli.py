"""`bench`: argument parsing only; each command maps its arguments onto a library function.

Errors the user can act on (BenchError) print one line and exit non-zero; Ctrl-C exits 130
after the library has stopped every server and written what it measured.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.errors import BenchError

Command = Callable[[argparse.Namespace], int]
# Modules that add subcommands: each has add_commands(subparsers, add_common, positive_int).
COMMAND_MODULES = ["harness.cli_run", "harness.cli_report", "harness.cli_compare"]


def _cmd_setup(args: argparse.Namespace) -> int:
    from harness.setup import setup_targets

    setup_targets(Path(args.targets_dir), names=args.target, force=args.force)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from harness.serve import serve

    serve(Path(args.targets_dir), args.target, port=args.port, workers=args.workers, cpus=args.cpus)
    return 0


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--targets-dir", default="targets", help="folder scanned for target manifests")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("setup", help="install each target's dependencies (venv, npm ci) when they changed")
    _add_common(p)
    p.add_argument("--target", action="append", help="only this target (repeatable)")
    p.add_argument("--force", action="store_true", help="reinstall even if nothing changed")
    p.set_defaults(func=_cmd_setup)

    p = sub.add_parser("serve", help="start one target in the foreground with the harness's settings")
    _add_common(p)
    p.add_argument("target")
    p.add_argument("--port", type=_positive_int, default=8000)
    p.add_argument("--workers", type=_positive_int, default=1)
    p.add_argument("--cpus", default=None, help="pin to these CPUs, e.g. '0' or '0-1' (default: not pinned)")
    p.set_defaults(func=_cmd_serve)

    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(sub, _add_common, _positive_int)
    return parser


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A SIGTERM (e.g. from CI's timeout) unwinds like Ctrl-C, so servers are stopped and results kept.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return int(args.func(args))
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("bench: interrupted; servers stopped, results measured so far are kept", file=sys.stderr)
        return 130
