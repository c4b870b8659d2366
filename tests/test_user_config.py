"""`[tool.bench]` in pyproject.toml (or bench.toml): default flags per command and the user's own profiles,
checked like the scenario files (one line, exit 2, for a bad file); shell completion built from the parser;
and a user profile's `bench run` end to end (the real apps and Locust, the test profile's sizes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.commands.main import main, parse_command_line

ROOT = Path(__file__).resolve().parent.parent
PROFILE = """
[tool.bench.run]
server-cpus = "0"
target = ["fastapi"]
sample-hz = 5
[tool.bench.compare]
threshold = 3
[tool.bench.profiles.myprofile]
base = "test"
description = "throughput alone, both apps"
scenario = ["throughput"]
target = ["fastapi", "express"]
no-ceiling = true
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BENCH_CONFIG", raising=False)
    return tmp_path


def write(folder: Path, text: str, name: str = "pyproject.toml") -> Path:
    (folder / name).write_text(text)
    return folder / name


def test_a_commands_table_sets_its_defaults_and_the_command_line_wins(folder):
    write(folder, "[project]\nname = 'x'\n" + PROFILE)
    args = parse_command_line(["run", "--scenario", "throughput"])
    assert (args.server_cpus, args.target, args.sample_hz, args.profile) == ("0", ["fastapi"], 5.0, "quick")
    args = parse_command_line(["run", "--target", "express", "--server-cpus", "1", "--sample-hz", "20"])
    assert (args.server_cpus, args.target, args.sample_hz) == ("1", ["express"], 20.0)  # replaced, not appended
    assert parse_command_line(["compare", "a", "b"]).threshold == 3.0
    assert parse_command_line(["compare", "a", "b", "--threshold", "7"]).threshold == 7.0


def test_a_profile_is_its_base_with_its_flags_over_the_commands_table(folder):
    write(folder, PROFILE)
    args = parse_command_line(["run", "--profile", "myprofile"])
    assert (args.profile, args.user_profile) == ("test", "myprofile")
    assert args.scenario == ["throughput"] and args.target == ["fastapi", "express"] and args.no_ceiling is True
    assert args.server_cpus == "0"  # from [tool.bench.run], which the profile leaves alone
    args = parse_command_line(["run", "--profile", "myprofile", "--target", "express"])
    assert args.target == ["express"]
    assert parse_command_line(["run", "--profile", "ci"]).profile == "ci"  # built-in ones unchanged


def test_where_the_settings_come_from(folder, monkeypatch):
    write(folder, "[run]\nserver-cpus = '1'\n", "bench.toml")
    write(folder, "[tool.bench.run]\nserver-cpus = '0'\n")
    nested = folder / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert parse_command_line(["run"]).server_cpus == "1"  # the nearest folder's, bench.toml first
    (folder / "bench.toml").unlink()
    assert parse_command_line(["run"]).server_cpus == "0"
    write(folder, "[project]\nname = 'x'\n")  # a pyproject.toml without [tool.bench]: no settings
    assert parse_command_line(["run"]).server_cpus is None
    other = write(folder / "a", "[run]\nserver-cpus = '3'\n", "elsewhere.toml")
    monkeypatch.setenv("BENCH_CONFIG", str(other))
    assert parse_command_line(["run"]).server_cpus == "3"
    monkeypatch.setenv("BENCH_CONFIG", "")
    write(folder, "[tool.bench.run]\nserver-cpus = '0'\n")
    assert parse_command_line(["run"]).server_cpus is None  # BENCH_CONFIG= reads none


