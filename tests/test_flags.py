"""The flag registry: every text about a flag is built from it, with its threshold, and every reader uses it."""

from __future__ import annotations

import pytest
from rich.console import Console

from harness.claims import Policy, judge_claims, load_claims
from harness.flags import FLAGS, SATURATION_PCT, blocking_defaults, legend, marks, words
from harness.machine.disturbance import DISTURBED_PCT
from harness.measure import SATURATION_PCT as MEASURED_SATURATION_PCT
from harness.present.tables import summary_table
from harness.results import Metric, RunResults, TrialRecord
from harness.stats import LITTLE_TOLERANCE, NOISY_CV
from harness.summarize import summarize


def test_each_flag_is_complete_and_its_texts_name_its_threshold():
    assert len({f.name for f in FLAGS}) == len(FLAGS) and len({f.mark for f in FLAGS}) == len(FLAGS)
    shown = {"noisy": f"{NOISY_CV:.0%}", "loadgen_saturated": f"{SATURATION_PCT:g}%",
             "little_law": f"{LITTLE_TOLERANCE:.0%}", "disturbed": f"{DISTURBED_PCT:g}%", "generator_bound": "70%"}
    for flag in FLAGS:
        assert flag.words and flag.mark and flag.legend
        if flag.name in shown:
            assert flag.threshold is not None and shown[flag.name] in flag.headline
    assert MEASURED_SATURATION_PCT == SATURATION_PCT  # the measuring side raises it at the registry's threshold


def test_the_claims_policy_and_the_legend_come_from_the_registry():
    expected = ["loadgen_saturated", "generator_bound", "little_law"]  # noisy warns: intervals are distribution-free
    assert Policy().blocking_flags == blocking_defaults() == expected
    assert all(f"{f.mark} {f.legend}" in legend() for f in FLAGS)
    assert marks({"little_law", "single_trial"}) == "†L" and words("a_newer_flag") == "a_newer_flag"


def flagged_run(flags: list[str]) -> RunResults:
    results = RunResults(run_id="r", created_at="now")
    for target in ("fastapi", "express"):
        for trial, value in enumerate([1000.0, 1010.0, 990.0], start=1):
            results.trials.append(TrialRecord(target=target, scenario="throughput", trial=trial, order=trial,
                                              started_at="now", wall_s=1, flags=flags if target == "express" else []))
            results.metrics.append(Metric(target=target, scenario="throughput", trial=trial, step="users=64",
                                          metric="rps", value=value, unit="req/s"))
    summarize(results)
    return results


@pytest.mark.parametrize("flag", [f for f in FLAGS if f.warn_metrics and not f.show_cv], ids=lambda f: f.name)
def test_a_raised_flag_warns_marks_and_blocks_as_the_registry_says(flag, tmp_path):
    results = flagged_run([f"{flag.name}:users=64"])
    assert results.warnings == [f"{flag.headline}: express throughput users=64. {flag.advice}"]
    console = Console(record=True, width=200, color_system=None)
    console.print(summary_table(results))
    assert f"1,000 [990–1,010] 75% {flag.mark}" in console.export_text()  # 3 trials: a 75% CI
    claims = tmp_path / "claims.toml"
    claims.write_text('[[claims]]\nid = "X"\nclaim = "c"\n[[claims.checks]]\ntype = "range"\ntarget = "express"\n'
                      'scenario = "throughput"\nstep = "users=64"\nmetric = "rps"\nmin = 1\n')
    (verdict,) = judge_claims(results, load_claims(claims))
    assert verdict.verdict == "inconclusive" and f"{flag.words} at users=64: cannot support" in verdict.reason


def test_a_flag_that_does_not_block_by_default_blocks_when_the_policy_names_it(tmp_path):
    results = flagged_run(["disturbed:users=64"])
    claims = tmp_path / "claims.toml"
    body = ('[[claims]]\nid = "X"\nclaim = "c"\n[[claims.checks]]\ntype = "range"\ntarget = "express"\n'
            'scenario = "throughput"\nstep = "users=64"\nmetric = "rps"\nmin = 1\n')
    claims.write_text(body)
    assert judge_claims(results, load_claims(claims))[0].verdict == "supported"
    claims.write_text('[policy]\nblocking_flags = ["disturbed"]\n' + body)
    assert "disturbed at users=64" in judge_claims(results, load_claims(claims))[0].reason
