"""scripts/inject-slowdown.py: the knob it writes (tenths of a µs) and its refusals."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "inject-slowdown.py"


def _inject(target: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), str(target), *args], capture_output=True, text=True,
                          check=False)


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "express_app"
    target.mkdir()
    shutil.copy(ROOT / "targets" / "express_app" / "target.toml", target)
    return target


def test_five_percent_of_133_us_is_a_knob_of_6_7_us_and_a_second_injection_replaces_it(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    done = _inject(target, "0.05", "--cpu-us-per-req", "133")
    assert done.returncode == 0, done.stderr
    assert tomllib.loads((target / "target.toml").read_text())["native"]["env"]["SLOWDOWN_US"] == "6.7"
    assert _inject(target, "0.10", "--cpu-us-per-req", "133", "--overhead-us", "1.3").returncode == 0
    assert tomllib.loads((target / "target.toml").read_text())["native"]["env"]["SLOWDOWN_US"] == "12"


def test_a_slowdown_smaller_than_the_knobs_own_cost_is_refused_in_one_line(tmp_path: Path) -> None:
    done = _inject(_copy(tmp_path), "0.01", "--cpu-us-per-req", "100", "--overhead-us", "2")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "cannot be injected" in done.stderr
