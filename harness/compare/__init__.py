"""`bench compare`: two stored runs, metric by metric, with asv's regression rule.

rules.py  the rule (directions, Mann-Whitney AND threshold, the ratio check), also used by history
runs.py   loading and checking two runs, and the comparison of every figure they share
text.py   the words and cells shown; exporters.py the files written (export_markdown.py, export_json.py)
"""

from harness.compare.export_json import COMPARE_VERSION, to_json
from harness.compare.export_markdown import to_markdown
from harness.compare.exporters import EXPORTERS, write_reports
from harness.compare.rules import Direction, MetricChange, RatioChange, Trials, direction, judge
from harness.compare.runs import CompareResult, compare_runs
from harness.compare.text import headline, rule

__all__ = ["COMPARE_VERSION", "EXPORTERS", "CompareResult", "Direction", "MetricChange", "RatioChange", "Trials",
           "compare_runs", "direction", "headline", "judge", "rule", "to_json", "to_markdown", "write_reports"]
