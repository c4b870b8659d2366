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
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

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
    SampleRow,
)

# A run's folder name: one path component, so a name can never reach outside the results folder.
RUN_NAME = re.compile(r"[A-Za-z0-9._-]+")
ROWS_PER_WRITE = 4096  # samples turned into CSV text at a time: a long trial's rows never all at once
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
    """`path` replaced whole by `text`, or left as it was (see `atomic_writer`)."""
    with atomic_writer(path) as out:
        out.write(text)


@contextmanager
def atomic_writer(path: Path) -> Iterator[IO[str]]:
    """A text file that replaces `path` when the block ends without an error, and never otherwise.

    It is written under a new random name in the same folder, created with O_EXCL and O_NOFOLLOW, so
    two writers never share it and nothing planted there (a symlink to another file) is followed or
    overwritten; os.replace then swaps it in, replacing a symlink at `path` itself, not its target.
    """
    fd, tmp = _new_file_beside(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _new_file_beside(path: Path) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(16):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp  # the umask applies, as for any file the run writes
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def append_text(path: Path, text: str) -> None:
    """`text` at the end of `path` (which exists), never through a symlink planted in its place."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        data = memoryview(text.encode())
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


def _csv_text(columns: list[str], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    return buffer.getvalue()


def _row(sample: Sample | SampleRow) -> dict[str, Any]:
    return sample._asdict() if isinstance(sample, SampleRow) else sample.model_dump()


@dataclass
class ResultsStore:
    """A run directory.

    `save()` rewrites results.json and metrics.csv atomically from the in-memory results (their size
    follows the run's configuration: trials and steps) and appends `samples` and `histograms`, the rows
    added since the last save, to samples.csv and histograms.jsonl, then lets them go: those files grow
    with the run's length, and rewriting them whole at every save cost O(n^2) over a run and kept every
    row in memory. `discard` takes a trial's rows out of them again.
    """

    directory: Path
    results: RunResults
    samples: list[Sample | SampleRow]  # not yet on disk: the next save appends them
    histograms: list[HistogramRecord] = field(default_factory=list)  # likewise
    _side_files_started: bool = field(default=False, init=False, repr=False)

    def save(self) -> None:
        try:
            self._write_all()
        except OSError as exc:  # a results folder under a file, read-only, full disk: one line
            raise BenchError(f"cannot write the results into {self.directory}: {exc.strerror or exc}") from None

    def _write_all(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.results.file_versions = dict(FILE_VERSIONS)  # what the side files below are written as
        self._append_side_files()  # first: a trial's rows are on disk before results.json lists it
        atomic_write_text(self.directory / "results.json", self.results.model_dump_json(indent=1))
        metric_rows = [m.model_dump() for m in self.results.metrics]
        atomic_write_text(self.directory / "metrics.csv", _csv_text(METRIC_COLUMNS, metric_rows))

    def _append_side_files(self) -> None:
        if not self._side_files_started:  # this store's first save: the files begin (an older one is replaced)
            atomic_write_text(self.directory / "samples.csv", _csv_text(SAMPLE_COLUMNS, []))
            atomic_write_text(self.directory / "histograms.jsonl", "")
            self._side_files_started = True
        for start in range(0, len(self.samples), ROWS_PER_WRITE):
            rows = [_row(s) for s in self.samples[start:start + ROWS_PER_WRITE]]
            append_text(self.directory / "samples.csv", _csv_text(SAMPLE_COLUMNS, rows).partition("\n")[2])
        append_text(self.directory / "histograms.jsonl", "".join(h.model_dump_json() + "\n" for h in self.histograms))
        self.samples.clear()
        self.histograms.clear()

    def discard(self, trials: set[tuple[str, str, int]]) -> None:
        """Take the samples and histograms of `trials` ((scenario, target, trial) each) out of the store:
        those not yet saved, and those on disk (each file rewritten once, row by row)."""
        self.samples[:] = [s for s in self.samples if (s.scenario, s.target, s.trial) not in trials]
        self.histograms[:] = [h for h in self.histograms if (h.scenario, h.target, h.trial) not in trials]
        if not self._side_files_started:
            return
        wanted = {(scenario, target, str(trial)) for scenario, target, trial in trials}
        try:
            with (self.directory / "samples.csv").open(newline="", encoding="utf-8") as rows, \
                    atomic_writer(self.directory / "samples.csv") as out:
                reader, writer = csv.reader(rows), csv.writer(out, lineterminator="\n")
                header = next(reader)
                at = [header.index(column) for column in ("scenario", "target", "trial")]
                writer.writerow(header)
                writer.writerows(row for row in reader if tuple(row[i] for i in at) not in wanted)
            with (self.directory / "histograms.jsonl").open(encoding="utf-8") as lines, \
                    atomic_writer(self.directory / "histograms.jsonl") as out:
                for line in lines:
                    record = json.loads(line)
                    if (record["scenario"], record["target"], str(record["trial"])) not in wanted:
                        out.write(line)
        except OSError as exc:
            raise BenchError(f"cannot write the results into {self.directory}: {exc.strerror or exc}") from None


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
