"""results.json's `environment` is one typed record (harness.machine.environment.RunEnvironment): the host
and the runtime first, then each part of the run as it is reached, with the keys and order stored before."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.machine.environment import GitState, HostEnvironment, RunEnvironment, RuntimeDescription, run_environment

HARNESS = Path(__file__).resolve().parent.parent / "harness"
HOST = HostEnvironment("h", "Linux 6", "cpu", 2, 1, [0, 1], 4.0, "3.11.9", None, {}, {"a": {"x": "1"}},
                       GitState("abc", False))


def test_the_parts_follow_the_host_and_the_runtime_in_the_order_a_run_reaches_them():
    environment = run_environment(HOST, "docker", RuntimeDescription({"docker": {"images": {}}}, {"a": {"x": "2"}}))
    assert isinstance(environment, RunEnvironment) and "topology" not in environment.record()  # not reached yet
    topology = {"loadgen": "local"}
    environment.add(topology=topology)
    environment.add(cpu_idle={"held": True}, protection="protected")
    record = environment.add(database={"version": "15"}, protection_warnings=["w"])
    assert list(record)[-10:] == ["targets", "git", "runtime", "docker", "host_targets", "topology", "cpu_idle",
                                  "protection", "database", "protection_warnings"]
    assert record["targets"] == {"a": {"x": "2"}} and record["host_targets"] == {"a": {"x": "1"}}
    topology["peer_refusals"] = {"locust": {}}  # the workers' coordinator counts into the same dict
    assert environment.record()["topology"]["peer_refusals"] == {"locust": {}}
    with pytest.raises(TypeError, match="no part 'disk'"):
        environment.add(disk="ssd")


def test_only_the_environment_module_writes_the_environment():
    writers = [path.relative_to(HARNESS).as_posix() for path in HARNESS.rglob("*.py")
               if re.search(r"environment\[[\"'][a-z_]+[\"']\]\s*=", path.read_text())]
    assert writers == ["machine/environment.py"]
