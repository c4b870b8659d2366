"""The verdict logic of harness.claims on constructed results and small claims files."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest
from claim_bodies import cold_start_range, judge_one, p5_readings
from rich.console import Console

from harness.claims import (
    DEFAULT_CLAIMS,
    fmt,
    judge_claims,
    load_claims,
    select_step,
)
from harness.errors import BenchError
from harness.present.tables import verdicts_table
from harness.results import Metric, RunResults, TrialRecord

POINT = '[policy]\nsingle_trial = "point"\n'  # judge one-trial figures on their point value
STABLE = [100.0, 102.0, 98.0, 101.0, 99.0]  # CV 1.6%, CI of the median about [98, 102]


def run_with(figures: dict[tuple[str, str, str, str], list[float]],
             flags: dict[tuple[str, str], list[str]] | None = None, checks: dict | None = None,
             config: dict | None = None) -> RunResults:
    """A RunResults with one Metric per value (trial 1, 2, ...) and one TrialRecord per target × scenario × trial."""
    results = RunResults(run_id="t", created_at="now", checks=checks or {}, config=config or {})
    seen: set[tuple[str, str, int]] = set()
    for (target, scenario, step, metric), values in figures.items():
        for trial, value in enumerate(values, start=1):
            results.metrics.append(Metric(target=target, scenario=scenario, trial=trial, step=step, metric=metric,
                                          value=value, unit="u"))
            if (target, scenario, trial) not in seen:
                seen.add((target, scenario, trial))
                results.trials.append(TrialRecord(
                    target=target, scenario=scenario, trial=trial, order=len(seen), started_at="now", wall_s=1,
                    flags=(flags or {}).get((target, scenario), []),
                ))  # fmt: skip
    return results


def claims_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "claims.toml"
    path.write_text(textwrap.dedent(body))
    return path


verdict = judge_one


RANGE = """
    [[claims]]
    id = "P4"
    claim = "starts in 50-200 ms"
""" + cold_start_range("express", 50, 200) + "\n"


def cold(values):
    return run_with({("express", "cold_start", "", "cold_start_ms"): values})


def test_a_ci_inside_the_range_supports(tmp_path):
    v = verdict(tmp_path, RANGE, cold(STABLE))
    assert v.verdict == "supported"
    assert "94% CI [" in v.reason  # 5 trials: [min, max] covers 93.75%, not 95% and "is in [50, 200]" in v.reason
    assert v.measured().startswith("cold_start cold_start_ms: express 100 u [")


def test_a_ci_outside_the_range_refutes(tmp_path):
    v = verdict(tmp_path, RANGE, cold([x * 3 for x in STABLE]))
    assert v.verdict == "refuted" and "is not in [50, 200]" in v.reason


def test_a_ci_straddling_a_bound_is_inconclusive(tmp_path):
    v = verdict(tmp_path, RANGE, cold([196.0, 198.0, 200.0, 202.0, 204.0]))
    assert v.verdict == "inconclusive" and "straddles a bound" in v.reason


def test_a_noisy_figure_decides_on_its_interval_and_says_it_was_noisy(tmp_path):
    v = verdict(tmp_path, RANGE, cold([100.0, 150.0, 60.0, 120.0, 90.0]))  # inside the range, CV about 30%
    assert v.verdict == "supported"
    assert "noisy (CV over 10% across trials): the interval is distribution-free" in v.reason
    v = verdict(tmp_path, RANGE, cold([100.0, 190.0, 60.0, 220.0, 90.0]))  # as noisy, its interval straddles 200
    assert v.verdict == "inconclusive" and "straddles a bound" in v.reason


def test_a_noisy_ratio_with_a_bootstrap_interval_still_decides_nothing(tmp_path):
    # unequal trial counts: no paired rounds, so a percentile bootstrap, whose coverage noise breaks
    v = verdict(tmp_path, RATIO, crud([150.0, 130.0, 190.0, 140.0, 170.0, 160.0], STABLE))
    assert v.verdict == "inconclusive"
    assert "noisy" in v.reason and "cannot support or refute" in v.reason


def test_a_policy_can_make_noisy_figures_decide_nothing(tmp_path):
    body = '[policy]\nblocking_flags = ["noisy"]\n' + RANGE
    v = verdict(tmp_path, body, cold([100.0, 150.0, 60.0, 120.0, 90.0]))
    assert v.verdict == "inconclusive"
    assert "noisy" in v.reason and "cannot support or refute" in v.reason


def test_a_policy_of_point_judges_a_single_trial_on_its_point_value_and_says_so(tmp_path):
    v = verdict(tmp_path, POINT + RANGE, cold([120.0]))
    assert v.verdict == "supported" and "single trial, no CI: judged on the point value" in v.reason
    assert "(1 trial, no CI)" in v.measured()


def test_a_single_trial_decides_nothing_by_default(tmp_path):
    v = verdict(tmp_path, RANGE, cold([120.0]))
    assert v.verdict == "inconclusive" and "no CI" in v.reason


def test_the_projects_claims_file_keeps_single_trials_from_deciding():
    assert load_claims(Path(__file__).parent.parent / "claims.toml").policy.single_trial == "inconclusive"


def test_a_missing_metric_is_not_checkable_with_a_reason(tmp_path):
    results = run_with({("express", "throughput", "users=64", "rps"): STABLE})
    v = verdict(tmp_path, RANGE, results)
    assert v.verdict == "not checkable" and v.reason == "scenario cold_start was not run for express"
    results = run_with({("express", "cold_start", "", "listen_ms"): STABLE})
    assert verdict(tmp_path, RANGE, results).reason == "express has no cold_start_ms in scenario cold_start"


def test_a_skipped_scenario_says_why(tmp_path):
    results = run_with({("express", "throughput", "users=64", "rps"): STABLE},
                       config={"skipped_scenarios": {"cold_start": "stateful: needs --workers 1"}})
    assert "was skipped: stateful" in verdict(tmp_path, RANGE, results).reason


RATIO = """
    [[claims]]
    id = "P2"
    claim = "comparable"
    [[claims.checks]]
    type = "ratio"
    scenario = "crud"
    step = "users=max"
    metric = "rps"
    numerator = "express"
    denominator = "fastapi"
    min = 0.9
    max = 1.1
