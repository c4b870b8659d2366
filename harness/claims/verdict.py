"""A claim's verdict: its checks judged, combined per reading, the first reading deciding."""

from __future__ import annotations

from harness.claims.judge import Context, judge_check
from harness.claims.outcomes import CheckOutcome, ClaimVerdict
from harness.claims.schema import Claim, ClaimsFile, load_claims
from harness.results import RunResults, RunView


def combine(outcomes: list[CheckOutcome]) -> tuple[str, str]:
    """All checks of one reading must hold: one refuted refutes; else any doubt is inconclusive."""
    verdicts = [o.verdict for o in outcomes]
    for verdict in ("refuted", "inconclusive"):
        if verdict in verdicts:
            return verdict, "; ".join(o.reason for o in outcomes if o.verdict == verdict)
    if "not checkable" in verdicts:
        reasons = "; ".join(o.reason for o in outcomes if o.verdict == "not checkable")
        if all(v == "not checkable" for v in verdicts):
            return "not checkable", reasons
        return "inconclusive", f"part of the claim could not be checked: {reasons}"
    return "supported", "; ".join(o.reason for o in outcomes)


def judge_claim(claim: Claim, ctx: Context) -> ClaimVerdict:
    outcomes = [judge_check(check, ctx) for check in claim.checks]
    readings = {r: combine([o for o in outcomes if o.reading == r]) for r in claim.readings()}
    first, *others = claim.readings()
    # The first reading decides; when this run lacks its figures, the next reading that has
    # them decides instead, and the reason says so.
    for fallback in others:
        if readings[first][0] != "not checkable":
            break
        missing = readings[first][1]
        first, others = fallback, [r for r in claim.readings() if r != fallback]
        readings[first] = (readings[first][0], f"{readings[first][1]} (decided by the {first} reading: {missing})")
    verdict, reason = readings[first]
    if claim.readings_must_agree:
        verdict, reason = _agreement(first, readings)
    elif others:
        reason += "".join(f" [{r} reading: {readings[r][0]}]" for r in others)
    return ClaimVerdict(claim, verdict, reason, outcomes)


def _agreement(first: str, readings: dict[str, tuple[str, str]]) -> tuple[str, str]:
    judged = {r: v for r, (v, _) in readings.items() if v != "not checkable"}
    verdict, reason = readings[first]
    if len(set(judged.values())) > 1:
        split = ", ".join(f"the {r} reading gives {v}" for r, v in judged.items())
        return "inconclusive", f"the verdict depends on the reading: {split}. {reason}"
    if len(judged) > 1:
        return verdict, f"{reason} (same verdict in every reading: {', '.join(judged)})"
    return verdict, reason


def judge_claims(results: RunResults, claims: ClaimsFile | None = None) -> list[ClaimVerdict]:
    claims = claims or load_claims()
    ctx = Context(RunView(results), claims.policy, claims.base_dir)
    return [judge_claim(claim, ctx) for claim in claims.claims]
