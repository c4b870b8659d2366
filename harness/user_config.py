"""A user's own defaults and profiles: `[tool.bench]` in pyproject.toml, or a bench.toml.

    [tool.bench.run]               # default flags of `bench run` (in bench.toml: [run])
    server-cpus = "0"
    loadgen-cpus = "1"
    [tool.bench.compare]           # any command's flags: [tool.bench.<command>]
    threshold = 3
    [tool.bench.profiles.smoke]    # `bench run --profile smoke` (in bench.toml: [profiles.smoke])
    base = "test"                  # whose scenario parameters: quick, full, ci or test
    description = "one scenario, both apps, a minute"
    scenario = ["throughput"]      # then any flag of `bench run`
    no-ceiling = true

Keys are the flags' long names (`results-dir`; `results_dir` too). A value is checked exactly as the
same flag on the command line (its type and choices, from the parser); a list is a repeated flag, true a
switch. What the command line says wins, then the profile, then the command's table, then the built-in
default. The file's shape is a pydantic model built from the parser, as the scenario files' are checked:
an unknown command, flag or key, or a bad value is one line `bench: error: bad config FILE: ...`, exit 2.

Where: the current folder, else the nearest parent with a bench.toml or a pyproject.toml (bench.toml
first; a pyproject.toml without [tool.bench] means no settings). BENCH_CONFIG=FILE names the file,
BENCH_CONFIG= (empty) reads none. A profile's run is stored with its profile as its `base` and its own
name as `user_profile` in results.json's config, so compare and history group it with its base.
"""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, ValidationError, create_model

from harness.config import PROFILES
from harness.errors import BenchError

ENV_VAR = "BENCH_CONFIG"
PROFILE_COMMAND = "run"  # the command whose --profile a user profile extends
PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
Scalar = StrictBool | StrictInt | StrictFloat | str
Value = Scalar | list[Scalar]


class UserProfile(BaseModel):
    """`[tool.bench.profiles.NAME]`: a built-in profile's scenario parameters plus flags of `bench run`."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Value] = Field(init=False)  # the flags, checked against the parser in resolve

    base: Literal[PROFILES]  # type: ignore[valid-type]
    description: str = ""

    def flags(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


@dataclass
class Settings:
    path: Path | None = None
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)  # command -> flag name -> value
    profiles: dict[str, UserProfile] = field(default_factory=dict)


def find_config(start: Path | None = None) -> Path | None:
    """The settings file in force: BENCH_CONFIG, else bench.toml or a pyproject.toml with [tool.bench] in
    the nearest folder (from `start`, default the current one, upwards) that has either file."""
    if ENV_VAR in os.environ:
        named = os.environ[ENV_VAR]
        return Path(named) if named else None
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / "bench.toml").is_file():
            return candidate / "bench.toml"
        if (candidate / "pyproject.toml").is_file():
            return candidate / "pyproject.toml"
    return None


def load_settings(path: Path | None, commands: list[str]) -> Settings:
    """The file's settings, their shape checked (not yet the flags' values: see resolve)."""
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise BenchError(f"cannot read config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"bad config {path}: {exc}") from None
    if path.name == "pyproject.toml":
        data = (data.get("tool") or {}).get("bench")
        if data is None:
            return Settings(path=path)
    model = create_model("BenchSettings", __config__=ConfigDict(extra="forbid"),
                         profiles=(dict[str, UserProfile], Field(default_factory=dict)),
                         **{command: (dict[str, Value], Field(default_factory=dict)) for command in commands})
    try:
        parsed = model(**data)
    except ValidationError as exc:
        raise BenchError(f"bad config {path}: {_section(path)}{_first_error(exc)}") from None
    settings = Settings(path=path, commands={c: getattr(parsed, c) for c in commands if getattr(parsed, c)},
                        profiles=parsed.profiles)
    for name in settings.profiles:
        if name in PROFILES or not PROFILE_NAME.fullmatch(name):
            why = "a built-in profile's name" if name in PROFILES else "not a plain name (letters, digits, _ and -)"
            raise BenchError(f"bad config {path}: {_section(path)}profiles.{name}: {why}")
    return settings


def _section(path: Path) -> str:
    return "tool.bench." if path.name == "pyproject.toml" else ""


UNION_TAGS = ("bool", "int", "float", "str")  # the parts pydantic adds to a location inside a Value


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    loc, message = list(error["loc"]), error["msg"]
    cut = next((i for i, part in enumerate(loc) if part in UNION_TAGS or str(part).startswith("list[")), None)
    if cut is not None:  # a flag's value of none of the kinds a flag takes
        loc, message = loc[:cut], "expected a string, a number, true or false, or a list of them"
    where = ".".join(str(part) for part in loc)
    return f"{where}: {message}" if where else message


# ---- applying it to a parsed command line -------------------------------------------------------------------


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def add_profile_choices(parser: argparse.ArgumentParser, settings: Settings) -> None:
    """`bench run --profile` accepts the file's profiles beside the built-in ones."""
    if not settings.profiles:
        return
    for action in subparsers(parser)[PROFILE_COMMAND]._actions:
        if action.dest == "profile" and action.choices is not None:
            action.choices = [*PROFILES, *settings.profiles]
            action.help = f"built-in {', '.join(PROFILES)}, or one of the config file's: {', '.join(settings.profiles)}"