BAD = {
    "toml syntax": ("[tool.bench.run\n", "bad config"),
    "unknown command": ("[tool.bench.rnu]\nworkers = 2\n", "rnu: Extra inputs are not permitted"),
    "unknown flag": ("[tool.bench.run]\nwrokers = 2\n", "run.wrokers: no option --wrokers in bench run"),
    "bad value": ("[tool.bench.run]\nworkers = 0\n", "run.workers: expected a positive integer"),
    "bad choice": ("[tool.bench.run]\norder = 'sideways'\n", "run.order: invalid choice 'sideways'"),
    "list for one value": ("[tool.bench.run]\nserver-cpus = ['0', '1']\n", "not repeatable"),
    "switch given a word": ("[tool.bench.run]\nno-ceiling = 'yes'\n", "expected true or false"),
    "a table as a value": ("[tool.bench.run.db]\nport = 1\n", "run.db: expected a string, a number"),
    "profile without base": ("[tool.bench.profiles.p]\nscenario = ['throughput']\n", "profiles.p.base: Field required"),
    "profile's unknown base": ("[tool.bench.profiles.p]\nbase = 'fast'\n", "profiles.p.base: Input should be"),
    "built-in name": ("[tool.bench.profiles.quick]\nbase = 'test'\n", "profiles.quick: a built-in profile's name"),
    "profile's bad flag": ("[tool.bench.profiles.p]\nbase = 'test'\nworkers = 'many'\n",
                           "profiles.p.workers: expected a positive integer"),
    "help is not a setting": ("[tool.bench.run]\nhelp = true\n", "no option --help"),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_config_is_one_line_and_exit_2(case, folder, capsys):
    text, says = BAD[case]
    write(folder, text)
    assert main(["run", "--list", "--profile", "test"]) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(f"bench: error: bad config {folder / 'pyproject.toml'}: "), line
    assert says in line and captured.out == ""


def test_completion_scripts_know_the_commands_and_the_users_profiles(folder, capsys):
    write(folder, PROFILE)
    for shell in ("bash", "zsh", "tcsh"):
        assert main(["completion", shell]) == 0
        script = capsys.readouterr().out
        assert "history" in script and "completion" in script, shell
        if shell != "tcsh":  # shtab's tcsh script completes commands and choices only
            assert "--json" in script and "myprofile" in script, shell
    bash = folder / "bench.bash"
    assert main(["completion", "bash"]) == 0
    bash.write_text(capsys.readouterr().out)
    checked = subprocess.run(["bash", "-n", str(bash)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_completion_in_bash_offers_the_subcommands_and_profiles(folder, capsys):
    """The script sourced in a real bash, its completion function called as readline would."""
    write(folder, PROFILE)
    assert main(["completion", "bash"]) == 0
    (folder / "bench.bash").write_text(capsys.readouterr().out)
    probe = ('source ./bench.bash; COMP_WORDS=(bench run --profile ""); COMP_CWORD=3; '
             'COMP_LINE="bench run --profile "; COMP_POINT=${#COMP_LINE}; _shtab_bench; '
             'printf "%s\\n" "${COMPREPLY[@]}"; '
             'COMP_WORDS=(bench hi); COMP_CWORD=1; COMP_LINE="bench hi"; COMP_POINT=8; _shtab_bench; '
             'printf "%s\\n" "${COMPREPLY[@]}"')
    done = subprocess.run(["bash", "-c", probe], cwd=folder, capture_output=True, text=True, timeout=30)
    offered = done.stdout.split()
    assert {"quick", "test", "myprofile"} <= set(offered) and "history" in offered, done.stdout + done.stderr


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_a_user_profile_runs_end_to_end(folder):
    """`bench run --profile myprofile`, from a folder whose pyproject.toml defines it: the real apps and Locust,
    the test profile's sizes, the run named and recorded after the user's profile."""
    write(folder, PROFILE.replace('server-cpus = "0"\ntarget = ["fastapi"]\n', "") + f"""
targets-dir = "{ROOT / 'targets'}"
scenarios-dir = "{ROOT / 'scenarios'}"
results-dir = "{folder / 'results'}"
""")
    env = {k: v for k, v in os.environ.items() if k != "BENCH_CONFIG"}
    done = subprocess.run([sys.executable, "-m", "harness", "run", "--profile", "myprofile", "--quiet"], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == ""  # --quiet
    (run,) = (folder / "results").iterdir()
    assert run.name.endswith("-myprofile")
    results = json.loads((run / "results.json").read_text())
    assert results["config"]["profile"] == "test" and results["config"]["user_profile"] == "myprofile"
    assert results["config"]["ceiling_s"] == 0.0  # no-ceiling = true, from the profile
    measured = {(m["target"], m["scenario"]) for m in results["metrics"] if m["metric"] == "rps"}
    assert measured == {("fastapi", "throughput"), ("express", "throughput")}