"""


def crud(express, fastapi, flags=None):
    return run_with({("express", "crud", "users=32", "rps"): express, ("fastapi", "crud", "users=32", "rps"): fastapi},
                    flags)


def test_a_ratio_inside_the_tolerance_supports_and_shows_both_targets(tmp_path):
    v = verdict(tmp_path, RATIO, crud(STABLE, [x * 1.02 for x in STABLE]))
    assert v.verdict == "supported"
    text = v.measured()
    assert text.startswith("crud users=32 rps: express 100 u [")
    assert "fastapi 102 u [" in text and "express/fastapi 0.98" in text


def test_a_ratio_outside_the_tolerance_refutes(tmp_path):
    assert verdict(tmp_path, RATIO, crud(STABLE, [x * 1.5 for x in STABLE])).verdict == "refuted"


def test_a_saturated_load_generator_blocks_a_verdict(tmp_path):
    results = crud(STABLE, [x * 1.5 for x in STABLE], flags={("fastapi", "crud"): ["loadgen_saturated:users=32"]})
    v = verdict(tmp_path, RATIO, results)
    assert v.verdict == "inconclusive"
    assert "load generator saturated at users=32" in v.reason and "cannot support or refute" in v.reason


def test_a_flag_at_another_step_does_not_block(tmp_path):
    results = crud(STABLE, [x * 1.5 for x in STABLE], flags={("fastapi", "crud"): ["loadgen_saturated:users=512"]})
    assert verdict(tmp_path, RATIO, results).verdict == "refuted"


P1 = """
    [[claims]]
    id = "P1"
    claim = "40-60% more"
    [[claims.checks]]
    type = "ratio"
    scenario = "concurrency"
    metric = "max_concurrency_slo"
    numerator = "express"
    denominator = "fastapi"
    min = 1.4
    max = 1.6
    quantized = "users"
