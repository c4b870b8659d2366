"""Load scenarios: Locust users against a fresh server, at one or more steps of concurrency.

Per step the server stays up (a trial is one server process); each step is its own Locust
run with its own warm-up, so a step's figures never include the previous step's ramp.
"""

from __future__ import annotations

import itertools
import resource
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, model_validator

from harness import database
from harness.errors import BenchError
from harness.flags import SATURATION_PCT
from harness.kinds.base import LoadGenerator, TrialContext, TrialOutcome
from harness.kinds.load_summary import answered_figures, memory_figures, trial_figures
from harness.kinds.slicing import Slicing
from harness.loadgen.arrival import DEFAULT_MAX_IN_FLIGHT, Distribution, arrival_figures
from harness.loadgen.driver import AGGREGATE, LoadResult, LoadSpec, StepSpec
from harness.loadgen.hosts import host_figures
from harness.loadgen.measures import window_figures
from harness.loadgen.params import TAIL_S
from harness.machine.cgroup import memory_bytes
from harness.machine.disturbance import FOREIGN_SUFFIX, UNEXPLAINED_SUFFIX, WAIT_SUFFIX, is_disturbed
from harness.measure import cpu_cost_figures, cpu_s_per_s, endpoint_figures, little_law_ratio, resource_figures
from harness.rate_sweep import step_is_usable
from harness.results import HistogramRecord, SampleRow, step_label
from harness.results.keys import endpoint_step
from harness.runtime import running
from harness.runtime.options import LaunchOptions
from harness.runtime.server import Server
from harness.sampler import MB, Reading, Sampler, tree_memory
from harness.stats import LITTLE_TOLERANCE


