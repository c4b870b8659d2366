"""`bench`: argument parsing only; each command maps its arguments onto a library function.

Exit codes: 0 success; 1 a regression found (`bench compare`, `bench ab`); 2 bad input or an error the user
can act on (BenchError, or a bad command line), shown as one line; 70 an internal error (a bug:
one line, and the traceback with BENCH_DEBUG=1); 130 interrupted (Ctrl-C or SIGTERM), after the
library has stopped every server and written what it measured.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from harness.errors import BenchError

Command = Callable[[argparse.Namespace], int]
EXIT_INTERNAL_ERROR = 70  # EX_SOFTWARE (sysexits.h): never 1, which `bench compare` uses for "regression"
PORT_RANGE = (1, 65535)
# Modules that add subcommands: each has add_commands(subparsers, add_common, positive_int).
COMMAND_MODULES = ["harness.cli_run", "harness.cli_report", "harness.cli_compare", "harness.cli_ab",
                   "harness.cli_worker"]


def _cmd_setup(args: argparse.Namespace) -> int:
    from harness.setup import setup_targets

    setup_targets(Path(args.targets_dir), names=args.target, force=args.force)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from harness.serve import serve

    serve(Path(args.targets_dir), args.target, port=args.port, workers=args.workers, cpus=args.cpus)
    return 0


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad command line is one line (argparse prints the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


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


def _port(text: str) -> int:
    """A TCP port a server can listen on: 1-65535 (0 would mean "any free port")."""
    low, high = PORT_RANGE
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"expected a port number between {low} and {high}, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("setup", help="install each target's dependencies (venv, npm ci) when they changed")
    _add_common(p)
    p.add_argument("--target", action="append", help="only this target (repeatable)")
    p.add_argument("--force", action="store_true", help="reinstall even if nothing changed")
    p.set_defaults(func=_cmd_setup)

    p = sub.add_parser("serve", help="start one target in the foreground with the harness's settings")
    _add_common(p)
    p.add_argument("target")
    p.add_argument("--port", type=_port, default=8000)
    p.add_argument("--workers", type=_positive_int, default=1)
    p.add_argument("--cpus", default=None, help="pin to these CPUs, e.g. '0' or '0-1' (default: not pinned)")
    p.set_defaults(func=_cmd_serve)

    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(sub, _add_common, _positive_int)
    return parser


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _os_error(exc: OSError) -> str:
    if exc.strerror is None:
        return _one_line(str(exc))
    return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror


def main(argv: Sequence[str] | None = None) -> int:
    # A SIGTERM (e.g. from CI's timeout) unwinds like Ctrl-C, so servers are stopped and results kept.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except BenchError as exc:
        print(f"bench: error: {_one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a file or folder the user named: missing, under a file, not writable, disk full
        print(f"bench: error: {_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; servers stopped, results measured so far are kept", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: still one line, and never compare's "regression" code
        if os.environ.get("BENCH_DEBUG") == "1":
            traceback.print_exc()
        print(f"bench: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
              "(run with BENCH_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL_ERROR
