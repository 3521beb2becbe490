"""eta: history phase means and the remaining-time estimate."""

import pytest
from logs_testlib import fixture_path, read_lines

from ansible_collections.plotfleet.chia.plugins.module_utils import eta
from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model


def _plots(name, plotter="chiapos"):
    return model.parse_lines(read_lines(fixture_path(name)), plotter)


def test_phase_means_average_finished_plots_per_plotter_and_k():
    history = _plots("local-chia-2.7.5__plots-create-n2-k25.log") + _plots("chiapos-k20-killed-phase1.log")
    history += _plots("plotman__chianetwork.plot.log") + _plots("plotman__madmax.plot.log", "madmax")
    means = eta.phase_means(history)
    assert set(means) == {("chiapos", 25), ("chiapos", 32), ("madmax", 32)}  # the killed k20 plot is no history
    k25 = means[("chiapos", 25)]
    assert k25["1"] == pytest.approx((89.763 + 85.721) / 2)
    assert k25["4"] == pytest.approx((4.523 + 2.946) / 2)
    assert "5" not in k25  # same-device renames have no copy time
    assert means[("chiapos", 32)]["5"] == pytest.approx(178.438)
    assert means[("madmax", 32)]["2"] == pytest.approx(1363.42)


def test_phase_means_tolerate_junk():
    assert eta.phase_means(None) == {}
    assert eta.phase_means([None, {}, {"state": "finished"}, {"state": "finished", "plotter": "chiapos", "k": 18,
                                                           "phase_seconds": {"1": "x", "9": 3, "2": 4}}]) == {
        ("chiapos", 18): {"2": 4.0}}


def _plot_at(name, marker, plotter="chiapos"):
    lines = read_lines(fixture_path(name))
    i = next(n for n, x in enumerate(lines) if x.startswith(marker))
    return model.parse_lines(lines[:i + 1], plotter)[-1]


def test_estimate_with_history_uses_the_phase_means():
    means = {("chiapos", 22): {"1": 100.0, "2": 20.0, "3": 50.0, "4": 5.0}}
    at_p2 = _plot_at("chiapos-k22-b32-t2.log", "Starting phase 2/4")  # phase 2 just started
    assert eta.estimate(at_p2, means, elapsed_s=999) == pytest.approx(20 + 50 + 5)
    mid_p3 = _plot_at("chiapos-k22-b32-t2.log", "Compressing tables 4 and 5")  # 3 of 6 pairs done
    done = model.phase_fraction(mid_p3)
    assert 0.5 <= done < 0.75
    assert eta.estimate(mid_p3, means, elapsed_s=999) == pytest.approx(round((1 - done) * 50 + 5, 1))
    fresh = model.new_plot("chiapos", 1)
    fresh["k"] = 22
    assert eta.estimate(fresh, means, elapsed_s=0) == pytest.approx(175)


def test_estimate_without_history_scales_elapsed_by_progress():
    plot = _plot_at("chiapos-k22-b32-t2.log", "Starting phase 3/4")
    assert plot["progress"] == pytest.approx(0.62, abs=0.005)
    assert eta.estimate(plot, {}, elapsed_s=620) == pytest.approx(620 * (1 - plot["progress"]) / plot["progress"],
                                                                  abs=0.1)
    other_k = {("chiapos", 32): {"1": 1.0, "2": 1.0, "3": 1.0, "4": 1.0}}
    assert eta.estimate(plot, other_k, 620) == eta.estimate(plot, {}, 620)
    assert eta.estimate(model.new_plot("chiapos", 1), {}, elapsed_s=30) is None  # progress 0
    assert eta.estimate(plot, {}, elapsed_s=None) is None


def test_estimate_finished_failed_and_copy_phase():
    finished = _plots("chiapos-k18-rename.log")[0]
    assert eta.estimate(finished, {}, 10) == 0.0
    failed = _plots("chiapos-k18-stripe-error.log")[0]
    assert eta.estimate(failed, {}, 10) is None
    copying = _plot_at("chiapos-k20-tmp2-crossdevice.log", "Total time")
    assert copying["state"] == "copying"
    assert eta.estimate(copying, {("chiapos", 20): {"1": 9.0, "2": 9.0, "3": 9.0, "4": 9.0, "5": 30.0}}, 50) == 30.0
    # no copy history: fall back to the default weights (copy = 1 % of a plot)
    assert eta.estimate(copying, {("chiapos", 20): {"1": 9.0, "2": 9.0, "3": 9.0, "4": 9.0}}, 99) == pytest.approx(1.0)


def test_bladebit_disk_has_no_phase_4_mean():
    disk = _plots("plotman__bladebit2disk.plot.log", "bladebit")
    means = eta.phase_means(disk)
    assert set(means[("bladebit", 32)]) == {"1", "2", "3"}
    lines = read_lines(fixture_path("plotman__bladebit2disk.plot.log"))
    running = model.parse_lines(lines[:lines.index("Running Phase 3") + 1], "bladebit")[0]
    assert eta.estimate(running, means, 600) == pytest.approx(562.95, abs=0.1)