class Arrival(BaseModel):
    """Open model: each step offers a rate, whatever the answers do (harness.loadgen.arrival)."""

    model_config = ConfigDict(extra="forbid")

    rate_per_s: list[PositiveFloat] = Field(min_length=1)  # one step per entry
    distribution: Distribution = "poisson"
    max_in_flight: PositiveInt = DEFAULT_MAX_IN_FLIGHT  # per Locust worker; past it a due request is dropped
    seed: int = 0
    # End the sweep after the first step whose p99 reaches the summary's rate_slo_p99_ms: no higher step
    # counts for max_rate_slo (harness.rate_sweep, rule 3), so they would cost time for nothing. Done by
    # the single Locust process of one local worker; with a master, every step runs.
    stop_at_first_failure: bool = False


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    users: list[PositiveInt] = Field(default_factory=list)  # one step per entry (closed model)
    arrival: Arrival | None = None  # instead of users: one step per offered rate (open model)
    warmup_s: float = Field(ge=0)
    # The first step's warm-up, when it must be longer: every trial starts a fresh server, and Node's JIT
    # (V8) compiles its hot code over its first seconds of load; later steps find it warm. None: warmup_s.
    first_warmup_s: float | None = Field(default=None, ge=0)
    duration_s: float = Field(gt=0)
    trials: PositiveInt
    spawn_rate: float | None = Field(default=None, gt=0)  # users/s; None: all users within about a second
    think_s: float = Field(default=0.0, ge=0)  # each user's pause between requests (passed to the users)
    think_jitter: float = Field(default=0.0, ge=0, lt=1)  # users that honour it pause think_s·(1 ± this)
    # Both servers close a connection idle this long (KEEPALIVE_TIMEOUT_S); 5 s is the default of
    # Uvicorn and of Node 20, set explicitly so a server's default cannot differ between versions.
    keepalive_timeout_s: float = Field(default=5.0, gt=0)
    matrix: dict[str, list[Any]] = Field(default_factory=dict)  # more step dimensions, e.g. {"ms": [20, 100]}
    params: dict[str, Any] = Field(default_factory=dict)  # fixed parameters for the users
    open_files: PositiveInt | None = None  # raise RLIMIT_NOFILE to this for many connections
    after_load_s: float | None = Field(default=None, ge=0)  # read RSS this long after each step's load
    summary: dict[str, Any] = Field(default_factory=dict)  # settings of harness.kinds.load_summary
    # False: the users are no closed request loop (realtime: messages pushed to them), so Little's law
    # about users and their requests does not apply and is not checked.
    closed_loop: bool = True
    # Paired slices (harness.kinds.sliced): both targets' servers at once, the load alternating between them;
    # `trials` are then the looks of a run that stops when its ratios are decided.
    slices: Slicing | None = None

    @model_validator(mode="after")
    def _think_below_keepalive(self) -> Self:
        check_think_below_keepalive(self, self.keepalive_timeout_s)
        if bool(self.users) == (self.arrival is not None):
            raise ValueError("give either users (closed model) or arrival (open model), not both or neither")
        if self.slices is not None and (self.arrival is not None or len(self.steps()) != 1):
            raise ValueError("slices need one closed-model step: one entry in users and one matrix combination")
        if self.arrival is not None and self.arrival.stop_at_first_failure and "rate_slo_p99_ms" not in self.summary:
            raise ValueError("arrival.stop_at_first_failure needs the SLO it stops at: summary.rate_slo_p99_ms")
        for warmup_s in {self.warmup_s, self.warmups_s(1)[0]}:
            step_s = warmup_s + self.duration_s
            if len(self.users) > 1 and abs(step_s - round(step_s)) > 1e-9:
                # Locust's load shape is asked for the user count once a second, counted from the run's start:
                # a step ending between two ticks gets its successor's users up to a second late, in its window.
                raise ValueError(f"with several user steps, each step's warm-up + duration_s must be whole seconds "
                                 f"(Locust changes the user count on whole-second ticks); got {step_s:g} s")
        return self

    def warmups_s(self, steps: int) -> list[float]:
        """The warm-up of each of a run's `steps` steps: first_warmup_s for the first, warmup_s after it."""
        first = self.warmup_s if self.first_warmup_s is None else self.first_warmup_s
        return [first, *[self.warmup_s] * (steps - 1)][:steps]

    @property
    def step_key(self) -> str:
        """What a step varies: "users" (closed model) or "rate" (open model, requests/s offered)."""
        return "users" if self.arrival is None else "rate"

    def runs(self) -> list[tuple[dict[str, Any], list[Any]]]:
        """One Locust run per combination of the matrix, each stepping through `users` (or the rates).

        Matrix values are read by the user classes when Locust starts, so they cannot
        change within a run; the user count (or the offered rate) can.
        """
        names = sorted(self.matrix)
        combos = itertools.product(*(self.matrix[n] for n in names)) if names else [()]
        values = list(self.users) if self.arrival is None else [_number(r) for r in self.arrival.rate_per_s]
        return [(dict(zip(names, combo, strict=True)), values) for combo in combos]

    def steps(self) -> list[dict[str, Any]]:
        return [{**fixed, self.step_key: value} for fixed, values in self.runs() for value in values]

    def planned_s(self) -> float:
        """The load's own time in a trial: every run's warm-ups and windows, its tail and the pause after it
        (harness.eta adds what surrounds it, as measured)."""
        if self.slices is not None:
            return self.warmups_s(1)[0] + 2 * self.slices.pairs * self.slices.slice_s + TAIL_S
        per_run = [sum(self.warmups_s(len(values))) + self.duration_s * len(values) + TAIL_S + (self.after_load_s or 0)
                   for _, values in self.runs()]
        return sum(per_run)


def _number(rate: float) -> float | int:
    """A rate as its step label shows it: 500, not 500.0."""
    return int(rate) if float(rate).is_integer() else rate


KEEPALIVE_ENV = "KEEPALIVE_TIMEOUT_S"


