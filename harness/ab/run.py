"""`bench ab BASE HEAD`: both revisions of each target in one interleaved run, judged round by round.

revisions (build/ab/<sha>/) → installs (build/ab/cache/, by lock-file hash) → one `bench run` with each
target twice, <name>-base and <name>-head, in rounds (B H, H B, …: harness.run.plan_trials) on the
same CPU sets → the paired verdict (harness.compare.ab) → reports. The revisions' folders are removed at
the end, whatever happened; the cached installs are kept for the next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from harness.ab import install, revisions
from harness.compare.ab import AbResult, paired_changes, side_name
from harness.config import RunConfig
from harness.errors import BenchError
from harness.machine.locks import Held
from harness.results import load_results
from harness.run import Progress, prepare_run
from harness.scenario import Scenario, discover_scenarios, select_scenarios
from harness.targets import Target, discover_targets, select_targets

# The scenarios gated by default: the closed-loop throughput step (rps, p99, CPU per request at
# saturation) and one fixed offered load (CPU per request where the server is not saturated).
AB_SCENARIOS = ("throughput", "rate")
DEFAULT_ROUNDS = 8  # 5 is the least an exact one-sided test at 0.05 can use; 8 lets the CI drop the extremes
# The interval of the median ratio must lie wholly beyond this. 3%, not compare's 5%: with 8 rounds the
# interval is a few percent wide either side on a busy machine, so a 5% threshold lets a 10% slowdown
# through whenever its rounds spread (docs/regression-tracking.md has the runs this was chosen on).
DEFAULT_THRESHOLD_PCT = 3.0
# 64 pairs, about 130 s of load: enough for the gate to catch a 5% rise of CPU per request most of the time
# on a 2-vCPU VM, in under 4 minutes for one target. How this was chosen (runs, and a resampling of A/A
# runs by scripts/ab-power.py) is in docs/regression-tracking.md.
DEFAULT_SLICE_PAIRS = 64
SLICED_WARMUP_S = 3.0  # both servers' JITs warm in it, alternating (harness.loadgen.slices)
SIDES = ("base", "head")


@dataclass(frozen=True)
class AbOptions:
    base_ref: str
    head_ref: str
    targets: list[str] | None = None  # default: every contender of the base revision
    scenarios: list[str] | None = None  # default: AB_SCENARIOS
    profile: str = "ci"
    rounds: int = DEFAULT_ROUNDS
    # Closed-model scenarios of one step run as one sliced trial of this many pairs of 1-s slices
    # (harness.kinds.sliced): base and head a second apart instead of a trial apart. 0: rounds.
    slice_pairs: int = DEFAULT_SLICE_PAIRS
    threshold_pct: float = DEFAULT_THRESHOLD_PCT
    alpha: float = 0.05
    runtime: str = "native"
    repo: Path = Path(".")
    build_dir: Path = Path("build/ab")
    results_dir: Path = Path("results")
    scenarios_dir: Path = Path("scenarios")
    run_name: str | None = None
    server_cpus: str | None = None
    loadgen_cpus: str | None = None
    keep: bool = False  # keep the revisions' folders (to look at them)
    # Re-runs of a round a neighbour disturbed. 0 by default: both sides of a round run back to back, so a
    # slow minute hits both and their ratio carries little of it, and re-runs would double a CI job's time.
    max_reruns: int = 0
    base_images: dict[str, str] = field(default_factory=dict)  # docker: target name -> base image, for both sides


def run_ab(options: AbOptions, progress: Progress | None = None) -> AbResult:
    """Measure both revisions in one run and judge them; the revisions' folders are always removed."""
    repo = revisions.toplevel(options.repo)
    base = revisions.resolve(repo, options.base_ref)
    head = revisions.resolve(repo, options.head_ref)
    folders: list[Path] = []
    locks: list[Held] = []
    try:
        # A/A: the head gets a folder of its own too, so that the two sides differ in nothing but their name
        # (a Docker image per side, a server per folder), as two revisions would.
        for revision, suffix in ((base, ""), (head, "-head" if head.label == base.label else "")):
            locks.append(revisions.lock(revision, options.build_dir, suffix))  # held until it is removed
            folders.append(revisions.materialize(repo, revision, options.build_dir, suffix))
        targets = ab_targets(folders[0], folders[1], options)
        scenarios = ab_scenarios(options)
        config = RunConfig(profile=options.profile, runtime=options.runtime, results_dir=options.results_dir,
                           scenarios_dir=options.scenarios_dir, server_cpus=options.server_cpus,
                           loadgen_cpus=options.loadgen_cpus, base_images=side_images(options.base_images),
                           run_name=options.run_name or default_name(base.label, head.label))
        prepared = prepare_run(config, targets=targets, scenarios=scenarios)
        prepared.max_reruns = options.max_reruns
        prepared.store.results.config["ab"] = {"base": {"ref": base.ref, "commit": base.commit, "label": base.label},
                                               "head": {"ref": head.ref, "commit": head.commit, "label": head.label}}
        run_dir = prepared.execute(progress)
    finally:
        if not options.keep:
            for folder in folders:
                revisions.remove(folder)
        for held in locks:
            held.release()
    changes, warnings = paired_changes(load_results(run_dir), options.threshold_pct, options.alpha)
    if not changes:
        raise BenchError(f"no gated figure was measured on both sides in {run_dir}")
    return AbResult(base_ref=base.ref, head_ref=head.ref, base_label=base.label, head_label=head.label,
                    run_dir=str(run_dir), threshold_pct=options.threshold_pct, alpha=options.alpha,
                    changes=changes, warnings=warnings)


