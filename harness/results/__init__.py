"""A stored run: its format (records.py), its files (store.py), figure keys and steps as types
(keys.py) and the one indexed view every reader uses (view.py).

    results.json ──load_results (upgrades)──▶ RunResults ──RunView──▶ claims, compare, history,
                                                                      summarize, report
"""

from harness.results.keys import AGGREGATE, CENSORED_SUFFIX, FigureKey, Step, is_endpoint_step, step_label, step_params
from harness.results.records import (
    FILE_VERSIONS,
    METRIC_COLUMNS,
    SAMPLE_COLUMNS,
    SCHEMA_VERSION,
    HistogramRecord,
    Metric,
    RunResults,
    Sample,
    SampleRow,
    Summary,
    TrialRecord,
)
from harness.results.store import (
    RUN_NAME,
    UPGRADES,
    ResultsStore,
    atomic_write_text,
    check_file_version,
    check_run_name,
    first_error,
    load_histograms,
    load_results,
    upgrade,
)
from harness.results.view import RunView, ordered_by_trial

__all__ = [
    "AGGREGATE", "CENSORED_SUFFIX", "FILE_VERSIONS", "METRIC_COLUMNS", "RUN_NAME", "SAMPLE_COLUMNS", "SCHEMA_VERSION",
    "UPGRADES", "FigureKey", "HistogramRecord", "Metric", "ResultsStore", "RunResults", "RunView", "Sample",
    "SampleRow", "Step", "Summary", "TrialRecord", "atomic_write_text", "check_file_version", "check_run_name",
    "first_error", "is_endpoint_step", "load_histograms", "load_results", "ordered_by_trial", "step_label",
    "step_params", "upgrade",
]
