"""suite_order: the integration units and the fleet tests go to pytest-xdist's workers longest first."""

import collections
from pathlib import Path

import suite_order


def test_fleet_tests_are_dealt_to_shares_of_worksteals_sizes_longest_first_and_balanced():
    seconds = {"a": 300, "b": 190, "c": 170, "d": 160, "e": 150, "f": 100, "g": 80, "h": 20, "i": 5}
    order = suite_order.dealt(sorted(seconds), 2, seconds)
    assert sorted(order) == sorted(seconds)
    first, second = order[:4], order[4:]  # worksteal: 9 // 2 tests to the first worker, the rest to the other
    for share in (first, second):
        assert [seconds[n] for n in share] == sorted((seconds[n] for n in share), reverse=True)
    sums = sorted(sum(seconds[n] for n in share) for share in (first, second))
    assert sums[1] - sums[0] <= 100  # the sorted list cut in two would be 820 against 355
    assert order[0] == "a" and order[4] == "b"


def test_a_test_without_seconds_counts_as_the_median():
    seconds = {"a": 10, "b": 20, "c": 30}
    assert suite_order.dealt(["a", "new", "c", "b"], 1, seconds) == ["c", "new", "b", "a"]  # new: 20, as b


def test_units_go_out_with_the_most_seconds_first_and_split_files_are_one_unit_per_test():
    targets = "tests/integration/test_targets.py::test_integration_target[%s]"
    assert suite_order.unit_of(targets % "x") == targets % "x"
    assert suite_order.unit_of("tests/integration/test_loop.py::test_one") == "tests/integration/test_loop.py"
    seconds = {"f1::t1": 50, "f1::t2": 60, "f2::t1": 100, "f3::t1": 5}
    queue = collections.OrderedDict([("f3", ["f3::t1"]), ("f1", ["f1::t1", "f1::t2"]), ("f2", ["f2::t1"]),
                                     ("f4", ["f4::new"])])
    suite_order.longest_first(queue, seconds)
    assert list(queue) == ["f1", "f2", "f4", "f3"]  # 110, 100, the median 55, 5


def test_the_committed_durations_name_test_files_that_exist(tmp_path):
    tests = Path(suite_order.__file__).resolve().parent
    for suite in ("integration", "fleet"):
        seconds = suite_order.known_seconds(tests / suite / "durations.json")
        assert seconds, suite
        files = set(nodeid.split("::", 1)[0] for nodeid in seconds)
        assert all((tests.parent / name).exists() for name in files), files
    (tmp_path / "bad.json").write_text("{")
    assert suite_order.known_seconds(tmp_path / "bad.json") == {}
    assert suite_order.known_seconds(tmp_path / "missing.json") == {}
