"""External workers without Locust: options, the coordinator's hello and wait, per-host CPU (issue 16)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from harness.errors import BenchError
from harness.loadgen.coordinator import Coordinator
from harness.loadgen.external import ExternalWorkers, parse_bind, parse_loadgen
from harness.loadgen.hosts import host_figures, merge_hosts
from harness.loadgen.identity import Identity, identity
from harness.loadgen.params import window_cpu_pct
from harness.loadgen.worker import Worker, WorkerOptions
from harness.runtime.server import free_port

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SECRET = "test-secret-of-this-run-0123456789"


def test_loadgen_and_bind_options() -> None:
    assert parse_loadgen("local") is None
    assert parse_loadgen("external:3") == 3
    for bad in ["external", "external:0", "remote:2", "external:x"]:
        with pytest.raises(BenchError, match="--loadgen"):
            parse_loadgen(bad)
    assert parse_bind(None) == ("127.0.0.1", 5557)  # loopback unless an address is given
    assert parse_bind("198.18.0.1:6000") == ("198.18.0.1", 6000)
    assert parse_bind("10.0.0.5") == ("10.0.0.5", 5557)
    for bad in ["host:0", "host:65535", ":5557", "host:port"]:
        with pytest.raises(BenchError, match="--master-bind"):
            parse_bind(bad)


def test_identity_sees_a_changed_scenario_file(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    before = identity(tmp_path)
    (tmp_path / "a.py").write_text("x = 2\n")
    after = identity(tmp_path)
    assert before.mismatch(before) is None
    assert "files differ" in str(before.mismatch(after))
    assert "harness version 0.0.1" in str(before.mismatch(Identity("0.0.1", before.files)))


def _worker(port: int, name: str, scenarios: Path = SCENARIOS, processes: int = 1) -> Worker:
    return Worker(WorkerOptions("127.0.0.1", port - 1, SECRET, name=name, processes=processes,
                                scenarios_dir=scenarios))


def test_workers_arrive_and_a_mismatch_is_refused_in_one_line(tmp_path: Path) -> None:
    port = free_port()  # the coordinator's: one above the master's
    workers = ExternalWorkers(3, ("127.0.0.1", port - 1), SCENARIOS, SECRET)
    try:
        _worker(port, "gen-a", processes=2).hello()
        (tmp_path / "other.py").write_text("pass\n")
        with pytest.raises(BenchError, match="refused this worker: scenario/load-generator files differ"):
            _worker(port, "gen-old", scenarios=tmp_path).hello()
        with pytest.raises(BenchError) as error:
            workers.wait_for_workers(timeout_s=0.3)
        message = str(error.value)
        assert "2 of 3 external Locust workers arrived" in message and "missing 1" in message
        assert "gen-a/" in message and "gen-old/" in message and "\n" not in message
        _worker(port, "gen-b").hello()
        assert sum(w.processes for w in workers.wait_for_workers(timeout_s=5)) == 3
        assert {h["name"] for h in workers.hosts()} == {"gen-a", "gen-b"}
    finally:
        workers.close()


def test_a_worker_is_told_the_current_run() -> None:
    coordinator = Coordinator(identity(SCENARIOS), "127.0.0.1", 0, SECRET)
    try:
        worker = _worker(coordinator.port, "gen-a")
        worker.hello()
        assert worker._call(f"/run?worker={worker.worker_id}")[1] == {"run": None}
        coordinator.registry.set_run({"run": "r1", "steps": []})
        assert worker._call(f"/run?worker={worker.worker_id}")[1]["run"] == "r1"
        assert worker._call("/run?worker=unknown/1")[1] == {"hello": True}  # e.g. after the master restarted
        # A worker still holding an earlier run's Locust processes is busy until it says otherwise.
        worker._call(f"/run?worker={worker.worker_id}&running={'0' * 32}")
        assert coordinator.registry.busy() == [worker.worker_id]
        worker._call(f"/run?worker={worker.worker_id}")
        assert coordinator.registry.busy() == []
        status, _ = worker._call("/hello", {"worker": "w/1", "processes": 1, "identity": asdict(identity(SCENARIOS))})
        assert status == 400  # no host facts: a bad hello, answered, not a crash
    finally:
        coordinator.close()


def test_cpu_per_host_and_saturation_per_host() -> None:
    facts = [
        {"host": "gen-a", "cpus": [0], "cpu_pct": [40.0, 95.0]},
        {"host": "gen-a", "cpus": [1], "cpu_pct": [30.0, 20.0]},
        {"host": "gen-b", "cpus": [0], "cpu_pct": [50.0, None]},  # its second mark was not taken
        None,  # a worker of an older plugin: nothing said
    ]
    first, second = merge_hosts(facts, 0), merge_hosts(facts, 1)
    assert first["gen-a"].cpu_pct == 70.0 and first["gen-a"].cpus == {0, 1} and first["gen-a"].processes == 2
    assert host_figures(first, 90.0) == (120.0, [])
    assert set(second) == {"gen-a"}
    assert host_figures(second, 90.0) == (115.0, ["gen-a"])  # one busy process saturates its host
    assert host_figures({}, 90.0) == (None, [])
    shared = merge_hosts([{"host": "gen-c", "cpus": [1], "cpu_pct": [49.0]}] * 2, 0)  # two processes, one CPU
    assert host_figures(shared, 90.0) == (98.0, ["gen-c"])


def test_window_cpu_needs_both_marks() -> None:
    assert window_cpu_pct([]) is None
    assert window_cpu_pct([(10.0, 1.0)]) is None
    assert window_cpu_pct([(10.0, 1.0), (12.0, 2.5)]) == pytest.approx(75.0)


def test_engine_stats_reading() -> None:
    from harness.runtime.docker_stats import reading_from_stats

    stats = {
        "read": "2026-11-29T10:00:01.500000000Z", "preread": "2026-11-29T10:00:00.500000000Z",
        "cpu_stats": {"cpu_usage": {"total_usage": 1_750_000_000}},
        "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000_000}},
        "memory_stats": {"usage": 60 * 2**20, "stats": {"inactive_file": 10 * 2**20}},
    }  # fmt: skip
    reading = reading_from_stats(stats, received_s=123.0)
    assert reading is not None
    assert reading.cpu_pct == pytest.approx(75.0)  # 0.75 CPU-seconds in one second
    assert reading.rss_mb * 1e6 == pytest.approx(50 * 2**20)  # usage less the inactive file cache
    assert reading.t_s == 123.0  # this host's clock
    first = {**stats, "preread": "0001-01-01T00:00:00Z"}  # the stream's first message: nothing to compare
    assert reading_from_stats(first, 1.0) is None


def test_which_engines_show_host_pids() -> None:
    from harness.runtime.docker_engine import host_pids_visible

    assert host_pids_visible("unix:///var/run/docker.sock")
    assert not host_pids_visible("tcp://198.18.0.2:2375")
    assert not host_pids_visible("ssh://bench@server")


def test_report_topology_section() -> None:
    from harness.report.blocks import Para, Table
    from harness.report.topology import topology_blocks

    assert topology_blocks({}) == []  # a run recorded before topologies
    local = topology_blocks({"hostname": "vm", "topology": {"loadgen": "local", "server": {"address": "127.0.0.1",
                                                                                          "runtime": "native"}}})
    assert any(isinstance(b, Para) and "local Locust workers on vm" in b.text for b in local)
    host = {"name": "gen-a", "hostname": "vm", "cpu_model": "X", "cores": 2, "cpus_given": [0], "processes": 1,
            "locust": "2.47.0"}
    external = topology_blocks({"topology": {"loadgen": "external:1", "master_bind": "198.18.0.1:5557",
                                             "loadgen_hosts": [host],
                                             "server": {"address": "198.18.0.2", "netns": "s", "runtime": "native"}}})
    table = next(b for b in external if isinstance(b, Table))
    assert table.rows == [["gen-a", "vm", "X", "2", "0", "1", "2.47.0"]]
    assert any(isinstance(b, Para) and "198.18.0.2 (network namespace s)" in b.text for b in external)


def test_cold_start_on_a_remote_engine_reads_memory_from_the_engine(tmp_path: Path) -> None:
    """A remote engine's container has no host PIDs here: its idle memory is the engine's figure, never a 0
    read from no processes."""
    from harness.kinds import cold_start
    from harness.kinds.base import Placement, TrialContext
    from harness.runtime.server import Server, StartTimings
    from harness.scenario import discover_scenarios
    from harness.targets import discover_targets

    class RemoteContainer:
        host_pids = False

        def pids(self) -> list[int]:
            return []

        def exit_code(self) -> None:
            return None

        def stop(self) -> None:
            pass

        def engine_memory_bytes(self) -> int:
            return 42_000_000

    class Facts:
        cgroup_memory_path = None

        def record(self) -> dict[str, object]:
            return {"resources_from": "engine_stats"}

    class Ready(Server):
        def wait_ready(self, timeout_s: float = 30.0) -> StartTimings:
            return StartTimings(listen_ms=1.0, ready_ms=2.0)

    class Runtime:
        def launch(self, target, options):
            return Ready.launched(target, options, 0.0, RemoteContainer(), Facts())

    root = Path(__file__).resolve().parent.parent
    scenario = discover_scenarios(root / "scenarios")["cold_start"]
    ctx = TrialContext(
        target=discover_targets(root / "targets")["fastapi"], scenario=scenario,
        params=scenario.params("test").model_copy(update={"settle_s": 0.0}), trial=1,
        placement=Placement([0], [1], 1, 1, 10.0), runtime=Runtime(), work_dir=tmp_path, port=1,
    )  # fmt: skip
    figures = {m.metric: m.value for m in cold_start.run_trial(ctx).metrics}
    assert figures["cgroup_idle_mb"] == 42.0
    assert "rss_idle_mb" not in figures and "uss_idle_mb" not in figures


def test_options_that_do_nothing_in_a_layout_are_refused() -> None:
    from harness.config import RunConfig
    from harness.loadgen.external import external_workers, run_topology

    with pytest.raises(BenchError, match="--master-bind needs --loadgen external:N"):
        external_workers(RunConfig(master_bind="127.0.0.1:5557"))
    with pytest.raises(BenchError, match="--server-netns is for the native runtime"):
        external_workers(RunConfig(runtime="docker", server_netns="srv"))
    assert external_workers(RunConfig()) is None
    assert run_topology(RunConfig(), None)["loadgen"] == "local"
