"""Scenario files: `scenarios/<name>.py`, each with a literal `SCENARIO` dict and its Locust users.

The harness reads `SCENARIO` with `ast.literal_eval`, never importing the file: the Locust
user classes below it import gevent, which must stay out of the harness process. A scenario's
`kind` picks the code that runs it from `harness.kinds`.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import BenchError

KINDS = {
    "load": "harness.kinds.load",
    "cold_start": "harness.kinds.cold_start",
}


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    path: Path
    description: str
    kind: str
    claims: list[str] = Field(default_factory=list)
    # A scenario whose users write to the in-memory store cannot run on several server workers:
    # each worker has its own store, so a read may land on a worker that never saw the write.
    stateful: bool = False
    # "postgres": the harness starts PostgreSQL for the run, resets it before each trial and starts the
    # servers on it (harness.database); None: the servers keep their data in memory.
    database: Literal["postgres"] | None = None
    profiles: dict[str, dict[str, Any]]

    def kind_module(self) -> ModuleType:
        return importlib.import_module(KINDS[self.kind])

    def params(self, profile: str) -> Any:
        """The validated parameters of one profile, as the kind's `Params` model."""
        if profile not in self.profiles:
            raise BenchError(f"scenario {self.name!r} has no profile {profile!r}; it has: {', '.join(self.profiles)}")
        try:
            return self.kind_module().Params(**self.profiles[profile])
        except ValidationError as exc:
            raise BenchError(f"bad parameters in {self.path} profile {profile!r}: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]


def _literal_scenario(tree: ast.Module, path: Path) -> dict[str, Any]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "SCENARIO" for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                message = "SCENARIO must be a literal dict (no names or calls)"
                raise BenchError(f"bad scenario file {path}: {message}") from None
            if not isinstance(value, dict):
                raise BenchError(f"bad scenario file {path}: SCENARIO must be a dict")
            return value
    raise BenchError(f"bad scenario file {path}: it defines no SCENARIO = {{...}}")


def load_scenario(path: Path) -> Scenario:
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError as exc:
        raise BenchError(f"bad scenario file {path}: syntax error on line {exc.lineno}: {exc.msg}") from None
    except OSError as exc:
        raise BenchError(f"cannot read scenario file {path}: {exc.strerror}") from None
    data = _literal_scenario(tree, path)
    description = (ast.get_docstring(tree) or "").strip().split("\n\n")[0].replace("\n", " ")
    try:
        scenario = Scenario(name=path.stem, path=path.resolve(), description=description, **data)
    except (ValidationError, TypeError) as exc:
        detail = _first_error(exc) if isinstance(exc, ValidationError) else str(exc)
        raise BenchError(f"bad scenario file {path}: {detail}") from None
    if scenario.kind not in KINDS:
        raise BenchError(f"bad scenario file {path}: unknown kind {scenario.kind!r}; known: {', '.join(KINDS)}")
    for profile in scenario.profiles:
        scenario.params(profile)  # validate every profile now, not halfway through a run
    return scenario


def discover_scenarios(directory: Path = Path("scenarios")) -> dict[str, Scenario]:
    if not directory.is_dir():
        raise BenchError(f"no scenarios folder at {directory.resolve()}")
    scenarios = {path.stem: load_scenario(path) for path in sorted(directory.glob("*.py")) if path.stem != "__init__"}
    if not scenarios:
        raise BenchError(f"no scenario files in {directory.resolve()}")
    return scenarios


def select_scenarios(available: dict[str, Scenario], names: list[str] | None, profile: str) -> list[Scenario]:
    """The named scenarios, or every scenario that has the profile."""
    if names:
        unknown = [n for n in names if n not in available]
        if unknown:
            raise BenchError(f"unknown scenario {unknown[0]!r}; known: {', '.join(available)}")
        return [available[n] for n in names]
    chosen = [s for s in available.values() if profile in s.profiles]
    if not chosen:
        raise BenchError(f"no scenario has a {profile!r} profile")
    return chosen
