"""Open-model arrivals (harness/loadgen/arrival.py): the plan, latency from the intended send
time, and the offered / sent / late / dropped bookkeeping, checked on known answers and on a
simulated server that stalls."""

from __future__ import annotations

import heapq
import itertools
import math
import statistics

import pytest

from harness.loadgen.arrival import (
    ArrivalCounts,
    ArrivalLedger,
    ArrivalSchedule,
    SenderPool,
    latency_from_intended_s,
    service_time_s,
)
from harness.loadgen.window import new_histogram

# ---- the plan -----------------------------------------------------------------------------


def test_uniform_sends_are_evenly_spaced_from_the_start():
    times = ArrivalSchedule(100, "uniform", start_s=5.0).times_until(6.0)
    assert len(times) == 100
    assert times[0] == 5.0
    assert times == pytest.approx([5.0 + k / 100 for k in range(100)], abs=1e-12)


def test_uniform_plan_does_not_drift_over_a_long_run():
    plan = ArrivalSchedule(3, "uniform").times()  # 1/3 is not exact in binary
    for _ in range(3_000_000):
        last = next(plan)
    assert last == pytest.approx((3_000_000 - 1) / 3, abs=1e-6)


@pytest.mark.parametrize("phase", [0.0, 0.5])
def test_uniform_shares_add_up_to_the_whole_plan(phase):
    whole = ArrivalSchedule(400, "uniform", start_s=1.0, phase=phase)
    merged = sorted(t for i in range(4) for t in whole.share(i, 4).times_until(3.0))
    assert merged == pytest.approx(whole.times_until(3.0), abs=1e-9)
    assert whole.share(0, 1) == whole


def test_poisson_is_seeded_and_has_exponential_gaps():
    plan = ArrivalSchedule(1000, "poisson", start_s=0.0, seed=7)
    times = plan.times_until(100.0)
    assert times == ArrivalSchedule(1000, "poisson", seed=7).times_until(100.0)
    assert times[:50] != ArrivalSchedule(1000, "poisson", seed=8).times_until(100.0)[:50]
    # a Poisson count over 100 s at 1000/s: mean 100,000, standard deviation sqrt(100,000) ≈ 316
    assert abs(len(times) - 100_000) < 4 * math.sqrt(100_000)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert statistics.fmean(gaps) == pytest.approx(1e-3, rel=0.02)
    assert statistics.stdev(gaps) / statistics.fmean(gaps) == pytest.approx(1.0, abs=0.02)  # exponential: CV 1


def test_poisson_shares_are_independent_streams_at_the_full_rate():
    whole = ArrivalSchedule(800, "poisson", seed=3)
    shares = [whole.share(i, 4).times_until(50.0) for i in range(4)]
    assert len({tuple(s[:5]) for s in shares}) == 4
    total = sum(len(s) for s in shares)
    assert abs(total - 40_000) < 4 * math.sqrt(40_000)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rate_per_s": 0}, "rate_per_s"),
        ({"rate_per_s": math.inf}, "rate_per_s"),
        ({"rate_per_s": 10, "distribution": "bursty"}, "distribution"),
        ({"rate_per_s": 10, "phase": 1.0}, "phase"),
    ],
)
def test_bad_plans_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ArrivalSchedule(**kwargs)


def test_share_index_must_be_in_range():
    with pytest.raises(ValueError, match="out of range"):
        ArrivalSchedule(10).share(4, 4)


# ---- latency and bookkeeping --------------------------------------------------------------


def test_latency_counts_from_the_intended_time_service_time_from_the_send():
    assert latency_from_intended_s(intended_s=10.0, completed_s=10.25) == pytest.approx(0.25)
    assert service_time_s(sent_s=10.2, completed_s=10.25) == pytest.approx(0.05)


def test_a_due_request_beyond_the_in_flight_bound_is_dropped_not_queued():
    ledger = ArrivalLedger(max_in_flight=2)
    assert ledger.admit(1.0, 1.0) and ledger.admit(1.001, 1.001)
    assert not ledger.admit(1.002, 1.002)  # both slots busy
    assert ledger.complete(1.0, 1.5) == pytest.approx(0.5)
    assert ledger.admit(1.003, 1.5)  # a slot is free again
    assert ledger.counts == ArrivalCounts(offered=4, sent=3, late=1, dropped=1, completed=1)


