"""One slice's figures (harness.kinds.sliced): the loaded server's CPU per request, and the idle server's
CPU over the same counted part of the slice, its settle time left out."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from harness.kinds.sliced import slice_figures
from harness.loadgen.slices import SliceResult
from harness.sampler import Reading


class Readings:
    """A sampler's `window` over fixed readings per role."""

    def __init__(self, readings: dict[str, list[Reading]]) -> None:
        self.readings = readings

    def window(self, role: str, start_s: float, end_s: float) -> list[Reading]:
        return [r for r in self.readings.get(role, []) if start_s <= r.t_s < end_s]


def readings(pct_before: float, pct: float) -> list[Reading]:
    """10 Hz over a slice from t=100 s: `pct_before` in its settle time (the first 0.1 s), `pct` after."""
    return [Reading(t_s=100 + i / 10, cpu_pct=pct_before if i < 1 else pct, rss_mb=50.0) for i in range(10)]


def figures(express: list[Reading], fastapi: list[Reading]) -> dict[str, float]:
    piece = SliceResult(index=0, target="express", pair=1, position=0, start_s=100.0, counted_start_s=100.1,
                        end_s=101.0, counted_s=0.9, ok=1800, failed=0)
    ctx = SimpleNamespace(scenario=SimpleNamespace(name="throughput"))
    sampler = Readings({"server:express": express, "server:fastapi": fastapi})
    metrics = slice_figures(ctx, 7, "users=64", piece, sampler, "express", "fastapi")
    assert {(m.target, m.trial, m.step) for m in metrics} == {("express", 7, "users=64")}
    return {m.metric: m.value for m in metrics}


def test_the_loaded_servers_cpu_per_request_is_its_cpu_rate_over_its_request_rate():
    got = figures(readings(90.0, 80.0), readings(0.0, 0.0))
    assert got["rps"] == pytest.approx(2000.0)  # 1,800 answered in the counted 0.9 s
    assert got["server_cpu_pct"] == pytest.approx(80.0)  # the settle time's 90% left out
    assert got["server_cpu_us_per_req"] == pytest.approx(0.8 * 1e6 / 2000)


def test_the_idle_servers_cpu_is_measured_over_the_same_counted_part():
    got = figures(readings(80.0, 80.0), readings(40.0, 2.5))  # finishing its last requests in the settle time
    assert got["idle_server_cpu_pct"] == pytest.approx(2.5)
