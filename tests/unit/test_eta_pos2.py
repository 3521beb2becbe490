"""ETA of a pos2 plot during its silent plotting step (chia_rs prints nothing while it plots; the step is
95 % of the plot): it moves by the time spent against the host's earlier pos2 plots of that k.

Real driver logs (tests/fixtures/logs/pos2, recorded with chia_rs 0.53.0): the history is the finished
plots of one log, the running plot is another plot cut at its `Writing ... .plot2.tmp` line (step 1:1).
"""

from pathlib import Path

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import eta
from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs" / "pos2"


def lines(name):
    return (LOGS / name).read_text().split("\n")


def history_means():
    means = eta.phase_means(model.parse_lines(lines("pos2-k18-two-plots-copy.log"), "pos2"))
    per = means[("pos2", 18)]
    assert set(per) == {"1", "5"} and per["1"] > 0   # plotted / copied seconds of its two plots
    return means, per


def plotting_plot():
    text = lines("pos2-k18-rename.log")
    cut = next(n for n, line in enumerate(text) if line.startswith("Writing "))
    plot = model.parse_lines(text[:cut + 1], "pos2")[-1]
    assert (plot["state"], plot["step"], plot["progress"]) == ("plotting", "1:1", 0.0)   # the log says no more
    return plot


def test_the_eta_of_the_silent_step_counts_down_with_the_time_spent():
    means, per = history_means()
    plot = plotting_plot()
    mean1, copy = per["1"], per["5"]
    assert eta.estimate(plot, means, elapsed_s=0.0) == pytest.approx(mean1 + copy, abs=0.1)
    assert eta.estimate(plot, means, elapsed_s=mean1 / 2) == pytest.approx(mean1 / 2 + copy, abs=0.1)
    assert eta.estimate(plot, means, elapsed_s=mean1 * 3) == pytest.approx(copy, abs=0.1)   # overrun: the copy left


def test_the_countdown_on_minutes_long_plots():
    # k28 durations as a real host would learn them; the step is the same silent 1:1
    plot = dict(plotting_plot(), k=28)
    means = {("pos2", 28): {"1": 600.0, "5": 30.0}}
    etas = [eta.estimate(plot, means, elapsed_s=s) for s in (0.0, 150.0, 450.0, 600.0, 900.0)]
    assert etas == [630.0, 480.0, 180.0, 30.0, 30.0]


def test_without_history_there_is_still_no_eta():
    assert eta.estimate(plotting_plot(), {}, elapsed_s=120.0) is None
    assert eta.estimate(plotting_plot(), {("pos2", 20): {"1": 5.0}}, elapsed_s=120.0) is None   # other k