def side_images(base_images: dict[str, str]) -> dict[str, str]:
    """--base-image express=IMAGE is for both sides: express-base and express-head. The Docker runtime tags each
    side's image by a hash of its build context (harness/runtime/docker_images.py), so two revisions that
    differ get two images and an A/A run one."""
    return {side_name(target, side): image for target, image in base_images.items() for side in SIDES}


def default_name(base_label: str, head_label: str) -> str:
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-ab-{base_label}-{head_label}"


def ab_targets(base_dir: Path, head_dir: Path, options: AbOptions) -> list[Target]:
    """Each chosen target twice, <name>-base then <name>-head, each installed from its own revision."""
    base_all, head_all = discover_targets(base_dir / "targets"), discover_targets(head_dir / "targets")
    chosen = select_targets(base_all, options.targets)
    missing = [t.name for t in chosen if t.name not in head_all]
    if missing:
        raise BenchError(f"target {missing[0]!r} is in the base revision but not in the head revision")
    paired: list[Target] = []
    for target in chosen:
        for side, found in zip(SIDES, (target, head_all[target.name]), strict=True):
            if options.runtime == "native":
                install.install_cached(found, options.build_dir / "cache")
            paired.append(found.model_copy(update={"name": side_name(target.name, side),
                                                   "display_name": f"{found.display_name} @ {side}"}))
    return paired


def ab_scenarios(options: AbOptions) -> list[Scenario]:
    """The gated scenarios of the profile, each with `rounds` trials (one per round)."""
    chosen = select_scenarios(discover_scenarios(options.scenarios_dir), options.scenarios or list(AB_SCENARIOS),
                              options.profile)
    return [s.model_copy(update={"profiles": {**s.profiles, options.profile: gate_params(s, options)}})
            for s in chosen]


def gate_params(scenario: Scenario, options: AbOptions) -> dict:
    """The profile's parameters with `rounds` trials; an open-model sweep keeps only its lowest offered
    rate: one fixed load the servers are far from saturating (rate.py's ci profile: 250 req/s of a page
    read from PostgreSQL, against a limit of 1-3k), where CPU per request is the cost of a request and
    not of a queue, in a fraction of the sweep's time."""
    params = {**scenario.profiles[options.profile], "trials": options.rounds}
    if "arrival" in params:
        params["arrival"] = {**params["arrival"], "rate_per_s": [min(params["arrival"]["rate_per_s"])]}
    elif options.slice_pairs and scenario.kind == "load" and len(params.get("users", [])) == 1 \
            and all(len(values) == 1 for values in params.get("matrix", {}).values()):
        # the warm-up alternates between the two servers, so each gets half of it: at least SLICED_WARMUP_S in all
        params.update(trials=1, slices={"slice_s": 1.0, "settle_s": 0.1, "pairs": options.slice_pairs},
                      warmup_s=max(params.get("warmup_s", 0), SLICED_WARMUP_S))
    scenario.params(options.profile)  # the profile as written is valid: say so before changing it
    return params
