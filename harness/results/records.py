"""The results format: typed records of one run, as results.json and its side files hold them.

The format as it is now: docs/formats.md; its history: CHANGELOG.md ("Results formats"). Bump
SCHEMA_VERSION on an incompatible change, with an upgrade step in harness.results.store.UPGRADES.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1
FILE_VERSIONS = {"metrics.csv": 1, "samples.csv": 1, "histograms.jsonl": 1}  # bump one with a CHANGELOG entry
METRIC_COLUMNS = ["target", "scenario", "trial", "step", "metric", "value", "unit"]
SAMPLE_COLUMNS = ["target", "scenario", "trial", "step", "role", "t_s", "cpu_pct", "rss_mb", "uss_mb", "pss_mb"]


class Metric(BaseModel):
    target: str
    scenario: str
    trial: int
    step: str = ""  # "" for a whole trial; "users=64" or "ms=20,users=32" for one step of it
    metric: str
    value: float
    unit: str


class Sample(BaseModel):
    target: str
    scenario: str
    trial: int
    step: str
    role: str  # "server" or "loadgen"
    t_s: float  # seconds since the step's measured window began (negative: warm-up)
    cpu_pct: float  # percent of one core, summed over the role's processes
    rss_mb: float
    uss_mb: float | None = None
    pss_mb: float | None = None


class SampleRow(NamedTuple):
    """A row of samples.csv as a trial makes it: Sample's fields in a tuple, a fifth of its memory (a
    20-minute trial at 10 Hz makes 12,000 a role). Sample validates what is read back."""

    target: str
    scenario: str
    trial: int
    step: str
    role: str
    t_s: float
    cpu_pct: float
    rss_mb: float
    uss_mb: float | None = None
    pss_mb: float | None = None


class HistogramRecord(BaseModel):
    target: str
    scenario: str
    trial: int
    step: str
    endpoint: str  # a request name, or "Aggregated"
    hdr: str  # HdrHistogram.encode(), microseconds


class DiscardedAttemptRecord(BaseModel):
    """An attempt of a trial's round thrown away because a window was disturbed (harness.machine.disturbance)."""

    attempt: int  # 1-based
    reason: str  # e.g. "foreign CPU above 10%: beta server users=64 43.1%"
    foreign_cpu_pct: dict[str, float] = Field(default_factory=dict)  # "<target> <role> <step>" -> %


class TrialRecord(BaseModel):
    target: str
    scenario: str
    trial: int
    order: int  # position in the run's interleaved sequence, to spot drift over time
    started_at: str
    wall_s: float
    params: dict[str, Any] = Field(default_factory=dict)
    server: dict[str, Any] = Field(default_factory=dict)
    flags: list[str] = Field(default_factory=list)  # e.g. "loadgen_saturated:users=64"
    errors: dict[str, int] = Field(default_factory=dict)
    # earlier attempts of this trial's round (every target's trial i), discarded as disturbed; the kept
    # attempt is this record. Empty in runs written before re-runs were recorded.
    discarded_attempts: list[DiscardedAttemptRecord] = Field(default_factory=list)
    # One slice of a sliced trial (harness.kinds.sliced), whose `trial` is then its pair's number: the look
    # (trial) it ran in, its position in the pair (0, 1), start_s/end_s (time.time()), slice_s, settle_s.
    pairing: dict[str, Any] | None = None


class Summary(BaseModel):
    """One metric of one target × scenario × step across its trials."""

    target: str
    scenario: str
    step: str
    metric: str
    unit: str
    n: int
    median: float
    ci_low: float | None  # order-statistic CI of the median (stats.estimate); None with fewer than 3 trials
    ci_high: float | None
    cv: float | None  # coefficient of variation across trials
    flags: list[str] = Field(default_factory=list)
    # the CI's real coverage (0.75 for 3 trials, 0.9375 for 5); None without a CI, or in a run written
    # before it was recorded (whose CI was a percentile bootstrap labelled 95%)
    ci_coverage: float | None = None


class GeneratorCeilingRecord(BaseModel):
    """What this machine's load generator offered against a raw server at the run's start (harness.ceiling)."""

    generator_ceiling_rps: float | None  # None: not measured, `reason` says why
    reason: str = ""
    method: str = ""
    target: str = ""  # the baseline server it ran against
    limited_by: str = ""  # "generator" (a true ceiling), "server" (a lower bound of it) or "neither"
    users: int | None = None
    warmup_s: float | None = None
    duration_s: float | None = None  # the measured window
    server_cpus: list[int] = Field(default_factory=list)
    loadgen_cpus: list[int] = Field(default_factory=list)
    loadgen_workers: int | None = None
    loadgen_cpu_pct: float | None = None  # the Locust processes' CPU, % of one core, at the ceiling's step
    server_cpu_pct: float | None = None
    disturbed: bool = False  # every attempt disturbed (harness.machine.disturbance): the ceiling is low, guard strict
    foreign_cpu_pct: dict[str, float] = Field(default_factory=dict)  # role -> % of its CPUs others took
    steps: list[dict[str, Any]] = Field(default_factory=list)  # every step of every attempt: rps, errors, CPU


class RunResults(BaseModel):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    created_at: str
    complete: bool = False  # False while running, or if the run was interrupted
    environment: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    trials: list[TrialRecord] = Field(default_factory=list)
    metrics: list[Metric] = Field(default_factory=list)
    summaries: list[Summary] = Field(default_factory=list)
    checks: dict[str, Any] = Field(default_factory=dict)  # behaviour checks made during the run (F1, F2)
    warnings: list[str] = Field(default_factory=list)  # the derived warnings (harness.summarize), then run_notes
    run_notes: list[str] = Field(default_factory=list)  # warnings the run raised itself while measuring
    generator_ceiling: GeneratorCeilingRecord | None = None  # measured at the start (None: older runs)
    file_versions: dict[str, int] = Field(default_factory=lambda: dict(FILE_VERSIONS))

    def note(self, warning: str) -> None:
        """A warning the run raises itself: shown at once, and kept when the warnings are rebuilt."""
        self.run_notes.append(warning)
        self.warnings.append(warning)

    def file_version(self, name: str) -> int:
        """The format version of a side file of this run: 1 for a run written before versions were named."""
        return self.file_versions.get(name, 1)
