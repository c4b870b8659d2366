"""Targets: the servers under test, each described by `targets/<folder>/target.toml`.

Adding a framework is adding a folder with a manifest; the harness has no per-target code.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import BenchError

MANIFEST = "target.toml"
INSTALL_STAMP = ".install-stamp"


class NativeSpec(BaseModel):
    """How to install and start a target as a plain process on this machine."""

    model_config = ConfigDict(extra="forbid")

    install: list[list[str]] = Field(default_factory=list)
    install_inputs: list[str] = Field(default_factory=list)
    command: list[str]
    env: dict[str, str] = Field(default_factory=dict)
    versions: list[str] | None = None


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    display_name: str
    language: str
    requires: list[str] = Field(default_factory=list)
    health_path: str = "/health"
    # "baseline": a raw server (no framework) for the generator's ceiling and framework
    # overhead; it runs only when named, never in a default run.
    role: Literal["contender", "baseline"] = "contender"
    # The contract paths it serves, when not all (a baseline's subset); the contract check asks only these.
    endpoints: list[str] | None = None
    native: NativeSpec
    docker: dict[str, str] = Field(default_factory=dict)
    directory: Path = Field(default=Path("."), exclude=True)

    def native_command(self, host: str, port: int, workers: int) -> tuple[list[str], dict[str, str]]:
        """The start command and extra environment with placeholders filled in."""
        values = {"host": host, "port": str(port), "workers": str(workers)}
        command = [part.format(**values) for part in self.native.command]
        env = {key: value.format(**values) for key, value in self.native.env.items()}
        return command, env

    def check_requirements(self) -> None:
        for tool in self.requires:
            if shutil.which(tool) is None:
                raise BenchError(f"target {self.name!r} needs {tool!r} on PATH, and it is not installed")


def load_target(directory: Path) -> Target:
    path = directory / MANIFEST
    try:
        data = tomllib.loads(path.read_text())
        return Target(**data, directory=directory.resolve())
    except (tomllib.TOMLDecodeError, ValidationError, TypeError) as exc:
        first = str(exc).splitlines()
        detail = "; ".join(line.strip() for line in first[:3])
        raise BenchError(f"bad target manifest {path}: {detail}") from None


def discover_targets(root: Path = Path("targets")) -> dict[str, Target]:
    """Every folder under `root` holding a manifest, keyed by the manifest's name."""
    if not root.is_dir():
        raise BenchError(f"no targets folder at {root.resolve()}")
    targets: dict[str, Target] = {}
    for manifest in sorted(root.glob(f"*/{MANIFEST}")):
        target = load_target(manifest.parent)
        if target.name in targets:
            other = targets[target.name].directory
            raise BenchError(f"two targets are named {target.name!r} ({manifest.parent} and {other})")
        targets[target.name] = target
    if not targets:
        raise BenchError(f"no target manifests ({MANIFEST}) under {root.resolve()}")
    return targets


def select_targets(
    all_targets: dict[str, Target], names: list[str] | None, include_baselines: bool = False
) -> list[Target]:
    """The named targets; with no names, every contender (baselines too if asked)."""
    if not names:
        return [t for t in all_targets.values() if include_baselines or t.role != "baseline"]
    unknown = [n for n in names if n not in all_targets]
    if unknown:
        raise BenchError(f"unknown target {unknown[0]!r}; known: {', '.join(all_targets)}")
    return [all_targets[n] for n in names]


def install_digest(target: Target) -> str:
    """A hash of the install commands and the install inputs' bytes: same hash, same install."""
    digest = hashlib.sha256(json.dumps(target.native.install).encode())
    for name in target.native.install_inputs:
        digest.update((target.directory / name).read_bytes())
    return digest.hexdigest()


def install_native(target: Target, force: bool = False) -> bool:
    """Run the target's install commands unless its inputs are unchanged; True if it ran."""
    target.check_requirements()
    stamp = target.directory / INSTALL_STAMP
    digest = install_digest(target)
    if not force and stamp.exists() and stamp.read_text() == digest:
        return False
    for command in target.native.install:
        result = subprocess.run(command, check=False, cwd=target.directory, capture_output=True, text=True)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["(no output)"]
            raise BenchError(f"installing {target.name} failed at `{' '.join(command)}`: {tail[0]}")
    stamp.write_text(digest)
    return True


def framework_versions(target: Target) -> dict[str, str]:
    """Ask the installed target for its component versions (framework, runtime, libraries)."""
    if not target.native.versions:
        return {}
    try:
        out = subprocess.run(
            target.native.versions, cwd=target.directory, capture_output=True, text=True, timeout=60, check=True
        ).stdout
        return {str(k): str(v) for k, v in json.loads(out).items()}
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return {"error": f"could not read versions: {exc}"}
