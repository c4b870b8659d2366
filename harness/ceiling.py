"""The load generator's measured ceiling: what this machine's Locust, with the harness's plugin, can offer.

At the start of a run with load scenarios, the harness's own users (closed, zero think time, the
throughput scenario's `GET /json` user: harness/loadgen/ceiling_users.py) run for a few seconds
against the baseline raw server `targets/node_raw` (node:http, far faster than either framework),
placed exactly as a target is: the server on the server's CPUs, Locust on the load generator's,
in the run's protection groups. The rate it reaches is the ceiling; harness.rate_sweep's headroom
guard and the `generator_bound` flag (harness.kinds.load) then keep any step that needs more than
70% of it out of a verdict.

The rule (`ceiling_from_steps`, pure): a step whose error rate is 1% or more is not used (the raw
server refused, so its rate says nothing of the generator); nor is a disturbed one (others took the
generator's or the server's CPUs: harness.machine.disturbance) while an undisturbed one exists. A disturbed
run is re-run, at most disturbance.MAX_RERUNS times, and every attempt's steps are kept. The ceiling
is the highest rate of the used steps: it is a capability, so the least hindered attempt tells it.
It is *generator-bound* when the load generator's CPU was at its saturation threshold
(flags.SATURATION_PCT of its cores) and *server-bound* when the raw server's CPU was there instead:
then the generator could offer more, the ceiling is a lower bound of it and the guard errs strict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

from harness.errors import BenchError
from harness.flags import SATURATION_PCT
from harness.kinds.base import LoadGeneratorFactory, Placement, TrialContext
from harness.loadgen.driver import LocustProcesses
from harness.machine.disturbance import FOREIGN_SUFFIX, disturbed_windows, run_until_undisturbed
from harness.metrics import RPS
from harness.results import Metric, Step
from harness.results.records import GeneratorCeilingRecord
from harness.runtime import Runtime
from harness.runtime.options import Protection
from harness.runtime.server import free_port
from harness.scenario import Scenario
from harness.targets import Target

BASELINE_TARGET = "node_raw"
USERS = 64  # the throughput scenario's quick count: enough in flight that the generator, not latency, limits
WARMUP_S = 1.0
MAX_ERROR_RATE = 0.01
# Seconds of measured window per profile (--ceiling-seconds overrides; 0: not measured). The test
# profile measures none by default: its runs check the pipeline, not the machine.
PROFILE_SECONDS = {"quick": 3.0, "full": 10.0, "ci": 3.0, "test": 0.0}
USERS_FILE = Path(__file__).with_name("loadgen") / "ceiling_users.py"
METHOD = (f"closed zero-think users (the throughput scenario's GET /json user, harness plugin loaded) against "
          f"{BASELINE_TARGET} (node:http) on the server's CPUs, Locust on the load generator's; "
          f"the highest step's responses per second with under {MAX_ERROR_RATE:.0%} errors")

LimitedBy = Literal["generator", "server", "neither"]


@dataclass(frozen=True)
class CeilingStep:
    """One step of the ceiling run, as measured."""

    users: int
    rps: float
    error_rate: float
    loadgen_cpu_pct: float | None  # summed over the Locust processes, % of one core
    server_cpu_pct: float | None
    disturbed: bool = False  # its window was disturbed (harness.machine.disturbance.is_disturbed, per role)
    foreign_cpu_pct: dict[str, float] = field(default_factory=dict)  # role -> % of its CPUs others took
    attempt: int = 1


@dataclass(frozen=True)
class Ceiling:
    rps: float
    step: CeilingStep
    limited_by: LimitedBy


def ceiling_from_steps(steps: Sequence[CeilingStep], loadgen_cores: int, server_cores: int) -> Ceiling | None:
    """The module docstring's rule; None when no step is usable (every one failed 1% or more)."""
    if loadgen_cores < 1 or server_cores < 1:
        raise ValueError("the ceiling needs the load generator's and the server's core counts (≥ 1)")
    used = [s for s in steps if s.error_rate < MAX_ERROR_RATE and math.isfinite(s.rps) and s.rps > 0]
    if not used:
        return None
    used = [s for s in used if not s.disturbed] or used
    best = max(used, key=lambda s: s.rps)
    return Ceiling(best.rps, best, limited_by(best, loadgen_cores, server_cores))


def limited_by(step: CeilingStep, loadgen_cores: int, server_cores: int) -> LimitedBy:
    """Which side was at its limit: the generator first (what the ceiling is meant to find)."""
    if step.loadgen_cpu_pct is not None and step.loadgen_cpu_pct >= SATURATION_PCT * loadgen_cores:
        return "generator"
    if step.server_cpu_pct is not None and step.server_cpu_pct >= SATURATION_PCT * server_cores:
        return "server"
    return "neither"