"""
SWEEP = {"scenario_params": {"concurrency": {"users": [8, 32, 128, 512]}}}


def sweep(express, fastapi, flags=None):
    return run_with({("express", "concurrency", "", "max_concurrency_slo"): express,
                     ("fastapi", "concurrency", "", "max_concurrency_slo"): fastapi}, flags, config=SWEEP)


def test_a_coarse_sweep_cannot_resolve_a_narrow_ratio(tmp_path):
    v = verdict(tmp_path, P1, sweep([128.0] * 3, [32.0] * 3))
    # express in [128, 512), fastapi in [32, 128): the ratio lies in [1, 16)
    assert v.verdict == "inconclusive" and "step resolution [1–16]" in v.reason
    assert "(steps 8, 32, 128, 512; a finer or longer sweep would resolve it)" in v.reason


def test_a_sweep_that_never_found_a_limit_says_so(tmp_path):
    v = verdict(tmp_path, P1, sweep([512.0] * 3, [512.0] * 3))
    assert v.verdict == "inconclusive"
    assert "express passed the top step (users=512), so the limit is above it" in v.reason
    v = verdict(tmp_path, P1, sweep([32.0, 32.0, 512.0], [8.0, 0.0, 8.0]))
    assert "at least one trial of express passed the top step" in v.reason
    assert "at least one trial of fastapi failed the lowest step (users=8)" in v.reason


def test_a_ratio_far_beyond_the_steps_refutes(tmp_path):
    # express ≥ 512 (top step), fastapi in [8, 32) in each of 3 trials; from 1 trial nothing is decided
    # (policy single_trial: tests/test_verdict_guards.py)
    v = verdict(tmp_path, P1, sweep([512.0] * 3, [8.0] * 3))
    assert v.verdict == "refuted" and "step resolution [16–∞]" in v.reason


def test_a_whole_trial_figure_inherits_every_steps_flags(tmp_path):
    results = sweep([512.0], [8.0], flags={("express", "concurrency"): ["loadgen_saturated:users=128",
                                                                         "little_law:users=512"]})
    v = verdict(tmp_path, P1, results)
    assert v.verdict == "inconclusive"
    assert "load generator saturated at users=128" in v.reason and "Little's law check failed at users=512" in v.reason


P5 = p5_readings()


def idle(mb: float):
    values = [mb * f for f in (0.999, 1.0, 1.001)]
    return run_with({("fastapi", "cold_start", "", "rss_idle_mb"): values,
                     ("fastapi", "cold_start", "", "rss_idle_mib"): [v * 1e6 / 2**20 for v in values]})


def test_mb_versus_mib_disagreeing_is_inconclusive_with_the_ambiguity_stated(tmp_path):
    v = verdict(tmp_path, P5, idle(82.0))  # 82 MB is 78.2 MiB: in range in one reading only
    assert v.verdict == "inconclusive"
    assert "depends on the reading" in v.reason
    assert "the MB = 10^6 B reading gives supported" in v.reason and "the MB = 2^20 B reading gives refuted" in v.reason


def test_mb_and_mib_agreeing_give_that_verdict(tmp_path):
    v = verdict(tmp_path, P5, idle(52.4))
    assert v.verdict == "refuted" and "same verdict in every reading" in v.reason
    assert "MB = 10^6 B: cold_start rss_idle_mb: fastapi 52.4 u" in v.measured()
    assert "MB = 2^20 B: cold_start rss_idle_mib: fastapi 50" in v.measured()


COMPARE = """
    [[claims]]
    id = "P6"
    claim = "FastAPI drifts less"
    [[claims.checks]]
    type = "compare"
    scenario = "memory"
    step = "users=max"
    metric = "rss_slope_mb_per_min"
    transform = "abs"
    lower = "fastapi"
    higher = "express"
"""


def memory(fastapi, express):
    return run_with({("fastapi", "memory", "users=32", "rss_slope_mb_per_min"): fastapi,
                     ("express", "memory", "users=32", "rss_slope_mb_per_min"): express})


def test_compare_uses_the_absolute_value_when_asked(tmp_path):
    v = verdict(tmp_path, POINT + COMPARE, memory([-0.5], [2.0]))
    assert v.verdict == "supported" and "fastapi/express 0.25 is below 1" in v.reason
    assert verdict(tmp_path, POINT + COMPARE, memory([-3.0], [2.0])).verdict == "refuted"


def test_equal_figures_are_not_lower(tmp_path):
    assert verdict(tmp_path, POINT + COMPARE, memory([2.0], [2.0])).verdict == "refuted"


def test_compare_refuses_negative_figures_without_abs(tmp_path):
    v = verdict(tmp_path, COMPARE.replace('transform = "abs"\n', ""), memory([-0.5], [2.0]))
    assert v.verdict == "not checkable" and 'transform = "abs"' in v.reason


GAP = """
    [[claims]]
    id = "P3"
    claim = "gap at cpu"
    [[claims.checks]]
    type = "gap"
    metric = "rps"
    numerator = "express"
    denominator = "fastapi"
    larger = { scenario = "cpu", step = "users=max" }
    smaller = { scenario = "crud", step = "users=max" }
