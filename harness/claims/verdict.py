"""A claim's verdict: its checks judged, combined per part and per reading, the first reading deciding.

A claim of several statements (claims.toml `part`, e.g. P4: Express's range, FastAPI's range, Express
faster) gets a verdict per part, each part's checks combined as one reading's are (all must hold), and
an overall verdict by the rule of `overall_from_parts`, the one claims.toml states.
"""

from __future__ import annotations

from dataclasses import replace

from harness.claims.explain import explain
from harness.claims.judge import Context, judge_check
from harness.claims.outcomes import READINGS_DISAGREE, CheckOutcome, ClaimVerdict, PartVerdict
from harness.claims.schema import BY_INSPECTION, Claim, ClaimsFile, load_claims
from harness.results import RunResults, RunView

DECIDED = ("supported", "refuted")
OTHER_PART = "the rest"  # the checks of a claim with parts that name none


def combine(outcomes: list[CheckOutcome]) -> tuple[str, str]:
    """All checks of one reading must hold: one refuted refutes; else any doubt is inconclusive."""
    verdicts = [o.verdict for o in outcomes]
    for verdict in ("refuted", "inconclusive"):
        if verdict in verdicts:
            return verdict, "; ".join(o.reason for o in outcomes if o.verdict == verdict)
    if "not checkable" in verdicts:
        reasons = "; ".join(dict.fromkeys(o.reason for o in outcomes if o.verdict == "not checkable"))
        if all(v == "not checkable" for v in verdicts):
            return "not checkable", reasons
        return "inconclusive", f"part of the claim could not be checked: {reasons}"
    if BY_INSPECTION in verdicts:  # what rests on a reading of the code is not measured, whatever else holds
        return BY_INSPECTION, "; ".join(o.reason for o in outcomes if o.verdict == BY_INSPECTION)
    return "supported", "; ".join(o.reason for o in outcomes)


def overall_from_parts(parts: list[tuple[str, str, str]]) -> tuple[str, str]:
    """The overall verdict of (name, verdict, reason) parts, by claims.toml's stated rule:
    every part supported → supported; supported and refuted parts → partly supported; refuted parts
    and no supported one → refuted (a claim that states them all is false whatever the rest does);
    supported parts and undecided ones → inconclusive, saying which parts hold; none decided →
    not checkable when no part could be checked, else inconclusive."""
    held = [name for name, v, _ in parts if v == "supported"]
    failed = [name for name, v, _ in parts if v == "refuted"]
    open_ = [name for name, v, _ in parts if v not in DECIDED]
    if held and failed:
        verdict = "partly supported"
    elif failed:
        verdict = "refuted"
    elif held and not open_:
        verdict = "supported"
    elif all(v == "not checkable" for _, v, _ in parts):
        verdict = "not checkable"
    elif all(v == BY_INSPECTION for _, v, _ in parts):
        verdict = BY_INSPECTION
    else:
        verdict = "inconclusive"
    summary = [f"{label}: {', '.join(names)}" for label, names in
               (("holds", held), ("does not hold", failed), ("undecided", open_)) if names]
    if open_ and (held or failed) and not (held and failed):
        summary[-1] += f" (every decided part is {'supported' if held else 'refuted'})"
    details = "; ".join(f"{name}: {v}: {why}" for name, v, why in parts)
    return verdict, f"{' | '.join(summary)} — {details}"


def judge_reading(claim: Claim, outcomes: list[CheckOutcome]) -> tuple[str, str, list[PartVerdict]]:
    """One reading's verdict: its checks combined, or its parts' verdicts combined by the parts' rule."""
    names = list(dict.fromkeys(o.part or OTHER_PART for o in outcomes))
    if not claim.parts() or len(names) < 2:
        return (*combine(outcomes), [])
    parts = [PartVerdict(name, *combine([o for o in outcomes if (o.part or OTHER_PART) == name])) for name in names]
    return (*overall_from_parts([(p.name, p.verdict, p.reason) for p in parts]), parts)


def judge_claim(claim: Claim, ctx: Context) -> ClaimVerdict:
    outcomes = [replace(judge_check(check, ctx), part=check.part) for check in claim.checks]
    judged = {r: judge_reading(claim, [o for o in outcomes if o.reading == r]) for r in claim.readings()}
    readings = {r: (verdict, reason) for r, (verdict, reason, _) in judged.items()}
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
    return ClaimVerdict(claim, verdict, reason, outcomes, parts=judged[first][2], decided_by=first)


def _agreement(first: str, readings: dict[str, tuple[str, str]]) -> tuple[str, str]:
    judged = {r: v for r, (v, _) in readings.items() if v != "not checkable"}
    verdict, reason = readings[first]
    if len(set(judged.values())) > 1:
        split = ", ".join(f"the {r} reading gives {v}" for r, v in judged.items())
        return "inconclusive", f"{READINGS_DISAGREE}{split}. {reason}"
    if len(judged) > 1:
        return verdict, f"{reason} (same verdict in every reading: {', '.join(judged)})"
    return verdict, reason


def judge_claims(results: RunResults, claims: ClaimsFile | None = None) -> list[ClaimVerdict]:
    claims = claims or load_claims()
    ctx = Context(RunView(results), claims.policy, claims.base_dir)
    return [explain(judge_claim(claim, ctx), ctx) for claim in claims.claims]
