"""The results format: typed records of one run, as results.json and its side files hold them.

Format history of results.json (SCHEMA_VERSION; bump it on any incompatible change, and add to
harness.results.store.UPGRADES the step that turns a file of the previous version into the new one,
so every older version keeps loading; a newer version is refused with one line):
  1 (2026-11-27): first format: environment, config, trials, metrics, summaries, warnings.
    Later within 1 (new rows or fields only, so no bump; older files simply lack them):
    - a metric M may have a companion metric M_censored per trial, unit "bool": 1 means M's true
      value lies above the stored value, which is then only a lower bound (the top step of a sweep
      that never reached the limit, e.g. slo_crossing_users); 0 means M was measured. harness.claims
      reads it; a summary of M treats the bound as a value, so read M's median with M_censored's beside it.
    - `file_versions` (2026-11-30): the format version of each side file below, by file name. A file
      the field does not name (every run written before it) is at version 1.
    - (2026-11-29) TrialRecord `discarded_attempts`: earlier attempts of the trial's round thrown away
      as disturbed (attempt, reason, foreign CPU per "<target> <role> <step>"); every trial of a re-run
      round carries the same list, and the discarded attempts' figures are not in the run. Summary
      `ci_coverage`: the real coverage of its order-statistic CI (before it, the CI was a percentile
      bootstrap labelled 95%). Metrics `<role>_cpu_wait_pct` per step: the role's threads' run-queue
      wait as a percent of the window, beside `<role>_foreign_cpu_pct`. From 2026-11-29 (later) the wait
      is of each process's main thread only (Node's helper threads inflated Express's). From 2026-11-29
      (latest) also `<role>_unexplained_wait_pct`: that wait less the CPU time the benchmark's other
      threads and processes on the role's CPUs used (the part only others can have caused); the
      disturbed flag is judged on it where recorded.
    - (2026-11-29) RunResults `generator_ceiling` (GeneratorCeilingRecord): the load generator's ceiling
      measured at the run's start (harness.ceiling), or why it was not; None in runs written before it.
      Trial flag `generator_bound:<step>`: the step needed over 70% of that ceiling.
    - (2026-12-06) RunResults `run_notes`: the warnings the run raised itself while measuring (no
      load generator ceiling, orphans swept, processes left unprotected, re-runs suspended), kept
      apart because `warnings` is rebuilt from the figures at the end (harness.summarize), which put
      them after the derived ones. Before it, a warning raised before that rebuild was lost.

Files in a run directory, each rewritten atomically after every trial so an interrupted run
keeps everything it measured. The side files carry no version line of their own (a comment line
would trip pandas.read_csv); results.json's `file_versions` names theirs (FILE_VERSIONS):
  results.json  everything below plus environment and the resolved configuration
  metrics.csv   tidy: target, scenario, trial, step, metric, value, unit (one row per figure)
  samples.csv   the samplers' time series: target, scenario, trial, step, role, t_s, ...
  histograms.jsonl  each load step's latency histogram (HDR, µs, base64 as HdrHistogram.encode()
                gives it), one JSON object a line: target, scenario, trial, step, endpoint, hdr
Side-file history: each at 1 since 2026-11-27 (metrics.csv and samples.csv with the columns below;
histograms.jsonl with HistogramRecord's fields).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1
FILE_VERSIONS = {"metrics.csv": 1, "samples.csv": 1, "histograms.jsonl": 1}  # bump one with its history above
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


class HistogramRecord(BaseModel):
    target: str
    scenario: str
    trial: int
    step: str
    endpoint: str  # a request name, or "Aggregated"
    hdr: str  # HdrHistogram.encode(), microseconds


class DiscardedAttemptRecord(BaseModel):
    """An attempt of a trial's round thrown away because a window was disturbed (harness.disturbance)."""

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
    disturbed: bool = False  # every attempt was disturbed (harness.disturbance): the ceiling is low, the guard strict
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
    run_notes: list[str] = Field(default_factory=list)  # warnings the run raised while measuring (see above)
    generator_ceiling: GeneratorCeilingRecord | None = None  # measured at the start (None: older runs)
    file_versions: dict[str, int] = Field(default_factory=lambda: dict(FILE_VERSIONS))

    def note(self, warning: str) -> None:
        """A warning the run raises itself: shown at once, and kept when the warnings are rebuilt."""
        self.run_notes.append(warning)
        self.warnings.append(warning)

    def file_version(self, name: str) -> int:
        """The format version of a side file of this run: 1 for a run written before versions were named."""
        return self.file_versions.get(name, 1)
