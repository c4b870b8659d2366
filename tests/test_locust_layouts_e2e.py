"""End to end: the two ways the driver runs Locust, each with the plugin, against a tiny server.

One local worker runs as a single Locust process (a LocalRunner: the plugin serves the master's and
the worker's part in it); more run as a master and that many worker processes. Both must give each
step's window from every worker.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tiny_http import ok_server, serving

from harness.loadgen.driver import AGGREGATE, LoadSpec, LocustProcesses, StepSpec

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SCENARIO = '''
from locust import FastHttpUser, constant, task


class Hit(FastHttpUser):
    wait_time = constant(0.01)

    @task
    def hit(self):
        self.client.get("/", name="GET /")
'''


SERVED: list[float] = []  # when each request was answered


@pytest.fixture
def host_url() -> Iterator[str]:
    with serving(ok_server(lambda: SERVED.append(time.time()))) as url:
        yield url


def spec(tmp_path: Path, host_url: str, workers: int) -> LoadSpec:
    scenario = tmp_path / "hit.py"
    scenario.write_text(SCENARIO)
    return LoadSpec(scenario_file=scenario, host_url=host_url, workers=workers,
                    steps=[StepSpec(4, 100, 0.5, 1.0), StepSpec(8, 100, 0.5, 1.0)])


def test_the_command_lines_of_one_worker_and_of_several(tmp_path):
    (single,) = LocustProcesses(spec(tmp_path, "http://127.0.0.1:1", 1), tmp_path).commands()
    assert "--master" not in single and "--worker" not in single and "--headless" in single
    master, *workers = LocustProcesses(spec(tmp_path, "http://127.0.0.1:1", 2), tmp_path).commands()
    assert "--master" in master and "--expect-workers" in master and len(workers) == 2
    assert all("--worker" in worker for worker in workers)


@pytest.mark.parametrize("workers", [1, 2])
def test_every_worker_reports_every_step(tmp_path, host_url, workers):
    processes = LocustProcesses(spec(tmp_path, host_url, workers), tmp_path / f"w{workers}")
    processes.prestart()
    started = list(processes.processes)
    assert len(started) == (1 if workers == 1 else 1 + workers)
    results = processes.run()
    assert len(results) == 2
    for result in results:
        assert result.workers_reported == workers
        assert result.endpoints[AGGREGATE].ok > 0 and result.endpoints[AGGREGATE].failed == 0
        assert sum(host.processes for host in result.loadgen_hosts.values()) == workers
    assert all(process.poll() is not None for process in started)  # all stopped


def test_a_load_generator_started_ahead_sends_nothing_until_its_run(tmp_path, host_url):
    processes = LocustProcesses(spec(tmp_path, host_url, 1), tmp_path / "ahead")
    SERVED.clear()
    processes.prestart()
    try:
        time.sleep(2.0)  # Locust's start-up takes about 0.5 s: by now it waits at the gate
        assert processes.pids() and not SERVED
        released_at = time.time()
        results = processes.run()
    finally:
        processes.stop()
    assert min(SERVED) >= released_at and all(r.endpoints[AGGREGATE].ok > 0 for r in results)
