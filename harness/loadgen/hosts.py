"""The load generator's CPU per host, from what each Locust worker reported about itself.

The sampler sees only this machine's processes; a worker on another host reports its own CPU
time (harness.loadgen.params.worker_facts), and saturation is judged per host: one Locust
process is one gevent thread, so a process near a whole core delays its own requests
(harness.flags.SATURATION_PCT), on whichever host it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class HostLoad:
    processes: int = 0
    cpus: set[int] = field(default_factory=set)
    cpu_pct: float = 0.0  # summed over its Locust worker processes, % of one core
    busiest_pct: float = 0.0  # its busiest process, % of one core

    def record(self) -> dict[str, Any]:
        return {"processes": self.processes, "cpus": sorted(self.cpus), "cpu_pct": round(self.cpu_pct, 1),
                "busiest_pct": round(self.busiest_pct, 1)}


def merge_hosts(facts: list[dict[str, Any] | None]) -> dict[str, HostLoad]:
    """Per host: each worker's CPU time over its run's wall time, summed; workers that said nothing are left out."""
    hosts: dict[str, HostLoad] = {}
    for fact in facts:
        if not fact or float(fact.get("wall_s", 0)) <= 0:
            continue
        host = hosts.setdefault(str(fact["host"]), HostLoad())
        pct = 100.0 * float(fact["cpu_s"]) / float(fact["wall_s"])
        host.processes += 1
        host.cpus.update(int(c) for c in fact.get("cpus", []))
        host.cpu_pct += pct
        host.busiest_pct = max(host.busiest_pct, pct)
    return hosts


def saturated_hosts(hosts: dict[str, HostLoad], threshold_pct: float) -> list[str]:
    return sorted(name for name, host in hosts.items() if host.busiest_pct >= threshold_pct)
