"""The realtime scenario's parts that need no server: the delivery ledger, the frame scanner, the
scenario's counts and gauges in the measured windows, and the per-step and per-trial figures."""

from __future__ import annotations

import math

import pytest

from harness.kinds.realtime_summary import max_clients_under_slo, realtime_figures
from harness.loadgen import measures
from harness.loadgen.driver import merge_reports
from harness.loadgen.rooms import Receipt, RoomLedger, scan_frames
from harness.loadgen.window import StepSchedule, WindowRecorder
from harness.results import Metric

# ---- the ledger: who is owed each copy, delivered or lost ------------------------------------------


def test_a_copy_is_owed_to_every_member_at_send_time_the_sender_too():
    ledger = RoomLedger(deadline_s=1.0)
    for member in (1, 2, 3):
        ledger.join("r", member)
    ledger.join("other", 9)
    assert ledger.sent("m", "r", now=10.0) == 3
    assert ledger.received("m", 1, now=10.1) is Receipt.ON_TIME
    assert ledger.received("m", 1, now=10.2) is Receipt.UNOWED  # a duplicate is no second delivery
    assert ledger.received("m", 9, now=10.2) is Receipt.UNOWED
    assert ledger.owed == 2
    assert ledger.expire(now=10.99) == 0
    assert ledger.expire(now=11.0) == 2  # members 2 and 3 never got it
    assert ledger.owed == 0
    assert ledger.received("m", 2, now=11.5) is Receipt.LATE


def test_a_copy_arriving_after_its_deadline_is_late_not_delivered_and_is_lost_at_expiry():
    ledger = RoomLedger(deadline_s=0.5)
    ledger.join("r", 1)
    ledger.sent("m", "r", now=0.0)
    assert ledger.received("m", 1, now=0.6) is Receipt.LATE  # before the sweep: still late
    assert ledger.expire(now=0.7) == 1


def test_a_member_joining_after_the_send_is_not_owed_it_and_a_leaver_still_is():
    ledger = RoomLedger(deadline_s=1.0)
    ledger.join("r", 1)
    ledger.join("r", 2)
    ledger.sent("m", "r", now=0.0)
    ledger.join("r", 3)
    ledger.leave("r", 2)  # its socket closed: the copy it was owed is lost, not forgiven
    assert ledger.members == 2
    assert ledger.received("m", 3, now=0.1) is Receipt.UNOWED
    assert ledger.received("m", 1, now=0.1) is Receipt.ON_TIME
    assert ledger.expire(now=5.0) == 1


def test_expiry_stops_at_the_first_copy_still_in_time():
    ledger = RoomLedger(deadline_s=1.0)
    ledger.join("r", 1)
    for i in range(5):
        ledger.sent(f"m{i}", "r", now=float(i))
    assert ledger.expire(now=3.5) == 3
    assert ledger.owed == 2


def test_a_deadline_must_be_positive():
    with pytest.raises(ValueError):
        RoomLedger(deadline_s=0)


# ---- draining: frames skipped without parsing payloads ------------------------------------------------


def frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        header = bytes([0x80 | opcode, n])
    elif n < 65536:
        header = bytes([0x80 | opcode, 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 127]) + n.to_bytes(8, "big")
    return header + payload


def test_scan_frames_counts_data_frames_of_every_length_and_returns_control_frames():
    stream = frame(1, b"a" * 5) + frame(9, b"ping!") + frame(1, b"b" * 300) + frame(2, b"c" * 70000)
    stream += frame(8, (1001).to_bytes(2, "big"))
    data, control, consumed = scan_frames(stream)
    assert (data, consumed) == (3, len(stream))
    assert control == [(9, b"ping!"), (8, (1001).to_bytes(2, "big"))]


@pytest.mark.parametrize("cut", [1, 2, 3, 5, 9, 40])
def test_a_frame_cut_by_the_read_is_left_for_the_next_one(cut):
    whole = frame(1, b"x" * 10) + frame(1, b"y" * 300)
    first = len(frame(1, b"x" * 10))
    data, _, consumed = scan_frames(whole[: first + cut])
    assert (data, consumed) == (1, first)
    assert scan_frames(whole[consumed:])[0] == 1


# ---- counts and gauges in the measured windows ------------------------------------------------------


def test_counts_and_gauges_land_in_the_window_of_their_time_only():
    recorder = WindowRecorder(warmup_s=1.0, duration_s=2.0)
    recorder.start(now=100.0)  # window [101, 103)
    recorder.count("lost", 5, now=100.5)  # warm-up
    recorder.count("lost", 2, now=101.5)
    recorder.count("lost", 0, now=102.9)
    recorder.count("late", 0, now=102.0)
    recorder.count("lost", 7, now=103.0)  # after
    for value, at in ((3, 100.9), (10, 101.2), (8, 102.0), (9, 102.5), (1, 103.1)):
        recorder.gauge("held", value, now=at)
    payload = recorder.payload()
    assert payload["counts"] == {"lost": 2, "late": 0}  # a 0 count still names the figure
    assert payload["gauges_min"] == {"held": 8}


