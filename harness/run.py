"""`bench run`: the whole pipeline of one benchmark run, as a library call.

resolve config → plan interleaved trials → for each: run the scenario kind → save → summarise.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import ceiling, database
from harness.behaviour import behaviour_checks
from harness.claims.schema import load_claims
from harness.claims.stopping import decided
from harness.config import RunConfig
from harness.database import place as database_place
from harness.errors import BenchError
from harness.eta import Eta
from harness.kinds.base import LoadGeneratorFactory, Placement, TrialContext, TrialOutcome
from harness.kinds.sliced import run_sliced_trial
from harness.kinds.slicing import sequential_design, slicing_record
from harness.loadgen.driver import LocustProcesses
from harness.loadgen.external import ExternalWorkers, external_workers, parse_loadgen, run_topology
from harness.machine import idle_hold, protect
from harness.machine.cpus import parse_cpu_list, split_cpus
from harness.machine.disturbance import MAX_RERUNS, RerunBudget, disturbed_windows, run_until_undisturbed
from harness.machine.environment import RunEnvironment, capture_environment, run_environment
from harness.machine.locks import Held, lock_cpus
from harness.machine.speed_probe import METRIC_SUFFIX as PROBE_SUFFIX
from harness.machine.speed_probe import WAKEUP_METRIC, role_probes, role_wakeup_us
from harness.results import Metric, ResultsStore, RunResults, RunView, TrialRecord, check_run_name
from harness.results.records import DiscardedAttemptRecord
from harness.runtime import Runtime, get_runtime, running
from harness.runtime.docker_engine import host_pids_visible
from harness.runtime.options import Protection, RuntimeSettings
from harness.runtime.procs import sweep_orphans
from harness.runtime.server import Server, free_port
from harness.scenario import Scenario, discover_scenarios, select_scenarios
from harness.summarize import summarize
from harness.targets import Target, discover_targets, select_targets


@dataclass(frozen=True)
class PlannedTrial:
    scenario: Scenario
    target: Target
    trial: int  # 1-based, per target and scenario


def plan_trials(scenarios: list[Scenario], targets: list[Target], profile: str, order: str, rng: random.Random
                ) -> list[PlannedTrial]:
    """Interleave targets trial by trial so slow drift of the machine hits both alike.

    "alternate" counterbalances (A B, B A, A B, ...); "random" shuffles each round.
    """
    plan: list[PlannedTrial] = []
    for scenario in scenarios:
        for trial in range(1, scenario.params(profile).trials + 1):
            round_targets = list(targets)
            if order == "random":
                rng.shuffle(round_targets)
            elif trial % 2 == 0:
                round_targets.reverse()
            plan.extend(PlannedTrial(scenario, target, trial) for target in round_targets)
    return plan


def plan_rounds(plan: list[PlannedTrial]) -> list[list[tuple[int, PlannedTrial]]]:
    """The plan cut into rounds, each entry with its 1-based order: a round is trial i of every target
    of one scenario, back to back, so a ratio between targets is taken within one round."""
    rounds: list[list[tuple[int, PlannedTrial]]] = []
    for order, planned in enumerate(plan, start=1):
        if rounds and (rounds[-1][0][1].scenario, rounds[-1][0][1].trial) == (planned.scenario, planned.trial):
            rounds[-1].append((order, planned))
        else:
            rounds.append([(order, planned)])
    return rounds


def check_config(config: RunConfig, scenarios: list[Scenario]) -> list[Scenario]:
    """The scenarios this configuration can run.

    The apps keep users in memory, one store per worker process, so with several workers a
    read can land on a worker that never saw the write. A stateful scenario named on the
    command line is refused; one picked by default is left out, and the results say so.
    """
    if config.workers == 1:
        return scenarios
    stateful = [s.name for s in scenarios if s.stateful]
    if stateful and config.scenarios:
        raise BenchError(
            f"scenario {stateful[0]!r} writes to the in-memory store, which is per worker process: "
            f"with --workers {config.workers} a read can miss a write. Run it with --workers 1, "
            "or run its PostgreSQL reading (e.g. crud), which shares one database"
        )
    return [s for s in scenarios if not s.stateful]


def default_run_name(profile: str) -> str:
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{profile}"


def claim_run_folder(results_dir: Path, name: str | None, profile: str) -> Path:
    """The run's folder, made now and only by this run (an exclusive mkdir): a second run given the same
    --name is refused before it measures anything, and two runs never write into one folder. Without a
    --name, the default (a timestamp to the second) gets -2, -3, ... when a run started in the same second."""
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
        if name is not None:
            directory = results_dir / check_run_name(name)
            try:
                directory.mkdir()
            except FileExistsError:
                held = "already holds a run" if (directory / "results.json").exists() else "already exists"
                raise BenchError(f"{directory} {held}; pick another --name") from None
            return directory
        base = default_run_name(profile)
        for n in range(1, 1000):
            directory = results_dir / (base if n == 1 else f"{base}-{n}")
            try:
                directory.mkdir()
            except FileExistsError:
                continue
            return directory
    except OSError as exc:
        raise BenchError(f"cannot make the run's folder in {results_dir}: {exc.strerror or exc}") from None
    raise BenchError(f"no free run name {base}-N in {results_dir}: pass --name")


def pinned_cpus(config: RunConfig, server_cpus: list[int], loadgen_cpus: list[int]) -> set[int]:
    """The CPUs of this machine that the run pins its servers, database and Locust to: not a remote
    Docker engine's, nor those of Locust workers on other hosts."""
    cpus: set[int] = set()
    if config.runtime == "native" or host_pids_visible():
        cpus |= set(server_cpus)
    if parse_loadgen(config.loadgen) is None:
        cpus |= set(loadgen_cpus)
    if config.db_cpus:
        cpus |= set(parse_cpu_list(config.db_cpus))
    return cpus


