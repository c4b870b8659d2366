"""What every scenario kind receives for one trial, and what it gives back.

The trial's collaborators are fields with the real ones as defaults: the runtime that starts
servers, the load generator, the contract check. A test passes fakes there; nothing is patched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.contract_check import check_contract
from harness.loadgen.driver import LoadResult, LoadSpec, LocustProcesses
from harness.results import HistogramRecord, Metric, SampleRow
from harness.runtime import Runtime
from harness.runtime.options import LaunchOptions, Protection
from harness.scenario import Scenario
from harness.targets import Target


class LoadGenerator(Protocol):
    """One run of load over a spec's steps (harness.loadgen.driver.LocustProcesses)."""

    def pids(self) -> list[int]:
        """Its processes, for the load generator's sampler."""
        ...

    def prestart(self) -> None:
        """Start ahead, while the server starts, held until `run` (or do nothing ahead)."""
        ...

    def run(self) -> list[LoadResult]:
        """Run every step; one merged result per step."""
        ...

    def stop(self) -> None:
        """Stop whatever runs (after `run`, or a `prestart` never run)."""
        ...


LoadGeneratorFactory = Callable[[LoadSpec, Path], LoadGenerator]  # (spec, output directory)
ContractCheck = Callable[..., dict[str, Any]]  # check_contract(name, host, port, single_store=...)


@dataclass(frozen=True)
class Placement:
    """Where processes run; the same for every target in a run (worker parity)."""

    server_cpus: list[int]
    loadgen_cpus: list[int]
    workers: int
    loadgen_workers: int
    sample_hz: float
    memory_limit_mb: int | None = None
    base_images: dict[str, str] = field(default_factory=dict)  # docker: target name -> base image
    server_host: str = "127.0.0.1"  # where the server listens and the load goes
    server_netns: str | None = None  # native: the server's network namespace (the server's "host")

    def launch_options(self, target: Target, port: int, log_path: Path, extra_env: dict[str, str] | None = None,
                       protection: Protection | None = None, workers: int | None = None) -> LaunchOptions:
        """One server of `target` placed as this run places servers (`workers` overrides the run's)."""
        return LaunchOptions(
            port=port, log_path=log_path, workers=self.workers if workers is None else workers,
            cpus=self.server_cpus, extra_env=dict(extra_env or {}), memory_limit_mb=self.memory_limit_mb,
            base_image=self.base_images.get(target.name), protection=protection, host=self.server_host,
            netns=self.server_netns,
        )  # fmt: skip


@dataclass
class TrialContext:
    target: Target
    scenario: Scenario
    params: Any  # the kind's Params model
    trial: int
    placement: Placement
    runtime: Runtime
    work_dir: Path  # logs and Locust output of this trial
    port: int
    server_env: dict[str, str] = field(default_factory=dict)
    progress: Callable[[str], None] = lambda message: None
    protection: Protection | None = None  # the run's CPU protection, which its servers join
    load_generator: LoadGeneratorFactory = LocustProcesses
    check_contract: ContractCheck = check_contract
    database: Any = None  # harness.database.Database when the run started one
    generator_ceiling_rps: float | None = None  # measured at the run's start (harness.ceiling); None: not measured

    def launch_options(self) -> LaunchOptions:
        return self.placement.launch_options(self.target, self.port, self.work_dir / "server.log", self.server_env,
                                             self.protection)

    def metric(self, metric: str, value: float, unit: str, step: str = "") -> Metric:
        return Metric(
            target=self.target.name, scenario=self.scenario.name, trial=self.trial, step=step,
            metric=metric, value=value, unit=unit,
        )  # fmt: skip


@dataclass
class TrialOutcome:
    metrics: list[Metric] = field(default_factory=list)
    samples: list[SampleRow] = field(default_factory=list)
    histograms: list[HistogramRecord] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    server: dict[str, Any] = field(default_factory=dict)