"""


def gaps(cpu_ratio: float, crud_ratio: float):
    return run_with({("express", "cpu", "users=8", "rps"): [x * cpu_ratio for x in STABLE],
                     ("fastapi", "cpu", "users=8", "rps"): STABLE,
                     ("express", "crud", "users=32", "rps"): [x * crud_ratio for x in STABLE],
                     ("fastapi", "crud", "users=32", "rps"): STABLE})


def test_a_gap_that_is_clearly_larger_supports(tmp_path):
    # express 5x faster at cpu, 1.5x slower at crud: gaps 5 vs 1.5 whichever the direction
    v = verdict(tmp_path, GAP, gaps(5.0, 1 / 1.5))
    assert v.verdict == "supported" and "at cpu users=8 rps" in v.reason


def test_gaps_with_overlapping_intervals_are_inconclusive(tmp_path):
    # express's trials vary independently of fastapi's (reversed order), so each round's ratio varies
    results = run_with({("express", "cpu", "users=8", "rps"): [x * 1.02 for x in reversed(STABLE)],
                        ("fastapi", "cpu", "users=8", "rps"): STABLE,
                        ("express", "crud", "users=32", "rps"): [x * 1.01 for x in reversed(STABLE)],
                        ("fastapi", "crud", "users=32", "rps"): STABLE})
    v = verdict(tmp_path, GAP, results)
    assert v.verdict == "inconclusive" and "intervals overlap" in v.reason


def test_paired_rounds_cancel_a_slowdown_shared_by_both_targets(tmp_path):
    # every round's ratio is exactly 1.02 at cpu and 1.01 at crud: the rounds' slow minutes cancel
    v = verdict(tmp_path, GAP, gaps(1.02, 1.01))
    assert v.verdict == "supported"
    assert "(94% CI, 5 rounds)" in v.measured()


def test_a_smaller_gap_refutes(tmp_path):
    assert verdict(tmp_path, GAP, gaps(1.0 / 1.2, 3.0)).verdict == "refuted"


def test_a_gap_place_can_declare_flags_that_do_not_bear_on_it(tmp_path):
    saturated = run_with({("express", "cpu", "users=8", "rps"): [x * 5.0 for x in STABLE],
                          ("fastapi", "cpu", "users=8", "rps"): STABLE,
                          ("express", "crud", "users=32", "rps"): STABLE,
                          ("fastapi", "crud", "users=32", "rps"): STABLE},
                         flags={("express", "cpu"): ["loadgen_saturated:users=8"]})
    blocked = verdict(tmp_path, GAP, saturated)
    assert blocked.verdict == "inconclusive" and "load generator saturated" in blocked.reason
    declared = GAP.replace('larger = { scenario = "cpu", step = "users=max" }',
                           'larger = { scenario = "cpu", step = "users=max", unaffected_by = ["loadgen_saturated"], '
                           'unaffected_reason = "CPU per request does not depend on who limited the rate" }')
    assert verdict(tmp_path, declared, saturated).verdict == "supported"
    with pytest.raises(BenchError, match="unaffected_reason"):
        verdict(tmp_path, declared.replace('unaffected_reason = "CPU per request does not depend on who limited '
                                           'the rate"', 'unaffected_reason = ""'), saturated)


BEHAVIOUR = """
    [[claims]]
    id = "F1"
    claim = "422"
    [[claims.checks]]
    type = "behaviour"
    target = "fastapi"
    check = "invalid_email"
    expect = { status = 422, names_the_field = true }
    present = ["message"]
