"""What a verdict may rest on: a profile too short for a claim says so instead of judging it (issue 32,
item 6), a reading of the code is shown as one and not as a measurement (item 7), and a claim's
definition states what is judged, never one machine's figures (item 8)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from claim_bodies import judge_one
from rich.console import Console

from harness.claims import DEFAULT_CLAIMS, judge_claims, load_claims
from harness.claims.schema import CodeCheck, GapCheck, Place
from harness.commands.main import build_parser
from harness.present.tables import verdicts_table
from harness.report.build import claims_csv_rows
from harness.results import Metric, RunResults, TrialRecord

LOWER = [10.0, 11.0, 10.5]  # three trials, clearly below
HIGHER = [100.0, 101.0, 99.0]


def memory_run(duration_s: float, trials: int = 3, profile: str = "quick") -> RunResults:
    """rss_cv of two targets over `trials` rounds, run with the memory scenario held `duration_s` seconds."""
    config = {"profile": profile, "scenario_params": {"memory": {"duration_s": duration_s, "trials": trials}}}
    results = RunResults(run_id="t", created_at="now", config=config)
    order = 0
    for trial in range(1, trials + 1):
        for target, values in (("fastapi", LOWER), ("express", HIGHER)):
            order += 1
            results.metrics.append(Metric(target=target, scenario="memory", trial=trial, step="users=32",
                                          metric="rss_cv", value=values[(trial - 1) % 3], unit="ratio"))
            results.trials.append(TrialRecord(target=target, scenario="memory", trial=trial, order=order,
                                              started_at="now", wall_s=1))
    return results


SUSTAINED = """
    [[claims]]
    id = "P6"
    claim = "steadier under sustained load"
    [[claims.checks]]
    type = "compare"
    scenario = "memory"
    metric = "rss_cv"
    lower = "fastapi"
    higher = "express"
    needs = { duration_s = 60, trials = 3, why = "a sustained load holds several full collections" }