Progress = Callable[[str, int, int], None]  # (what, trial number, trials in all)


@dataclass
class PreparedRun:
    """A run whose directory and plan exist; `execute()` measures, saving after every trial.

    Its runtime (already checked) and behaviour checks are fields: a test passes fakes.
    """

    config: RunConfig
    store: ResultsStore
    plan: list[PlannedTrial]
    placement: Placement
    runtime: Runtime
    behaviour_checks: Callable[[Server], dict[str, Any]] = behaviour_checks
    protection: Protection | None = None  # while executing: the run's protection, which servers join
    max_reruns: int = MAX_RERUNS  # re-runs of a disturbed round (`bench ab`: 0, its paired ratios carry the drift)
    load_generator: LoadGeneratorFactory = LocustProcesses
    external: ExternalWorkers | None = None  # --loadgen external:N: the workers' coordinator, closed at the end
    ceiling_target: Target | None = None  # the baseline the load generator's ceiling is measured on
    ceiling_s: float = 0.0  # its measured window; 0: not measured
    on_trial: Callable[[str, TrialOutcome], None] | None = None  # each finished trial, for live figures
    locks: Held | None = None  # the CPUs the run pins (harness.machine.locks), released when it ends
    environment: RunEnvironment | None = None  # results.json's environment, typed; None: a test's keeps its own

    def _environment(self, **parts: Any) -> None:
        """Parts of the environment the run reached, handed to its one record (harness.machine.environment)."""
        if self.environment is not None:
            self.store.results.environment = self.environment.add(**parts)

    def eta(self) -> Eta:
        """The time remaining, from the plan's durations (a kind's Params.planned_s) and what trials take."""
        targets = len({p.target.name for p in self.plan})
        # a sliced trial serves both targets at once: each target's entry of its round is half of it
        params = [p.scenario.params(self.config.profile) for p in self.plan]
        share = [0.5 if getattr(each, "slices", None) and targets == 2 else 1.0 for each in params]
        return Eta([each.planned_s() * s for each, s in zip(params, share, strict=True)],
                   [p.scenario.name for p in self.plan])

    @property
    def ceiling_rps(self) -> float | None:
        kept = self.store.results.generator_ceiling
        return None if kept is None else kept.generator_ceiling_rps

    @property
    def directory(self) -> Path:
        return self.store.directory

    def execute(self, progress: Progress | None = None) -> Path:
        """Measure inside this run's protection cgroups (harness.machine.protect), which are always removed.

        The harness joins the load generator's group, so the Locust processes it starts are born
        there; each server is moved to the server's group as it starts (its LaunchOptions.protection).
        """
        try:
            return self._protected(progress)
        finally:
            if self.external is not None:
                self.external.close()
            if self.locks is not None:
                self.locks.release()

    def _protected(self, progress: Progress | None = None) -> Path:
        hold: idle_hold.IdleHold | None = None
        try:
            with idle_hold.held(self.config.hold_idle) as hold, \
                    protect.protected(self.store.results.run_id) as protection:
                self._environment(cpu_idle=hold.record(), protection=protection.status)
                protection.adopt("loadgen", os.getpid())
                self.protection = protection
                try:
                    return self._measure(progress)
                finally:
                    self.protection = None
                    protection.release()
                    if protection.warnings:
                        self._environment(protection_warnings=protection.warnings)
                        for warning in protection.warnings:
                            self.store.results.note(warning)
        finally:
            if hold is not None:  # the hold has ended: its count of deep idle entries is complete
                self._environment(cpu_idle=hold.record())
                self.store.save()

    def _measure(self, progress: Progress | None = None) -> Path:
        # The harness itself (samplers, readiness polling) runs beside the load generator,
        # never on the server's cores; servers and Locust are pinned by taskset.
        original_cpus = os.sched_getaffinity(0)
        os.sched_setaffinity(0, self.placement.loadgen_cpus)
        try:
            self.measure_ceiling(progress)
            self.check_behaviour()
            with database.for_run(self.config, [p.scenario for p in self.plan], self.placement.server_cpus,
                                  self.directory / "logs", self.protection) as db:
                self._environment(database=db.facts if db is not None else None)
                budget = RerunBudget(self.max_reruns)  # suspended while a disturbance outlasts a round's re-runs
                for round_ in plan_rounds(self.plan):
                    if sliced_round(round_, self.config.profile):
                        self._run_sliced_round(round_, progress, db)
                    else:
                        self._run_round(round_, progress, db, budget)
            self.store.results.complete = True
        finally:
            os.sched_setaffinity(0, original_cpus)
            summarize(self.store.results)
            self.store.save()
        return self.directory

    def measure_ceiling(self, progress: Progress | None = None) -> None:
        """The load generator's ceiling (harness.ceiling) before the first trial, so that the headroom
        guard keeps steps that need over 70% of it out of verdicts; a run without one says why."""
        results = self.store.results
        reason = self._no_ceiling_reason()
        if reason:
            results.generator_ceiling = ceiling.not_measured(reason, self.placement)
        else:
            assert self.ceiling_target is not None
            if progress:
                progress(f"load generator ceiling · {self.ceiling_target.name} · {self.ceiling_s:g} s", 0,
                         len(self.plan))
            results.generator_ceiling = ceiling.measure(self.ceiling_target, self.ceiling_s, self.placement,
                                                        self.runtime, self.directory / "logs" / "000-ceiling",
                                                        self.protection)  # fmt: skip
        kept = results.generator_ceiling
        if kept.generator_ceiling_rps is None and (self.config.ceiling_s == 0 or not reason):
            results.note(f"no load generator ceiling ({kept.reason}): steps near the load generator's "
                         "limit are not kept out of verdicts")
        if kept.disturbed:
            others = ", ".join(f"{role} {pct:.0f}%" for role, pct in kept.foreign_cpu_pct.items())
            results.note(f"the load generator's ceiling was measured disturbed in every attempt (others "
                         f"took {others} of the roles' CPUs): it is low, so more steps count as "
                         "generator_bound than on a quiet machine")
        self.store.save()

    def _no_ceiling_reason(self) -> str:
        if not any(p.scenario.kind == "load" for p in self.plan):
            return "no load scenario in this run"
        if self.ceiling_s <= 0:
            return "skipped: --no-ceiling" if self.config.ceiling_s == 0 else (
                f"the {self.config.profile} profile measures none; --ceiling-seconds N measures it")
        if self.ceiling_target is None:
            return f"no baseline target {ceiling.BASELINE_TARGET!r} in {self.config.targets_dir}"
        if self.external is not None:
            return "external load generator: the ceiling is measured only with the run's own Locust workers"
        if self.config.runtime != "native":
            return f"measured only with the native runtime ({ceiling.BASELINE_TARGET} has no container image)"
        return ""

    def check_behaviour(self) -> None:
        """Real requests for the article's behaviour claims (F1, F2), once per target."""
        for target in {p.target.name: p.target for p in self.plan}.values():
            log_path = self.directory / "logs" / f"behaviour-{target.name}.log"
            options = self.placement.launch_options(target, free_port(), log_path, protection=self.protection,
                                                    workers=1)
            with running(self.runtime, target, options) as server:
                self.store.results.checks[target.name] = self.behaviour_checks(server)
        self.store.save()

    def _run_round(self, round_: list[tuple[int, PlannedTrial]], progress: Progress | None,
                   db: database.Database | None, budget: RerunBudget) -> None:
        """Run one round (every target's trial i) until no window of it is disturbed, up to MAX_RERUNS
        re-runs of the whole round, so that both sides of a ratio come from the same quiet minutes;
        none while a disturbance persists (harness.machine.disturbance.RerunBudget).
        A discarded attempt's records are removed; the kept trials say which attempts were thrown away."""

        def attempt(number: int) -> list[tuple[str, TrialOutcome]]:
            if number > 1:
                self._discard(round_)
            return [(p.target.name, self._run_trial(p, order, progress, db, number)) for order, p in round_]

        def windows(outcomes: list[tuple[str, TrialOutcome]]) -> dict[str, float]:
            return {f"{target} {window}": pct for target, outcome in outcomes
                    for window, pct in disturbed_windows(outcome.metrics).items()}

        kept, discarded = run_until_undisturbed(attempt, windows, budget.reruns())
        if budget.settle(bool(windows(kept)), len(discarded)):
            planned = round_[0][1]
            self.store.results.note(
                f"{planned.scenario.name} round {planned.trial} was still disturbed after {len(discarded)} re-runs "
                "(others used over the threshold of a benchmark CPU): later disturbed rounds are flagged, not "
                "re-run, until one runs undisturbed")
        if discarded:
            records = [DiscardedAttemptRecord(**asdict(d)) for d in discarded]
            for record in self._records(round_):
                record.discarded_attempts = list(records)
            self.store.save()

    def _run_sliced_round(self, round_: list[tuple[int, PlannedTrial]], progress: Progress | None,
                          db: database.Database | None) -> None:
        """One trial (a look) of a sliced scenario for both targets at once (harness.kinds.sliced), unless an
        earlier look decided every ratio the scenario feeds; then the stopping rule is asked again."""
        scenario = round_[0][1].scenario
        params = scenario.params(self.config.profile)
        record = self.store.results.config.setdefault("slicing", {}).setdefault(
            scenario.name, slicing_record(params.slices, params.trials))
        if record.get("stopped_because"):
            return
        order, planned = round_[0]
        names = "-".join(p.target.name for _, p in round_)
        label = f"{scenario.name} · {names.replace('-', ' & ')} · trial {planned.trial}"
        work_dir = self.directory / "logs" / f"{order:03d}-{scenario.name}-{names}-{planned.trial}"
        last = round_[-1][0]  # the round's progress counts it done once both targets' slices are
        contexts = [self._context(p, last, label, progress, db, work_dir / p.target.name) for _, p in round_]
        if progress:
            progress(label, last, len(self.plan))
        probes = self._probe(contexts[0])
        sliced = run_sliced_trial(contexts)
        for ctx, (n, p) in zip(contexts, round_, strict=True):
            name = p.target.name
            for pair, outcome in sliced.pairs[name].items():
                pairing = sliced.pairing[name][pair]
                if outcome is sliced.pairs[name][min(sliced.pairs[name])]:  # the trial's probes, on its first pair
                    outcome.metrics += [m.model_copy(update={"target": name, "trial": pair}) for m in probes]
                self.store.results.trials.append(TrialRecord(
                    target=name, scenario=scenario.name, trial=pair, order=n,
                    started_at=datetime.fromtimestamp(pairing["start_s"], UTC).isoformat(),
                    wall_s=round(pairing["end_s"] - pairing["start_s"], 3), params=ctx.params.model_dump(mode="json"),
                    server=outcome.server, flags=outcome.flags, errors=outcome.errors, pairing=pairing,
                ))  # fmt: skip
                self.store.results.metrics.extend(outcome.metrics)
                self.store.histograms.extend(outcome.histograms)
        record["pairs"] = max(t.trial for t in self.store.results.trials if t.scenario == scenario.name)
        record.update(self._stopping(scenario.name, params, planned.trial))
        self.store.save()

    def _stopping(self, scenario: str, params: Any, trial: int) -> dict[str, Any]:
        """Whether the scenario stops after this look (harness.claims.stopping), and why; each ratio's state."""
        design = sequential_design(params.slices, params.trials)
        decision = decided(RunView(self.store.results), scenario, design, load_claims(), params.slices.precision)
        state: dict[str, Any] = {"ratios": decision.ratios, "open": "" if decision.stop else decision.why}
        if decision.stop:
            state["stopped_because"] = decision.why
        elif trial >= params.trials:
            state["stopped_because"] = "budget spent: every planned look was run"
        return state

    def _records(self, round_: list[tuple[int, PlannedTrial]]) -> list[TrialRecord]:
        keys = {(p.scenario.name, p.target.name, p.trial) for _, p in round_}
        return [t for t in self.store.results.trials if (t.scenario, t.target, t.trial) in keys]

    def _discard(self, round_: list[tuple[int, PlannedTrial]]) -> None:
        """Remove a disturbed attempt of a round: its trial records, figures, samples and histograms."""
        keys = {(p.scenario.name, p.target.name, p.trial) for _, p in round_}
        results, store = self.store.results, self.store
        results.trials = [t for t in results.trials if (t.scenario, t.target, t.trial) not in keys]
        results.metrics = [m for m in results.metrics if (m.scenario, m.target, m.trial) not in keys]
        store.discard(keys)  # its samples and histograms, saved or not

    def _probed_cpus(self) -> dict[str, list[int]]:
        """The roles whose CPUs are this machine's: not a server in a remote Docker engine's host, nor
        Locust workers on other hosts (the probe would time the wrong machine's cores)."""
        cpus = {}
        if self.config.runtime == "native" or host_pids_visible():
            cpus["server"] = self.placement.server_cpus
        if parse_loadgen(self.config.loadgen) is None:
            cpus["loadgen"] = self.placement.loadgen_cpus
        return cpus

    def _context(self, planned: PlannedTrial, order: int, label: str, progress: Progress | None,
                 db: database.Database | None, work_dir: Path) -> TrialContext:
        work_dir.mkdir(parents=True, exist_ok=True)
        total = len(self.plan)
        return TrialContext(
            target=planned.target, scenario=planned.scenario, params=planned.scenario.params(self.config.profile),
            trial=planned.trial, placement=self.placement, runtime=self.runtime, work_dir=work_dir, port=free_port(),
            server_env=self.config.server_env, protection=self.protection, database=db,
            generator_ceiling_rps=self.ceiling_rps,
            load_generator=self.load_generator,
            progress=lambda step: progress(f"{label} · {step}", order, total) if progress else None,
        )  # fmt: skip

    def _probe(self, ctx: TrialContext) -> list[Metric]:
        """The cores' own speed just before a trial, nothing of the benchmark running (harness.machine.speed_probe)."""
        probed = self._probed_cpus()
        probes, wakeup_us = role_probes(probed), role_wakeup_us(probed)
        figures = [ctx.metric(f"{role}{PROBE_SUFFIX}", round(ms, 3), "ms") for role, ms in probes.items()]
        if wakeup_us is not None:
            figures.append(ctx.metric(WAKEUP_METRIC, round(wakeup_us, 1), "us"))
        return figures

    def _run_trial(self, planned: PlannedTrial, order: int, progress: Progress | None,
                   db: database.Database | None = None, attempt: int = 1) -> TrialOutcome:
        scenario, target, total = planned.scenario, planned.target, len(self.plan)
        label = f"{scenario.name} · {target.name} · trial {planned.trial}" + (f" · re-run {attempt - 1}"
                                                                              if attempt > 1 else "")
        suffix = f"-attempt{attempt}" if attempt > 1 else ""
        work_dir = self.directory / "logs" / f"{order:03d}-{scenario.name}-{target.name}-{planned.trial}{suffix}"
        ctx = self._context(planned, order, label, progress, db, work_dir)
        if progress:
            progress(label, order, total)
        probes = self._probe(ctx)
        started_at, start = datetime.now(UTC).isoformat(), time.perf_counter()
        outcome: TrialOutcome = scenario.kind_module().run_trial(ctx)
        outcome.metrics += probes
        self.store.results.trials.append(TrialRecord(
            target=target.name, scenario=scenario.name, trial=planned.trial, order=order, started_at=started_at,
            wall_s=round(time.perf_counter() - start, 3), params=ctx.params.model_dump(mode="json"),
            server=outcome.server, flags=outcome.flags, errors=outcome.errors,
        ))  # fmt: skip
        self.store.results.metrics.extend(outcome.metrics)
        self.store.samples.extend(outcome.samples)
        self.store.histograms.extend(outcome.histograms)
        self.store.save()
        if self.on_trial is not None:
            self.on_trial(label, outcome)
        return outcome


