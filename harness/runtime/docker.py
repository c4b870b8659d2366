"""Docker runtime: each target runs in a container of its own image, through the Docker SDK.

Images are built (or reused) in `check_available`, before any trial, so no build time ever
lands in a measurement. An image is tagged `bench-<target>:<12 hex>`, a hash of its build
inputs (the Dockerfile, every file of the build context that `.dockerignore` lets through, the
base-image build argument and, when that image is present locally, its ID), so a changed input
gives a new image and an unchanged one is reused.

Containers use host networking (the app listens on the harness's loopback port as natively),
the run's server CPU set (`cpuset_cpus`) and memory limit, and carry the label
`bench.harness=1`. Every container started here is removed by `Server.stop()`, and, should a
run die before that (Ctrl-C, a failure), by an `atexit` hook; `check_available` also removes
labelled containers whose harness process is gone.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import psutil
from docker.utils.build import exclude_paths

from harness import protect
from harness.errors import BenchError
from harness.runtime.native import process_tree
from harness.runtime.options import LaunchOptions
from harness.runtime.server import Server, check_port_free
from harness.targets import Target, discover_targets

DEFAULT_HOST = "unix:///var/run/docker.sock"
LABEL = "bench.harness"  # on every container and image this runtime makes
OWNER_LABEL = "bench.owner"  # "<hostname>:<pid>" of the harness process that started the container
API_TIMEOUT_S = 600  # per socket read; a build can be silent for a while
PING_TIMEOUT_S = 5
STOP_GRACE_S = 5
BUILD_LOG_DIR = Path("build/logs")
BASE_ARG = "BASE_IMAGE"

_clients: dict[str, docker.DockerClient] = {}
_started: dict[str, str] = {}  # container name -> DOCKER_HOST it was started on, until removed
_started_lock = threading.Lock()


# --- engine ---------------------------------------------------------------------------------


def engine_url() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def _no_engine() -> BenchError:
    return BenchError(
        f"no Docker engine answers at {engine_url()}: start one (e.g. `systemctl start docker`, or `dockerd`) "
        "or use --runtime native"
    )


def client() -> docker.DockerClient:
    """One client per engine address; raises BenchError (one line) when no engine answers."""
    url = engine_url()
    if url not in _clients:
        try:
            probe = docker.from_env(timeout=PING_TIMEOUT_S)
            probe.ping()
            probe.close()
            _clients[url] = docker.from_env(timeout=API_TIMEOUT_S)
        except docker.errors.DockerException:
            raise _no_engine() from None
    return _clients[url]


def engine_answers() -> bool:
    try:
        client()
        return True
    except BenchError:
        return False


# --- images ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageSpec:
    target: str
    directory: Path
    dockerfile: str  # relative to directory
    base_image: str | None  # the build argument; None: the Dockerfile's default
    tag: str

    @property
    def base_image_name(self) -> str:
        """The base image actually used: the argument, or the Dockerfile's default."""
        return self.base_image or dockerfile_default_base(self.directory / self.dockerfile) or "(unknown)"


def dockerfile_default_base(dockerfile: Path) -> str | None:
    match = re.search(rf"^\s*ARG\s+{BASE_ARG}=(\S+)", dockerfile.read_text(), re.MULTILINE | re.IGNORECASE)
    return match.group(1).strip("\"'") if match else None


def context_files(directory: Path, dockerfile: str) -> list[str]:
    """The files of the build context, as the SDK sends them (`.dockerignore` applied)."""
    ignore = directory / ".dockerignore"
    patterns: list[str] = []
    if ignore.exists():
        patterns = [line.strip() for line in ignore.read_text().splitlines()]
        patterns = [p for p in patterns if p and not p.startswith("#")]
    paths = exclude_paths(str(directory), patterns, dockerfile=dockerfile)
    return sorted(p for p in paths if (directory / p).is_file() or (directory / p).is_symlink())


def _base_image_id(base_image: str | None, dockerfile: Path) -> str:
    """The local ID of the base image, if it is here: a rebuilt base under the same name changes the hash."""
    name = base_image or dockerfile_default_base(dockerfile)
    if not name:
        return ""
    try:
        return str(client().images.get(name).id)
    except (docker.errors.DockerException, BenchError):  # not here (or no engine): the name alone
        return ""


