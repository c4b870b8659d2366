"""The Locust-side window recorder and the harness-side merge, without starting Locust."""

import sys

import pytest

from harness.loadgen.driver import AGGREGATE, merge_reports
from harness.loadgen.window import REPORT_WAIT_S, STALLED_AFTER_S, StepSchedule, WindowRecorder


def recorder_with(samples: list[tuple[str, float, bool, float]]) -> WindowRecorder:
    recorder = WindowRecorder(warmup_s=1.0, duration_s=2.0)
    recorder.start(now=100.0)  # window is [101, 103)
    for name, ms, failed, at in samples:
        recorder.record(name, ms, RuntimeError("boom") if failed else None, now=at)
    return recorder


def test_warmup_and_after_window_are_excluded():
    recorder = recorder_with([("a", 1.0, False, 100.5), ("a", 2.0, False, 101.0), ("a", 3.0, False, 103.0)])
    assert recorder.ok["a"] == 1
    assert recorder.histograms["a"].get_max_value() == recorder.histograms["a"].get_min_value()


def test_failures_are_counted_not_timed():
    recorder = recorder_with([("a", 0.01, True, 101.5), ("a", 5.0, False, 101.5)])
    assert (recorder.ok["a"], recorder.failed["a"]) == (1, 1)
    assert recorder.histograms["a"].get_total_count() == 1
    assert any("RuntimeError: boom" in key for key in recorder.errors)


def test_microsecond_resolution_survives():
    recorder = recorder_with([("a", 0.123, False, 102.0)])
    value = recorder.histograms["a"].get_value_at_percentile(50)
    assert abs(value - 123) <= 1  # 3 significant digits


def test_merge_adds_workers_and_builds_the_aggregate():
    one = recorder_with([("a", 1.0, False, 101.1), ("b", 4.0, False, 101.2)]).payload()
    two = recorder_with([("a", 2.0, False, 101.3), ("a", 9.0, True, 101.4)]).payload()
    result = merge_reports([one, two], duration_s=2.0)
    assert result.workers_reported == 2
    assert (result.endpoints["a"].ok, result.endpoints["a"].failed) == (2, 1)
    aggregate = result.endpoints[AGGREGATE]
    assert (aggregate.ok, aggregate.failed) == (3, 1)
    assert aggregate.histogram.get_total_count() == 3
    assert 3990 <= aggregate.histogram.get_max_value() <= 4010
    assert result.window_s == (101.0, 103.0)


def test_the_harness_never_imports_gevent():
    import harness.kinds.load
    import harness.run  # noqa: F401

    assert "gevent" not in sys.modules and "locust" not in sys.modules


def test_step_schedule_places_windows_back_to_back_and_holds_the_last_step():
    schedule = StepSchedule([{"users": 8, "spawn_rate": 8, "warmup_s": 1, "duration_s": 2},
                             {"users": 32, "spawn_rate": 16, "warmup_s": 1, "duration_s": 3}])
    schedule.start(now=100.0)
    assert [(r.window_start, r.window_end) for r in schedule.recorders] == [(101.0, 103.0), (104.0, 107.0)]
    schedule.record("a", 1.0, None, now=102.0)
    schedule.record("a", 1.0, None, now=103.5)  # second step's warm-up: nobody records it
    schedule.record("a", 1.0, None, now=106.9)
    assert [r.ok["a"] for r in schedule.recorders] == [1, 1]
    assert schedule.total_s == 7.0
    assert schedule.users_at(0.5, tail_s=1) == (8, 8.0)
    assert schedule.users_at(3.0, tail_s=1) == (32, 16.0)
    assert schedule.users_at(7.5, tail_s=1) == (32, 16.0)  # the tail keeps the last step's users
    assert schedule.users_at(8.0, tail_s=1) is None
    assert len(schedule.payload(now=108.0)["steps"]) == 2


# Requests still unanswered at a window's end: the held-connections figure counts them as not answered.


def schedule_of_one_window() -> StepSchedule:
    schedule = StepSchedule([{"users": 2, "spawn_rate": 2, "warmup_s": 1, "duration_s": 2}])
    schedule.start(now=100.0)  # window is [101, 103)
    return schedule


