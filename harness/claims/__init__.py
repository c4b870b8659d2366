"""The article's claims (claims.toml) and their verdicts from one stored run.

A claim is a list of checks, each a small rule read from the file (no code per claim):
  range          one target's figure lies in [min, max]
  ratio          numerator/denominator of one figure lies in [min, max]
  compare        one target's figure is lower than another's (the ratio lower/higher below 1)
  gap            the gap between two targets (max(r, 1/r) of the ratio r) is larger at one place than another
  behaviour      a behaviour check recorded during the run (results.json `checks`) has the expected answers
  code           a reading of source code stated in the file, kept only while its evidence is found: its
                 verdict is "by inspection" (not measured), shown apart from the measured ones
  not_checkable  a claim this harness cannot measure, with the reason

Checks may carry a `reading` (an alternative definition, e.g. MB vs MiB); the first reading decides
the verdict, others are reported beside it, unless the claim sets readings_must_agree.

A claim of several statements names each check's `part` (P4: Express's range, FastAPI's range, Express
faster): every part gets its own verdict, and the claim's follows the parts' rule stated in claims.toml
(verdict.overall_from_parts): mixed → "partly supported"; a refuted part and none supported → refuted;
supported parts with undecided ones → inconclusive, naming the parts that hold.

Verdicts (the rules, in order):
  not checkable  a figure the check needs is not in the run (scenario not run, metric not recorded); or the
                 run's profile gives the check's scenario less than its `needs` (a hold of so many seconds,
                 so many trials): "not checked by the quick profile", naming a profile that carries it
                 (scope.py)
  inconclusive   a figure carries a blocking flag (load generator saturated or near its ceiling, Little's
                 law failed): it can neither support nor refute; or the CI straddles a bound of the claim.
                 A noisy figure (CV over 10%) decides when its whole CI lies on one side, and says it was noisy.
                 These rules come first for every check, a zero median or a stepped figure included.
  supported / refuted
                 the CI lies inside / outside the claim's range. With fewer than 3 trials there is
                 no CI, stepped or not: policy.single_trial = "inconclusive" (default) refuses to judge;
                 "point" judges on the median and says "no CI" in the reason.
A verdict from windows others disturbed (flag disturbed, which blocks nothing by default) names them in
its reason. A gap decides only when its two intervals lie apart and would do so by chance no more often
than one 3-trial interval misses on one side (stats.joint_tail of their tails, at most 12.5%).
Figures that can only take the values of a sweep's steps (max_concurrency_slo, connections_held:
`quantized = "users"`) are read as the interval [step, next step): a coarse sweep cannot resolve
a 1.4–1.6 ratio, and the verdict says so instead of pretending.
Bounded figures: a trial whose metric M has M_censored = 1 passed the top step, so its value is only a
lower bound; one with M_upper_bound = 1 failed the lowest step (a rate sweep's), so it is only an upper
bound (docs/formats.md). Each such trial, and each stepped one, enters the order-statistic interval as
the range it lies in (stats.bounded_median_ci: order statistics are monotone in each value, so the
interval holds the exact one of the unseen values, at least at its coverage). A median that depends on
them reads "> 512 users (above the top step)" or "< 400 req/s (below the lowest step)"; an interval end
that does is open (∞, or 0). A bound can still decide a verdict when it alone clears the claim's range;
otherwise the check is inconclusive and names the trials and the step that would decide it. Trials are
never dropped: dropping them would bias the median.

CIs (harness.stats; nothing is re-derived) are labelled with their real coverage, never a nominal 95%:
a target's median has the exact order-statistic CI (median_order_ci: [min, max] of 3 trials covers 75%,
of 5 trials 93.75%, "94% CI"). A ratio between targets is paired by rounds (round i = trial i of each
target, run back to back, harness.run.plan_trials): the median of the per-round ratios with the
order-statistic CI of that median (paired_ratio_estimate; bounded_median_ci of the per-round ratios'
bounds for bounded or stepped figures), so a slow minute hits both sides of a ratio and cancels. Only
trials that cannot be paired fall back to the ratio of medians: with a two-sample percentile bootstrap,
labelled "bootstrap CI" (its coverage is nominal), or for bounded or stepped figures the ratio of the two
targets' intervals, labelled with the product of their coverages (both hold at once at least that often).

Modules: schema.py the claims file; scope.py which profiles can carry a check; view.py a target's figure
read from the run (harness.results.RunView) and its intervals; judge.py one judge per check type;
outcomes.py what judging gives and its texts; verdict.py a claim's verdict from its checks and parts;
headline.py, decide.py, machine.py and explain.py its words for a writer (the plain sentence, what would
decide it, its machine dependence). The terminal's claims table: harness.present.tables.
"""

from harness.claims.outcomes import CheckOutcome, ClaimVerdict
from harness.claims.schema import DEFAULT_CLAIMS, VERDICTS, Claim, ClaimsFile, Place, Policy, RangeCheck, load_claims
from harness.claims.verdict import judge_claims
from harness.claims.view import Figure, select_step
from harness.numbers import number as fmt

__all__ = ["DEFAULT_CLAIMS", "VERDICTS", "CheckOutcome", "Claim", "ClaimVerdict", "ClaimsFile", "Figure", "Place",
           "Policy", "RangeCheck", "fmt", "judge_claims", "load_claims", "select_step"]