def inputs_digest(target: Target, base_image: str | None) -> str:
    """sha256 over the build inputs: Dockerfile, context files (path and content), base image."""
    dockerfile = target.docker.get("dockerfile", "Dockerfile")
    directory = target.directory
    if not (directory / dockerfile).is_file():
        raise BenchError(f"target {target.name!r} has no {dockerfile} in {directory}: it cannot run in Docker")
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    add("dockerfile", (directory / dockerfile).read_bytes())
    add("base_image", (base_image or "").encode())
    add("base_image_id", _base_image_id(base_image, directory / dockerfile).encode())
    for name in context_files(directory, dockerfile):
        path = directory / name
        data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
        add(f"file:{name}:{'x' if os.access(path, os.X_OK) else '-'}", data)
    return digest.hexdigest()


def image_spec(target: Target, base_image: str | None) -> ImageSpec:
    digest = inputs_digest(target, base_image)
    return ImageSpec(
        target=target.name,
        directory=target.directory,
        dockerfile=target.docker.get("dockerfile", "Dockerfile"),
        base_image=base_image,
        tag=f"bench-{target.name}:{digest[:12]}",
    )


def build_log_path(spec: ImageSpec) -> Path:
    return BUILD_LOG_DIR / f"docker-build-{spec.target}.log"


def ensure_image(spec: ImageSpec) -> dict[str, Any]:
    """Build the image unless its tag exists; return what was done (`built`, `build_s`)."""
    images = client().images
    with suppress(docker.errors.ImageNotFound):
        images.get(spec.tag)
        return {"built": False}
    log_path = build_log_path(spec)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    buildargs = {BASE_ARG: spec.base_image} if spec.base_image else None
    try:
        _, stream = images.build(
            path=str(spec.directory), dockerfile=spec.dockerfile, tag=spec.tag, buildargs=buildargs,
            network_mode="host", pull=False, rm=True, forcerm=True,
            labels={LABEL: "1", "bench.target": spec.target, "bench.base_image": spec.base_image_name},
        )  # fmt: skip
        _write_build_log(log_path, stream)
    except docker.errors.BuildError as exc:
        lines = _write_build_log(log_path, exc.build_log)
        last = (lines[-1] if lines else str(exc.msg)).strip()
        hint = ""
        if not _base_image_id(spec.base_image, spec.directory / spec.dockerfile):
            hint = f"; {spec.base_image_name} is not on this machine: pull it, or pass --base-image {spec.target}=IMAGE"
        raise BenchError(
            f"building the {spec.target} image on {spec.base_image_name} failed: {last} (build log: {log_path}){hint}"
        ) from None
    except docker.errors.APIError as exc:
        raise BenchError(f"building the {spec.target} image failed: {_api_error(exc)}") from None
    return {"built": True, "build_s": round(time.perf_counter() - start, 1)}


