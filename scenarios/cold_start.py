"""Cold start and idle memory: a fresh server process per trial, timed from spawn to first correct 200.

`cold_start_ms` runs from the spawn call to the first `GET /health` answering 200 `{"status": "ok"}`;
`listen_ms` to the first accepted TCP connection. Idle RSS and USS are read from the whole
process tree `settle_s` after that first answer: 1 s in every profile, the time P5's definition in
claims.toml names (tests/test_claims.py checks that the two agree). Checks P4 (startup time) and
P5 (baseline memory).
"""

SCENARIO = {
    "kind": "cold_start",
    "claims": ["P4", "P5"],
    "profiles": {
        "quick": {"trials": 8, "settle_s": 1.0},
        "full": {"trials": 30, "settle_s": 1.0},
        "ci": {"trials": 6, "settle_s": 1.0},
        "test": {"trials": 2, "settle_s": 1.0},
    },
}
