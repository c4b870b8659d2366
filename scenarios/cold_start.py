"""Cold start and idle memory: a fresh server process per trial, timed from spawn to first correct 200.

`cold_start_ms` runs from the spawn call to the first `GET /health` answering 200 `{"status": "ok"}`;
`listen_ms` to the first accepted TCP connection. Idle RSS and USS are read from the whole
process tree after `settle_s`. Checks P4 (startup time) and P5 (baseline memory).
"""

SCENARIO = {
    "kind": "cold_start",
    "claims": ["P4", "P5"],
    "profiles": {
        "quick": {"trials": 10, "settle_s": 0.5},
        "full": {"trials": 30, "settle_s": 2.0},
        "ci": {"trials": 6, "settle_s": 0.5},
        "test": {"trials": 2, "settle_s": 0.2},
    },
}
