"""Docker runtime: each target runs in a container of its own image, through the Docker SDK.

Images are built (or reused) in `check_available`, before any trial, so no build time ever
lands in a measurement (harness.runtime.docker_images). Containers use host networking (the
app listens on the harness's loopback port as natively), the run's server CPU set
(`cpuset_cpus`) and memory limit, the highest CPU weight, and are never left behind
(harness.runtime.docker_containers). Their memory is read from their cgroup
(harness.machine.cgroup).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import docker.errors

from harness.errors import BenchError
from harness.machine import cgroup as cgroups
from harness.machine import protect
from harness.machine.environment import RuntimeDescription
from harness.runtime.docker_containers import Container, Containers
from harness.runtime.docker_engine import DEFAULT_HOST, Engine, api_error, engine_url, host_pids_visible, labels
from harness.runtime.docker_images import Images, ImageSpec
from harness.runtime.options import LaunchOptions, RuntimeSettings
from harness.runtime.server import Server, check_port_free
from harness.targets import Target, discover_targets

NETWORK_MODE = "host"


@dataclass(frozen=True)
class ContainerFacts:
    image: str
    image_id: str
    image_size_bytes: int
    base_image: str
    container_id: str
    container_name: str
    network_mode: str
    cpuset_cpus: str | None
    mem_limit: str | None
    memory_limit_mb: int | None
    host_pid: int | None
    cgroup_memory_path: str | None
    engine: str = DEFAULT_HOST  # the engine's address (DOCKER_HOST)
    resources_from: str = "host_pids"  # or "engine_stats": a remote engine's stats API (docker_stats)

    def record(self) -> dict[str, Any]:
        return {"runtime": DockerRuntime.name, **asdict(self)}


class DockerRuntime:
    name = "docker"

    def __init__(self) -> None:
        self.engine = Engine()
        self.images = Images(self.engine)
        self.containers = Containers(self.engine)

    def check_available(self, targets: list[Target], settings: RuntimeSettings) -> None:
        """An engine answers, and every target's image exists (built here, before any trial)."""
        self.engine.client()
        self.sweep_strays()
        known = {t.name for t in targets}
        if settings.targets_dir is not None:
            known |= set(discover_targets(settings.targets_dir))  # a base image for a target left out is fine
        unknown = sorted(set(settings.base_images) - known)
        if unknown:
            raise BenchError(
                f"--base-image names {unknown[0]!r}, which is not a target; known: {', '.join(sorted(known))}"
            )
        for target in targets:
            self.images.prepare(target, settings.base_images.get(target.name))

    def describe_environment(self, targets: list[Target], settings: RuntimeSettings) -> RuntimeDescription:
        """The engine version and, per target, the image used: tag, base image, size, versions inside."""
        engine = self.engine.client().version()
        images: dict[str, Any] = {}
        for target in targets:
            spec = self.images.spec(target, settings.base_images.get(target.name))
            self.images.ensure(spec)
            images[target.name] = {
                **self.images.facts(spec), **self.images.builds.get(spec.tag, {}),
                "versions": self.images.versions(spec, target),
            }  # fmt: skip
        described = {
            "engine_version": engine.get("Version"), "api_version": engine.get("ApiVersion"),
            "engine": engine_url(), "engine_host": engine_host(self.engine.client().info()),
            "network_mode": NETWORK_MODE, "memory_limit_mb": settings.memory_limit_mb, "images": images,
        }  # fmt: skip
        # The versions that ran are those inside the images, not the host's.
        versions = {name: image.get("versions", {}) for name, image in images.items()}
        return RuntimeDescription(entries={"docker": described}, target_versions=versions)

    def sweep_strays(self) -> list[str]:
        return self.containers.sweep_strays()

    def launch(self, target: Target, options: LaunchOptions) -> Server:
        """Start the target's container and return at once; `Server.wait_ready` tells when it answers."""
        host_pids = host_pids_visible()
        if host_pids:  # a remote engine's host has its own ports: its container's start says
            check_port_free(options.host, options.port)
        spec = self.images.spec(target, options.base_image)
        self.images.ensure(spec)  # normally a no-op: check_available built it
        image = self.engine.client().images.get(spec.tag)
        _, env = target.native_command(options.host, options.port, options.workers)
        name = f"bench-{target.name}-{options.port}-{uuid.uuid4().hex[:8]}"
        placement = container_placement(options)
        options.log_path.parent.mkdir(parents=True, exist_ok=True)
        options.log_path.write_text("")
        spawned_at = time.perf_counter()
        try:
            container = self.containers.run(
                spec.tag, name, options.log_path, host_pids=host_pids, auto_remove=False, network_mode=NETWORK_MODE,
                environment={**env, **options.extra_env}, labels=labels(**{"bench.target": target.name}), **placement,
            )  # fmt: skip
        except docker.errors.APIError as exc:
            raise BenchError(f"cannot start the {target.name} container ({spec.tag}): {api_error(exc)}") from None
        facts = _facts(spec, image, container, name, placement, options)
        return Server.launched(target, options, spawned_at, container, facts)


def engine_host(info: dict[str, Any]) -> dict[str, Any]:
    """The engine's host, as its `docker info` describes it: the server's host when the engine is remote."""
    return {"name": info.get("Name"), "cpus": info.get("NCPU"),
            "memory_total_gb": round(info.get("MemTotal", 0) / 1e9, 2), "os": info.get("OperatingSystem"),
            "kernel": info.get("KernelVersion"), "host_pids_visible": host_pids_visible()}


def container_placement(options: LaunchOptions) -> dict[str, Any]:
    """The container's CPU set, CPU weight and memory limit, as the SDK's `run` takes them."""
    placement: dict[str, Any] = {}
    if options.cpus:
        placement["cpuset_cpus"] = ",".join(map(str, options.cpus))
    placement["cpu_shares"] = protect.V1_SHARES  # the highest CPU weight against neighbours (harness.machine.protect)
    if options.memory_limit_mb:
        placement["mem_limit"] = placement["memswap_limit"] = f"{options.memory_limit_mb}m"  # no swap beyond it
    return placement


def _facts(spec: ImageSpec, image: Any, container: Container, name: str, placement: dict[str, Any],
           options: LaunchOptions) -> ContainerFacts:
    return ContainerFacts(
        image=spec.tag, image_id=image.id, image_size_bytes=image.attrs["Size"], base_image=spec.base_image_name,
        container_id=container.id, container_name=name, network_mode=NETWORK_MODE,
        cpuset_cpus=placement.get("cpuset_cpus"), mem_limit=placement.get("mem_limit"),
        memory_limit_mb=options.memory_limit_mb, host_pid=container.pid,
        cgroup_memory_path=cgroups.memory_path(container.pid) if container.pid else None,
        engine=engine_url(), resources_from="host_pids" if container.host_pids else "engine_stats",
    )
