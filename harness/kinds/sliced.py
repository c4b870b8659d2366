"""Paired slices: both contenders' servers at once, one Locust run alternating its load between them.

A sliced trial starts both targets' servers (fresh, on the server's CPUs, sharing one database reset
for the trial), warms both alike (the load alternates in the warm-up too), then runs `pairs` pairs of
slices (harness.loadgen.slices: which target a request counts for, at a slice's edge and in its settle
time). Each slice becomes one record of its target whose trial number is its pair's, counted across
the scenario's trials: slice i of express and slice i of fastapi form round i, so a ratio is the median
of per-pair ratios (harness.claims), the two halves of a pair a second apart, within one spell of the
host's speed.

Per slice and target: requests, errors, latency percentiles (from the slice's histogram), the server's
CPU (its process tree's, sampled, over the slice's counted part) and the idle server's CPU in the same
part (`idle_server_cpu_pct`: what the server not under load still spent, the tail of its last
requests and its timers). A target's per-endpoint figures and histograms are pooled over its slices
of the trial and stored with the trial's first pair.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Any

from harness import database
from harness.errors import BenchError
from harness.kinds.base import TrialContext, TrialOutcome
from harness.kinds.load import raise_open_files, server_env, server_record, user_params
from harness.kinds.slicing import Slicing, first_pair
from harness.loadgen.driver import AGGREGATE, LoadSpec, sliced_step
from harness.loadgen.slices import SlicedLoad, SlicePlan, SliceResult, SliceTarget
from harness.machine.disturbance import is_disturbed
from harness.measure import endpoint_figures, latency_ms, resource_figures
from harness.metrics import RPS
from harness.results import HistogramRecord, Metric, step_label
from harness.results.keys import endpoint_step
from harness.runtime import running
from harness.runtime.server import Server
from harness.sampler import Reading, Sampler


@dataclass
class SlicedOutcome:
    """A sliced trial: per target, one outcome per pair (its slice), keyed by the global pair number."""

    pairs: dict[str, dict[int, TrialOutcome]] = field(default_factory=dict)
    pairing: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)  # TrialRecord.pairing
    window_s: tuple[float, float] = (0.0, 0.0)


def run_sliced_trial(contexts: list[TrialContext]) -> SlicedOutcome:
    """One trial of a sliced scenario, for its two targets in the order given (A, B)."""
    a, b = contexts
    params = a.params
    slicing: Slicing = params.slices
    if params.open_files:
        raise_open_files(params.open_files)
    (fixed, users), = params.runs()
    label = step_label({**fixed, "users": users[0]})
    options = {}
    for ctx in contexts:
        launch = ctx.launch_options()
        options[ctx.target.name] = replace(launch, extra_env=server_env(params, launch.extra_env))
    outcome = SlicedOutcome()
    with database.for_trial(a.scenario, a.database) as db, ExitStack() as stack:
        servers: dict[str, Server] = {}
        for ctx in contexts:  # one after the other: each is ready before the next starts
            opts = options[ctx.target.name]
            servers[ctx.target.name] = stack.enter_context(
                running(ctx.runtime, ctx.target, replace(opts, extra_env={**opts.extra_env, **db.env})))
        records = {ctx.target.name: server_record(ctx, servers[ctx.target.name], options[ctx.target.name], db)
                   for ctx in contexts}
        plan = SlicePlan((SliceTarget(a.target.name, servers[a.target.name].base_url),
                          SliceTarget(b.target.name, servers[b.target.name].base_url)),
                         slicing.slice_s, slicing.settle_s, slicing.pairs,
                         warmup_s=params.warmups_s(1)[0])
        a.progress(f"{label} · {slicing.pairs} pairs of {slicing.slice_s:g}-s slices")
        workers = a.placement.loadgen_workers
        spec = LoadSpec(scenario_file=a.scenario.path, host_url=plan.targets[0].base_url,
                        steps=[sliced_step(plan, users[0], params.spawn_rate or users[0])], workers=workers,
                        cpus=a.placement.loadgen_cpus, params=user_params(params, fixed, workers), slices=plan)
        processes = a.load_generator(spec, a.work_dir / "locust-sliced")
        roles = {"server": lambda: [p for s in servers.values() for p in s.pids()], "loadgen": processes.pids,
                 **{_role(name): server.pids for name, server in servers.items()}, **db.roles}
        cpus = {"server": a.placement.server_cpus, "loadgen": a.placement.loadgen_cpus, **db.cpus}
        with Sampler(roles, rate_hz=a.placement.sample_hz, cpus=cpus) as sampler:
            results = processes.run()
        for name, server in servers.items():
            if server.exit_code() is not None:
                raise BenchError(f"{name} exited during the sliced load; its log ends: {server.log_tail()}")
    sliced = results[0].slices
    if sliced is None:
        raise BenchError("the load generator returned no slices for a sliced trial")
    outcome.window_s = (sliced.slices[0].start_s, sliced.slices[-1].end_s)
    block_flags = _block_flags(sampler, outcome.window_s, label, len(a.placement.loadgen_cpus))
    start = first_pair(slicing, a.trial)
    for ctx in contexts:
        name = ctx.target.name
        other = b.target.name if name == a.target.name else a.target.name
        mine = [s for s in sliced.slices if s.target == name]
        outcome.pairs[name], outcome.pairing[name] = {}, {}
        for piece in mine:
            number = start + piece.pair - 1
            trial = TrialOutcome(server=records[name], flags=list(block_flags), errors=dict(piece.errors))
            trial.metrics = slice_figures(ctx, number, label, piece, sampler, name, other)
            outcome.pairs[name][number] = trial
            outcome.pairing[name][number] = {"trial": ctx.trial, "position": piece.position,
                                             "start_s": piece.start_s, "end_s": piece.end_s,
                                             "slice_s": plan.slice_s, "settle_s": plan.settle_s}
        first = outcome.pairs[name][start]
        first.metrics += _pooled_figures(ctx, start, label, sliced, name, plan)
        first.histograms += _pooled_histograms(ctx, start, label, sliced, name)
    return outcome


def _role(target: str) -> str:
    return f"server:{target}"


def _cpu_pct(readings: list[Reading]) -> float | None:
    """A role's mean CPU (percent of one core) over a span's readings."""
    return sum(r.cpu_pct for r in readings) / len(readings) if readings else None


def slice_figures(ctx: TrialContext, pair: int, label: str, piece: SliceResult, sampler: Sampler, name: str,
                   other: str) -> list[Metric]:
    """One slice's figures for its target, as the record of `pair`."""
    span = (piece.counted_start_s, piece.end_s)
    rps = piece.ok / piece.counted_s
    total = piece.ok + piece.failed
    figures: list[tuple[str, float, str]] = [
        (RPS, rps, "req/s"), ("requests", float(total), "count"),
        ("error_rate", piece.failed / total if total else 0.0, "ratio"),
        ("stalled", float(piece.stalled), "count"),
    ]
    figures += [(metric, value, "ms") for metric, value in latency_ms(piece.histogram).items()]
    cpu_pct, idle_pct = _cpu_pct(sampler.window(_role(name), *span)), _cpu_pct(sampler.window(_role(other), *span))
    if cpu_pct is not None:
        figures.append(("server_cpu_pct", cpu_pct, "%"))
        if rps > 0:  # CPU seconds per second over requests per second: µs of the server's CPU per request
            figures.append(("server_cpu_us_per_req", cpu_pct / 100 * 1e6 / rps, "us"))
    if idle_pct is not None:
        figures.append(("idle_server_cpu_pct", idle_pct, "%"))
    return [Metric(target=name, scenario=ctx.scenario.name, trial=pair, step=label, metric=metric, value=value,
                   unit=unit) for metric, value, unit in figures]