def test_a_request_stalled_at_the_window_end_is_pending_even_if_never_answered():
    schedule = schedule_of_one_window()
    schedule.sent(now=100.5)  # sent in the warm-up, still waiting when the window ends and when reporting
    answered_late = schedule.sent(now=101.5)
    schedule.settled(answered_late, now=103.4)  # answered after the window: not answered within it
    answered_in_time = schedule.sent(now=101.6)
    schedule.settled(answered_in_time, now=101.7)
    assert schedule.payload(now=103.5)["steps"][0]["pending"] == 2


def test_a_request_sent_just_before_the_window_end_is_too_young_to_judge():
    schedule = schedule_of_one_window()
    young = schedule.sent(now=103.0 - STALLED_AFTER_S / 2)
    schedule.sent(now=103.0 - STALLED_AFTER_S / 2)  # never answered, but only briefly waiting at the end
    schedule.settled(young, now=103.2)
    assert schedule.payload(now=103.5)["steps"][0]["pending"] == 0


def test_pending_is_not_counted_before_the_window_has_ended():
    schedule = schedule_of_one_window()
    schedule.sent(now=101.0)
    assert schedule.payload(now=102.5)["steps"][0]["pending"] == 0


def test_merge_sums_the_workers_pending_requests():
    one, two = schedule_of_one_window(), schedule_of_one_window()
    one.sent(now=101.0)
    two.sent(now=101.0)
    two.sent(now=101.5)
    result = merge_reports([one.payload(now=104.0)["steps"][0], two.payload(now=104.0)["steps"][0]], 2.0)
    assert result.pending == 3


def test_the_last_step_runs_on_while_a_workers_report_is_missing():
    # Under CPU contention a worker's clock starts late and its report leaves after the master's
    # tail; stopping on time would lose it ("Locust produced no measurement").
    schedule = StepSchedule([{"users": 8, "spawn_rate": 8, "warmup_s": 1, "duration_s": 2}])
    assert schedule.users_at(4.5, tail_s=1, reports_missing=True) == (8, 8.0)
    assert schedule.users_at(3.0 + 1 + REPORT_WAIT_S, tail_s=1, reports_missing=True) is None  # bounded
    assert schedule.users_at(4.5, tail_s=1, reports_missing=False) is None


# --- open model: the step schedule's arrival plan and ledgers ----------------------------------------------


def open_schedule(max_in_flight: int = 4) -> StepSchedule:
    steps = [{"users": 1, "spawn_rate": 1, "warmup_s": 1.0, "duration_s": 2.0, "rate_per_s": 10,
              "max_in_flight": max_in_flight},
             {"users": 1, "spawn_rate": 1, "warmup_s": 1.0, "duration_s": 2.0, "rate_per_s": 20,
              "max_in_flight": max_in_flight}]  # fmt: skip
    schedule = StepSchedule(steps)
    schedule.start(now=100.0)  # step 1 spans [100, 103), window [101, 103); step 2 [103, 106), window [104, 106)
    return schedule


def test_the_plan_offers_each_steps_rate_over_its_whole_span_and_senders_share_it():
    schedule = open_schedule()
    times = list(schedule.intended_times(0, 1, "uniform"))
    assert len([t for t in times if t < 103]) == 30 and len([t for t in times if t >= 103]) == 60
    assert times == sorted(times) and times[0] >= 100 and times[-1] < 106
    halves = [list(schedule.intended_times(i, 2, "uniform")) for i in (0, 1)]
    assert sorted(halves[0] + halves[1]) == times  # two senders together offer the same plan


def test_open_requests_are_counted_in_the_step_of_their_intended_time_and_dropped_past_the_bound():
    schedule = open_schedule(max_in_flight=2)
    assert schedule.admit(101.0, now=101.0) and schedule.admit(101.1, now=101.2)  # the second sent 100 ms late
    assert not schedule.admit(101.2, now=101.2)  # two in flight: dropped, not queued
    assert schedule.complete(101.0, now=101.5) == 0.5  # its latency runs from its intended time
    assert schedule.admit(104.0, now=104.0)  # the second step has its own ledger
    first, second = (recorder.payload()["arrivals"] for recorder in schedule.recorders)
    assert first == {"offered": 3, "sent": 2, "late": 1, "dropped": 1, "completed": 1}
    assert second == {"offered": 1, "sent": 1, "late": 0, "dropped": 0, "completed": 0}