def test_late_means_sent_more_than_the_threshold_after_the_intended_time():
    ledger = ArrivalLedger(max_in_flight=10, late_after_s=0.010)
    ledger.admit(1.0, 1.009)
    ledger.admit(2.0, 2.011)
    assert (ledger.counts.sent, ledger.counts.late) == (2, 1)


def test_only_requests_intended_inside_the_window_are_counted_but_all_hold_a_slot():
    ledger = ArrivalLedger(max_in_flight=1, window_start_s=10.0, window_end_s=20.0)
    assert ledger.admit(9.99, 9.99)  # warm-up: holds the slot, not counted
    assert not ledger.admit(10.0, 10.0)  # counted, dropped: the warm-up request still holds the slot
    ledger.complete(9.99, 10.5)
    assert ledger.admit(19.9, 19.9)
    ledger.complete(19.9, 20.3)  # intended in the window, so counted though it ends after it
    assert ledger.counts == ArrivalCounts(offered=2, sent=1, late=0, dropped=1, completed=1)
    assert ledger.counts.rates(10.0) == {
        "offered_rps": 0.2, "sent_rps": 0.1, "achieved_rps": 0.1, "late_fraction": 0.0, "dropped_fraction": 0.5,
    }


def test_complete_without_admit_is_an_error():
    with pytest.raises(ValueError, match="without a matching admit"):
        ArrivalLedger(max_in_flight=1).complete(1.0, 2.0)


# ---- a stalled server: coordinated omission ----------------------------------------------

RATE_PER_S, DURATION_S = 1000, 10.0
SERVICE_S = 0.0004  # under the 1 ms gap, so no answer coincides with a planned send
STALL_START_S, STALL_S = 5.0, 0.5


def answered_at(sent_s: float) -> float:
    """A simulated server: 0.4 ms per request, except that nothing is served during the stall."""
    begin = STALL_START_S + STALL_S if STALL_START_S <= sent_s < STALL_START_S + STALL_S else sent_s
    return begin + SERVICE_S


def p99_ms(latencies_s: list[float]) -> float:
    """The 99th percentile as the plugin records it: an HDR histogram of microseconds."""
    hist = new_histogram()
    for latency in latencies_s:
        hist.record_value(max(1, round(latency * 1e6)))
    return hist.get_value_at_percentile(99) / 1000


def closed_run(plan: list[float], connections: int) -> tuple[list[float], list[float]]:
    """A client with a fixed pool of connections that sends each planned request once one is
    free (as closed users do): (latency from intended, service time) per request."""
    free = [0.0] * connections
    from_intended, service = [], []
    for intended in plan:
        sent = max(intended, heapq.heappop(free))
        done = answered_at(sent)
        heapq.heappush(free, done)
        from_intended.append(latency_from_intended_s(intended, done))
        service.append(service_time_s(sent, done))
    return from_intended, service


def open_run(plan: list[float], max_in_flight: int) -> tuple[ArrivalLedger, list[float]]:
    """The open model: every request sent at its intended time while a slot is free."""
    ledger = ArrivalLedger(max_in_flight=max_in_flight)
    pending: list[tuple[float, float]] = []  # (answered at, intended)
    latencies = []
    for intended in plan:
        while pending and pending[0][0] <= intended:
            done, was_intended = heapq.heappop(pending)
            latencies.append(ledger.complete(was_intended, done))
        if ledger.admit(intended, intended):
            heapq.heappush(pending, (answered_at(intended), intended))
    latencies += [ledger.complete(intended, done) for done, intended in sorted(pending)]
    return ledger, latencies


def test_a_stall_raises_p99_from_the_intended_time_but_not_the_service_time():
    plan = ArrivalSchedule(RATE_PER_S, "uniform").times_until(DURATION_S)
    from_intended, service = closed_run(plan, connections=4)
    # Service time: only the 4 requests in flight when the stall began saw it (0.04% < 1%).
    assert p99_ms(service) == pytest.approx(SERVICE_S * 1000, rel=0.01)
    # From the intended time, the 500 requests planned during the stall waited for it.
    assert p99_ms(from_intended) >= 0.75 * STALL_S * 1000
    assert max(from_intended) == pytest.approx(STALL_S + SERVICE_S, abs=1e-6)