def test_the_step_schedule_routes_counts_to_each_step_and_the_merge_sums_workers():
    steps = [{"users": 1, "spawn_rate": 1, "warmup_s": 0, "duration_s": 1},
             {"users": 2, "spawn_rate": 1, "warmup_s": 0, "duration_s": 1}]
    workers = []
    for held in (4, 6):
        schedule = StepSchedule(steps)
        schedule.start(now=0.0)
        schedule.count("lost", 1, now=0.5)
        schedule.count("lost", 3, now=1.5)
        schedule.gauge("held", held, now=1.5)
        workers.append(schedule.payload(now=2.0)["steps"])
    first = merge_reports([w[0] for w in workers], duration_s=1.0)
    second = merge_reports([w[1] for w in workers], duration_s=1.0)
    assert (first.counts, first.gauges_min) == ({"lost": 2.0}, {})
    assert (second.counts, second.gauges_min) == ({"lost": 6.0}, {"held": 10.0})


def test_measures_reach_the_connected_sink_and_go_nowhere_without_one():
    class Sink:
        def __init__(self):
            self.seen = []

        def count(self, name, n, now):
            self.seen.append(("count", name, n))

        def gauge(self, name, value, now):
            self.seen.append(("gauge", name, value))

    measures.count("x")  # no sink: nothing happens
    sink = Sink()
    measures.connect(sink)
    try:
        measures.count("lost", 2)
        measures.gauge("held", 5)
    finally:
        measures.connect(None)
    measures.count("y")
    assert sink.seen == [("count", "lost", 2), ("gauge", "held", 5)]
    figures = measures.window_figures({"lost": 6.0}, {"held": 5.0}, duration_s=2.0)
    assert figures == {"lost": (6.0, "count"), "lost_per_s": (3.0, "1/s"), "held": (5.0, "count")}


# ---- max_clients_slo and the step figures ---------------------------------------------------------


def test_max_clients_interpolates_on_the_chord_when_latency_fails():
    best = max_clients_under_slo([1000, 2000, 4000], [20, 60, 260], [True, True, True], 100)
    assert best.clients == pytest.approx(2000 + 40 / 200 * 2000) and not best.censored


def test_max_clients_stops_at_the_last_passing_step_when_the_next_loses_or_drops_clients():
    assert max_clients_under_slo([1000, 2000, 4000], [20, 60, 70], [True, True, False], 100).clients == 2000
    # a later passing step does not count once one has failed
    assert max_clients_under_slo([1000, 2000, 4000], [20, 60, 70], [True, False, True], 100).clients == 1000


def test_max_clients_is_censored_when_every_step_passes_and_zero_when_the_first_fails():
    top = max_clients_under_slo([4000, 1000, 2000], [30, 10, 20], [True] * 3, 100)
    assert (top.clients, top.censored) == (4000, True)
    assert max_clients_under_slo([1000, 2000], [150, 200], [True, True], 100).clients == 0
    assert max_clients_under_slo([1000, 2000], [math.nan, 20], [True, True], 100).clients == 0
    assert max_clients_under_slo([], [], [], 100) is None


def rows(step: str, **values: float) -> list[Metric]:
    return [Metric(target="express", scenario="realtime", trial=1, step=step, metric=k, value=v, unit="")
            for k, v in values.items()]


def make(metric: str, value: float, unit: str, step: str) -> Metric:
    return Metric(target="express", scenario="realtime", trial=1, step=step, metric=metric, value=value, unit=unit)


def test_realtime_figures_per_step_and_per_trial():
    metrics = (
        rows("users=100", rps=400, requests=1200, error_rate=0.0, latency_p50_ms=2, latency_p99_ms=10,
             messages_lost=0, clients_held=100, copies_sent_per_s=800, server_cpu_pct=8, server_rss_mb=50)
        + rows("users=200", rps=790, requests=2400, error_rate=0.01, latency_p50_ms=5, latency_p99_ms=150,
               messages_lost=24, clients_held=200, copies_sent_per_s=1600, server_cpu_pct=16, server_rss_mb=51)
        + rows("users=200,endpoint=deliver", latency_p99_ms=1.0)  # per-endpoint rows are not the step's
    )
    out = {(m.step, m.metric): m.value for m in realtime_figures(metrics, 100, make)}
    assert out["users=100", "messages_delivered_per_s"] == 400
    assert out["users=200", "delivery_p99_ms"] == 150
    assert out["users=100", "loss_ratio"] == 0
    assert out["users=200", "loss_ratio"] == pytest.approx(24 / (2376 + 24))
    assert out["users=100", "server_cpu_us_per_delivery"] == pytest.approx(0.08 * 1e6 / 800)
    assert out["", "max_clients_slo"] == 100  # users=200 lost copies: no interpolation past 100
    assert out["", "max_clients_slo_censored"] == 0
    assert out["", "memory_per_client_kb"] == pytest.approx(10.0)  # 1 MB over 100 clients


def test_a_step_with_clients_not_held_fails_even_with_good_latency():
    metrics = (rows("users=100", rps=1, requests=1, error_rate=0, latency_p50_ms=1, latency_p99_ms=1,
                    messages_lost=0, clients_held=100)
               + rows("users=200", rps=1, requests=1, error_rate=0, latency_p50_ms=1, latency_p99_ms=1,
                      messages_lost=0, clients_held=150))
    out = {(m.step, m.metric): m.value for m in realtime_figures(metrics, 100, make)}
    assert (out["", "max_clients_slo"], out["", "max_clients_slo_censored"]) == (100, 0)
