import pytest

from harness.errors import BenchError
from harness.machine.cpus import parse_cpu_list, split_cpus


def test_parse_cpu_list_ranges_and_singles():
    assert parse_cpu_list("0-2,5") == [0, 1, 2, 5]
    assert parse_cpu_list("3") == [3]


@pytest.mark.parametrize("bad", ["", "a", "3-1", ","])
def test_parse_cpu_list_rejects_garbage(bad):
    with pytest.raises(BenchError, match="bad CPU list"):
        parse_cpu_list(bad)


def test_default_split_is_disjoint_halves():
    assert split_cpus(None, None, usable=[0, 1]) == ([0], [1])
    assert split_cpus(None, None, usable=[0, 1, 2, 3]) == ([0, 1], [2, 3])


def test_explicit_server_cpus_leave_the_rest_to_the_load_generator():
    assert split_cpus("1", None, usable=[0, 1, 2]) == ([1], [0, 2])


def test_overlapping_sets_are_refused():
    with pytest.raises(BenchError, match="overlap"):
        split_cpus("0-1", "1", usable=[0, 1, 2])


def test_cpu_outside_the_usable_set_is_refused():
    with pytest.raises(BenchError, match="may only use"):
        split_cpus("7", None, usable=[0, 1])


def test_single_core_is_shared():
    assert split_cpus(None, None, usable=[0]) == ([0], [0])
