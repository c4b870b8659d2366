"""`bench compare` and `bench ab`: two runs, or two revisions in one run, figure by figure.

rules.py   the rule (Mann-Whitney AND threshold, the ratio check), also used by history; directions
           come from harness.metrics
runs.py    loading and checking two runs, and the comparison of every figure they share
paired.py  one figure's per-round ratios judged (bench ab); ab.py every gated figure of an ab run
text.py    the words and cells shown; the files written are harness.exporters'
"""

from harness.compare.rules import Direction, MetricChange, RatioChange, Trials, direction, judge
from harness.compare.runs import CompareResult, compare_runs
from harness.compare.text import headline, rule

__all__ = ["CompareResult", "Direction", "MetricChange", "RatioChange", "Trials", "compare_runs", "direction",
           "headline", "judge", "rule"]
