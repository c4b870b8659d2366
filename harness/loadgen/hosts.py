"""The load generator's CPU per host, from what each Locust worker reported about itself.

The sampler sees only this machine's processes; a worker on another host reports its own CPU
in each step's window (harness.loadgen.params.worker_facts), and saturation is judged per host:
one Locust process is one gevent thread, so a process near a whole core delays its own
requests (harness.flags.SATURATION_PCT), on whichever host it runs.
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

    def saturated(self, threshold_pct: float) -> bool:
        """As on one machine (harness.measure.ResourceFigures.loadgen_saturated): one process near a whole
        core, or processes sharing the host's given CPUs that together nearly fill them."""
        return self.busiest_pct >= threshold_pct or (bool(self.cpus) and self.cpu_pct >= threshold_pct * len(self.cpus))


def merge_hosts(facts: list[dict[str, Any] | None], step: int) -> dict[str, HostLoad]:
    """Per host, in step `step`'s window: its workers' CPU summed; a worker that said nothing is left out."""
    hosts: dict[str, HostLoad] = {}
    for fact in facts:
        readings = (fact or {}).get("cpu_pct") or []
        if step >= len(readings) or readings[step] is None:
            continue
        pct = float(readings[step])
        host = hosts.setdefault(str(fact["host"]), HostLoad())  # type: ignore[index]
        host.processes += 1
        host.cpus.update(int(c) for c in fact.get("cpus", []))  # type: ignore[union-attr]
        host.cpu_pct += pct
        host.busiest_pct = max(host.busiest_pct, pct)
    return hosts


def host_figures(hosts: dict[str, HostLoad], threshold_pct: float) -> tuple[float | None, list[str]]:
    """(the workers' CPU summed over hosts, % of one core; the hosts whose busiest process reached
    `threshold_pct`, or whose processes together nearly fill its CPUs). None when no worker reported its CPU."""
    if not hosts:
        return None, []
    total = sum(host.cpu_pct for host in hosts.values())
    return total, sorted(name for name, host in hosts.items() if host.saturated(threshold_pct))
