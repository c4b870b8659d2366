"""`bench`: argument parsing only; each command maps its arguments onto a library function.

Exit codes: 0 success; 1 a regression found (`bench compare`, `bench ab`); 2 bad input or an error the user
can act on (BenchError, or a bad command line), shown as one line; 70 an internal error (a bug:
one line, and the traceback with BENCH_DEBUG=1); 130 interrupted (Ctrl-C or SIGTERM), after the
library has stopped every server and written what it measured.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from harness.commands.output import add_output_flags
from harness.errors import BenchError
from harness.user_config import (
    Settings,
    add_profile_choices,
    check,
    find_config,
    load_settings,
    resolve,
    subparsers,
)

Command = Callable[[argparse.Namespace], int]
EXIT_INTERNAL_ERROR = 70  # EX_SOFTWARE (sysexits.h): never 1, which `bench compare` uses for "regression"
PORT_RANGE = (1, 65535)
COMPLETION_SHELLS = ("bash", "zsh", "tcsh")  # what shtab writes
# Modules that add subcommands: each has add_commands(subparsers, add_common, positive_int).
COMMAND_MODULES = ["harness.commands.run", "harness.commands.report", "harness.commands.compare", "harness.commands.ab",
                   "harness.commands.worker"]


def _cmd_setup(args: argparse.Namespace) -> int:
    from harness.commands.setup import setup_targets

    setup_targets(Path(args.targets_dir), names=args.target, force=args.force)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from harness.commands.serve import serve

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

    p = sub.add_parser("completion", help="print a shell completion script built from this parser "
                                          "(e.g. `source <(bench completion bash)`)")
    p.add_argument("shell", choices=COMPLETION_SHELLS)
    p.set_defaults(func=_cmd_completion)
    for name, command in sub.choices.items():
        add_output_flags(command, name)
    return parser


# Arguments completed with folder or file names by the completion script (the rest: choices, or nothing).
FOLDER_ARGUMENTS = {"results_dir", "run_dirs", "base_run", "new_run", "targets_dir", "scenarios_dir", "out",
                    "build_dir", "db_dir", "log_dir"}
FILE_ARGUMENTS = {"claims"}


def _cmd_completion(args: argparse.Namespace) -> int:
    """The completion script of the parser as this folder's config file makes it (its profiles included)."""
    import shtab

    parser, _ = configured_parser()
    for command in subparsers(parser).values():
        for action in command._actions:
            if action.dest in FOLDER_ARGUMENTS:
                action.complete = shtab.DIRECTORY  # type: ignore[attr-defined]
            elif action.dest in FILE_ARGUMENTS:
                action.complete = shtab.FILE  # type: ignore[attr-defined]
    sys.stdout.write(shtab.complete(parser, shell=args.shell))
    return 0


def configured_parser() -> tuple[argparse.ArgumentParser, Settings]:
    """The parser, with the config file's profiles among `run --profile`'s choices; the file's settings."""
    parser = build_parser()
    commands = [name for name in subparsers(parser) if name != "completion"]
    settings = load_settings(find_config(), commands)
    check(parser, settings)
    add_profile_choices(parser, settings)
    return parser, settings


def parse_command_line(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, completed by the config file's defaults and profiles (harness.user_config)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, settings = configured_parser()
    args = parser.parse_args(argv)
    if settings.commands or settings.profiles:
        resolve(parser, argv, args, settings)
    return args


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
        args = parse_command_line(argv)
        if getattr(args, "quiet", False) and not getattr(args, "json", False):
            with open(os.devnull, "w") as nowhere, contextlib.redirect_stdout(nowhere):  # --quiet: nothing on stdout
                return int(args.func(args))
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
