"""A figure beyond the load generator is a bound on the server, said so in a claim's reason
(harness.claims.bounds): "above X req/s on this machine (generator-bound)", not only "inconclusive"."""

from __future__ import annotations

import pytest
from test_flags import flagged_run

from harness.claims import judge_claims, load_claims

RANGE = ('[[claims]]\nid = "X"\nclaim = "c"\n[[claims.checks]]\ntype = "range"\ntarget = "express"\n'
         'scenario = "throughput"\nstep = "users=64"\nmetric = "rps"\nmin = 1\n')
RATIO = ('[[claims]]\nid = "X"\nclaim = "c"\n[[claims.checks]]\ntype = "ratio"\nnumerator = "express"\n'
         'denominator = "fastapi"\nscenario = "throughput"\nstep = "users=64"\nmetric = "rps"\nmin = 1.2\n')


@pytest.mark.parametrize("flag", ["loadgen_saturated", "generator_bound"])
@pytest.mark.parametrize("body", [RANGE, RATIO], ids=["range", "ratio"])
def test_a_generator_bound_rps_is_given_as_a_lower_bound_of_the_server(flag, body, tmp_path):
    claims = tmp_path / "claims.toml"
    claims.write_text(body)
    (verdict,) = judge_claims(flagged_run([f"{flag}:users=64"]), load_claims(claims))
    assert verdict.verdict == "inconclusive"
    # express's trials 990, 1000, 1010: its capacity is at least the lowest end of what was measured
    assert "express above 990 req/s on this machine (generator-bound)" in verdict.reason
    assert "fastapi above" not in verdict.reason  # fastapi was not flagged


def test_other_blocking_flags_give_no_bound(tmp_path):
    claims = tmp_path / "claims.toml"
    claims.write_text(RANGE)
    (verdict,) = judge_claims(flagged_run(["little_law:users=64"]), load_claims(claims))
    assert verdict.verdict == "inconclusive" and "generator-bound" not in verdict.reason
