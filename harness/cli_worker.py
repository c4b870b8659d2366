"""Argument setup and mapping for `bench worker`: Locust workers here for a master on another host."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from harness.errors import BenchError


def _master(text: str) -> tuple[str, int]:
    from harness.loadgen.external import parse_bind

    try:
        return parse_bind(text)
    except BenchError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("--master-bind", "--master")) from None


def add_commands(sub: argparse._SubParsersAction, add_common: Callable[[argparse.ArgumentParser], None],
                 positive_int: Callable[[str], int]) -> None:
    p = sub.add_parser("worker", help="run Locust workers here for a `bench run --loadgen external:N` elsewhere")
    p.add_argument("--master", type=_master, required=True, metavar="HOST[:PORT]",
                   help="the master's address, as given to its --master-bind (default port 5557)")
    p.add_argument("--cpus", help="pin the Locust workers to these CPUs, e.g. '2-3' (default: not pinned)")
    p.add_argument("--processes", type=positive_int, default=1, help="Locust worker processes on this host")
    p.add_argument("--name", help="this host's name in the results (default: the hostname)")
    p.add_argument("--scenarios-dir", default="scenarios")
    p.add_argument("--idle-timeout", type=float, default=300.0, metavar="SECONDS",
                   help="exit after this long without reaching a master (before its run, or after it)")
    p.add_argument("--log-dir", default="build/worker-logs", help="the Locust workers' logs")
    p.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    from harness.cpus import parse_cpu_list
    from harness.loadgen.worker import Worker, WorkerOptions

    host, port = args.master
    options = WorkerOptions(
        master_host=host, master_port=port, name=args.name,
        cpus=parse_cpu_list(args.cpus) if args.cpus else None, processes=args.processes,
        scenarios_dir=Path(args.scenarios_dir), idle_timeout_s=args.idle_timeout, log_dir=Path(args.log_dir),
    )  # fmt: skip
    runs = Worker(options).serve()
    print(f"bench worker: joined {runs} Locust run(s); idle for {args.idle_timeout:g} s, exiting")
    return 0
