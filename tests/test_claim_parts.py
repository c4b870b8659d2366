"""Parts of a claim (claims.toml `part`): a verdict per part and the overall verdict by the stated rule."""

from __future__ import annotations

import pytest
from claim_bodies import cold_start_range, judge_one, p5_readings

from harness.claims import load_claims
from harness.claims.verdict import overall_from_parts
from harness.results import Metric, RunResults, TrialRecord


def run_with(figures: dict[tuple[str, str], list[float]]) -> RunResults:
    """cold_start figures per (target, metric), trial i of each target being round i."""
    results = RunResults(run_id="t", created_at="now")
    for (target, metric), values in figures.items():
        for trial, value in enumerate(values, start=1):
            results.metrics.append(Metric(target=target, scenario="cold_start", trial=trial, step="", metric=metric,
                                          value=value, unit="ms"))
            if not any(t.target == target and t.trial == trial for t in results.trials):
                results.trials.append(TrialRecord(target=target, scenario="cold_start", trial=trial,
                                                  order=len(results.trials) + 1, started_at="now", wall_s=1))
    return results


P4 = """
    [[claims]]
    id = "P4"
    claim = "Express boots faster: Express 50-200 ms, FastAPI 200-500 ms"
""" + cold_start_range(
    "express", 50, 200, "Express's range") + cold_start_range("fastapi", 200, 500, "FastAPI's range") + """
    [[claims.checks]]
    type = "compare"
    part = "Express faster"
    scenario = "cold_start"
    metric = "cold_start_ms"
    lower = "express"
    higher = "fastapi"
"""


judge = judge_one


EXPRESS_SLOW = [225.0, 219.0, 244.0, 230.0, 222.0]  # the machine: above Express's 200 ms
FASTAPI = [396.0, 390.0, 401.0, 399.0, 393.0]


def test_p4_with_express_above_its_range_is_partly_supported_with_a_verdict_per_part(tmp_path):
    v = judge(tmp_path, P4, run_with({("express", "cold_start_ms"): EXPRESS_SLOW,
                                      ("fastapi", "cold_start_ms"): FASTAPI}))
    assert [(p.name, p.verdict) for p in v.parts] == [
        ("Express's range", "refuted"), ("FastAPI's range", "supported"), ("Express faster", "supported")]
    assert v.verdict == "partly supported"
    assert "Express's range: refuted" in v.reason


def test_every_part_holding_supports_and_every_part_failing_refutes(tmp_path):
    fast = judge(tmp_path, P4, run_with({("express", "cold_start_ms"): [v - 100 for v in EXPRESS_SLOW],
                                         ("fastapi", "cold_start_ms"): FASTAPI}))
    assert fast.verdict == "supported" and {p.verdict for p in fast.parts} == {"supported"}
    wrong = judge(tmp_path, P4, run_with({("express", "cold_start_ms"): [v * 3 for v in FASTAPI],
                                          ("fastapi", "cold_start_ms"): [v / 3 for v in FASTAPI]}))
    assert wrong.verdict == "refuted" and {p.verdict for p in wrong.parts} == {"refuted"}


@pytest.mark.parametrize(("parts", "expected"), [
    (["supported", "supported"], "supported"),
    (["refuted", "refuted"], "refuted"),
    (["supported", "refuted"], "partly supported"),
    (["supported", "refuted", "inconclusive"], "partly supported"),
    (["supported", "inconclusive"], "inconclusive"),
    (["refuted", "inconclusive"], "refuted"),
    (["not checkable", "not checkable"], "not checkable"),
    (["supported", "not checkable"], "inconclusive"),
])
def test_the_stated_rule_for_parts(parts, expected):
    verdict, reason = overall_from_parts([(f"part {i}", v, "why") for i, v in enumerate(parts)])
    assert verdict == expected
    if "inconclusive" in parts or ("not checkable" in parts and expected != "not checkable"):
        assert "undecided" in reason


def test_a_claim_without_parts_is_judged_as_before(tmp_path):
    body = P4.replace('part = "Express\'s range"\n', "").replace('part = "FastAPI\'s range"\n', "").replace(
        'part = "Express faster"\n', "")
    v = judge(tmp_path, body, run_with({("express", "cold_start_ms"): EXPRESS_SLOW,
                                        ("fastapi", "cold_start_ms"): FASTAPI}))
    assert v.verdict == "refuted" and v.parts == []


def test_the_shipped_p4_and_p5_name_their_parts():
    claims = {c.id: c for c in load_claims().claims}
    for claim_id in ("P4", "P5"):
        assert len(claims[claim_id].parts()) >= 3, claim_id


def test_a_judged_run_shows_the_cost_over_the_bare_runtime_and_what_would_decide(tmp_path):
    body = P4 + '\n    [policy]\n    baselines = { express = "node_raw", fastapi = "asgi_raw" }\n'
    straddling = [188.0, 200.0, 206.0, 210.0, 216.0]  # Express's median 206 ms against its 200 ms edge
    v = judge(tmp_path, body, run_with({("express", "cold_start_ms"): straddling,
                                        ("fastapi", "cold_start_ms"): FASTAPI,
                                        ("node_raw", "cold_start_ms"): [v / 4 for v in straddling]}))
    assert v.verdict == "inconclusive" and "(FastAPI's range and Express faster hold)" in v.headline
    assert any(note.startswith("machine-independent, between the frameworks: Express/FastAPI") for note in v.machine)
    assert any("over its bare runtime: Express/bare Node.js 4×" in note for note in v.machine)
    assert any("asgi_raw" in note and "not measured" in note for note in v.machine)
    assert any("would likely differ on a faster or slower machine" in note for note in v.machine)
    (step,) = v.decide
    assert step.startswith("about ") and "instead of 5" in step and step in v.headline


def test_readings_that_disagree_name_the_definition_as_what_would_decide(tmp_path):
    body = p5_readings(max_mb=None)
    mb = [81.9, 82.0, 82.1]  # 82 MB is 78.2 MiB: above 80 in one reading only
    v = judge(tmp_path, body, run_with({("fastapi", "rss_idle_mb"): mb,
                                        ("fastapi", "rss_idle_mib"): [x * 1e6 / 2**20 for x in mb]}))
    assert v.verdict == "inconclusive"
    (step,) = v.decide
    assert "which definition the article means" in step and "MB = 2^20 B reading gives refuted" in step