"""


# ---- item 6: a profile that cannot carry a claim says so ----------------------------------------


def test_a_hold_too_short_for_a_sustained_load_claim_is_not_checked_by_that_profile(tmp_path):
    v = judge_one(tmp_path, SUSTAINED, memory_run(duration_s=3))
    assert v.verdict == "not checkable"
    assert v.reason.startswith("not checked by the quick profile: ")
    assert "a hold of at least 60 s" in v.reason and "quick holds memory 3 s" in v.reason
    assert "--profile full" in v.reason  # the profile that carries it, read from scenarios/memory.py
    assert "a sustained load holds several full collections" in v.reason
    assert "not checked by the quick profile" in v.headline


def test_a_hold_long_enough_is_judged(tmp_path):
    v = judge_one(tmp_path, SUSTAINED, memory_run(duration_s=300, profile="full"))
    assert v.verdict == "supported"


def test_too_few_trials_for_a_claim_is_not_checked_by_that_profile(tmp_path):
    v = judge_one(tmp_path, SUSTAINED, memory_run(duration_s=300, trials=1))
    assert v.verdict == "not checkable"
    assert "at least 3 trials" in v.reason and "quick runs memory 1 trial" in v.reason


def test_a_trials_only_need_names_the_carrying_profile_by_its_trials(tmp_path):
    body = SUSTAINED.replace("needs = { duration_s = 60, trials = 3,", "needs = { trials = 3,")
    v = judge_one(tmp_path, body, memory_run(duration_s=3, trials=1))
    assert "--profile full (5 trials) carries it" in v.reason  # not its 300-s hold, which was not asked


def test_p6_and_p8_say_what_a_verdict_needs_and_only_a_profile_that_carries_it_judges_them():
    from harness.claims.scope import carrying_profiles

    claims = {c.id: c for c in load_claims(DEFAULT_CLAIMS).claims}
    for claim_id in ("P6", "P8"):
        for check in claims[claim_id].checks:
            assert isinstance(check, Place) and check.needs is not None, (claim_id, check)
            carriers = carrying_profiles(check.scenario, check.needs)
            assert "full" in carriers and "quick" not in carriers, (claim_id, check.metric, carriers)
    assert claims["P6"].checks[0].needs.duration_s >= 60  # docs/measurements.md: what a hold needs
    assert claims["P8"].checks[0].needs.trials >= 3


def test_every_declared_need_is_carried_by_some_profile():
    from harness.claims.scope import carrying_profiles

    for claim in load_claims(DEFAULT_CLAIMS).claims:
        for check in claim.checks:
            if isinstance(check, Place) and check.needs is not None:
                assert carrying_profiles(check.scenario, check.needs), (claim.id, check.metric)


# ---- item 7: a reading of the code is not a measured verdict ---------------------------------------


def test_a_code_reading_is_its_own_category_in_the_terminal_and_claims_csv(tmp_path):
    verdicts = judge_claims(RunResults(run_id="empty", created_at="now"), load_claims(DEFAULT_CLAIMS))
    f3 = next(v for v in verdicts if v.claim.id == "F3")
    assert f3.verdict == "by inspection"  # not "supported": nothing was measured, the run is empty
    assert f3.reason.startswith("a reading of the code, not a measurement: it supports the claim")
    assert "not measured" in f3.headline.lower() and "supports" in f3.headline
    row = next(r for r in claims_csv_rows(verdicts) if r["id"] == "F3")
    assert row["verdict"] == "by inspection"
    console = Console(record=True, width=300)
    console.print(verdicts_table(verdicts))
    assert re.search(r"F3 .*by inspection", console.export_text())
    assert not [v.claim.id for v in verdicts if v.verdict == "supported"]  # an empty run supports nothing


def test_a_claim_with_a_code_check_and_a_measured_check_in_one_reading_rests_on_inspection(tmp_path):
    (tmp_path / "app.js").write_text("schema.safeParse(body)\n")
    body = """
        [[claims]]
        id = "F9"
        claim = "by hand, and it answers 422"
        [[claims.checks]]
        type = "code"
        verdict = "supported"
        reason = "zod, added by hand"
        evidence = [{ path = "app.js", contains = "safeParse" }]
        [[claims.checks]]
        type = "behaviour"
        target = "express"
        check = "invalid_email"
        expect = { status = 422 }
    """
    results = RunResults(run_id="t", created_at="now", checks={"express": {"invalid_email": {"status": 422}}})
    v = judge_one(tmp_path, body, results)
    assert v.verdict == "by inspection" and "zod, added by hand" in v.reason


def test_the_report_shows_a_code_reading_as_one(tmp_path):
    import shutil

    from harness.report.build import write_report

    run = tmp_path / "run"
    shutil.copytree(Path(__file__).resolve().parent / "fixtures" / "small_run", run)
    written = write_report(run)
    markdown = (run / "report.md").read_text()
    assert "### F3: by inspection" in markdown and "F3 (by inspection): " in markdown
    assert "by inspection: a reading of the source code" in markdown  # the method says what the category is
    html = (run / "report.html").read_text()
    assert '<td class="read">by inspection</td>' in html
    csv_text = (run / "claims.csv").read_text()
    assert ",by inspection," in csv_text
    junit = (run / "claims-junit.xml").read_text()
    assert 'skipped="' in junit and f'skipped="{_skipped(written.verdicts)}"' in junit


def _skipped(verdicts) -> int:
    return sum(v.verdict not in ("supported", "refuted") for v in verdicts)


# ---- item 8: definitions say what is judged; a machine's figures come from the run ----------------

# Words that report one machine's observation rather than define a measure.
OBSERVED = [r"\(measured:", r"\bhere\b", r"this machine", r"thousands of requests", r"\bwe (saw|measured)\b"]
MEASURED_FIGURE = r"\d+\s*[-–]\s*\d+\s*(µs|us|ms|MB|req/s)"  # a range of figures stated as a fact


def _claim_texts() -> list[tuple[str, str]]:
    texts = []
    for claim in load_claims(DEFAULT_CLAIMS).claims:
        texts += [(claim.id, claim.definition), (claim.id, claim.tolerance)]
        for check in claim.checks:
            places = [check.larger, check.smaller] if isinstance(check, GapCheck) else [check]
            texts += [(claim.id, getattr(p, "unaffected_reason", "")) for p in places]
            texts += [(claim.id, check.reason)] if isinstance(check, CodeCheck) else []
            needs = getattr(check, "needs", None)
            texts += [(claim.id, needs.why)] if needs is not None else []
    return texts


def test_claim_definitions_state_no_machines_observations():
    found = [(cid, pattern, text) for cid, text in _claim_texts() for pattern in OBSERVED
             if re.search(pattern, text)]
    assert not found, found


def _help_texts(parser: argparse.ArgumentParser) -> list[str]:
    texts = [parser.description or ""]
    for action in parser._actions:
        texts.append(action.help or "")
        if isinstance(action, argparse._SubParsersAction):
            texts += [t for sub in action.choices.values() for t in _help_texts(sub)]
            texts += [choice.help or "" for choice in action._choices_actions]
    return texts


def test_help_texts_state_no_measured_figures():
    # "here" is this host in a help text ("Locust workers here"), so only the other observation words count
    found = [t for t in _help_texts(build_parser()) if re.search(MEASURED_FIGURE, t)
             or any(re.search(p, t) for p in OBSERVED if p != r"\bhere\b")]
    assert not found, found
