"""The report's topology section: where the load generators and the server ran.

One small function of results.json's `environment.topology` (harness.loadgen.external);
`build_document` places it after the environment section. A run without `topology` gets no section.
"""

from __future__ import annotations

from typing import Any

from harness.report.blocks import Block, Heading, Para, Table, Untrusted


def topology_blocks(environment: dict[str, Any]) -> list[Block]:
    topology = environment.get("topology")
    if not topology:
        return []
    server = topology.get("server") or {}
    where = server.get("address", "127.0.0.1")
    if server.get("netns"):
        where += f" (network namespace {server['netns']})"
    docker = environment.get("docker") or {}
    engine = docker.get("engine_host") or {}
    blocks: list[Block] = [Heading("Topology", 2, "topology"),
                           Para(f"Server: {server.get('runtime', '?')} at {where}" + (
                               f", Docker engine {docker.get('engine_version')} at {docker.get('engine')} on "
                               f"{engine.get('name')} ({engine.get('cpus')} CPUs; figures from "
                               f"{'host PIDs' if engine.get('host_pids_visible') else 'the engine stats API'})"
                               if docker else "") + ".")]
    hosts = topology.get("loadgen_hosts")
    if not hosts:
        blocks.append(Para(f"Load generator: local Locust workers on {environment.get('hostname', 'this host')}."))
        return blocks
    blocks.append(Para(f"Load generator: the Locust master here (bound to {topology.get('master_bind')}), "
                       f"workers on {len(hosts)} host(s); each worker reports its own CPU, judged per host."))
    # What each worker said of its host: shown as plain text, whatever it holds.
    rows = [[Untrusted(str(cell)) for cell in (
                h["name"], h.get("hostname", ""), h.get("cpu_model", ""), h.get("cores", ""),
                ",".join(map(str, h.get("cpus_given", []))), h.get("processes", ""), h.get("locust", ""))]
            for h in hosts]  # fmt: skip
    blocks.append(Table(["host", "hostname", "CPU", "cores", "CPUs given", "Locust processes", "Locust"], rows))
    return blocks
