"""The report as a list of plain blocks (harness.report.blocks), built once from a stored run and rendered
by one small exporter per format (markdown.py, html.py), as hyperfine does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.claims import ClaimVerdict, Place, Policy
from harness.machine.cpus import format_cpu_list
from harness.machine.idle_hold import describe_hold
from harness.numbers import number as fmt
from harness.report.blocks import Block, Bullets, Code, Heading, Image, Para, Ref, Table
from harness.report.data import RunData
from harness.report.plots import PlotSpec
from harness.report.topology import topology_blocks
from harness.results.slicing import slicing_lines
from harness.stats import NOISY_CV


@dataclass
class Plots:
    """The plots drawn (name -> path), the ones skipped (name -> why), and which were already shown."""

    specs: list[PlotSpec]
    drawn: dict[str, Path]
    skipped: dict[str, str]
    shown: set[str] = field(default_factory=set)

    def show(self, name: str) -> list[Block]:
        """The image the first time; a pointer to it afterwards, so the HTML embeds each image once."""
        spec = next(s for s in self.specs if s.name == name)
        if name in self.skipped:
            return [Para(f"Figure “{spec.title}” was not drawn: {self.skipped[name]}.")]
        if name in self.shown:
            return [Ref(spec.title, f"fig-{name}")]
        self.shown.add(name)
        return [Image(self.drawn[name], spec.title, f"fig-{name}")]

    def for_claim(self, verdict: ClaimVerdict) -> list[str]:
        pairs = set(claim_pairs(verdict))
        return [s.name for s in self.specs if pairs & set(s.shows)]


def claim_pairs(verdict: ClaimVerdict) -> list[tuple[str, str]]:
    pairs = []
    for check in verdict.claim.checks:
        if isinstance(check, Place):
            pairs.append((check.scenario, check.metric))
        elif hasattr(check, "larger"):
            pairs += [(check.larger.scenario, check.metric), (check.smaller.scenario, check.metric)]
    return pairs


def build_document(data: RunData, plots: Plots, policy: Policy) -> list[Block]:
    return [
        *_title(data),
        *_claims_section(data, plots),
        *_environment(data),
        *topology_blocks(data.results.environment),
        *_method(data, policy),
        *_each_claim(data, plots),
        *_other_figures(plots),
        *_warnings(data, plots),
        *_reproduce(data),
    ]


def _title(data: RunData) -> list[Block]:
    r = data.results
    state = "complete" if r.complete else "INCOMPLETE (interrupted or failed): figures cover only the trials run"
    return [
        Heading(f"Benchmark report: {r.run_id}", 1),
        Para(f"Run {state}; created {r.created_at}; profile {r.config.get('profile', '?')}, runtime "
             f"{r.config.get('runtime', '?')}, targets {', '.join(data.targets()) or 'none'}. "
             "This report was generated from the stored results only; nothing was re-run."),
    ]


def claims_rows(verdicts: list[ClaimVerdict], short: bool = True) -> list[list[str]]:
    return [[v.claim.id, v.claim.claim, v.measured(short), v.expected(), v.verdict, v.reason] for v in verdicts]


def _claims_section(data: RunData, plots: Plots) -> list[Block]:
    return [
        Heading("Claims", 2, "claims"),
        # what a reader came for, on the first screen: the verdicts, and every ratio against its claim's band
        *plots.show("claims_overview"),
        *plots.show("ratio_forest"),
        Para("Each claim of the article, judged on this run (details per claim below). Ratios are Express over "
             "FastAPI; values are medians across trials with a CI in brackets, labelled with its real coverage "
             "(e.g. 94% for 5 trials); ratios are medians of per-round ratios."),
        Bullets([f"{v.claim.id} ({v.verdict}): {v.headline}" for v in data.verdicts]),
        Para("In detail, with the figures' names and the flags:"),
        Table(["id", "claim", "measured", "expected", "verdict", "reason"], claims_rows(data.verdicts)),
    ]


def _environment(data: RunData) -> list[Block]:
    env = data.results.environment
    rows = [
        ["host", f"{env.get('hostname', '?')} ({env.get('os', '?')})"],
        ["CPU", f"{env.get('cpu_model', '?')}, {env.get('cpu_count_logical', '?')} logical cores "
                f"(usable: {format_cpu_list(env.get('cpus_usable', []))})"],
        ["memory", f"{env.get('memory_total_gb', '?')} GB"],
        ["Python / Node.js", f"{env.get('python', '?')} / {env.get('node', '?')}"],
        ["runtime", str(env.get("runtime", "?"))],
        ["CPU protection", str(env.get("protection", "not recorded"))],
        ["CPU idle states", describe_hold(env.get("cpu_idle"))],
        ["git commit", _commit(env)],
    ]
    for target, versions in sorted(env.get("targets", {}).items()):
        rows.append([f"target {target}", ", ".join(f"{k} {v}" for k, v in versions.items())])
    docker = env.get("docker") or {}
    if docker:
        limit = f"{docker['memory_limit_mb']} MB" if docker.get("memory_limit_mb") else "none"
        engine = f"{docker.get('engine_version', '?')}, network {docker.get('network_mode', '?')}"
        rows.append(["Docker engine", f"{engine}, memory limit {limit}"])
    for target, image in sorted(docker.get("images", {}).items()):
        size = image.get("size_bytes")
        rows.append([f"image {target}", f"{image.get('tag')} on {image.get('base_image')}"
                                        + (f", {size / 1e6:.0f} MB" if size else "")])
    rows.append(["harness packages", ", ".join(f"{k} {v}" for k, v in env.get("harness_packages", {}).items())])
    return [Heading("Environment", 2, "environment"), Table(["", ""], rows)]


def _commit(env: dict[str, Any]) -> str:
    git = env.get("git") or {}
    commit = git.get("commit") or "unknown"
    return f"{commit}{' (with uncommitted changes)' if git.get('dirty') else ''}"


def _method(data: RunData, policy: Policy) -> list[Block]:
    config = data.results.config
    single = ("judged on the median, and the reason says 'no CI'" if policy.single_trial == "point"
              else "inconclusive")
    return [
        Heading("Method", 2, "method"),
        Bullets([
            f"Server on CPU {format_cpu_list(config.get('server_cpus', []))}, load generator (Locust, "
            f"{config.get('loadgen_workers', 1)} worker(s)) on CPU {format_cpu_list(config.get('loadgen_cpus', []))}; "
            f"{config.get('workers', 1)} server worker process(es) for every target.",
            f"A fresh server process per trial; targets interleaved trial by trial (order {config.get('order')}, "
            f"seed {config.get('seed')}). Samplers at {config.get('sample_hz', '?')} Hz.",
            "Latency from HDR histograms (µs resolution) merged across Locust workers, measured window only "
            "(warm-up excluded). Throughput counts successful responses.",
            f"Across trials: the median, its exact order-statistic CI (Conover 1999, §3.2; none with fewer than "
            f"3 trials) labelled with its real coverage (75% for 3 trials, 94% for 5, 97% for 6; never a nominal "
            f"95%), and the coefficient of variation; CV over {NOISY_CV:.0%} is noisy.",
            "Ratios: a round is one trial of each target back to back; the ratio is the median of the per-round "
            "ratios with the order-statistic CI of that median, so a slow minute hits both sides of a ratio "
            "(trials that cannot be paired: ratio of medians, two-sample percentile bootstrap, 'bootstrap CI').",
            *_slicing_bullets(config),
            "Units: MB = 10⁶ bytes, MiB = 2²⁰ bytes.",
            "Verdicts: a CI inside the claim's range supports it, outside refutes it, straddling a bound is "
            f"inconclusive; a figure flagged {', '.join(policy.blocking_flags)} can neither support nor refute; "
            f"a figure without CI (fewer than 3 trials) is {single}; a figure the run lacks is not checkable.",
            "Not checked by this profile: a check that states what its figure needs (a measured hold of so many "
            "seconds, so many trials) is not judged by a profile that gives its scenario less; the reason names "
            "a profile that carries it.",
            "by inspection: a reading of the source code, stated in the claims file with the passages it rests "
            "on; no measurement decides it, so it is shown apart from the measured verdicts. It holds on any run "
            "while those passages are in the files, and turns inconclusive when they are not.",
        ]),
        Table(["scenario", "steps (users)", "other steps", "warm-up s", "measured s", "think s", "trials"],
              _scenario_rows(config)),
    ]


def _slicing_bullets(config: dict[str, Any]) -> list[str]:
    """Scenarios run in paired slices: how, and each one's pairs and why it stopped (harness.kinds.sliced)."""
    lines = slicing_lines(config)
    if not lines:
        return []
    return ["Paired slices: both targets' servers at once, one Locust run alternating between them; a pair is "
            "two adjacent slices in alternating order, a ratio the median of per-pair ratios with the "
            "group-sequential interval of the design fixed before the first pair (Pocock 1977; exact coverage), "
            "and a scenario stops adding pairs once every ratio its claims read is decided or known to its "
            "precision. " + "; ".join(line.removeprefix("paired slices · ") for line in lines) + "."]