"""


def test_behaviour_checks_are_judged_from_the_recorded_answers(tmp_path):
    good = {"fastapi": {"invalid_email": {"status": 422, "names_the_field": True, "message": "not an email"}}}
    v = verdict(tmp_path, BEHAVIOUR, run_with({}, checks=good))
    assert v.verdict == "supported" and "status=422" in v.measured()
    bad = {"fastapi": {"invalid_email": {"status": 400, "names_the_field": False, "message": None}}}
    v = verdict(tmp_path, BEHAVIOUR, run_with({}, checks=bad))
    assert v.verdict == "refuted" and "status=400 (expected 422)" in v.reason and "message missing" in v.reason
    v = verdict(tmp_path, BEHAVIOUR, run_with({}))
    assert v.verdict == "not checkable" and "no behaviour check 'invalid_email'" in v.reason


def test_a_code_verdict_holds_only_while_its_evidence_is_there(tmp_path):
    (tmp_path / "app.js").write_text("const r = schema.safeParse(body)\n")
    body = """
        [[claims]]
        id = "F3"
        claim = "by hand"
        [[claims.checks]]
        type = "code"
        verdict = "supported"
        reason = "zod, added by hand"
        evidence = [{ path = "app.js", contains = "safeParse" }]
    """
    assert verdict(tmp_path, body, run_with({})).verdict == "by inspection"  # a reading, not a measurement
    (tmp_path / "app.js").write_text("app.use(express.validate())\n")
    v = verdict(tmp_path, body, run_with({}))
    assert v.verdict == "inconclusive" and "app.js lacks 'safeParse'" in v.reason


def test_a_second_reading_is_reported_but_does_not_decide(tmp_path):
    body = RANGE + """
    [[claims.checks]]
    type = "range"
    reading = "listen"
    target = "express"
    scenario = "cold_start"
    metric = "listen_ms"
    max = 10
    """
    results = run_with({("express", "cold_start", "", "cold_start_ms"): STABLE,
                        ("express", "cold_start", "", "listen_ms"): STABLE})
    v = verdict(tmp_path, body, results)
    assert v.verdict == "supported" and "[listen reading: refuted]" in v.reason


@pytest.mark.parametrize(("body", "message"), [
    ("[[claims]]\nid = \"X\"\nclaim = ", "bad claims file"),
    ('[[claims]]\nid = "X"\nclaim = "c"\n[[claims.checks]]\ntype = "guess"\n', "claims.0.checks.0"),
    ('[[claims]]\nid = "X"\nclaim = "c"\n[[claims.checks]]\ntype = "range"\ntarget = "a"\nscenario = "s"\n'
     'metric = "m"\nmin = 5\nmax = 1\n', "min 5.0 is above max 1.0"),
    ('[[claims]]\nid = "X"\nclaim = "c"\n[[claims.checks]]\ntype = "ratio"\nscenario = "s"\nmetric = "m"\n'
     'numerator = "a"\ndenominator = "b"\n', "give min, max or both"),
    ('[[claims]]\nid = "X"\nclaim = "c"\n[[claims.checks]]\ntype = "not_checkable"\nreason = "r"\n'
     '[[claims]]\nid = "X"\nclaim = "d"\n[[claims.checks]]\ntype = "not_checkable"\nreason = "r"\n',
     "claim id 'X' appears twice"),
    ('[[claims]]\nid = "X"\nclaim = "c"\ncheks = []\n', "claims.0.checks: Field required"),
])  # fmt: skip
def test_a_bad_claims_file_is_one_line_naming_the_problem(tmp_path, body, message):
    with pytest.raises(BenchError) as info:
        load_claims(claims_file(tmp_path, body))
    text = str(info.value)
    assert text.startswith("bad claims file ") and message in text and "\n" not in text


def test_a_missing_claims_file_is_one_line(tmp_path):
    with pytest.raises(BenchError, match="cannot read claims file"):
        load_claims(tmp_path / "nope.toml")


def test_the_projects_claims_file_covers_every_article_claim():
    claims = load_claims(DEFAULT_CLAIMS)
    ids = [c.id for c in claims.claims]
    assert ids == ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "F1", "F2", "F3", "E1", "E2", "E3"]
    for claim in claims.claims:
        if claim.id in ("P1", "P2", "P6", "P7", "P8"):
            assert claim.definition and claim.tolerance, claim.id


def test_every_claim_gets_a_verdict_and_a_reason_even_on_an_empty_run():
    verdicts = judge_claims(run_with({}), load_claims(DEFAULT_CLAIMS))
    assert len(verdicts) == 14
    assert all(v.verdict in ("by inspection", "not checkable") and v.reason for v in verdicts)
    assert {v.claim.id for v in verdicts if v.verdict == "by inspection"} == {"F3"}  # read in the code, not measured


def test_step_selectors():
    steps = ["ms=20,users=16", "ms=20,users=64", "ms=20,users=256", "ms=100,users=256", "users=64,endpoint=GET /x"]
    assert select_step(steps, "ms=20,users=max") == "ms=20,users=256"
    assert select_step(steps, "ms=20,users=min") == "ms=20,users=16"
    assert select_step(steps, "ms=20,users=same", {"users": 50.0}) == "ms=20,users=64"
    assert select_step([""], "") == ""
    with pytest.raises(Exception, match="no single step matches"):
        select_step(steps, "users=max")  # ms=20 and ms=100 both have users=256


def test_number_format():
    assert [fmt(x) for x in (0.0, 0.12345, 5.5, 52.44, 200.0, 3137.2, float("inf"), None)] == \
        ["0", "0.123", "5.5", "52.4", "200", "3,137", "∞", "—"]


def test_the_table_shows_every_claim_with_its_verdict(tmp_path):
    verdicts = judge_claims(cold(STABLE), load_claims(claims_file(tmp_path, RANGE)))
    console = Console(record=True, width=300)
    console.print(verdicts_table(verdicts))
    text = console.export_text()
    assert "P4" in text and "supported" in text and "express 100 u" in text


def test_a_missing_first_reading_falls_back_to_the_next():
    from harness.claims import ClaimsFile, judge_claims
    from harness.results import Metric, RunResults

    claims = ClaimsFile.model_validate({"claims": [{
        "id": "X1", "claim": "c", "figure": "f",
        "checks": [
            {"type": "ratio", "scenario": "s", "metric": "absent", "numerator": "express", "denominator": "fastapi",
             "min": 1.4, "max": 1.6},
            {"type": "ratio", "reading": "backup", "scenario": "s", "metric": "m", "numerator": "express",
             "denominator": "fastapi", "min": 1.4, "max": 1.6},
        ]}]})
    results = RunResults(run_id="r", created_at="now", metrics=[
        Metric(target=t, scenario="s", trial=i, metric="m", value=v, unit="x")
        for t, v in (("express", 100.0), ("fastapi", 100.0)) for i in (1, 2, 3)])
    from harness.summarize import summarize

    summarize(results)
    (verdict,) = judge_claims(results, claims)
    assert verdict.verdict == "refuted"
    assert "decided by the backup reading" in verdict.reason


# ---- P5's definition and the cold_start scenario agree (issue 10 item 7) ----------------------------


def test_p5_settle_time_matches_the_cold_start_scenario_in_every_profile():
    """The definition's "read N s after its first correct answer" is what every profile does."""
    import re

    from harness.scenario import load_scenario

    (p5,) = [c for c in load_claims().claims if c.id == "P5"]
    match = re.search(r"read ([0-9.]+) s after its first correct", " ".join(p5.definition.split()))
    assert match, f"P5's definition no longer states the settle time: {p5.definition!r}"
    scenario = load_scenario(DEFAULT_CLAIMS.parent / "scenarios" / "cold_start.py")
    settle = {profile: scenario.params(profile).settle_s for profile in scenario.profiles}
    assert settle and all(s == float(match.group(1)) for s in settle.values()), (match.group(1), settle)


