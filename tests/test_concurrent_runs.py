"""Two runs at once on one machine: CPU locks, an exclusive results folder, unique temporary files, files
appended rather than rewritten, and `bench ab`'s revision folders held (harness.machine.locks, harness.run,
harness.results.store)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.errors import BenchError
from harness.machine.locks import cpu_lock_path, lock_cpus, lock_folder
from harness.results import HistogramRecord, ResultsStore, RunResults, Sample, atomic_write_text, load_results
from harness.results.store import atomic_writer
from harness.run import claim_run_folder

ROOT = Path(__file__).resolve().parent.parent
BENCH = [sys.executable, "-m", "harness"]


# ---- CPU and folder locks ----------------------------------------------------------------------------


def test_a_cpu_held_by_one_run_is_refused_to_another_in_one_line(tmp_path):
    with lock_cpus([1, 2], root=tmp_path):
        with pytest.raises(BenchError, match=rf"CPU 1 is pinned by another bench run \(pid {os.getpid()}\)"):
            lock_cpus([0, 1], root=tmp_path)
        with lock_cpus([0], root=tmp_path):  # the refused run let go of CPU 0, which it had taken first
            pass
    with lock_cpus([0, 1, 2], root=tmp_path):  # released: free again
        pass
    assert list(tmp_path.iterdir()) == []  # and its lock files removed


def test_a_run_told_to_wait_gets_the_cpus_once_they_are_free(tmp_path, capsys):
    first = lock_cpus([4], root=tmp_path)
    threading.Timer(0.5, first.release).start()
    started = time.monotonic()
    with lock_cpus([4], root=tmp_path, wait=True):
        assert time.monotonic() - started >= 0.4
    assert capsys.readouterr().err == f"bench: waiting for CPU 4, pinned by another bench run (pid {os.getpid()})\n"


def test_a_run_killed_with_sigkill_frees_its_cpus(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
         "from harness.machine.locks import lock_cpus\n"
         f"held = lock_cpus([3], root=Path({str(tmp_path)!r}))\nprint('held', flush=True)\ntime.sleep(120)"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(BenchError, match=f"pid {holder.pid}"):
            lock_cpus([3], root=tmp_path)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        with lock_cpus([3], root=tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_a_symlink_planted_as_a_lock_file_is_refused_and_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    cpu_lock_path(5, tmp_path).symlink_to(victim)
    with pytest.raises(BenchError, match="lock file"):
        lock_cpus([5], root=tmp_path)
    assert victim.read_text() == "keep me"


def test_a_folder_held_by_one_bench_ab_is_refused_to_another(tmp_path):
    folder = tmp_path / "build" / "ab" / "0123456789ab"
    with lock_folder(folder, "bench ab"), pytest.raises(BenchError, match="in use by another bench ab"):
        lock_folder(folder, "bench ab")
    with lock_folder(folder, "bench ab"):
        pass


def test_a_waiting_lock_waits_for_the_holder(tmp_path):
    folder = tmp_path / "cache" / "express-0123"
    order = []
    first = lock_folder(folder, "install")
    waiter = threading.Thread(target=lambda: (lock_folder(folder, "install", wait=True).release(),
                                              order.append("second")))
    waiter.start()
    time.sleep(0.3)
    order.append("first")
    first.release()
    waiter.join(timeout=10)
    assert order == ["first", "second"]


# ---- the results folder and its files ------------------------------------------------------------------


def test_a_run_folder_is_claimed_once(tmp_path):
    assert claim_run_folder(tmp_path, "one", "test") == tmp_path / "one"
    with pytest.raises(BenchError, match="already exists; pick another --name"):
        claim_run_folder(tmp_path, "one", "test")


def test_default_names_in_the_same_second_get_a_number(tmp_path, monkeypatch):
    from harness import run

    monkeypatch.setattr(run, "default_run_name", lambda profile: f"20260101T000000Z-{profile}")
    names = [claim_run_folder(tmp_path, None, "test").name for _ in range(3)]
    assert names == ["20260101T000000Z-test", "20260101T000000Z-test-2", "20260101T000000Z-test-3"]


def test_a_planted_symlink_at_the_temporary_name_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / ".report.md.tmp").symlink_to(victim)  # the name every write used before
    atomic_write_text(tmp_path / "report.md", "the report\n")
    assert victim.read_text() == "keep me"
    assert (tmp_path / "report.md").read_text() == "the report\n" and not (tmp_path / "report.md").is_symlink()
    (tmp_path / "link.md").symlink_to(victim)  # a symlink at the file itself is replaced, not written through
    atomic_write_text(tmp_path / "link.md", "new\n")
    assert victim.read_text() == "keep me" and not (tmp_path / "link.md").is_symlink()


def test_two_writers_of_one_file_never_share_a_temporary_file(tmp_path):
    path = tmp_path / "results.json"
    with atomic_writer(path) as first, atomic_writer(path) as second:
        first.write("first")
        second.write("second")
    assert path.read_text() == "first"  # the last to finish wins whole; neither was mixed into the other
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def _sample(trial: int, i: int) -> Sample:
    return Sample(target="a", scenario="s", trial=trial, step="ms=20,users=4", role="server", t_s=i / 10,
                  cpu_pct=5, rss_mb=10)


def _histogram(trial: int) -> HistogramRecord:
    return HistogramRecord(target="a", scenario="s", trial=trial, step="users=4", endpoint="Aggregated", hdr="x")


def test_samples_are_appended_at_each_save_and_let_go(tmp_path):
    store = ResultsStore(tmp_path / "run", RunResults(run_id="r", created_at="now"), samples=[])
    store.save()
    samples = tmp_path / "run" / "samples.csv"
    inode = samples.stat().st_ino
    for trial in (1, 2, 3):
        store.samples.extend(_sample(trial, i) for i in range(50))
        store.histograms.append(_histogram(trial))
        store.save()
        assert store.samples == [] and store.histograms == []  # on disk now, not in memory
    assert samples.stat().st_ino == inode  # appended to, never rewritten
    with samples.open() as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["trial"]) for r in rows] == [1] * 50 + [2] * 50 + [3] * 50 and rows[0]["step"] == "ms=20,users=4"
    assert len((tmp_path / "run" / "histograms.jsonl").read_text().splitlines()) == 3
    assert not list((tmp_path / "run").glob(".*.tmp"))


def test_a_discarded_trial_leaves_the_appended_files(tmp_path):
    store = ResultsStore(tmp_path / "run", RunResults(run_id="r", created_at="now"), samples=[])
    for trial in (1, 2):
        store.samples.extend(_sample(trial, i) for i in range(3))
        store.histograms.append(_histogram(trial))
        store.save()
    store.samples.append(_sample(2, 9))  # not saved yet
    store.discard({("s", "a", 2)})
    store.save()
    with (tmp_path / "run" / "samples.csv").open() as fh:
        assert [int(r["trial"]) for r in csv.DictReader(fh)] == [1, 1, 1]
    assert [json.loads(line)["trial"] for line in (tmp_path / "run" / "histograms.jsonl").read_text().splitlines()
            ] == [1]


# ---- two `bench run` at once --------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_two_runs_started_at_once_on_the_same_cpus_one_runs_the_other_refuses(tmp_path):
    """Both ask for the same CPUs: one measures, the other stops in one line (exit 2) before it writes
    anything, and the first run's files are whole."""
    common = ["run", "--profile", "test", "--scenario", "throughput", "--target", "express",
              "--results-dir", str(tmp_path), "--server-cpus", "0", "--loadgen-cpus", "1"]
    env = {k: v for k, v in os.environ.items() if k != "BENCH_CPU_LOCK"}  # refuse, not wait
    runs = {name: subprocess.Popen([*BENCH, *common, "--name", name], cwd=ROOT, text=True, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE) for name in ("one", "two")}
    try:
        done = {name: (*run.communicate(timeout=500), run.returncode) for name, run in runs.items()}
    finally:
        for run in runs.values():
            run.kill()
    codes = sorted(code for _, _, code in done.values())
    assert codes == [0, 2], {name: (code, err[-1500:]) for name, (_, err, code) in done.items()}
    winner = next(name for name, (_, _, code) in done.items() if code == 0)
    loser = next(name for name, (_, _, code) in done.items() if code == 2)
    said = [line for line in done[loser][1].splitlines() if line.strip()]
    assert len(said) == 1 and said[0].startswith("bench: error: CPU ") and "pinned by another bench run" in said[0]
    assert not (tmp_path / loser).exists()  # refused before it claimed a folder
    results = load_results(tmp_path / winner)
    assert results.complete and results.trials and not [t for t in results.trials if t.errors]
    with (tmp_path / winner / "samples.csv").open() as fh:
        assert list(csv.DictReader(fh))