def ceiling_seconds(profile: str, requested_s: float | None) -> float:
    """The measured window's length: the flag's, else the profile's (an unknown profile: quick's)."""
    if requested_s is not None:
        return requested_s
    return PROFILE_SECONDS.get(profile, PROFILE_SECONDS["quick"])


def not_measured(reason: str, placement: Placement) -> GeneratorCeilingRecord:
    return GeneratorCeilingRecord(generator_ceiling_rps=None, reason=reason, method=METHOD, target=BASELINE_TARGET,
                                  server_cpus=placement.server_cpus, loadgen_cpus=placement.loadgen_cpus,
                                  loadgen_workers=placement.loadgen_workers)


def record(ceiling: Ceiling | None, steps: Sequence[CeilingStep], seconds: float, placement: Placement
           ) -> GeneratorCeilingRecord:
    """The ceiling as results.json keeps it (RunResults.generator_ceiling)."""
    base = not_measured("", placement)
    measured = [asdict(s) for s in steps]
    if ceiling is None:
        return base.model_copy(update={"reason": f"every step had {MAX_ERROR_RATE:.0%} errors or more",
                                       "duration_s": seconds, "steps": measured})
    return base.model_copy(update={
        "generator_ceiling_rps": round(ceiling.rps, 1), "limited_by": ceiling.limited_by, "duration_s": seconds,
        "warmup_s": WARMUP_S, "users": ceiling.step.users, "loadgen_cpu_pct": ceiling.step.loadgen_cpu_pct,
        "server_cpu_pct": ceiling.step.server_cpu_pct, "steps": measured, "disturbed": ceiling.step.disturbed,
        "foreign_cpu_pct": ceiling.step.foreign_cpu_pct,
    })  # fmt: skip


# ---- the thin runner: one load trial of the baseline target through harness.kinds.load ------------


def scenario() -> Scenario:
    return Scenario(name="generator_ceiling", path=USERS_FILE.resolve(), description=METHOD, kind="load",
                    profiles={})


def measure(target: Target, seconds: float, placement: Placement, runtime: Runtime, work_dir: Path,
            protection: Protection | None = None, load_generator: LoadGeneratorFactory = LocustProcesses
            ) -> GeneratorCeilingRecord:
    """Run the ceiling's load (bounded: warm-up + `seconds` + Locust's start and stop) and keep its figures.

    A failure to start the baseline or to measure is no reason to stop the run: it is recorded, and the
    run goes on without a ceiling (the caller warns)."""
    from harness.kinds import load

    params = load.Params(users=[USERS], warmup_s=WARMUP_S, duration_s=seconds, trials=1)
    ctx = TrialContext(target=target, scenario=scenario(), params=params, trial=1, placement=placement,
                       runtime=runtime, work_dir=work_dir, port=free_port(), protection=protection,
                       load_generator=load_generator, check_contract=_no_contract_check)  # fmt: skip
    steps: list[CeilingStep] = []

    def attempt(number: int) -> list[CeilingStep]:
        work = work_dir / f"attempt{number}"
        work.mkdir(parents=True, exist_ok=True)
        found = steps_from_metrics(load.run_trial(replace(ctx, work_dir=work, port=free_port())).metrics, number)
        steps.extend(found)
        return found

    try:
        run_until_undisturbed(attempt, lambda found: {f"users={s.users}": max(s.foreign_cpu_pct.values(), default=0.0)
                                                      for s in found if s.disturbed})
    except BenchError as exc:
        if not steps:
            return not_measured(f"the ceiling run failed: {exc}", placement)
    found = ceiling_from_steps(steps, len(placement.loadgen_cpus), len(placement.server_cpus))
    return record(found, steps, seconds, placement)


def _no_contract_check(*args: object, **kwargs: object) -> dict[str, object]:
    """The ceiling asks one path; a failing answer shows as its error rate, which the rule reads."""
    return {}


def steps_from_metrics(metrics: list[Metric], attempt: int = 1) -> list[CeilingStep]:
    """The ceiling run's aggregate figures per step (per-endpoint rows left out), each step judged
    disturbed as a trial's window is (harness.machine.disturbance.disturbed_windows)."""
    by_step: dict[Step, dict[str, float]] = {}
    for m in metrics:
        step = Step(m.step)
        if step.users is not None and not step.is_endpoint:
            by_step.setdefault(step, {})[m.metric] = m.value
    disturbed = {window.partition(" ")[2] for window in disturbed_windows(metrics)}
    return [CeilingStep(users=int(step.users or 0), rps=f.get(RPS, 0.0),
                        error_rate=f.get("error_rate", 1.0), loadgen_cpu_pct=f.get("loadgen_cpu_pct"),
                        server_cpu_pct=f.get("server_cpu_pct"), disturbed=step in disturbed, attempt=attempt,
                        foreign_cpu_pct={name.removesuffix(FOREIGN_SUFFIX): value for name, value in f.items()
                                         if name.endswith(FOREIGN_SUFFIX)})
            for step, f in by_step.items()]  # fmt: skip