# ---- censored figures: a trial above the top step is a lower bound (issue 10 item 3) -----------------

CROSSING = """
    [[claims]]
    id = "P1"
    claim = "40-60% more"
    [[claims.checks]]
    type = "ratio"
    scenario = "concurrency"
    metric = "slo_crossing_users"
    numerator = "express"
    denominator = "fastapi"
    min = 1.4
    max = 1.6
"""
TOP = 512.0


def crossings(express: list[float | None], fastapi: list[float | None]) -> RunResults:
    """Per-trial slo_crossing_users as load_summary stores them: None = passed every step, stored as
    the top step with slo_crossing_users_censored = 1."""
    results = RunResults(run_id="t", created_at="now",
                         config={"scenario_params": {"concurrency": {"users": [8, 64, TOP]}}})
    for target, values in (("express", express), ("fastapi", fastapi)):
        for trial, value in enumerate(values, start=1):
            for metric, v, unit in (("slo_crossing_users", TOP if value is None else value, "users"),
                                    ("slo_crossing_users_censored", float(value is None), "bool")):
                results.metrics.append(Metric(target=target, scenario="concurrency", trial=trial, step="",
                                              metric=metric, value=v, unit=unit))
            results.trials.append(TrialRecord(target=target, scenario="concurrency", trial=trial, order=trial,
                                               started_at="now", wall_s=1))
    return results


