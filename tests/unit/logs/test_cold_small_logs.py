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



def _old_set_sub(parser, plot, sub):
    """model.LogParser.set_sub as it was (min(1.0, sub)), the reference."""
    ctx = parser.ctx
    if plot is parser.plots[-1]:
        done = ctx.get("sub", 0.0)
        if sub > done:
            done = ctx["sub"] = min(1.0, sub)
        sub = done
    else:
        sub = min(1.0, sub)
    if plot["phase"] < 1:
        return
    at = parser._at.get(plot["step"]) or parser._step_at(plot["step"])
    value = at[0] + at[1] * (at[2] + at[3] * sub)
    value = model.round4(min(value, 1.0 if plot["state"] == "finished" else 0.9999))
    if value > plot["progress"]:
        plot["progress"] = value


def test_sub_capped_as_min():
    """set_sub and set_step keep min(1.0, sub) (written without the builtin), for the newest and an older plot."""
    subs = (0.0, 0.25, 0.999, 1.0, 1, 1.5, 2, float("inf"), float("nan"), -0.5)
    for sub in subs:
        for first in (0.0, 0.5, 1.0):
            for older in (False, True):
                states = []
                for how in ("new", "old", "step"):
                    parser = bladebit.BladebitParser()
                    plot = parser.start_plot(1)
                    parser.set_step(plot, 2, 1, first)
                    if older:
                        parser.start_plot(1)
                    if how == "new":
                        parser.set_sub(plot, sub)
                    elif how == "old":
                        _old_set_sub(parser, plot, sub)
                    else:
                        parser.set_step(plot, 2, 1, sub)
                    states.append(repr((plot, parser.ctx)))
                assert states[0] == states[1] == states[2], (sub, first, older)