def _write_build_log(path: Path, stream: Iterable[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for chunk in stream:
        text = chunk.get("stream") or chunk.get("error") or chunk.get("status") or ""
        lines.extend(line for line in str(text).splitlines() if line.strip())
    path.write_text("\n".join(lines) + "\n")
    return lines


def _api_error(exc: docker.errors.APIError) -> str:
    return str(exc.explanation or exc).splitlines()[0]


def image_facts(spec: ImageSpec) -> dict[str, Any]:
    image = client().images.get(spec.tag)
    return {"tag": spec.tag, "id": image.id, "base_image": spec.base_image_name, "size_bytes": image.attrs["Size"]}


def image_versions(spec: ImageSpec, target: Target) -> dict[str, str]:
    """The target's own version probe (its manifest's `versions` command), run inside its image."""
    if not target.native.versions:
        return {}
    try:
        out = client().containers.run(
            spec.tag, command=target.native.versions, network_mode="none", remove=True, stdout=True, stderr=False,
            labels={LABEL: "1", OWNER_LABEL: _owner()},
        )  # fmt: skip
        return {str(k): str(v) for k, v in json.loads(out).items()}
    except (docker.errors.DockerException, ValueError) as exc:
        return {"error": f"could not read versions in {spec.tag}: {str(exc).splitlines()[0]}"}


# --- runtime interface ----------------------------------------------------------------------

_specs: dict[tuple[str, str | None], ImageSpec] = {}  # (target directory, base image) -> spec, per process
_builds: dict[str, dict[str, Any]] = {}  # tag -> what check_available did (built or reused, build time)


def _spec_for(target: Target, base_image: str | None) -> ImageSpec:
    key = (str(target.directory), base_image)
    if key not in _specs:
        _specs[key] = image_spec(target, base_image)
    return _specs[key]


def check_available(targets: list[Target], config: Any = None) -> None:
    """An engine answers, and every target's image exists (built here, before any trial)."""
    client()
    remove_strays()
    base_images: dict[str, str] = dict(getattr(config, "base_images", None) or {})
    known = {t.name for t in targets}
    targets_dir = getattr(config, "targets_dir", None)
    if targets_dir is not None:
        known |= set(discover_targets(Path(targets_dir)))  # a base image for a target left out of this run is fine
    unknown = sorted(set(base_images) - known)
    if unknown:
        raise BenchError(f"--base-image names {unknown[0]!r}, which is not a target; known: {', '.join(sorted(known))}")
    for target in targets:
        _specs.pop((str(target.directory), base_images.get(target.name)), None)  # re-hash: files may have changed
        spec = _spec_for(target, base_images.get(target.name))
        _builds[spec.tag] = ensure_image(spec)


def describe(targets: list[Target], config: Any = None) -> dict[str, Any]:
    """The engine version and, per target, the image used: tag, base image, size, versions inside."""
    engine = client().version()
    base_images: dict[str, str] = dict(getattr(config, "base_images", None) or {})
    images: dict[str, Any] = {}
    for target in targets:
        spec = _spec_for(target, base_images.get(target.name))
        ensure_image(spec)
        images[target.name] = {
            **image_facts(spec), **_builds.get(spec.tag, {}), "versions": image_versions(spec, target),
        }  # fmt: skip
    memory_limit = getattr(config, "memory_limit_mb", None)
    return {
        "docker": {
            "engine_version": engine.get("Version"),
            "api_version": engine.get("ApiVersion"),
            "network_mode": "host",
            "memory_limit_mb": memory_limit,
            "images": images,
        }
    }


def launch(target: Target, options: LaunchOptions) -> Server:
    """Start the target's container and return at once; `Server.wait_ready` tells when it answers."""
    check_port_free(options.host, options.port)
    spec = _spec_for(target, options.base_image)
    ensure_image(spec)  # normally a no-op: check_available built it
    image = client().images.get(spec.tag)
    _, env = target.native_command(options.host, options.port, options.workers)
    environment = {**env, **options.extra_env}
    name = f"bench-{target.name}-{options.port}-{uuid.uuid4().hex[:8]}"
    kwargs: dict[str, Any] = {
        "name": name, "detach": True, "auto_remove": False, "network_mode": "host", "environment": environment,
        "labels": {LABEL: "1", OWNER_LABEL: _owner(), "bench.target": target.name},
    }  # fmt: skip
    if options.cpus:
        kwargs["cpuset_cpus"] = ",".join(map(str, options.cpus))
    kwargs["cpu_shares"] = protect.V1_SHARES  # the highest CPU weight against neighbours (harness.protect)
    if options.memory_limit_mb:
        kwargs["mem_limit"] = kwargs["memswap_limit"] = f"{options.memory_limit_mb}m"  # no swap beyond the limit
    options.log_path.parent.mkdir(parents=True, exist_ok=True)
    options.log_path.write_text("")
    _remember(name)
    spawned_at = time.perf_counter()
    try:
        container = client().containers.run(spec.tag, **kwargs)
    except docker.errors.APIError as exc:
        _remove_quietly(name)
        raise BenchError(f"cannot start the {target.name} container ({spec.tag}): {_api_error(exc)}") from None
    handle = _Container(container, options.log_path)
    details: dict[str, Any] = {
        "runtime": "docker", "image": spec.tag, "image_id": image.id, "image_size_bytes": image.attrs["Size"],
        "base_image": spec.base_image_name, "container_id": container.id, "container_name": name,
        "network_mode": "host", "cpuset_cpus": kwargs.get("cpuset_cpus"), "mem_limit": kwargs.get("mem_limit"),
        "memory_limit_mb": options.memory_limit_mb, "host_pid": handle.pid,
        "cgroup_memory_path": cgroup_memory_path(handle.pid) if handle.pid else None,
    }  # fmt: skip
    return Server.launched(
        target, options, spawned_at, pids=handle.pids, exit_code=handle.exit_code, stop=handle.stop, details=details
    )


class _Container:
    """A started container: its processes as host PIDs, its exit code, its removal (idempotent)."""

    def __init__(self, container: Any, log_path: Path) -> None:
        self.container = container
        self.log_path = log_path
        self.pid: int | None = None
        self._create_time: float | None = None
        self._exit: int | None = None
        self._stopped = False
        self._lock = threading.Lock()
        with suppress(docker.errors.DockerException):
            container.reload()
            state = container.attrs.get("State", {})
            self.pid = int(state.get("Pid") or 0) or None
            if not state.get("Running", False):
                self._exit = int(state.get("ExitCode", -1))
        if self.pid:
            with suppress(psutil.Error):
                self._create_time = psutil.Process(self.pid).create_time()

    def _init_alive(self) -> bool:
        """Cheap (no API call): is the container's init process still there? Polled every few ms."""
        if self.pid is None:
            return False
        try:
            process = psutil.Process(self.pid)
            return process.create_time() == self._create_time and process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def pids(self) -> list[int]:
        if self._stopped or self.pid is None:
            return []
        return process_tree(self.pid) if self._init_alive() else []

    def exit_code(self) -> int | None:
        if self._exit is not None:
            return self._exit
        if self._stopped:
            return -1
        if self._init_alive():
            return None
        try:  # init is gone: ask the engine for the exit code and keep the log for `log_tail`
            self.container.reload()
            state = self.container.attrs.get("State", {})
            if state.get("Running", False) and not state.get("Restarting", False):
                return None
            self._exit = int(state.get("ExitCode", -1))
        except docker.errors.NotFound:
            self._exit = -1
        except docker.errors.DockerException:
            return None
        self.save_logs()
        return self._exit

    def save_logs(self) -> None:
        with suppress(docker.errors.DockerException, OSError):
            self.log_path.write_bytes(self.container.logs(stdout=True, stderr=True))

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            try:
                with suppress(docker.errors.DockerException):
                    self.container.stop(timeout=STOP_GRACE_S)
                self.save_logs()
            finally:
                _remove_quietly(self.container.name)


def _owner() -> str:
    return f"{os.uname().nodename}:{os.getpid()}"


# --- memory of a container: its cgroup -------------------------------------------------------


def _mount_points() -> list[tuple[str, str, str]]:
    """(mount point, filesystem type, super options) of every cgroup mount."""
    mounts = []
    with suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            left, _, right = line.partition(" - ")
            fields, extra = left.split(), right.split()
            if len(extra) >= 3 and extra[0] in ("cgroup", "cgroup2"):
                mounts.append((fields[4], extra[0], extra[2]))
    return mounts


def cgroup_memory_path(pid: int) -> str | None:
    """The file holding the container's current memory use, in bytes, from the host.

    cgroup v2: `<cgroup>/memory.current`; cgroup v1 (or a hybrid layout, where the memory
    controller stays on v1): `<memory cgroup>/memory.usage_in_bytes`. Both count the page cache
    the container's processes caused as well as their anonymous memory; None if not found.
    """
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    mounts = _mount_points()
    for line in lines:  # v2 first: "0::/path"
        hierarchy, controllers, path = line.split(":", 2)
        if hierarchy == "0" and controllers == "":
            for point, fstype, _ in mounts:
                candidate = Path(point + path) / "memory.current"
                if fstype == "cgroup2" and candidate.exists():
                    return str(candidate)
    for line in lines:  # v1: "N:memory:/path"
        hierarchy, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            for point, fstype, options in mounts:
                candidate = Path(point + path) / "memory.usage_in_bytes"
                if fstype == "cgroup" and "memory" in options.split(",") and candidate.exists():
                    return str(candidate)
    return None


# --- clean-up -------------------------------------------------------------------------------


def _remember(name: str) -> None:
    with _started_lock:
        _started[name] = engine_url()


def _remove_quietly(name: str) -> None:
    with suppress(docker.errors.NotFound):
        try:
            client().containers.get(name).remove(force=True, v=True)
        except (docker.errors.DockerException, BenchError):
            return  # the engine is gone: nothing left to remove there; atexit tries again
    with _started_lock:
        _started.pop(name, None)


@atexit.register
def remove_started() -> None:
    """Force-remove every container this process started and that is still there."""
    with _started_lock:
        names = list(_started.items())
    for name, url in names:
        with suppress(Exception):
            engine = _clients.get(url)
            if engine is not None:
                engine.containers.get(name).remove(force=True, v=True)
        with _started_lock:
            _started.pop(name, None)


def remove_strays() -> list[str]:
    """Remove labelled containers of this host whose harness process is gone (a killed run)."""
    removed = []
    host = os.uname().nodename
    try:
        containers = client().containers.list(all=True, filters={"label": LABEL})
    except docker.errors.DockerException:
        return removed
    for container in containers:
        owner = container.labels.get(OWNER_LABEL, "")
        owner_host, _, pid = owner.rpartition(":")
        if owner_host != host or not pid.isdigit() or psutil.pid_exists(int(pid)):
            continue
        with suppress(docker.errors.DockerException):
            container.remove(force=True, v=True)
            removed.append(container.name)
    return removed
