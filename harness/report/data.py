"""A stored run as the report reads it: results.json (through harness.results.RunView) plus samples.csv
and histograms.jsonl, never a re-run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from hdrh.histogram import HdrHistogram

from harness.claims import ClaimVerdict
from harness.metrics import RPS
from harness.results import (
    AGGREGATE,
    SAMPLE_COLUMNS,
    HistogramRecord,
    RunResults,
    RunView,
    Step,
    Summary,
    check_file_version,
    load_histograms,
    load_results,
)


class Skip(Exception):
    """A plot or section that this run has no data for; the message says why, for the report."""


@dataclass
class RunData:
    directory: Path
    results: RunResults
    samples: pd.DataFrame  # samples.csv; empty when the file is missing
    verdicts: list[ClaimVerdict] = field(default_factory=list)
    histograms: list[HistogramRecord] = field(default_factory=list)  # histograms.jsonl; [] when missing
    view: RunView = field(init=False)

    def __post_init__(self) -> None:
        self.view = RunView(self.results)

    @classmethod
    def load(cls, run_dir: Path) -> RunData:
        results = load_results(run_dir)
        check_file_version(results, run_dir / "samples.csv")
        return cls(run_dir, results, read_samples(run_dir / "samples.csv"),
                   histograms=load_histograms(run_dir, results))

    def merged_histogram(self, target: str, scenario: str, step: str) -> HdrHistogram | None:
        """The step's aggregate latency histogram, every trial added together (µs)."""
        merged = None
        for record in self.histograms:
            if (record.target, record.scenario, record.step, record.endpoint) != (target, scenario, step, AGGREGATE):
                continue
            hist = HdrHistogram.decode(record.hdr.encode())
            if merged is None:
                merged = hist
            else:
                merged.add(hist)
        return merged

    def targets(self) -> list[str]:
        """Targets in a stable order (alphabetical), so colours and columns match across plots."""
        return self.view.targets()

    def scenarios(self) -> set[str]:
        return self.view.scenarios()

    def summary(self, target: str, scenario: str, step: str, metric: str) -> Summary | None:
        return self.view.summary((target, scenario, step, metric))

    def by_users(self, target: str, scenario: str, metric: str, **fixed: float) -> list[tuple[float, Summary]]:
        """(users, summary) of one metric across a scenario's steps, per-endpoint rows left out."""
        out = []
        for s in self.view.summaries(endpoints=False):
            if (s.target, s.scenario, s.metric) != (target, scenario, metric):
                continue
            params = Step(s.step).params
            if "users" in params and all(params.get(k) == float(v) for k, v in fixed.items()):
                out.append((float(params["users"]), s))
        return sorted(out, key=lambda pair: pair[0])

    def values(self, target: str, scenario: str, metric: str, step: str = "") -> list[float]:
        """Per-trial values of one figure."""
        return self.view.values((target, scenario, step, metric))

    def top_step(self, scenario: str, metric: str = RPS) -> str:
        """The highest-users step of a scenario that every target has (the one the claims use by default)."""
        per_target = [{s.step for _, s in self.by_users(t, scenario, metric)} for t in self.targets()]
        shared = set.intersection(*per_target) if per_target else set()
        if not shared:
            raise Skip(f"no {metric} step of scenario {scenario} that every target has")
        return max(shared, key=lambda step: float(Step(step).params["users"]))

    def require(self, *scenarios: str) -> None:
        missing = [s for s in scenarios if s not in self.scenarios()]
        if missing:
            raise Skip(f"scenario {', '.join(missing)} is not in this run")


def read_samples(path: Path) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame(columns=SAMPLE_COLUMNS)
    return pd.read_csv(path, dtype={"step": str, "target": str, "scenario": str, "role": str},
                       keep_default_na=False, na_values={"uss_mb": [""], "pss_mb": [""]})