def test_a_median_above_the_top_step_is_a_lower_bound_not_a_value(tmp_path):
    # Read as values, 512, 512, 500 over 340-350 gives 1.48 [1.46-1.51]: "supported". But two express
    # trials passed 512 users, so its median is only known to be above 512 and the ratio above 1.46.
    v = verdict(tmp_path, CROSSING, crossings([None, None, 500.0], [340.0, 345.0, 350.0]))
    assert v.verdict == "inconclusive"
    assert "express trials 1, 2 passed the top step" in v.reason
    assert "a top step of at least 560 users" in v.reason  # 1.6 × fastapi's 350 would decide it
    assert "express > 512 users [500–∞] (75% CI, 3 trials; 2 of 3 trials above the top step)" in v.measured()
    assert "express/fastapi > 1.48× [1.43–∞]" in v.measured()


def test_a_lower_bound_that_already_clears_the_range_decides(tmp_path):
    # every express trial above 512, fastapi at most 300: the ratio is above 1.7, beyond 1.6
    v = verdict(tmp_path, CROSSING, crossings([None, None, None], [290.0, 295.0, 300.0]))
    assert v.verdict == "refuted", v.reason
    assert "express > 512 users (above the top step)" in v.measured()
    assert "express/fastapi > 1.74×" in v.measured()
    at_least = CROSSING.replace("max = 1.6\n", "")
    v = verdict(tmp_path, at_least, crossings([None, None, None], [290.0, 295.0, 300.0]))
    assert v.verdict == "supported", v.reason  # "ratio >= 1.4" holds whatever express's true figure


def test_a_censored_median_against_a_range_and_in_the_terminal(tmp_path):
    body = RANGE.replace('"cold_start"', '"concurrency"').replace("cold_start_ms", "slo_crossing_users")
    v = verdict(tmp_path, body.replace("max = 200\n", ""), crossings([None, None, None], [300.0] * 3))
    assert v.verdict == "supported"  # above 512 is above 50
    v = verdict(tmp_path, body.replace("max = 200\n", "max = 1000\n"), crossings([None, None, None], [300.0] * 3))
    assert v.verdict == "inconclusive" and "a top step of at least 1,000 users" in v.reason
    assert v.measured(short=True) == "concurrency slo_crossing_users: express > 512 users (above the top step)"
    console = Console(record=True, width=300)
    console.print(verdicts_table([v]))  # the measured column folds its text over lines
    text = console.export_text()
    assert "express > 512" in text and "(above the top step)" in text


def test_one_censored_trial_leaves_the_median_known_but_opens_the_interval(tmp_path):
    v = verdict(tmp_path, CROSSING, crossings([450.0, 460.0, None, 455.0, 458.0], [300.0, 302.0, 305.0, 301.0, 303.0]))
    express = next(f for f in v.outcomes[0].context if f.label == "express")
    assert express.value == 458.0 and express.high == math.inf
    assert "(94% CI, 5 trials; 1 of 5 trials above the top step)" in express.text()


UNAFFECTED = RATIO + '''    unaffected_by = ["loadgen_saturated"]
    unaffected_reason = "this figure does not depend on which side limited the rate"
'''


def test_a_flag_the_check_declares_unaffected_does_not_block_it(tmp_path):
    results = crud(STABLE, [x * 1.5 for x in STABLE], flags={("fastapi", "crud"): ["loadgen_saturated:users=32"]})
    assert verdict(tmp_path, UNAFFECTED, results).verdict == "refuted"
    noisy = crud(STABLE, [150.0, 130.0, 190.0, 140.0, 170.0])  # CV 15%, every round far outside
    strict = '[policy]\nblocking_flags = ["noisy", "loadgen_saturated"]\n'
    assert verdict(tmp_path, strict + RATIO, noisy).verdict == "inconclusive"
    body = strict + UNAFFECTED.replace('["loadgen_saturated"]', '["loadgen_saturated", "noisy"]')
    assert verdict(tmp_path, body, noisy).verdict == "refuted"


@pytest.mark.parametrize(("lines", "message"), [
    ('    unaffected_by = ["loadgen_saturated"]\n', "needs unaffected_reason"),
    ('    unaffected_by = ["no_such_flag"]\n    unaffected_reason = "x"\n', "unknown flags: no_such_flag"),
])
def test_unaffected_flags_need_a_reason_and_known_names(tmp_path, lines, message):
    with pytest.raises(BenchError, match=message):
        load_claims(claims_file(tmp_path, RATIO + lines))
