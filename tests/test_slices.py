"""Paired slices without Locust: the plan's layout, which slice and target a request counts for, the merge."""

import json

import pytest

from harness.loadgen.slices import SlicePlan, SliceRecorder, SliceTarget, merge_slices
from harness.loadgen.window import AGGREGATE, STALLED_AFTER_S

A = SliceTarget("a", "http://127.0.0.1:8001")
B = SliceTarget("b", "http://127.0.0.1:8002")
START = 1000.0  # time.time() at the run's start


def plan(pairs: int = 3, warmup_s: float = 2.0, slice_s: float = 1.0, settle_s: float = 0.1) -> SlicePlan:
    return SlicePlan((A, B), slice_s=slice_s, settle_s=settle_s, pairs=pairs, warmup_s=warmup_s)


def recorder(**kwargs: float) -> SliceRecorder:
    rec = SliceRecorder(plan(**kwargs))  # type: ignore[arg-type]
    rec.start(START)
    return rec


def at(elapsed_s: float) -> float:
    return START + elapsed_s


def test_the_plan_survives_its_environment_variable():
    original = plan()
    assert SlicePlan.from_json(original.to_json()) == original
    assert json.loads(original.to_json())["targets"][1] == {"name": "b", "base_url": "http://127.0.0.1:8002"}


@pytest.mark.parametrize("bad", [dict(settle_s=1.0), dict(settle_s=-0.1), dict(pairs=0), dict(warmup_s=-1.0)])
def test_a_plan_that_cannot_run_is_refused(bad):
    with pytest.raises(ValueError):
        plan(**bad)
    with pytest.raises(ValueError):
        SlicePlan((A, A), 1.0, 0.1, 1)


def test_pairs_alternate_their_order():
    p = plan(pairs=3, warmup_s=0.0)
    order = [p.target_at(index + 0.5).name for index in range(p.slices)]
    assert order == ["a", "b", "b", "a", "a", "b"]
    assert p.total_s == 6.0 and p.counted_s == pytest.approx(0.9)


def test_the_warm_up_alternates_every_slice_ending_on_b_and_counts_nothing():
    p = plan(warmup_s=3.5)  # its slices, counted back from its end: [-0.5, 0.5) a, [0.5, 1.5) b, ... [2.5, 3.5) b
    assert [p.target_at(t).name for t in (0.2, 0.7, 1.7, 2.7, 3.4, 3.6)] == ["a", "b", "a", "b", "b", "a"]
    rec = SliceRecorder(p)
    rec.start(START)
    for t in (0.2, 1.7, 3.4):
        assert rec.sent(at(t)) is None
        rec.record("GET /json", 1.0, None, sent_at=at(t))
    assert all(tally.ok == 0 for tally in rec.tallies) and not rec.endpoint_ok


def test_after_the_last_slice_the_load_stays_on_its_target_uncounted():
    p = plan(pairs=2, warmup_s=0.0)  # a b b a
    assert p.target_at(p.total_s + 5.0) == A and p.counted_index(p.total_s + 0.01) is None


def test_a_request_in_flight_at_a_slice_end_counts_where_it_was_sent():
    rec = recorder(warmup_s=2.0)  # slice 0 (a) is [2, 3), slice 1 (b) is [3, 4)
    sent_at = at(2.999)
    assert rec.url("/json", sent_at) == "http://127.0.0.1:8001/json"
    token = rec.sent(sent_at)
    rec.settled(token, at(3.05))
    rec.record("GET /json", 51.0, None, sent_at=sent_at)  # completed 0.05 s into slice 1
    assert (rec.tallies[0].ok, rec.tallies[1].ok) == (1, 0)
    assert rec.endpoint_ok == {("a", "GET /json"): 1}
    payload = rec.payload(at(10.0))
    assert payload["slices"][0]["target"] == "a" and payload["slices"][0]["stalled"] == 0


def test_a_request_sent_in_the_settle_time_goes_to_the_new_target_uncounted():
    rec = recorder(warmup_s=2.0, settle_s=0.1)
    sent_at = at(3.05)  # slice 1 (b), inside its first 0.1 s
    assert rec.url("/json", sent_at).startswith(B.base_url)
    assert rec.sent(sent_at) is None
    rec.record("GET /json", 1.0, None, sent_at=sent_at)
    rec.record("GET /json", 1.0, None, sent_at=at(3.1))  # the first counted moment
    assert (rec.tallies[0].ok, rec.tallies[1].ok) == (0, 1)


def test_failures_are_counted_not_timed_and_stalls_counted_by_their_slice():
    rec = recorder(warmup_s=0.0, pairs=1)
    rec.record("GET /json", 0.1, ConnectionRefusedError("refused"), sent_at=at(0.5))
    stalled = rec.sent(at(0.5))
    rec.settled(stalled, at(1.0 + STALLED_AFTER_S))  # answered, but only after its slice's end + the bound
    quick = rec.sent(at(0.6))
    rec.settled(quick, at(0.61))
    rec.sent(at(1.5))  # never answered: stalled when the report is made
    payload = rec.payload(at(2.1))
    first, second = payload["slices"]
    assert (first["ok"], first["failed"], first["stalled"], second["stalled"]) == (0, 1, 1, 1)
    assert first["histogram"] is None and "ConnectionRefusedError: refused" in next(iter(first["errors"]))
    assert payload["endpoints"]["a"]["GET /json"] == {"ok": 0, "failed": 1, "histogram": None}


def test_two_workers_merge_into_absolute_slices_and_pooled_endpoints():
    one, two = recorder(warmup_s=1.0, pairs=1), SliceRecorder(plan(warmup_s=1.0, pairs=1))
    two.start(START + 0.02)  # the second worker's spawn message arrived later
    for rec, ms in ((one, 1.0), (two, 3.0)):
        rec.record("GET /json", ms, None, sent_at=rec.started_at + 1.5)  # slice 0: a
        rec.record("GET /json", ms * 2, None, sent_at=rec.started_at + 2.5)  # slice 1: b
        rec.record("GET /x", ms, None, sent_at=rec.started_at + 2.6)
    merged = merge_slices(plan(warmup_s=1.0, pairs=1), [one.payload(at(9)), two.payload(at(9))])
    first, second = merged.slices
    assert (first.target, first.pair, first.position, second.target, second.position) == ("a", 1, 0, "b", 1)
    assert (first.start_s, first.end_s) == (pytest.approx(START + 1.0), pytest.approx(START + 2.02))
    assert first.counted_start_s == pytest.approx(START + 1.1)
    assert (first.ok, second.ok) == (2, 4) and first.histogram.get_total_count() == 2
    assert 5990 <= second.histogram.get_max_value() <= 6010
    assert merged.endpoints["a"][AGGREGATE].ok == 2 and "GET /x" not in merged.endpoints["a"]
    assert (merged.endpoints["b"]["GET /x"].ok, merged.endpoints["b"][AGGREGATE].ok) == (2, 4)
    assert merged.workers_reported == 2 and merged.skew_s == pytest.approx(0.02)


def test_a_payload_that_does_not_fit_the_plan_is_refused():
    payload = recorder(pairs=1).payload(at(9))
    with pytest.raises(ValueError):
        merge_slices(plan(pairs=2), [payload])
    payload["slices"][0]["target"] = "b"
    with pytest.raises(ValueError):
        merge_slices(plan(pairs=1), [payload])
