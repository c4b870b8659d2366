"""The index of stored runs for `bench history`: one SQLite file, rebuilt from the run folders.

The run folders stay the source of truth. The index keeps what a trend needs from each run's
results.json (its id, date, profile, commit and machine; every figure's trials, per-endpoint rows and
censoring markers left out) so that a history of many runs does not parse every results.json each
time. `refresh` compares each folder's results.json (size and modification time) with what the index
holds: a new or changed run is read again, a run whose folder went away is dropped, an unreadable one
is left out with a note. Deleting the file costs one full read, nothing else. Where the results folder
cannot be written (an unpacked artifact, a read-only mount) the index lives in memory for the call.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.results import RunResults, load_results
from harness.results.keys import CENSORED_SUFFIX, FigureKey, Step

INDEX_FILENAME = "index.sqlite"
INDEX_VERSION = 2  # a file of another version is emptied and rebuilt
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    folder TEXT PRIMARY KEY, run_id TEXT NOT NULL, created_at TEXT NOT NULL, profile TEXT,
    git_commit TEXT, git_dirty INTEGER, machine TEXT NOT NULL, complete INTEGER NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    folder TEXT NOT NULL REFERENCES runs(folder) ON DELETE CASCADE, target TEXT NOT NULL, scenario TEXT NOT NULL,
    step TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT NOT NULL, trial INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (folder, target, scenario, step, metric, trial));
CREATE TABLE IF NOT EXISTS judged (
    signature TEXT PRIMARY KEY, folder TEXT NOT NULL REFERENCES runs(folder) ON DELETE CASCADE, rows TEXT NOT NULL);
"""


@dataclass(frozen=True)
class IndexedRun:
    folder: str  # the run folder's name inside the results folder
    run_id: str
    created_at: str
    profile: str | None
    git_commit: str | None
    git_dirty: bool | None
    machine: str  # "host: CPU model, N CPUs, runtime"


def machine_label(environment: dict[str, Any]) -> str:
    """Where a run was measured, in one line: host name, CPU model, logical CPUs, runtime."""
    host = environment.get("hostname") or "?"
    cpus = environment.get("cpu_count_logical")
    parts = [str(environment.get("cpu_model") or "unknown CPU"), f"{cpus} CPUs" if cpus else None,
             environment.get("runtime")]
    return f"{host}: {', '.join(str(p) for p in parts if p)}"


