"""Every flag a figure can carry, in one registry (as hyperfine types its warnings).

A flag is raised on a trial's load step ("loadgen_saturated:users=64" in TrialRecord.flags) or found
across trials (noisy, single_trial, in Summary.flags). Everything that shows or judges a flag reads it
from FLAGS: the run's warnings (harness.summarize), the terminal's marks and legend, a claim's reason
and the claims file's default blocking flags (harness.claims), the report's plots. To add a flag:
raise it where it is measured, and add one Flag here.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.machine.disturbance import DISTURBED_PCT
from harness.metrics import RPS
from harness.rate_sweep import HEADROOM_FRACTION
from harness.stats import LITTLE_TOLERANCE, NOISY_CV

SATURATION_PCT = 90.0  # a Locust worker is one gevent thread: above this it delays its own requests
HEADROOM_PCT = HEADROOM_FRACTION * 100  # of the measured generator ceiling (harness.ceiling, harness.rate_sweep)


@dataclass(frozen=True)
class Flag:
    name: str  # as stored
    threshold: float | None  # the constant the flag is raised above, in the unit its texts give
    words: str  # in a verdict's reason: "<figure> <words> at users=8: cannot support or refute"
    headline: str  # in the run's warnings, before the places it touches
    advice: str  # what to do about it, after the places
    mark: str  # beside a figure in the terminal table
    legend: str  # the mark's meaning, in the legend under that table
    blocks_verdict: bool  # default of claims.toml's policy.blocking_flags: such a figure judges nothing
    warn_metrics: tuple[str, ...] = ()  # the figures whose flag is a warning line ((): none)
    show_cv: bool = False  # a warning place says the figure's CV


FLAGS: tuple[Flag, ...] = (
    Flag("single_trial", None, "single trial", "one trial, no CI", "", "†", "one trial, no CI", False),
    Flag("noisy", NOISY_CV, f"noisy (CV over {NOISY_CV:.0%} across trials)",
         f"noisy (CV over {NOISY_CV:.0%} across trials)",
         "Close other programs, or use longer durations or more trials (--profile full).", "~",
         f"noisy (CV > {NOISY_CV:.0%})", False,  # a warning: every verdict's interval is distribution-free
         warn_metrics=(RPS, "latency_p99_ms", "cold_start_ms", "rss_idle_mb"), show_cv=True),
    Flag("loadgen_saturated", SATURATION_PCT, "load generator saturated",
         f"load generator saturated (a Locust process above {SATURATION_PCT:g}% of a core, or all of them above "
         f"{SATURATION_PCT:g}% of the load generator's cores)",
         "The load generator, not the server, was the limit there, so these figures understate the server:"
         " give it more cores (--loadgen-cpus) or workers (--loadgen-workers), or compare with wrk.", "!",
         "load generator saturated", True, warn_metrics=(RPS,)),
    Flag("generator_bound", HEADROOM_PCT, "near the load generator's ceiling",
         f"near the load generator's ceiling (the step needed over {HEADROOM_PCT:g}% of the rate it reached "
         "against a raw server at the run's start)",
         "There the load generator's own queueing shows as the server's: the server's capacity is above what was"
         " measured. Give the load generator more cores (--loadgen-cpus, --loadgen-workers), or lower the steps.",
         "^", f"over {HEADROOM_PCT:g}% of the load generator's ceiling", True, warn_metrics=(RPS,)),
    Flag("little_law", LITTLE_TOLERANCE, "Little's law check failed",
         f"Little's law check failed (X·(R+Z) off N by over {LITTLE_TOLERANCE:.0%})",
         "Throughput × latency disagrees with the concurrency: requests queued outside the measurement.", "L",
         "Little's law check failed", True, warn_metrics=(RPS,)),
    Flag("disturbed", DISTURBED_PCT, "disturbed",
         f"disturbed (others used over {DISTURBED_PCT:g}% of a role's CPUs)",
         "Something else ran on the benchmark's CPUs: stop it, or protect the run "
         "(see harness/machine/protect.py).", "D",
         f"disturbed (others used over {DISTURBED_PCT:g}% of a role's CPUs)", False),
)
BY_NAME = {flag.name: flag for flag in FLAGS}


def words(name: str) -> str:
    """A flag's words in a reason; an unknown name (a newer run's flag) as itself."""
    known = BY_NAME.get(name)
    return known.words if known else name


def blocking_defaults() -> list[str]:
    """The flags that block a verdict unless claims.toml's policy says otherwise."""
    return [f.name for f in FLAGS if f.blocks_verdict]


def marks(flags: list[str] | tuple[str, ...] | set[str]) -> str:
    """The terminal marks of a figure's flag names, in the registry's order: "~!"."""
    return "".join(f.mark for f in FLAGS if f.name in flags)


def legend() -> str:
    return " · ".join(f"{f.mark} {f.legend}" for f in FLAGS)


def name_and_step(raised: str) -> tuple[str, str]:
    """"loadgen_saturated:users=64" -> ("loadgen_saturated", "users=64"); a name alone has step ""."""
    name, _, step = raised.partition(":")
    return name, step