def check(parser: argparse.ArgumentParser, settings: Settings) -> None:
    """Every table's flags and values against the parser, the profiles' too, used or not: a bad file is
    refused whatever the command."""
    commands = subparsers(parser)
    for command, values in settings.commands.items():
        for key, value in values.items():
            _convert(_action(commands[command], key, settings, command), value, settings, f"{command}.{key}")
    for name, profile in settings.profiles.items():
        for key, value in profile.flags().items():
            where = f"profiles.{name}"
            _convert(_action(commands[PROFILE_COMMAND], key, settings, where), value, settings, f"{where}.{key}")


def resolve(parser: argparse.ArgumentParser, argv: list[str], args: argparse.Namespace, settings: Settings) -> None:
    """Fill in `args` what the command line left unsaid: from the profile, then the command's table."""
    command = args.command
    sub = subparsers(parser)[command]
    given = _given(sub, argv[argv.index(command) + 1:])
    layers: list[tuple[str, dict[str, Any]]] = []
    profile = settings.profiles.get(getattr(args, "profile", None) or "") if command == PROFILE_COMMAND else None
    if profile is not None:
        layers.append((f"profiles.{args.profile}", profile.flags()))
    layers.append((command, settings.commands.get(command, {})))
    set_here: set[str] = set()
    for section, values in layers:
        for key, value in values.items():
            action = _action(sub, key, settings, section)
            if action.dest in given or action.dest in set_here:
                continue
            setattr(args, action.dest, _convert(action, value, settings, f"{section}.{key}"))
            set_here.add(action.dest)
    if profile is not None:
        args.user_profile, args.profile = args.profile, profile.base


def _given(sub: argparse.ArgumentParser, rest: list[str]) -> set[str]:
    """The dests the command line set: the subcommand's arguments parsed again with no defaults."""
    saved = [(a, a.default) for a in sub._actions]
    try:
        for action, _ in saved:
            action.default = argparse.SUPPRESS
        namespace, _ = sub.parse_known_args(rest, argparse.Namespace())
    finally:
        for action, default in saved:
            action.default = default
    return set(vars(namespace))


def _action(sub: argparse.ArgumentParser, key: str, settings: Settings, section: str) -> argparse.Action:
    flag = "--" + key.lstrip("-").replace("_", "-")
    for action in sub._actions:
        if flag in action.option_strings:
            if isinstance(action, argparse._HelpAction | argparse._VersionAction):
                break
            return action
    raise _bad(settings, f"{section}.{key}", f"no option {flag} in bench {sub.prog.split()[-1]}")


def _convert(action: argparse.Action, value: Any, settings: Settings, where: str) -> Any:
    if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
        if not isinstance(value, bool):
            raise _bad(settings, where, f"expected true or false, got {value!r}")
        return value if isinstance(action, argparse._StoreTrueAction) else not value
    if isinstance(action, argparse._AppendAction):
        items = value if isinstance(value, list) else [value]
        return [_scalar(action, item, settings, where) for item in items]
    if isinstance(action, argparse._StoreAction) and action.nargs is None:
        if isinstance(value, list):
            raise _bad(settings, where, f"expected one value, got a list (the flag {action.option_strings[-1]} "
                                        "is not repeatable)")
        return _scalar(action, value, settings, where)
    raise _bad(settings, where, f"{action.option_strings[-1]} cannot be set in the config file")


def _scalar(action: argparse.Action, value: Any, settings: Settings, where: str) -> Any:
    if isinstance(value, bool):
        raise _bad(settings, where, f"expected a value for {action.option_strings[-1]}, got {str(value).lower()}")
    text = str(value)
    try:
        converted = action.type(text) if callable(action.type) else text
    except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
        raise _bad(settings, where, str(exc) or f"invalid value {text!r}") from None
    if action.choices is not None and converted not in action.choices:
        choices = ", ".join(str(c) for c in action.choices)
        raise _bad(settings, where, f"invalid choice {converted!r} (choose from {choices})")
    return converted


def _bad(settings: Settings, where: str, message: str) -> BenchError:
    return BenchError(f"bad config {settings.path}: {_section(settings.path or Path())}{where}: {message}")