def sliced_round(round_: list[tuple[int, PlannedTrial]], profile: str) -> bool:
    """Whether a round runs as paired slices: a load scenario whose profile sets them, and two targets."""
    params = round_[0][1].scenario.params(profile)
    return getattr(params, "slices", None) is not None and len(round_) == 2


def prepare_run(config: RunConfig, targets: list[Target] | None = None,
                scenarios: list[Scenario] | None = None) -> PreparedRun:
    """Resolve and check everything that can be checked before the first trial.

    targets and scenarios, when given, replace what config names (`bench ab`: each target twice, from
    two revisions' folders, and the scenarios with its number of rounds)."""
    if config.run_name is not None:
        check_run_name(config.run_name)
    swept = sweep_orphans()  # servers or Locust processes a killed run left: they would share the cores
    swept_folders = database_place.sweep_all()  # and their databases' folders, now that nothing runs there
    available = discover_targets(config.targets_dir)
    targets = targets or select_targets(available, config.targets)
    discovered = discover_scenarios(config.scenarios_dir)
    chosen = scenarios or select_scenarios(discovered, config.scenarios, config.profile)
    scenarios = check_config(config, chosen)
    if not scenarios:
        raise BenchError(f"no scenario of the {config.profile!r} profile can run with --workers {config.workers}")
    server_cpus, loadgen_cpus = split_cpus(config.server_cpus, config.loadgen_cpus)
    runtime = get_runtime(config.runtime)
    runtime.check_available(targets, RuntimeSettings.from_config(config))  # bad input: refused before the locks
    database.check_available(config, scenarios)  # PostgreSQL's binaries (or image), and a usable --db-dir
    directory = claim_run_folder(config.results_dir, config.run_name, config.profile)
    locks: Held | None = None
    try:
        locks = lock_cpus(pinned_cpus(config, server_cpus, loadgen_cpus))  # a second run on these CPUs: one line
        prepared = _prepare(config, targets, scenarios, chosen, available, server_cpus, loadgen_cpus, directory,
                            runtime, swept, swept_folders)
        if config.scenarios is None:  # the profile's every scenario: those it leaves out are said, with why
            prepared.store.results.config["skipped_scenarios"].update(
                {name: f"the {config.profile} profile leaves it out (--profile full runs it)"
                 for name, s in discovered.items() if config.profile not in s.profiles})
            prepared.store.save()
    except BaseException:
        if locks is not None:
            locks.release()
        with suppress(OSError):
            directory.rmdir()  # claimed, and nothing written yet
        raise
    prepared.locks = locks
    return prepared


