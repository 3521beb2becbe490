"""BladeBit's plot names by str.rfind (was os.path.basename) and its _line without the `current` property; madMAx's
and BladeBit's run phase times without a generator expression: the same results as before."""

import posixpath
import random

import pytest

import logs_testlib
from ansible_collections.plotfleet.chia.plugins.module_utils.logs import bladebit, model

PATHS = ["x.plot", "/x.plot", "//x.plot", "/a/b/x.plot", "/a/b/", "a/", "/", "", " /a b/c d.plot", "/a//b.plot",
         "plot-k32-2021-07-14-21-56-" + "ab" * 32 + ".plot"]


def _paths():
    rnd = random.Random(11)
    return PATHS + ["".join(rnd.choice("/ab. ") for _ in range(rnd.randrange(0, 10))) for _ in range(2000)]


def _live_plot():
    parser = bladebit.BladebitParser()
    plot = parser.start_plot(1)
    parser.set_step(plot, 4, 4)
    return parser, plot


def test_plot_written_name_is_posixpath_basename():
    for path in _paths():
        line = "Plot %s finished writing to disk" % path
        parser, plot = _live_plot()
        assert parser._progress(plot, line.strip())
        assert plot["plot_name"] == posixpath.basename(line.strip()[5:line.strip().index(" finished writing to disk")])


def test_disk_plot_name_is_posixpath_basename():
    for path in _paths():
        line = ("Finished writing plot %s.tmp." % path).strip()
        parser, plot = _live_plot()
        assert parser._finished_line(plot, line)
        name = line[22:].strip().rstrip(".")
        if name.endswith(".tmp"):
            name = name[:-4]
        assert plot["plot_name"] == posixpath.basename(name)


@pytest.mark.parametrize("name,path", logs_testlib.fixture_logs())
def test_fed_whole_as_per_line(name, path):
    """Every madMAx/BladeBit fixture: feed_text (the runs, their phase times) gives what feed() per line gives."""
    with open(path, "rb") as handle:
        data = handle.read()
    plotter = model.detect_plotter(data[:16384])
    if plotter not in ("madmax", "bladebit"):
        pytest.skip("not madMAx or BladeBit")
    text = data.decode("utf-8", "replace")
    text = text[:text.rfind("\n")]
    whole = model.parser_for(plotter)
    whole.feed_text(text)
    per_line = model.parser_for(plotter)
    for line in text.split("\n"):
        per_line.feed(line)
    assert whole.state() == per_line.state()
    assert any(p["phase_seconds"] for p in whole.plots)