def test_under_open_load_the_stall_shows_in_p99_and_every_request_is_sent():
    plan = ArrivalSchedule(RATE_PER_S, "uniform").times_until(DURATION_S)
    ledger, latencies = open_run(plan, max_in_flight=1000)
    assert ledger.counts.dropped == 0 and ledger.counts.sent == len(plan) == 10_000
    unstalled = p99_ms([latency_from_intended_s(t, t + SERVICE_S) for t in plan])
    assert unstalled == pytest.approx(SERVICE_S * 1000, rel=0.01)
    # 5% of requests were planned in the stall, waiting 500 ms down to 0: p99 is their top fifth
    assert p99_ms(latencies) - unstalled >= 0.75 * STALL_S * 1000


def test_a_too_small_in_flight_bound_drops_what_the_stall_holds_up():
    plan = ArrivalSchedule(RATE_PER_S, "uniform").times_until(DURATION_S)
    ledger, _ = open_run(plan, max_in_flight=64)
    # 64 requests fill the slots in the stall's first 64 ms; the other 436 planned in it are
    # dropped, and so is the one planned as it ends (5.5 s), while those 64 are being answered
    assert ledger.counts.dropped == int(STALL_S * RATE_PER_S) - 64 + 1
    assert ledger.counts.rates(DURATION_S)["achieved_rps"] < 0.99 * RATE_PER_S


# ---- long-lived senders (open_user.py's greenlets, as bookkeeping) ---------------------------


def pooled_open_run(plan: list[float], max_in_flight: int) -> tuple[ArrivalLedger, SenderPool[int], int]:
    """open_run with its requests handed to SenderPool's senders: (ledger, pool, peak in flight)."""
    ledger, pool = ArrivalLedger(max_in_flight=max_in_flight), SenderPool[int]()
    pending: list[tuple[float, float, int]] = []  # (answered at, intended, sender)
    numbers = itertools.count()
    peak = 0
    for intended in plan:
        while pending and pending[0][0] <= intended:
            done, was_intended, sender = heapq.heappop(pending)
            ledger.complete(was_intended, done)
            assert pool.give_back(sender)
        if ledger.admit(intended, intended):
            sender = pool.take()
            heapq.heappush(pending, (answered_at(intended), intended, next(numbers) if sender is None else sender))
            peak = max(peak, len(pending))
        assert len(pending) == pool.started - len(pool.idle)  # each request in flight holds one sender
    for _, intended, _ in sorted(pending):
        ledger.complete(intended, DURATION_S)
    return ledger, pool, peak


def test_senders_are_reused_so_there_are_only_as_many_as_requests_once_in_flight_at_once():
    plan = ArrivalSchedule(RATE_PER_S, "uniform").times_until(DURATION_S)
    ledger, pool, peak = pooled_open_run(plan, max_in_flight=1000)
    # 10,000 requests, nearly all answered before the next is due: one sender, but the stall's 500
    assert ledger.counts.sent == 10_000 and pool.started == peak == int(STALL_S * RATE_PER_S) + 1


def test_the_in_flight_bound_caps_the_senders_and_admission_alone_decides_the_drops():
    plan = ArrivalSchedule(RATE_PER_S, "uniform").times_until(DURATION_S)
    pooled, pool, _ = pooled_open_run(plan, max_in_flight=64)
    unpooled, _ = open_run(plan, max_in_flight=64)
    assert pool.started == 64 and pooled.counts == unpooled.counts  # the same sent, late and dropped


def test_the_sender_that_finished_last_takes_the_next_request():
    pool = SenderPool[str]()
    assert pool.take() is None and pool.take() is None and pool.started == 2  # none idle: start two
    assert pool.give_back("a") and pool.give_back("b")
    assert pool.take() == "b" and pool.take() == "a" and pool.take() is None and pool.started == 3


def test_closing_ends_the_idle_senders_at_once_and_the_busy_ones_as_they_finish():
    pool = SenderPool[str]()
    pool.take(), pool.take()
    pool.give_back("idle")
    assert pool.close() == ["idle"]
    assert not pool.give_back("busy") and pool.idle == []