class RunIndex:
    """An open index; `refresh(results_dir)` brings it in line with the folders, then it answers queries."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.db = connection
        self.db.execute("PRAGMA foreign_keys = ON")
        version = self._version()
        if version is not None and version != str(INDEX_VERSION):
            self.db.executescript("".join(f"DROP TABLE IF EXISTS {t};" for t in ("judged", "trials", "runs", "meta")))
        self.db.executescript(SCHEMA)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('index_version', ?)", (str(INDEX_VERSION),))
        self.db.commit()

    def _version(self) -> str | None:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'index_version'").fetchone()
        except sqlite3.DatabaseError:
            return None if not self._has_tables() else "unknown"
        return row[0] if row else "unknown"

    def _has_tables(self) -> bool:
        return bool(self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'").fetchone())

    # ---- keeping it in line with the folders ------------------------------------------------------------

    def refresh(self, results_dir: Path) -> list[str]:
        """Index new and changed runs, drop vanished ones; a note for each folder left out, with why."""
        if not results_dir.is_dir():
            raise BenchError(f"no results folder at {results_dir}")
        on_disk = {p.name: p / "results.json" for p in sorted(results_dir.iterdir()) if (p / "results.json").is_file()}
        known = {row[0]: (row[1], row[2]) for row in self.db.execute("SELECT folder, size, mtime_ns FROM runs")}
        skipped = []
        with self.db:
            for gone in set(known) - set(on_disk):
                self.db.execute("DELETE FROM runs WHERE folder = ?", (gone,))
            for folder, path in on_disk.items():
                stat = path.stat()
                if known.get(folder) == (stat.st_size, stat.st_mtime_ns):
                    continue
                self.db.execute("DELETE FROM runs WHERE folder = ?", (folder,))
                try:
                    results = load_results(path.parent)
                except BenchError as exc:
                    skipped.append(f"{folder}: {exc}")
                    continue
                self._add(folder, results, stat.st_size, stat.st_mtime_ns)
        return skipped

    def _add(self, folder: str, results: RunResults, size: int, mtime_ns: int) -> None:
        env = results.environment or {}
        git = env.get("git") or {}
        self.db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (
            folder, results.run_id, results.created_at, (results.config or {}).get("profile"), git.get("commit"),
            None if git.get("dirty") is None else int(bool(git["dirty"])), machine_label(env), int(results.complete),
            size, mtime_ns))
        rows = {}
        for m in results.metrics:
            if m.metric.endswith(CENSORED_SUFFIX) or Step(m.step).is_endpoint:
                continue
            rows[(m.target, m.scenario, m.step, m.metric, m.trial)] = m.unit, m.value  # a trial stored twice: its last
        self.db.executemany("INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            [(folder, *key[:4], unit, key[4], value) for key, (unit, value) in rows.items()])

    # ---- queries ----------------------------------------------------------------------------------------

    def runs(self) -> list[IndexedRun]:
        """Every indexed run, oldest first (by its recorded start, then folder name)."""
        rows = self.db.execute("SELECT folder, run_id, created_at, profile, git_commit, git_dirty, machine FROM runs "
                               "ORDER BY created_at, folder")
        return [IndexedRun(f, r, c, p, g, None if d is None else bool(d), m) for f, r, c, p, g, d, m in rows]

    def fingerprints(self) -> dict[str, str]:
        """folder -> what its results.json was when indexed (size and modification time)."""
        return {f: f"{size}:{mtime}" for f, size, mtime in self.db.execute("SELECT folder, size, mtime_ns FROM runs")}

    def judged(self, signature: str) -> list[Any] | None:
        """A judgement kept by keep_judged under this signature, or None."""
        row = self.db.execute("SELECT rows FROM judged WHERE signature = ?", (signature,)).fetchone()
        return None if row is None else json.loads(row[0])

    def keep_judged(self, signature: str, folder: str, rows: list[Any]) -> None:
        """Keep a judgement of `folder` against the runs before it; it goes when that folder is indexed again
        (a changed previous run changes the signature instead)."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO judged VALUES (?, ?, ?)", (signature, folder, json.dumps(rows)))

    def trials(self, folder: str) -> tuple[dict[FigureKey, dict[int, float]], dict[FigureKey, str]]:
        """One run's figures: key -> {trial: value}, in the order stored; and each key's unit."""
        figures: dict[FigureKey, dict[int, float]] = {}
        units: dict[FigureKey, str] = {}
        for target, scenario, step, metric, unit, trial, value in self.db.execute(
                "SELECT target, scenario, step, metric, unit, trial, value FROM trials WHERE folder = ? "
                "ORDER BY rowid", (folder,)):
            key = FigureKey.of(target, scenario, step, metric)
            figures.setdefault(key, {})[trial] = value
            units[key] = unit
        return figures, units


@contextmanager
def open_index(results_dir: Path, path: Path | None = None) -> Iterator[RunIndex]:
    """The index at `path` (default RESULTS_DIR/index.sqlite), refreshed by the caller; in memory when
    that file cannot be opened for writing. A damaged file is replaced."""
    path = path or results_dir / INDEX_FILENAME
    try:
        connection = _connect(path)
    except sqlite3.Error:
        connection = sqlite3.connect(":memory:")
    with closing(connection):
        yield RunIndex(connection)


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30)
    try:
        connection.execute("BEGIN IMMEDIATE")  # fails at once on a read-only folder or file
        connection.rollback()
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        connection.close()
        if "not a database" in str(exc) or "malformed" in str(exc):
            path.unlink()
            return _connect(path)
        raise
    return connection