def _prepare(config: RunConfig, targets: list[Target], scenarios: list[Scenario], chosen: list[Scenario],
             available: dict[str, Target], server_cpus: list[int], loadgen_cpus: list[int], directory: Path,
             runtime: Runtime, swept: list[str], swept_folders: list[Path]) -> PreparedRun:
    """prepare_run's part once the folder is claimed and the CPUs held."""
    run_name = directory.name
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
    plan = plan_trials(scenarios, targets, config.profile, config.order, random.Random(seed))
    placement = Placement(
        server_cpus=server_cpus, loadgen_cpus=loadgen_cpus, workers=config.workers,
        loadgen_workers=config.loadgen_workers, sample_hz=config.sample_hz, memory_limit_mb=config.memory_limit_mb,
        base_images=config.base_images, server_host=config.server_host, server_netns=config.server_netns,
    )  # fmt: skip
    results, environment = _new_results(config, run_name, runtime, targets, placement, seed, plan)
    external = external_workers(config)  # waits (bounded) for the workers to arrive
    results.environment = environment.add(topology=run_topology(config, external))
    store = ResultsStore(directory, results, samples=[])
    if swept:
        store.results.note(f"stopped {len(swept)} process(es) a killed harness left running: " + "; ".join(swept))
    if swept_folders:
        store.results.note(f"removed {len(swept_folders)} database folder(s) a killed harness left: "
                           + "; ".join(map(str, swept_folders)))
    store.results.config["skipped_scenarios"] = {
        s.name: "stateful: needs --workers 1 (one in-memory store per worker)" for s in chosen if s not in scenarios
    }
    store.save()
    ceilings = {"ceiling_target": available.get(ceiling.BASELINE_TARGET),
                "ceiling_s": ceiling.ceiling_seconds(config.profile, config.ceiling_s)}
    if external is None:
        return PreparedRun(config, store, plan, placement, runtime, environment=environment, **ceilings)
    return PreparedRun(config, store, plan, placement, runtime, environment=environment,
                       load_generator=external.load_generator,
                       external=external, **ceilings)


def run_benchmark(config: RunConfig, progress: Progress | None = None) -> Path:
    """Prepare and execute a run; return its directory."""
    return prepare_run(config).execute(progress)


def _new_results(config: RunConfig, run_name: str, runtime: Runtime, targets: list[Target], placement: Placement,
                 seed: int, plan: list[PlannedTrial]) -> tuple[RunResults, RunEnvironment]:
    described = runtime.describe_environment(targets, RuntimeSettings.from_config(config))
    environment = run_environment(capture_environment(Path.cwd(), targets), config.runtime, described)
    resolved = config.model_dump(mode="json")
    resolved.update({
        "server_cpus": placement.server_cpus, "loadgen_cpus": placement.loadgen_cpus, "seed": seed,
        "harness_cpus": placement.loadgen_cpus,
        "plan": [f"{p.scenario.name}:{p.target.name}:{p.trial}" for p in plan],
        "scenario_params": {p.scenario.name: p.scenario.params(config.profile).model_dump(mode="json")
                            for p in plan},
    })  # fmt: skip
    return RunResults(run_id=run_name, created_at=datetime.now(UTC).isoformat(), environment=environment.record(),
                      config=resolved), environment