def test_open_arrivals_are_summed_over_the_workers():
    one, two = open_schedule(), open_schedule()
    one.admit(101.0, 101.0)
    one.complete(101.0, 101.1)
    two.admit(101.5, 101.5)
    result = merge_reports([one.recorders[0].payload(), two.recorders[0].payload()], duration_s=2.0)
    assert result.arrivals is not None and (result.arrivals.offered, result.arrivals.completed) == (2, 1)
    assert merge_reports([recorder_with([]).payload()], duration_s=2.0).arrivals is None  # closed model: none


def test_a_sweep_stopped_at_a_failing_step_plans_reports_and_holds_no_later_step():
    schedule = open_schedule()  # two open steps: [100, 103) at 10/s, [103, 106) at 20/s
    for latency_ms in [5.0] * 98 + [250.0] * 2:  # p99 = 250 ms
        schedule.record("GET /", latency_ms, None, now=101.5)
    assert schedule.recorders[0].p99_ms() == pytest.approx(250, rel=1e-3)
    assert not schedule.failed(0, stop_p99_ms=300) and schedule.failed(0, stop_p99_ms=250)
    assert not schedule.failed(1, stop_p99_ms=1)  # nothing answered: no p99, no verdict
    schedule.stop_after(0)
    assert len(schedule.payload(now=103.1)["steps"]) == 1  # the report covers the steps run
    assert all(t < 103 for t in schedule.intended_times(0, 1, "uniform"))  # no request planned after it
    assert schedule.users_at(3.5, tail_s=1) is not None and schedule.users_at(4.0, tail_s=1) is None


# ---- memory bounded by configuration, not by a run's length ---------------------------------------


def test_a_million_distinct_latencies_keep_the_recorder_bounded():
    """Latencies are held per HDR bucket, not per exact µs: 10^6 distinct values (1 µs to 100 s) leave at
    most the histogram's own number of buckets, and the recorder's memory stays small."""
    from harness.loadgen.window import new_histogram

    recorder = WindowRecorder(warmup_s=0.0, duration_s=10.0)
    recorder.start(now=0.0)
    for i in range(1_000_000):
        recorder.record("a", (1 + i * 100) / 1000, None, now=1.0)  # 1 µs, 101 µs, ... about 100 s: distinct
    assert recorder.held_latency_keys() <= new_histogram().counts_len  # 18,432 at 3 digits up to 100 s
    held_bytes = sum(sys.getsizeof(counts) for counts in recorder._latency_counts.values())
    assert held_bytes < 2_000_000, held_bytes  # per exact µs: a million keys, over 40 MB for the table alone
    assert recorder.histograms["a"].get_total_count() == 1_000_000


def test_latencies_held_per_bucket_make_the_same_histogram_as_recording_each():
    import random

    from harness.loadgen.window import new_histogram

    rng = random.Random(7)
    values_us = [rng.randint(1, 100_000_000) for _ in range(20_000)] + list(range(1, 5000))
    recorder = WindowRecorder(warmup_s=0.0, duration_s=10.0)
    recorder.start(now=0.0)
    direct = new_histogram()
    for value in values_us:
        recorder.record("a", value / 1000, None, now=1.0)
        direct.record_value(value)
    assert recorder.histograms["a"].encode() == direct.encode()


def test_distinct_error_messages_are_capped_and_the_rest_counted_as_other():
    from harness.loadgen.window import MAX_ERROR_KEYS, OTHER_ERRORS

    recorder = WindowRecorder(warmup_s=0.0, duration_s=10.0)
    recorder.start(now=0.0)
    for i in range(10_000):
        recorder.record("a", 1.0, RuntimeError(f"connection {i} reset"), now=1.0)
    assert len(recorder.errors) == MAX_ERROR_KEYS + 1
    assert recorder.errors[OTHER_ERRORS] == 10_000 - MAX_ERROR_KEYS
    assert sum(recorder.errors.values()) == recorder.failed["a"] == 10_000
    recorder.record("a", 1.0, RuntimeError("connection 0 reset"), now=1.0)  # a message already kept still counts
    assert recorder.errors["a: RuntimeError: connection 0 reset"] == 2