def _pooled_figures(ctx: TrialContext, pair: int, label: str, sliced: SlicedLoad, name: str,
                    plan: SlicePlan) -> list[Metric]:
    """A target's per-endpoint figures pooled over its slices of the trial (the aggregate is per slice)."""
    endpoints = sliced.endpoints[name]
    if len(endpoints) <= 2:  # one request name besides the aggregate: the slices already say it
        return []
    duration_s = plan.pairs * plan.counted_s
    return [Metric(target=name, scenario=ctx.scenario.name, trial=pair, step=endpoint_step(label, endpoint),
                   metric=metric, value=value, unit=unit)
            for endpoint, result in endpoints.items() if endpoint != AGGREGATE
            for metric, (value, unit) in endpoint_figures(result, duration_s).items()]


def _pooled_histograms(ctx: TrialContext, pair: int, label: str, sliced: SlicedLoad,
                       name: str) -> list[HistogramRecord]:
    return [HistogramRecord(target=name, scenario=ctx.scenario.name, trial=pair, step=label, endpoint=endpoint,
                            hdr=result.histogram.encode().decode())
            for endpoint, result in sliced.endpoints[name].items() if result.histogram is not None]


def _block_flags(sampler: Sampler, window_s: tuple[float, float], label: str, loadgen_cores: int) -> list[str]:
    """Flags of the whole trial, on each of its slices: the load generator at its limit, others on the CPUs."""
    flags = []
    resources = resource_figures(sampler.window("server", *window_s), sampler.window("loadgen", *window_s),
                                 loadgen_cores)
    if resources.loadgen_saturated:
        flags.append(f"loadgen_saturated:{label}")
    if any(is_disturbed(pct) for pct in sampler.foreign_cpu_pct(*window_s).values()):
        flags.append(f"disturbed:{label}")
    return flags
