"""BladeBit's plot names by str.rfind (was os.path.basename) and its _line without the `current` property; madMAx's
and BladeBit's run phase times without a generator expression: the same results as before."""

import posixpath
import random

import logs_testlib
import pytest

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


def _madmax_and_bladebit_logs():
    """(name, path, plotter) of the madMAx and BladeBit fixture logs."""
    found = []
    for name, path in logs_testlib.fixture_logs():
        with open(path, "rb") as handle:
            plotter = model.detect_plotter(handle.read(16384))
        if plotter in ("madmax", "bladebit"):
            found.append((name, path, plotter))
    return found


@pytest.mark.parametrize("name,path,plotter", _madmax_and_bladebit_logs())
def test_fed_whole_as_per_line(name, path, plotter):
    """Every madMAx/BladeBit fixture: feed_text (the runs, their phase times) gives what feed() per line gives."""
    with open(path, "rb") as handle:
        data = handle.read()
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


GEN = "Generating plot 1 / 1: " + "1fc7b57baae24da78e3bea44d58ab51f162a3ed4d242bab2fbcc24f6577d88b3"
FIN = "Finished plotting in 582.91 seconds (9.72 minutes)."


def _bladebit_variants():
    """BladeBit's `Generating plot` and `Finished plotting` lines spelled other ways (the selector reads the usual
    spelling's values itself, any other goes to _line)."""
    hex_id = GEN.rsplit(" ", 1)[1]
    gens = [GEN, GEN + " x", "  " + GEN, GEN.upper().replace("GENERATING PLOT", "Generating plot"),
            "Generating plot 2 / 3: " + hex_id, "Generating plot \u0661 / 3: " + hex_id,
            "Generating plot 1 / \u0663: " + hex_id, "Generating plot 1 / 1: " + hex_id[:63],
            "Generating plot 1 / 1: " + hex_id[:63] + "g", "Generating plot 1/1: " + hex_id, "Generating plot  1 / 1",
            "2021-08-29T22:22:00 " + GEN, "Generating plot 1 / 01: " + hex_id + "\t"]
    fins = [FIN, "  " + FIN, "Finished plotting in 582 seconds", "Finished plotting in 582.91.3 seconds",
            "Finished plotting in 582.91seconds", "Finished plotting in \u0665.1 seconds", "Finished plotting in x",
            "Finished plotting in .5 seconds", "Finished plotting in 5. seconds", "2021-08-29T22:22:00 " + FIN,
            "Finished plotting in 0 seconds (0 minutes) 7"]
    return gens, fins


@pytest.mark.parametrize("log", ["plotman__bladebit.plot.log", "plotman__bladebit2disk.plot.log"])
def test_bladebit_first_and_last_line_as_per_line(log):
    with open(logs_testlib.fixture_path(log), "rb") as handle:
        lines = handle.read().decode("utf-8", "replace").split("\n")[:-1]
    gens, fins = _bladebit_variants()
    gen_at = [i for i, line in enumerate(lines) if line.startswith("Generating plot ")][0]
    fin_at = [i for i, line in enumerate(lines) if line.startswith("Finished plotting in")][0]
    # (index, line, replaces the line there: else inserted before it)
    cases = [(gen_at, g, True) for g in gens] + [(fin_at, f, True) for f in fins]
    cases += [(fin_at, GEN, False), (gen_at, FIN, False), (0, FIN, False), (0, GEN, False), (gen_at + 1, GEN, False),
              (fin_at, FIN, False), (len(lines), FIN, False), (len(lines), GEN, False)]   # before a plot, twice...
    for at, line, replaces in cases:
        copy = list(lines)
        copy[at:at + replaces] = [line]
        text = "\n".join(copy)
        whole = model.parser_for("bladebit")
        whole.feed_text(text)
        per_line = model.parser_for("bladebit")
        for one in copy:
            per_line.feed(one)
        assert whole.state() == per_line.state(), (at, line)