def _scenario_rows(config: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, p in sorted(config.get("scenario_params", {}).items()):
        matrix = ", ".join(f"{k}={v}" for k, v in p.get("matrix", {}).items())
        rows.append([name, ", ".join(str(u) for u in p.get("users", [])) or "—", matrix or "—",
                     _warmup_cell(p), str(p.get("duration_s", "—")), str(p.get("think_s", "—")),
                     str(p.get("trials", "—"))])
    return rows


def _warmup_cell(params: dict[str, Any]) -> str:
    first = params.get("first_warmup_s")
    warmup = str(params.get("warmup_s", "—"))
    return warmup if first is None else f"{first} (first step), then {warmup}"


def _each_claim(data: RunData, plots: Plots) -> list[Block]:
    blocks: list[Block] = [Heading("Each claim", 2, "each-claim")]
    for v in data.verdicts:
        blocks += _one_claim(v, plots)
    return blocks


def _one_claim(v: ClaimVerdict, plots: Plots) -> list[Block]:
    c = v.claim
    facts = [f"Verdict: {v.verdict}. {v.reason}"]
    facts += [f"{label}: {text}" for label, text in (("The article", c.figure), ("Definition used", c.definition),
                                                      ("Tolerance", c.tolerance)) if text]
    blocks: list[Block] = [Heading(f"{c.id}: {v.verdict}", 3, f"claim-{c.id}"), Para(c.claim)]
    blocks += [Para(v.headline)] if v.headline else []
    if v.parts:
        blocks.append(Table(["part of the claim", "verdict"], [[p.name, p.verdict] for p in v.parts]))
    for title, items in (("What would decide it", v.decide), ("Beside the absolute figures", v.machine)):
        blocks += [Para(f"{title}:"), Bullets(items)] if items else []
    blocks.append(Bullets(facts))
    part = ["part"] if v.parts else []
    blocks.append(Table(["reading", *part, "expected", "measured", "verdict", "reason"],
                        [[o.reading, *([o.part or "—"] if v.parts else []), o.expected,
                          "; ".join(o.measured()) or "—", o.verdict, o.reason] for o in v.outcomes]))
    for name in plots.for_claim(v):
        blocks += plots.show(name)
    return blocks


def _other_figures(plots: Plots) -> list[Block]:
    rest = [s.name for s in plots.specs if s.name not in plots.shown and s.name in plots.drawn]
    if not rest:
        return []
    blocks: list[Block] = [Heading("Other figures", 2, "figures")]
    for name in rest:
        blocks += plots.show(name)
    return blocks


def _warnings(data: RunData, plots: Plots) -> list[Block]:
    items = list(data.results.warnings)
    if not data.results.complete:
        items.insert(0, "The run is incomplete (interrupted or failed): some figures are missing.")
    skipped = data.results.config.get("skipped_scenarios", {})
    items += [f"Scenario {name} skipped: {why}" for name, why in skipped.items()]
    items += [f"Figure {name} not drawn: {why}." for name, why in plots.skipped.items()]
    items += _little_law_notes(data)
    return [Heading("Warnings", 2, "warnings"), Bullets(items or ["None: no figure was flagged."])]


def _little_law_notes(data: RunData) -> list[str]:
    ratios = [s for s in data.view.summaries(endpoints=False) if s.metric == "little_law_ratio"]
    worst = sorted(ratios, key=lambda s: abs(s.median - 1), reverse=True)[:3]
    return ["Little's law X·(R+Z)/N, furthest from 1: " + "; ".join(
        f"{s.target} {s.scenario} {s.step} {fmt(s.median)}" for s in worst)] if worst else []


def command_line(config: dict[str, Any]) -> str:
    """The `bench run` command that repeats this run's configuration."""
    parts = [".venv/bin/bench run", f"--profile {config.get('profile', 'quick')}",
             f"--runtime {config.get('runtime', 'native')}"]
    parts += [f"--target {t}" for t in config.get("targets") or []]
    parts += [f"--scenario {s}" for s in config.get("scenarios") or []]
    for flag, key in (("--server-cpus", "server_cpus"), ("--loadgen-cpus", "loadgen_cpus")):
        if config.get(key):
            parts.append(f"{flag} {format_cpu_list(config[key])}")
    for flag, key, default in (("--workers", "workers", 1), ("--loadgen-workers", "loadgen_workers", 1),
                               ("--sample-hz", "sample_hz", 10.0), ("--memory-limit-mb", "memory_limit_mb", None)):
        if config.get(key) not in (None, default):
            parts.append(f"{flag} {config[key]}")
    parts.append(f"--order {config.get('order', 'alternate')}")
    if config.get("order") == "random":
        parts.append(f"--seed {config.get('seed')}")
    parts += [f"--server-env {k}={v}" for k, v in config.get("server_env", {}).items()]
    parts += [f"--base-image {k}={v}" for k, v in config.get("base_images", {}).items()]
    return " \\\n    ".join(parts)


def _reproduce(data: RunData) -> list[Block]:
    commit = (data.results.environment.get("git") or {}).get("commit")
    lines = [f"git checkout {commit}"] if commit else []
    lines += ["make setup", command_line(data.results.config), ".venv/bin/bench report results/<new run>"]
    return [Heading("Reproduce", 2, "reproduce"),
            Para("On a machine like the one above, from the repository's root:"), Code("\n".join(lines))]
