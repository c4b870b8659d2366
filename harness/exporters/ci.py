"""The formats CI tools read, from a list of GatedFigure (harness/exporters/gated.py).

- Bencher Metric Format (https://bencher.dev/docs/reference/bencher-metric-format, schema
  https://bencher.dev/bmf.json): {benchmark: {measure: {value, lower_value?, upper_value?}}}.
- github-action-benchmark's `customBiggerIsBetter` / `customSmallerIsBetter` (its src/extract.ts,
  BenchmarkResult): a JSON array of {name, value, unit, range?, extra?}; one file per direction,
  since the tool takes one direction per file.
- JUnit XML as Jenkins, GitLab and most CI test reporters read it (the Ant schema: testsuites >
  testsuite[name, tests, failures, errors, skipped] > testcase[classname, name, time] > failure):
  one test case per gated figure, failed when it regressed.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

from harness.exporters.gated import GatedFigure

BMF_FILENAME = "bmf.json"
BIGGER_FILENAME = "benchmark-bigger.json"  # for tool: customBiggerIsBetter
SMALLER_FILENAME = "benchmark-smaller.json"  # for tool: customSmallerIsBetter
JUNIT_FILENAME = "junit.xml"


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def to_bmf(figures: list[GatedFigure]) -> str:
    """Bencher Metric Format: a benchmark per target × scenario × step, a measure per metric."""
    data: dict[str, dict[str, dict[str, float]]] = {}
    for f in figures:
        if _finite(f.value) is None:
            continue  # BMF's value is a required number: a figure without one is left out
        metric: dict[str, float] = {"value": f.value}
        low, high = _finite(f.low), _finite(f.high)
        if low is not None and high is not None:
            metric.update(lower_value=min(low, high), upper_value=max(low, high))
        data.setdefault(f.benchmark, {})[f.metric] = metric
    return json.dumps(data, indent=1)


def to_github_benchmark(figures: list[GatedFigure], direction: str) -> str:
    """github-action-benchmark's custom format, the figures whose better direction is `direction`."""
    entries = []
    for f in figures:
        if f.direction != direction or _finite(f.value) is None:
            continue
        entry: dict[str, object] = {"name": f.name, "value": f.value, "unit": f.unit}
        if _finite(f.low) is not None and _finite(f.high) is not None:
            entry["range"] = f"{min(f.low, f.high):.6g} to {max(f.low, f.high):.6g}"
        entry["extra"] = f.detail
        entries.append(entry)
    return json.dumps(entries, indent=1)


def to_junit(figures: list[GatedFigure], suite: str) -> str:
    """JUnit XML: a test case per gated figure, a <failure> for each regression."""
    root = ET.Element("testsuites", name=suite, tests=str(len(figures)),
                      failures=str(sum(f.failed for f in figures)), errors="0")
    testsuite = ET.SubElement(root, "testsuite", name=suite, tests=str(len(figures)),
                              failures=str(sum(f.failed for f in figures)), errors="0", skipped="0", time="0")
    for f in figures:
        case = ET.SubElement(testsuite, "testcase", classname=f"{suite}.{f.target}",
                             name=" ".join(p for p in (f.scenario, f.step, f.metric) if p), time="0")
        if f.failed:
            ET.SubElement(case, "failure", message=f.detail, type="regression").text = f.detail
        else:
            ET.SubElement(case, "system-out").text = f.detail
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
