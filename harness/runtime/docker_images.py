"""The Docker runtime's images: named by a hash of their build inputs, built (or reused) before any trial.

An image is tagged `bench-<target>:<12 hex>`, a hash of its build inputs (the Dockerfile, every
file of the build context that `.dockerignore` lets through, the base-image build argument and,
when that image is present locally, its ID), so a changed input gives a new image and an
unchanged one is reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors
from docker.utils.build import exclude_paths

from harness.errors import BenchError
from harness.runtime.docker_engine import LABEL, Engine, api_error, labels
from harness.targets import Target

BUILD_LOG_DIR = Path("build/logs")
BASE_ARG = "BASE_IMAGE"


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

    @property
    def build_log_path(self) -> Path:
        return BUILD_LOG_DIR / f"docker-build-{self.target}.log"


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


def inputs_digest(target: Target, base_image: str | None, base_image_id: str) -> str:
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
    add("base_image_id", base_image_id.encode())
    for name in context_files(directory, dockerfile):
        path = directory / name
        data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
        add(f"file:{name}:{'x' if os.access(path, os.X_OK) else '-'}", data)
    return digest.hexdigest()


def _write_build_log(path: Path, stream: Iterable[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for chunk in stream:
        text = chunk.get("stream") or chunk.get("error") or chunk.get("status") or ""
        lines.extend(line for line in str(text).splitlines() if line.strip())
    path.write_text("\n".join(lines) + "\n")
    return lines


class Images:
    """The images of one harness process: their specs (hashed once per check) and what was built."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._specs: dict[tuple[str, str | None], ImageSpec] = {}  # (target directory, base image) -> spec
        self.builds: dict[str, dict[str, Any]] = {}  # tag -> what `prepare` did (built or reused, build time)

    def spec(self, target: Target, base_image: str | None) -> ImageSpec:
        """The target's image on that base, hashed the first time it is asked for."""
        key = (str(target.directory), base_image)
        if key not in self._specs:
            self._specs[key] = self.hash(target, base_image)
        return self._specs[key]

    def hash(self, target: Target, base_image: str | None) -> ImageSpec:
        """The target's image spec from its inputs as they are now."""
        dockerfile = target.docker.get("dockerfile", "Dockerfile")
        base_id = self._base_image_id(base_image, target.directory / dockerfile)
        digest = inputs_digest(target, base_image, base_id)
        return ImageSpec(target=target.name, directory=target.directory, dockerfile=dockerfile, base_image=base_image,
                         tag=f"bench-{target.name}:{digest[:12]}")

    def prepare(self, target: Target, base_image: str | None) -> ImageSpec:
        """Re-hash (files may have changed since) and build unless that image exists; remember what was done."""
        self._specs.pop((str(target.directory), base_image), None)
        spec = self.spec(target, base_image)
        self.builds[spec.tag] = self.ensure(spec)
        return spec

    def _base_image_id(self, base_image: str | None, dockerfile: Path) -> str:
        """The local ID of the base image, if it is here: a rebuilt base under the same name changes the hash."""
        name = base_image or dockerfile_default_base(dockerfile)
        if not name:
            return ""
        try:
            return str(self.engine.client().images.get(name).id)
        except (docker.errors.DockerException, BenchError):  # not here (or no engine): the name alone
            return ""

    def ensure(self, spec: ImageSpec) -> dict[str, Any]:
        """Build the image unless its tag exists; return what was done (`built`, `build_s`)."""
        images = self.engine.client().images
        with suppress(docker.errors.ImageNotFound):
            images.get(spec.tag)
            return {"built": False}
        log_path = spec.build_log_path
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
            raise self._build_failed(spec, _write_build_log(log_path, exc.build_log), str(exc.msg)) from None
        except docker.errors.APIError as exc:
            raise BenchError(f"building the {spec.target} image failed: {api_error(exc)}") from None
        return {"built": True, "build_s": round(time.perf_counter() - start, 1)}

    def _build_failed(self, spec: ImageSpec, lines: list[str], message: str) -> BenchError:
        last = (lines[-1] if lines else message).strip()
        hint = ""
        if not self._base_image_id(spec.base_image, spec.directory / spec.dockerfile):
            hint = f"; {spec.base_image_name} is not on this machine: pull it, or pass --base-image {spec.target}=IMAGE"
        return BenchError(
            f"building the {spec.target} image on {spec.base_image_name} failed: {last} "
            f"(build log: {spec.build_log_path}){hint}"
        )

    def facts(self, spec: ImageSpec) -> dict[str, Any]:
        image = self.engine.client().images.get(spec.tag)
        return {"tag": spec.tag, "id": image.id, "base_image": spec.base_image_name, "size_bytes": image.attrs["Size"]}

    def versions(self, spec: ImageSpec, target: Target) -> dict[str, str]:
        """The target's own version probe (its manifest's `versions` command), run inside its image."""
        if not target.native.versions:
            return {}
        try:
            out = self.engine.client().containers.run(
                spec.tag, command=target.native.versions, network_mode="none", remove=True, stdout=True,
                stderr=False, labels=labels(),
            )  # fmt: skip
            return {str(k): str(v) for k, v in json.loads(out).items()}
        except (docker.errors.DockerException, ValueError) as exc:
            return {"error": f"could not read versions in {spec.tag}: {str(exc).splitlines()[0]}"}
