"""What the runtimes write into results.json, pinned against a stored run: the typed records must
give the same keys, in the same order, as the dicts they replaced (no server is started here)."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from harness.errors import BenchError
from harness.machine.environment import GitState, HostEnvironment, RuntimeDescription, run_environment
from harness.runtime import get_runtime
from harness.runtime.docker import ContainerFacts
from harness.runtime.native import NativeFacts
from harness.runtime.options import LaunchOptions
from harness.runtime.server import Server, StartTimings
from harness.targets import NativeSpec, Target

STORED = json.loads((Path(__file__).parent / "fixtures" / "small_run" / "results.json").read_text())
ADDED_BY_THE_LOAD_KIND = ("keepalive_timeout_s", "contract", "processes")
TARGET = Target(name="alpha", display_name="Alpha", language="none", native=NativeSpec(command=["true"]))


class Idle:
    def pids(self) -> list[int]:
        return []

    def exit_code(self) -> int | None:
        return None

    def stop(self) -> None:
        pass


def native_server(command: list[str], pid: int, start: StartTimings | None) -> Server:
    server = Server.launched(TARGET, LaunchOptions(port=9, log_path=Path("unused.log")), 0.0, Idle(),
                             NativeFacts(command, pid))  # fmt: skip
    server.start = start
    return server


@pytest.mark.parametrize("trial", STORED["trials"], ids=lambda t: f"{t['scenario']}-{t['target']}-{t['trial']}")
def test_a_native_server_records_what_the_stored_run_holds(trial):
    stored = {k: v for k, v in trial["server"].items() if k not in ADDED_BY_THE_LOAD_KIND}
    start = StartTimings(**stored["start"]) if "start" in stored else None  # a cold start records none
    record = native_server(stored["command"], stored["pid"], start).record()
    assert list(record.items()) == list(stored.items())


def test_a_container_records_the_keys_the_docker_runtime_always_wrote():
    facts = ContainerFacts(
        image="bench-alpha:0123456789ab", image_id="sha256:1", image_size_bytes=1, base_image="b", container_id="c",
        container_name="n", network_mode="host", cpuset_cpus="0", mem_limit="256m", memory_limit_mb=256, host_pid=7,
        cgroup_memory_path="/sys/fs/cgroup/x/memory.current",
    )  # fmt: skip
    assert list(facts.record()) == [
        "runtime", "image", "image_id", "image_size_bytes", "base_image", "container_id", "container_name",
        "network_mode", "cpuset_cpus", "mem_limit", "memory_limit_mb", "host_pid", "cgroup_memory_path",
        "engine", "resources_from",  # added with remote engines (issue 16)
    ]  # fmt: skip
    assert facts.record()["runtime"] == "docker" and facts.cgroup_memory_path.endswith("memory.current")
    assert NativeFacts(["x"], 1).cgroup_memory_path is None  # a native server's memory comes from its processes


def stored_host() -> HostEnvironment:
    environment = STORED["environment"]
    values = {f.name: environment[f.name] for f in fields(HostEnvironment) if f.name != "git"}
    return HostEnvironment(**values, git=GitState(**environment["git"]))


def test_the_environment_is_the_stored_one_key_for_key():
    environment = run_environment(stored_host(), "native", RuntimeDescription()).record()
    assert list(environment.items()) == list(STORED["environment"].items())


def test_in_docker_the_versions_that_ran_are_those_inside_the_images():
    inside = {"alpha": {"python": "3.12.1"}}
    environment = run_environment(stored_host(), "docker", RuntimeDescription({"docker": {"images": {}}},
                                                                              inside)).record()
    assert environment["targets"] == inside and environment["host_targets"] == STORED["environment"]["targets"]
    keys = list(environment)
    assert keys.index("targets") < keys.index("runtime") < keys.index("docker") < keys.index("host_targets")


def test_runtimes_are_picked_by_name_and_an_unknown_name_is_one_line():
    assert get_runtime("native").name == "native"
    with pytest.raises(BenchError, match=r"^unknown runtime 'podman'; known: native, docker$"):
        get_runtime("podman")
