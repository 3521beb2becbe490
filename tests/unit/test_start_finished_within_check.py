"""plot_start's start check: a plotter that is gone by the end of the check died at once, unless its log shows
the plot(s) it was started for finished (a small plot, or a fast plotter, can end inside the check's second)."""

import shutil

import plotfleet_testlib  # noqa: F401  (puts collections/ on sys.path)
from ansible_collections.plotfleet.chia.plugins.module_utils import starting

FIXTURES = plotfleet_testlib.REPO / "tests" / "fixtures"


def fixture_path(name):
    (path,) = list(FIXTURES.glob("logs/" + name)) + list(FIXTURES.glob("shared/*/" + name))
    return str(path)


def _log(tmp_path, name):
    path = tmp_path / name
    shutil.copy(fixture_path(name), str(path))
    return str(path)


def test_a_finished_plot_in_the_log_is_not_a_death(tmp_path):
    assert starting.plots_finished(_log(tmp_path, "chiapos-k18-rename.log"), 1)
    assert starting.plots_finished(_log(tmp_path, "chiapos-k18-two-plots.log"), 2)
    assert starting.plots_finished(_log(tmp_path, "plotman__madmax.plot.log"), 1)


def test_fewer_finished_plots_than_started_for_or_an_unfinished_one_is(tmp_path):
    assert not starting.plots_finished(_log(tmp_path, "chiapos-k18-rename.log"), 2)
    assert not starting.plots_finished(_log(tmp_path, "chiapos-k20-killed-phase1.log"), 1)
    assert not starting.plots_finished(_log(tmp_path, "chiapos-k18-stripe-error.log"), 1)
    # the log's last line (the rename) cut off: the plot is not finished
    rename = _log(tmp_path, "chiapos-k18-rename.log")
    with open(rename, "rb") as handle:
        lines = handle.read().rstrip(b"\n").split(b"\n")
    (tmp_path / "cut.log").write_bytes(b"\n".join(lines[:-1]) + b"\n")
    assert not starting.plots_finished(str(tmp_path / "cut.log"), 1)


def test_no_log_an_empty_one_or_an_unknown_plotter_is(tmp_path):
    assert not starting.plots_finished(str(tmp_path / "missing.log"), 1)
    (tmp_path / "empty.log").write_bytes(b"")
    assert not starting.plots_finished(str(tmp_path / "empty.log"), 1)
    (tmp_path / "other.log").write_bytes(b"hello\nworld\n")
    assert not starting.plots_finished(str(tmp_path / "other.log"), 1)