def check_think_below_keepalive(params: Params, keepalive_timeout_s: float) -> None:
    """A user idle longer than the servers' keep-alive timeout finds its connection closed and
    opens a new one: connections would be re-opened, not held. Raises ValueError."""
    longest_s = params.think_s * (1 + params.think_jitter)
    if params.think_s > 0 and longest_s >= keepalive_timeout_s:
        raise ValueError(
            f"users think up to {longest_s:g} s (think_s {params.think_s:g} ± {params.think_jitter:.0%}), not less "
            f"than keepalive_timeout_s {keepalive_timeout_s:g} s: the servers would close their idle connections"
        )


def server_env(params: Params, extra_env: dict[str, str]) -> dict[str, str]:
    """The servers' environment: the scenario's keep-alive timeout, unless --server-env sets one."""
    env = {KEEPALIVE_ENV: f"{params.keepalive_timeout_s:g}", **extra_env}
    try:
        check_think_below_keepalive(params, float(env[KEEPALIVE_ENV]))
    except ValueError as exc:
        raise BenchError(f"--server-env {KEEPALIVE_ENV}={env[KEEPALIVE_ENV]}: {exc}") from None
    return env


def raise_open_files(limit: int) -> None:
    """Servers and Locust inherit the harness's file limit; many connections need a higher one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(limit, hard) if hard != resource.RLIM_INFINITY else limit
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def run_trial(ctx: TrialContext) -> TrialOutcome:
    params: Params = ctx.params
    if params.open_files:
        raise_open_files(params.open_files)
    outcome = TrialOutcome()
    options = ctx.launch_options()
    options = replace(options, extra_env=server_env(params, options.extra_env))
    runs = params.runs()
    # The first run's Locust starts with the server, on the other cores, held until the server is ready.
    first = _load_generator(ctx, f"http://{options.host}:{options.port}", *runs[0])
    try:
        first.prestart()
        with database.for_trial(ctx.scenario, ctx.database) as db, \
                running(ctx.runtime, ctx.target, replace(options, extra_env={**options.extra_env, **db.env})) as server:
            outcome.server = server_record(ctx, server, options, db)
            for index, (fixed, users) in enumerate(runs):
                processes = first if index == 0 else _load_generator(ctx, server.base_url, fixed, users)
                _measure_run(ctx, server, fixed, users, processes, outcome, db)
    finally:
        first.stop()  # a no-op after its run; stops it if the server never became ready
    outcome.metrics += trial_figures(summary_settings(params, ctx.generator_ceiling_rps), outcome.metrics,
                                     params.think_s, _factory(ctx))
    return outcome


def server_record(ctx: TrialContext, server: Server, options: LaunchOptions,
                  db: database.TrialDatabase) -> dict[str, Any]:
    """A trial's record of its server: the runtime's, its keep-alive timeout, its store, the contract check
    and its processes."""
    record = server.record()
    record["keepalive_timeout_s"] = float(options.extra_env[KEEPALIVE_ENV])
    if db.env:  # a trial without it used each app's default store, memory
        record["store"] = "postgres"
    record["contract"] = contract_record(ctx, server, single_store=ctx.placement.workers == 1 or bool(db.env))
    record["processes"] = len(server.pids())  # shows worker parity (--workers N)
    return record


def contract_record(ctx: TrialContext, server: Server, single_store: bool) -> dict[str, Any]:
    """The contract check, in a target's first trial of a scenario only: later trials start the same code in
    the same configuration, and their load shows any error it meets."""
    if ctx.trial != 1:
        return {"checked_in_trial": 1}
    return ctx.check_contract(ctx.target.name, server.host, server.port, single_store=single_store,
                              endpoints=ctx.target.endpoints)


def summary_settings(params: Params, ceiling_rps: float | None) -> dict[str, Any]:
    """The profile's summary settings, with the run's measured ceiling for the rate sweep's headroom
    guard unless the profile states one itself."""
    if ceiling_rps is None or "generator_ceiling_rps" in params.summary:
        return params.summary
    return {**params.summary, "generator_ceiling_rps": ceiling_rps}


def beyond_headroom(step: dict[str, Any], rps: float, ceiling_rps: float | None) -> bool:
    """Whether a step needed over HEADROOM_FRACTION of the generator's ceiling: its offered rate (open
    model) or, closed users sending as fast as they are answered, the rate it reached."""
    offered = float(step["rate"]) if "rate" in step else rps
    return not step_is_usable(offered, ceiling_rps)


def _factory(ctx: TrialContext):
    return lambda metric, value, unit, step: ctx.metric(metric, value, unit, step)


def _step_specs(params: Params, values: list[Any], workers: int) -> list[StepSpec]:
    """Closed model: `values` are user counts. Open model: offered rates, each sent by one user per worker."""
    steps = list(zip(values, params.warmups_s(len(values)), strict=True))
    if params.arrival is None:
        return [StepSpec(n, params.spawn_rate or n, warmup_s, params.duration_s) for n, warmup_s in steps]
    return [StepSpec(workers, workers, warmup_s, params.duration_s, rate_per_s=float(rate),
                     max_in_flight=params.arrival.max_in_flight) for rate, warmup_s in steps]  # fmt: skip


def _stop_p99_ms(params: Params) -> float | None:
    if params.arrival is None or not params.arrival.stop_at_first_failure:
        return None
    return float(params.summary["rate_slo_p99_ms"])


def user_params(params: Params, fixed: dict[str, Any], workers: int) -> dict[str, Any]:
    values = {**params.params, **fixed, "think_s": params.think_s, "think_jitter": params.think_jitter}
    if params.arrival is not None:  # read by harness.loadgen.open_user
        values.update(distribution=params.arrival.distribution, max_in_flight=params.arrival.max_in_flight,
                      seed=params.arrival.seed, loadgen_workers=workers)  # fmt: skip
    return values


def _load_generator(ctx: TrialContext, host_url: str, fixed: dict[str, Any], users: list[Any]) -> LoadGenerator:
    """The Locust run through every step of `users` (user counts, or offered rates), not started."""
    params: Params = ctx.params
    workers = ctx.placement.loadgen_workers
    spec = LoadSpec(
        scenario_file=ctx.scenario.path,
        host_url=host_url,
        steps=_step_specs(params, users, workers),
        workers=workers,
        cpus=ctx.placement.loadgen_cpus,
        params=user_params(params, fixed, workers),
        stop_p99_ms=_stop_p99_ms(params),
    )
    run_name = step_label(fixed).replace(",", "-").replace("=", "") or "load"
    return ctx.load_generator(spec, ctx.work_dir / f"locust-{run_name}")


def _measure_run(ctx: TrialContext, server: Server, fixed: dict[str, Any], users: list[Any],
                 processes: LoadGenerator, outcome: TrialOutcome,
                 db: database.TrialDatabase = database.NO_DATABASE) -> None:
    """One Locust run through every step of `users` (user counts, or offered rates), recorded step by step."""
    params: Params = ctx.params
    key = params.step_key
    labels = [step_label({**fixed, key: n}) for n in users]
    ctx.progress(f"{labels[0]} … {labels[-1]}" if len(labels) > 1 else labels[0])
    cpus = {"server": ctx.placement.server_cpus, "loadgen": ctx.placement.loadgen_cpus, **db.cpus}
    with Sampler({"server": server.pids, "loadgen": processes.pids, **db.roles}, rate_hz=ctx.placement.sample_hz,
                 cpus=cpus) as sampler:
        results = processes.run()
    engine_readings = getattr(server.process, "engine_readings", lambda: None)()
    if engine_readings is not None:  # a remote engine's container (harness.runtime.docker_stats)
        sampler.readings["server"] = engine_readings
    if server.exit_code() is not None:
        raise BenchError(f"{ctx.target.name} exited during the load at {labels[-1]}; "
                         f"its log ends: {server.log_tail()}")
    cgroup = memory_bytes(server.cgroup_memory_path)
    if cgroup is not None:  # docker: the container's memory as its cgroup counts it, at the end of the run
        outcome.metrics.append(ctx.metric("server_cgroup_mb", cgroup / MB, "MB", labels[-1]))
    if len(results) < len(labels):  # the sweep ended at a failing step (Arrival.stop_at_first_failure)
        outcome.server.setdefault("sweep_ended_early", []).append(
            {"after": labels[len(results) - 1], "not_run": labels[len(results):],
             "why": f"p99 reached the {_stop_p99_ms(params):g} ms SLO there; no higher step counts"})
    steps = zip(labels, users, results, params.warmups_s(len(users)), strict=False)  # the steps run
    for label, n, result, warmup_s in steps:
        _record_step(ctx, label, {**fixed, key: n}, result, sampler, outcome, warmup_s)
        if params.summary.get("memory_series"):
            outcome.metrics += memory_figures(outcome.samples, label, _factory(ctx))
    if params.after_load_s is not None:
        time.sleep(params.after_load_s)
        rss_bytes, _ = tree_memory(server.pids())
        outcome.metrics.append(ctx.metric("rss_after_load_mb", rss_bytes / MB, "MB", labels[-1]))


def _record_step(
    ctx: TrialContext, label: str, step: dict[str, Any], result: LoadResult, sampler: Sampler, outcome: TrialOutcome,
    warmup_s: float,
) -> None:
    multi_endpoint = len(result.endpoints) > 2  # more than one request name besides the aggregate
    for name, endpoint in result.endpoints.items():
        if name != AGGREGATE and not multi_endpoint:
            continue
        where = endpoint_step(label, name)
        for metric, (value, unit) in endpoint_figures(endpoint, result.duration_s).items():
            outcome.metrics.append(ctx.metric(metric, value, unit, where))
        if endpoint.histogram is not None:
            outcome.histograms.append(HistogramRecord(
                target=ctx.target.name, scenario=ctx.scenario.name, trial=ctx.trial, step=label, endpoint=name,
                hdr=endpoint.histogram.encode().decode(),
            ))  # fmt: skip
    for metric, (value, unit) in window_figures(result.counts, result.gauges_min, result.duration_s).items():
        outcome.metrics.append(ctx.metric(metric, value, unit, label))  # what the scenario counted itself
    aggregate = result.endpoints[AGGREGATE]
    for metric, (value, unit) in answered_figures(aggregate.ok, aggregate.failed, result.pending).items():
        outcome.metrics.append(ctx.metric(metric, value, unit, label))
    start, end = result.window_s
    server_readings, loadgen_readings = sampler.window("server", start, end), sampler.window("loadgen", start, end)
    resources = resource_figures(server_readings, loadgen_readings, len(ctx.placement.loadgen_cpus))
    for metric, value, unit in (
        ("server_cpu_pct", resources.server_cpu_pct, "%"),
        ("server_rss_mb", resources.server_rss_mb, "MB"),
        ("server_rss_peak_mb", resources.server_rss_peak_mb, "MB"),
        ("loadgen_cpu_pct", resources.loadgen_cpu_pct, "%"),
        ("sampler_cpu_pct", sampler.cost_pct, "%"),
    ):
        if value is not None:
            outcome.metrics.append(ctx.metric(metric, value, unit, label))
    responses = aggregate.ok + aggregate.failed
    database_cpus = set(sampler.cpus.get("database", ()))
    database_per_s = cpu_s_per_s(sampler.window("database", start, end)) if "database" in sampler.roles else None
    cost = cpu_cost_figures(resources, responses, result.duration_s, len(ctx.placement.server_cpus), database_per_s,
                            bool(database_cpus & set(ctx.placement.server_cpus)))
    for metric, (value, unit) in cost.items():
        outcome.metrics.append(ctx.metric(metric, value, unit, label))
    for metric, value, unit in database.step_figures(sampler, start, end):
        outcome.metrics.append(ctx.metric(metric, value, unit, label))
    # The Locust workers' own reports (harness.loadgen.hosts): the only CPU figure of workers on other hosts.
    workers_cpu_pct, busy_hosts = host_figures(result.loadgen_hosts, SATURATION_PCT)
    if workers_cpu_pct is not None:
        outcome.metrics.append(ctx.metric("loadgen_workers_cpu_pct", workers_cpu_pct, "%", label))
    if resources.loadgen_saturated or busy_hosts:
        outcome.flags.append(f"loadgen_saturated:{label}")
    if beyond_headroom(step, aggregate.ok / result.duration_s, ctx.generator_ceiling_rps):
        outcome.flags.append(f"generator_bound:{label}")
    _record_foreign_cpu(ctx, label, sampler.foreign_cpu_pct(start, end), outcome, sampler.cpu_wait_pct(start, end),
                        sampler.unexplained_wait_pct(start, end))
    # Lost time (users not kept busy), not server speed: see little_law_ratio for what it can detect.
    if result.arrivals is not None:
        for metric, (value, unit) in arrival_figures(result.arrivals, result.duration_s).items():
            outcome.metrics.append(ctx.metric(metric, value, unit, label))
    closed = ctx.params.closed_loop and "users" in step
    ratio = little_law_ratio(step["users"], result, ctx.params.think_s) if closed else None
    if ratio is not None:
        outcome.metrics.append(ctx.metric("little_law_ratio", ratio, "ratio", label))
        if abs(ratio - 1) > LITTLE_TOLERANCE:
            outcome.flags.append(f"little_law:{label}")
    for message, count in result.errors.items():
        outcome.errors[message] = outcome.errors.get(message, 0) + count
    # The step's samples: its warm-up (negative t_s) and its window.
    span_start = start - warmup_s
    for role in sampler.roles:  # server, loadgen, and database when there is one
        outcome.samples.extend(_samples(ctx, label, role, sampler.iter_window(role, span_start, end), start))


def _samples(ctx: TrialContext, step: str, role: str, readings: Iterable[Reading], t0: float) -> list[SampleRow]:
    """The step's rows of samples.csv, made one reading at a time (a long trial holds many)."""
    return [
        SampleRow(ctx.target.name, ctx.scenario.name, ctx.trial, step, role, round(r.t_s - t0, 3),
                  round(r.cpu_pct, 1), round(r.rss_mb, 3), None if r.uss_mb is None else round(r.uss_mb, 3),
                  None if r.pss_mb is None else round(r.pss_mb, 3))
        for r in readings
    ]


def _record_foreign_cpu(ctx: TrialContext, label: str, foreign: dict[str, float], outcome: TrialOutcome,
                        wait: dict[str, float] | None = None, unexplained: dict[str, float] | None = None) -> None:
    """Per role, the share of its CPUs others took in the window, its threads' run-queue wait and the part
    of it the benchmark cannot explain; the step is disturbed when others took over their threshold
    (harness.machine.disturbance.is_disturbed)."""
    wait, unexplained = wait or {}, unexplained or {}
    for role, pct in foreign.items():
        outcome.metrics.append(ctx.metric(f"{role}{FOREIGN_SUFFIX}", pct, "%", label))
    for role, pct in wait.items():
        outcome.metrics.append(ctx.metric(f"{role}{WAIT_SUFFIX}", pct, "%", label))
    for role, pct in unexplained.items():
        outcome.metrics.append(ctx.metric(f"{role}{UNEXPLAINED_SUFFIX}", pct, "%", label))
    if any(is_disturbed(pct) for pct in foreign.values()):
        outcome.flags.append(f"disturbed:{label}")
