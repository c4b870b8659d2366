"""Stop when decided (harness.claims.stopping): after a look, a sliced scenario stops when every ratio a
claim reads there lies wholly inside or outside its band, or is precise enough; a ratio near a band's
edge keeps it going."""

from __future__ import annotations

import textwrap
from pathlib import Path

from test_sliced_claims import LOOKS, STEP, pair_values, sliced_run, slicing

from harness.claims import load_claims
from harness.claims.stopping import EVERY_RATIO_DECIDED, PRECISION_REACHED, decided
from harness.results import RunView
from harness.stats.sequential import design

PLAN = design(LOOKS, 0.95)

P2 = """
    [[claims]]
    id = "P2"
    claim = "about as fast"
    [[claims.checks]]
    type = "ratio"
    scenario = "crud"
    step = "users=max"
    metric = "rps"
    numerator = "express"
    denominator = "fastapi"
    min = 0.9
    max = 1.1
"""

P3 = """
    [[claims]]
    id = "P3"
    claim = "the gap is larger on CPU work"
    [[claims.checks]]
    type = "gap"
    metric = "server_cpu_us_per_req"
    numerator = "express"
    denominator = "fastapi"
    larger = { scenario = "cpu", step = "users=max" }
    smaller = { scenario = "crud", step = "users=max" }
"""


def claims(tmp_path: Path, *bodies: str):
    path = tmp_path / "claims.toml"
    path.write_text(textwrap.dedent("".join(bodies)))
    return load_claims(path)


def crud_view(ratio: float, pairs: int = 16, spread: float = 0.03, cpu_ratio: float | None = None,
              scenario: str = "crud") -> RunView:
    a, b = pair_values(pairs, ratio, spread=spread)
    figures = {("express", scenario, STEP, "rps"): a, ("fastapi", scenario, STEP, "rps"): b}
    if cpu_ratio is not None:
        ca, cb = pair_values(pairs, cpu_ratio, seed=3, spread=spread)
        figures |= {("express", scenario, STEP, "server_cpu_us_per_req"): ca,
                    ("fastapi", scenario, STEP, "server_cpu_us_per_req"): cb}
    return RunView(sliced_run(figures, {"slicing": slicing(scenario)}))


def test_a_ratio_wholly_outside_its_band_is_decided(tmp_path):
    stop, why, ratios = decided(crud_view(1.35), "crud", PLAN, claims(tmp_path, P2))
    assert stop and why == EVERY_RATIO_DECIDED
    (state,) = ratios.values()
    assert "P2: express/fastapi crud users=64 rps against in [0.9, 1.1]" in ratios
    assert state.startswith("decided: [") and "lies outside [0.9, 1.1]" in state


def test_a_ratio_wholly_inside_its_band_is_decided(tmp_path):
    stop, why, _ = decided(crud_view(1.0), "crud", PLAN, claims(tmp_path, P2))
    assert stop and why == EVERY_RATIO_DECIDED


def test_a_ratio_near_the_bands_edge_stays_open_where_one_far_from_it_is_decided(tmp_path):
    # the same spread of pairs: 0.92 straddles 0.9 and is not yet precise; 0.6 lies wholly below the band
    stop, why, ratios = decided(crud_view(0.92, spread=0.25), "crud", PLAN, claims(tmp_path, P2))
    assert not stop
    assert why.startswith("P2: express/fastapi crud users=64 rps against in [0.9, 1.1] still open: [")
    assert "straddles [0.9, 1.1], half-width" in why and "> 5%" in why
    (state,) = ratios.values()
    assert state.startswith("open: [")
    assert decided(crud_view(0.6, spread=0.25), "crud", PLAN, claims(tmp_path, P2)).stop


def test_a_ratio_on_the_bands_edge_stops_once_precise_and_says_so(tmp_path):
    stop, why, ratios = decided(crud_view(0.9, spread=0.01), "crud", PLAN, claims(tmp_path, P2))
    assert stop and why == PRECISION_REACHED
    (state,) = ratios.values()
    assert state.startswith("precise: [") and "≤ 5%" in state
    assert not decided(crud_view(0.9, spread=0.01), "crud", PLAN, claims(tmp_path, P2), precision=0.001).stop


def test_a_wide_interval_at_an_early_look_stays_open(tmp_path):
    # 8 pairs: the design's interval is [min, max] of the pairs, which straddles 1.1 at this spread
    stop, _, _ = decided(crud_view(1.12, pairs=8, spread=0.1), "crud", PLAN, claims(tmp_path, P2))
    assert not stop


def test_a_gaps_ratio_is_decided_by_precision(tmp_path):
    # crud's rps decided by its band, crud's CPU per request (a gap's ratio, no band) by its half-width
    view = crud_view(1.35, cpu_ratio=0.8, spread=0.02)
    stop, why, ratios = decided(view, "crud", PLAN, claims(tmp_path, P2, P3))
    assert stop and why == PRECISION_REACHED
    cpu = ratios["P3: express/fastapi crud users=64 server_cpu_us_per_req"]
    assert cpu.startswith("precise: [") and "≤ 5%" in cpu


def test_a_noisy_gaps_ratio_keeps_the_run_going(tmp_path):
    view = crud_view(1.35, cpu_ratio=0.8, spread=0.3)
    stop, why, _ = decided(view, "crud", PLAN, claims(tmp_path, P2, P3), precision=0.05)
    assert not stop and "server_cpu_us_per_req still open" in why and "> 5%" in why


def test_a_scenario_no_band_reads_stops_on_its_frameworks_throughput_and_cpu(tmp_path):
    view = crud_view(0.86, cpu_ratio=1.2, spread=0.02, scenario="throughput")
    stop, why, ratios = decided(view, "throughput", PLAN, claims(tmp_path, P2))
    assert stop and why == PRECISION_REACHED
    assert set(ratios) == {"express/fastapi throughput users=64 rps",
                           "express/fastapi throughput users=64 server_cpu_us_per_req"}
    wider = decided(view, "throughput", PLAN, claims(tmp_path, P2), precision=0.001)
    assert not wider.stop and "still open" in wider.why and "(and 1 more)" in wider.why


def test_no_ratio_read_per_pair_is_no_ground_to_stop(tmp_path):
    view = crud_view(1.0, scenario="cold_start")
    view.results.metrics = [m for m in view.results.metrics if m.target == "express"]
    stop, why, _ = decided(RunView(view.results), "cold_start", PLAN, claims(tmp_path, P2))
    assert not stop and why == "no ratio of cold_start read per pair"
