"""The results format: typed records, one versioned JSON file, and tidy CSV tables.

Format history (bump SCHEMA_VERSION on any incompatible change; keep loading old versions):
  1 (2026-11-27): first format: environment, config, trials, metrics, summaries, warnings.
    Later within 1 (new rows only, so no bump; older files simply lack them): a metric M may have a
    companion metric M_censored per trial, unit "bool": 1 means M's true value lies above the stored
    value, which is then only a lower bound (the top step of a sweep that never reached the limit,
    e.g. slo_crossing_users); 0 means M was measured. harness.claims reads it; a summary of M treats
    the bound as a value, so read M's median with M_censored's beside it.

Files in a run directory, each rewritten atomically after every trial so an interrupted run
keeps everything it measured:
  results.json  everything below plus environment and the resolved configuration
  metrics.csv   tidy: target, scenario, trial, step, metric, value, unit (one row per figure)
  samples.csv   the samplers' time series: target, scenario, trial, step, role, t_s, ...
  histograms.jsonl  each load step's latency histogram (HDR, µs, base64 as HdrHistogram.encode()
                gives it), one JSON object a line: target, scenario, trial, step, endpoint, hdr
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from harness.errors import BenchError

SCHEMA_VERSION = 1
METRIC_COLUMNS = ["target", "scenario", "trial", "step", "metric", "value", "unit"]
# A run's folder name: one path component, so a name can never reach outside the results folder.
RUN_NAME = re.compile(r"[A-Za-z0-9._-]+")
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


class Summary(BaseModel):
    """One metric of one target × scenario × step across its trials."""

    target: str
    scenario: str
    step: str
    metric: str
    unit: str
    n: int
    median: float
    ci_low: float | None  # bootstrap 95% CI of the median; None with fewer than 3 trials
    ci_high: float | None
    cv: float | None  # coefficient of variation across trials
    flags: list[str] = Field(default_factory=list)


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
    warnings: list[str] = Field(default_factory=list)


def check_run_name(name: str) -> str:
    """The name itself, if it is a plain folder name; BenchError otherwise."""
    if not RUN_NAME.fullmatch(name) or name in (".", ".."):
        raise BenchError(f"bad run name {name!r}: expected a plain name of letters, digits, '.', '_' and '-' "
                         "(it names a folder inside the results folder)")
    return name


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _csv_text(columns: list[str], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    return buffer.getvalue()


@dataclass
class ResultsStore:
    """A run directory; `save()` rewrites every file atomically from the in-memory results."""

    directory: Path
    results: RunResults
    samples: list[Sample]
    histograms: list[HistogramRecord] = field(default_factory=list)

    def save(self) -> None:
        try:
            self._write_all()
        except OSError as exc:  # a results folder under a file, read-only, full disk: one line
            raise BenchError(f"cannot write the results into {self.directory}: {exc.strerror or exc}") from None

    def _write_all(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.directory / "results.json", self.results.model_dump_json(indent=1))
        metric_rows = [m.model_dump() for m in self.results.metrics]
        atomic_write_text(self.directory / "metrics.csv", _csv_text(METRIC_COLUMNS, metric_rows))
        sample_rows = [s.model_dump() for s in self.samples]
        atomic_write_text(self.directory / "samples.csv", _csv_text(SAMPLE_COLUMNS, sample_rows))
        lines = "".join(h.model_dump_json() + "\n" for h in self.histograms)
        atomic_write_text(self.directory / "histograms.jsonl", lines)


def load_results(run_dir: Path) -> RunResults:
    """Read a stored run; refuse a missing run, a format this version cannot read, or bad contents."""
    path = run_dir / "results.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise BenchError(f"no results.json in {run_dir}: is it a run directory?") from None
    except OSError as exc:
        raise BenchError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise BenchError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BenchError(f"{path} is not a results file: it holds a JSON {type(data).__name__}, not an object")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise BenchError(f"{path} has results format {version}; this harness reads format {SCHEMA_VERSION}")
    try:
        return RunResults.model_validate(data)
    except ValidationError as exc:
        raise BenchError(f"{path} is not a valid results file: {first_error(exc)}") from None


def first_error(exc: ValidationError) -> str:
    """'metrics.0.value: Input should be a valid number (got 'fast')', and how many more there are."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']} (got {first.get('input')!r:.60}){more}"


def step_params(step: str) -> dict[str, float | str]:
    """'ms=20,users=32' -> {'ms': 20.0, 'users': 32.0}; '' -> {}; non-numbers stay strings."""
    if not step:
        return {}
    return {key: _number_or_text(value) for key, value in (part.split("=", 1) for part in step.split(","))}


def _number_or_text(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def step_label(params: dict[str, Any]) -> str:
    return ",".join(f"{key}={params[key]}" for key in sorted(params))


def load_histograms(run_dir: Path) -> list[HistogramRecord]:
    """The stored latency histograms of a run ([] for a run without them)."""
    path = run_dir / "histograms.jsonl"
    if not path.exists():
        return []
    try:
        return [HistogramRecord.model_validate_json(line) for line in path.read_text().splitlines() if line]
    except ValidationError as exc:
        raise BenchError(f"{path} is not a valid histograms file: {first_error(exc)}") from None
    except OSError as exc:
        raise BenchError(f"cannot read {path}: {exc.strerror}") from None
