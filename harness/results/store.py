"""A run directory on disk: written atomically after every trial, read back through the format's upgrades.

Loading follows asv's habit: a file of an older format version goes through UPGRADES, one step per
version, until it is at SCHEMA_VERSION; a newer one is refused with one line (update the harness),
never half-read. A side file is read only at a version this harness knows (FILE_VERSIONS).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.errors import BenchError
from harness.results.records import (
    FILE_VERSIONS,
    METRIC_COLUMNS,
    SAMPLE_COLUMNS,
    SCHEMA_VERSION,
    HistogramRecord,
    RunResults,
    Sample,
)

# A run's folder name: one path component, so a name can never reach outside the results folder.
RUN_NAME = re.compile(r"[A-Za-z0-9._-]+")
Upgrade = Callable[[dict[str, Any]], dict[str, Any]]
# version N -> the step turning a results.json dict of version N into version N + 1. Empty while
# there is only version 1; the first format change adds {1: _v1_to_v2} with its CHANGELOG entry.
UPGRADES: dict[int, Upgrade] = {}


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
        self.results.file_versions = dict(FILE_VERSIONS)  # what the side files below are written as
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
    data = upgrade(data, path)
    try:
        return RunResults.model_validate(data)
    except ValidationError as exc:
        raise BenchError(f"{path} is not a valid results file: {first_error(exc)}") from None


def upgrade(data: dict[str, Any], path: Path, current: int | None = None,
            upgrades: dict[int, Upgrade] | None = None) -> dict[str, Any]:
    """A results.json dict brought to format `current` (default SCHEMA_VERSION) through `upgrades`
    (default UPGRADES), one version at a time; BenchError for a newer or unknown version, or a
    missing upgrade step."""
    current = SCHEMA_VERSION if current is None else current
    steps = UPGRADES if upgrades is None else upgrades
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BenchError(f"{path} has results format {version!r}; this harness reads formats 1 to {current}")
    if version > current:
        raise BenchError(f"{path} has results format {version}, newer than this harness reads ({current}): "
                         "update the harness to read it")
    data = {"file_versions": {}, **data}  # written before side files were versioned: each is at 1
    while version < current:
        if version not in steps:
            raise BenchError(f"{path} has results format {version}; this harness has no upgrade from it "
                             f"(it reads format {current})")
        data = {**steps[version](data), "schema_version": version + 1}
        version += 1
    return data


def check_file_version(results: RunResults, path: Path) -> None:
    """Refuse a side file written at a version this harness does not know (a newer harness's)."""
    version, known = results.file_version(path.name), FILE_VERSIONS.get(path.name, 1)
    if version > known:
        raise BenchError(f"{path} has format {version}, newer than this harness reads ({known}): "
                         "update the harness to read it")


def first_error(exc: ValidationError) -> str:
    """'metrics.0.value: Input should be a valid number (got 'fast')', and how many more there are."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']} (got {first.get('input')!r:.60}){more}"


def load_histograms(run_dir: Path, results: RunResults | None = None) -> list[HistogramRecord]:
    """The stored latency histograms of a run ([] for a run without them)."""
    path = run_dir / "histograms.jsonl"
    if not path.exists():
        return []
    if results is not None:
        check_file_version(results, path)
    try:
        return [HistogramRecord.model_validate_json(line) for line in path.read_text().splitlines() if line]
    except ValidationError as exc:
        raise BenchError(f"{path} is not a valid histograms file: {first_error(exc)}") from None
    except OSError as exc:
        raise BenchError(f"cannot read {path}: {exc.strerror}") from None
