"""What every scenario kind receives for one trial, and what it gives back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.results import HistogramRecord, Metric, Sample
from harness.runtime.options import LaunchOptions
from harness.scenario import Scenario
from harness.targets import Target


@dataclass(frozen=True)
class Placement:
    """Where processes run; the same for every target in a run (worker parity)."""

    runtime: str
    server_cpus: list[int]
    loadgen_cpus: list[int]
    workers: int
    loadgen_workers: int
    sample_hz: float
    memory_limit_mb: int | None = None
    base_images: dict[str, str] = field(default_factory=dict)  # docker: target name -> base image


@dataclass
class TrialContext:
    target: Target
    scenario: Scenario
    params: Any  # the kind's Params model
    trial: int
    placement: Placement
    work_dir: Path  # logs and Locust output of this trial
    port: int
    server_env: dict[str, str] = field(default_factory=dict)
    progress: Callable[[str], None] = lambda message: None
    database: Any = None  # harness.database.Database when the run started one

    def launch_options(self) -> LaunchOptions:
        return LaunchOptions(
            port=self.port,
            workers=self.placement.workers,
            cpus=self.placement.server_cpus,
            log_path=self.work_dir / "server.log",
            extra_env=self.server_env,
            memory_limit_mb=self.placement.memory_limit_mb,
            base_image=self.placement.base_images.get(self.target.name),
        )

    def metric(self, metric: str, value: float, unit: str, step: str = "") -> Metric:
        return Metric(
            target=self.target.name, scenario=self.scenario.name, trial=self.trial, step=step,
            metric=metric, value=value, unit=unit,
        )  # fmt: skip


@dataclass
class TrialOutcome:
    metrics: list[Metric] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    histograms: list[HistogramRecord] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    server: dict[str, Any] = field(default_factory=dict)
