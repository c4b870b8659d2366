"""Argument setup and mapping for `bench worker`: Locust workers here for a master on another host."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path

from harness.errors import BenchError


def _master(text: str) -> tuple[str, int]:
    from harness.loadgen.external import parse_bind

    try:
        return parse_bind(text)
    except BenchError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("--master-bind", "--master")) from None


def _seconds(text: str) -> float:
    from harness.loadgen.worker import MAX_WAIT_S

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_WAIT_S:  # NaN fails too
        raise argparse.ArgumentTypeError(f"expected seconds, more than 0 and at most {MAX_WAIT_S:g}, got {text!r}")
    return value


def _allowed_host(text: str) -> str:
    from harness.loadgen.trust import ALLOWED_HOST_RE

    host = text.strip("[]")
    if not ALLOWED_HOST_RE.fullmatch(host):
        raise argparse.ArgumentTypeError(f"expected a host name or address (no scheme, no port), got {text!r}")
    return host


def _name(text: str) -> str:
    from harness.loadgen.trust import HOST_NAME_RE

    if not HOST_NAME_RE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected up to 63 characters of A-Z a-z 0-9 . _ -, got {text!r}")
    return text


def add_commands(sub: argparse._SubParsersAction, add_common: Callable[[argparse.ArgumentParser], None],
                 positive_int: Callable[[str], int]) -> None:
    p = sub.add_parser("worker", help="run Locust workers here for a `bench run --loadgen external:N` elsewhere")
    p.add_argument("--master", type=_master, required=True, metavar="HOST[:PORT]",
                   help="the master's address, as given to its --master-bind (default port 5557)")
    p.add_argument("--cpus", help="pin the Locust workers to these CPUs, e.g. '2-3' (default: not pinned)")
    p.add_argument("--processes", type=positive_int, default=1, help="Locust worker processes on this host")
    p.add_argument("--name", type=_name, help="this host's name in the results (default: the hostname)")
    p.add_argument("--secret", help="the secret `bench run` printed (better: the BENCH_WORKER_SECRET "
                                    "environment variable, which other users cannot read in the process list)")
    p.add_argument("--allow-host", action="append", type=_allowed_host, metavar="HOST",
                   help="a host the load may go to (repeatable; default: the master's host only)")
    p.add_argument("--scenarios-dir", default="scenarios")
    p.add_argument("--idle-timeout", type=_seconds, default=300.0, metavar="SECONDS",
                   help="exit after this long without reaching a master (before its run, or after it)")
    p.add_argument("--lifetime", type=_seconds, default=12 * 3600.0, metavar="SECONDS",
                   help="exit after this long in all, runs or not (default 12 hours)")
    p.add_argument("--log-dir", default="build/worker-logs", help="the Locust workers' logs")
    p.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    from harness.loadgen.trust import SECRET_ENV, Refused, check_secret
    from harness.loadgen.worker import Worker, WorkerOptions
    from harness.machine.cpus import parse_cpu_list

    host, port = args.master
    try:
        secret = check_secret(args.secret or os.environ.get(SECRET_ENV), "--secret" if args.secret else SECRET_ENV)
    except Refused as exc:
        raise BenchError(str(exc)) from None
    options = WorkerOptions(
        master_host=host, master_port=port, secret=secret, name=args.name,
        cpus=parse_cpu_list(args.cpus) if args.cpus else None, processes=args.processes,
        scenarios_dir=Path(args.scenarios_dir), idle_timeout_s=args.idle_timeout, log_dir=Path(args.log_dir),
        allow_hosts=tuple(args.allow_host or ()), lifetime_s=args.lifetime,
    )  # fmt: skip
    worker = Worker(options)
    runs = worker.serve()
    print(f"bench worker: joined {runs} Locust run(s); {worker.ended}, exiting")
    return 0
