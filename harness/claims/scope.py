"""Which profiles can carry a check. A check may declare what its figure needs (claims.toml `needs`: a
measured hold of at least so many seconds per step, at least so many trials); a run whose profile gives
the check's scenario less does not judge it: the check is "not checked by this profile", naming the
profiles of this checkout's scenarios/ that carry it, instead of a verdict the data cannot hold or an
"inconclusive" that a longer run would not cure by luck.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.claims.schema import DEFAULT_CLAIMS, Needs, Place
from harness.config import PROFILES
from harness.errors import BenchError
from harness.numbers import number as fmt

SCENARIOS_DIR = DEFAULT_CLAIMS.parent / "scenarios"  # the project's scenario files, beside claims.toml


def lacks(needs: Needs, params: dict[str, Any], profile: str, scenario: str) -> list[str]:
    """What one profile's parameters of a scenario fall short of: ["quick holds memory 3 s"]; [] if none."""
    short = []
    duration, trials = params.get("duration_s"), params.get("trials")
    if needs.duration_s is not None and duration is not None and duration < needs.duration_s:
        short.append(f"{profile} holds {scenario} {fmt(duration)} s")
    if needs.trials is not None and trials is not None and trials < needs.trials:
        short.append(f"{profile} runs {scenario} {trials} trial{'s' if trials != 1 else ''}")
    return short


def profile_params(scenario: str, directory: Path = SCENARIOS_DIR) -> dict[str, dict[str, Any]]:
    """Each profile's parameters of a scenario file (duration_s, trials, ...); {} when there is no such file."""
    from harness.scenario import load_scenario

    try:
        found = load_scenario(directory / f"{scenario}.py")
    except BenchError:
        return {}
    return {p: found.params(p).model_dump() for p in PROFILES if p in found.profiles}


def carrying_profiles(scenario: str, needs: Needs, directory: Path = SCENARIOS_DIR) -> list[str]:
    """The profiles whose parameters of `scenario` give what `needs` asks, in PROFILES' order."""
    return [p for p, params in profile_params(scenario, directory).items() if not lacks(needs, params, p, scenario)]


def not_checked(check: Place, config: dict[str, Any]) -> str:
    """Why the run's profile cannot judge `check`, or "" when it can (or the check needs nothing, or the run
    did not record the scenario's parameters: then the check is judged, or found missing, as always)."""
    params = config.get("scenario_params", {}).get(check.scenario)
    if check.needs is None or not params:
        return ""
    profile = str(config.get("profile") or "this")
    short = lacks(check.needs, params, profile, check.scenario)
    if not short:
        return ""
    return (f"not checked by the {profile} profile: a verdict needs {check.needs.text()}, and "
            f"{' and '.join(short)}; {_carriers(check.scenario, check.needs, profile)}. Why: {check.needs.why}")


def _carriers(scenario: str, needs: Needs, profile: str) -> str:
    params = profile_params(scenario)
    carriers = [p for p in carrying_profiles(scenario, needs) if p != profile]
    if not carriers:
        return f"no profile of scenarios/{scenario}.py carries it"
    described = [f"--profile {p} ({_params_text(params[p], needs)})" for p in carriers]
    return f"{' or '.join(described)} carries it"


def _params_text(params: dict[str, Any], needs: Needs) -> str:
    """What a carrying profile gives of what `needs` asks: "300 s, 5 trials"."""
    trials = params.get("trials") if needs.trials is not None else None
    duration = params.get("duration_s") if needs.duration_s is not None else None
    parts = [f"{fmt(duration)} s" if duration is not None else "",
             f"{trials} trial{'s' if trials != 1 else ''}" if trials is not None else ""]
    return ", ".join(p for p in parts if p)
