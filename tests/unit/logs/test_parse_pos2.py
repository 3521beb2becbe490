"""pos2 parser: the real driver logs fed line by line, state/step/progress checked after every line.

The expectations come from an oracle written here from the log format (regexes over the raw
lines), not from the parser, and final values are read from the log text itself.
"""

import os
import re

import plotfleet_testlib
from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

LOGS = plotfleet_testlib.REPO / "tests" / "fixtures" / "logs" / "pos2"
WEIGHTS = model.PHASE_WEIGHTS["pos2"]


def lines_of(name):
    with open(str(LOGS / name), "r", encoding="utf-8") as handle:
        return handle.read().split("\n")


class Pos2Oracle:
    """Expected [(state, step, progress, id, name)] of every plot after each line."""

    def __init__(self):
        self.plots = []

    def see(self, line):
        plot = self.plots[-1] if self.plots else None
        if re.match(r"^Starting plot \d+/\d+ at ", line):
            self.plots.append({"state": "plotting", "step": "0:0", "progress": 0.0, "id": None, "name": None})
        elif line.startswith("ID: "):
            plot["id"] = line[4:]
        elif line.startswith("Plot name: "):
            plot["name"] = line[len("Plot name: "):]
        elif line.startswith("Writing "):
            plot["step"] = "1:1"
        elif line.startswith("Plotted in "):
            plot.update(state="copying", step="5:0", progress=round(sum(WEIGHTS[:4]), 4))
        elif re.match(r"^Plot \d+/\d+ done in ", line):
            plot.update(state="finished", step="5:1", progress=1.0)
        elif " failed: " in line:
            plot["state"] = "failed"
        return self.plots


def walk(name, resume=False):
    """Feed the log line by line and compare with the oracle after every line; return the parser."""
    parser, oracle = model.parser_for("pos2"), Pos2Oracle()
    for number, line in enumerate(lines_of(name), 1):
        if resume:  # plot_info reads a growing log in pieces: resume from the saved state every line
            parser = model.parser_for("pos2", parser.state())
        parser.feed(line)
        expected = oracle.see(line)
        where = "%s:%d %r" % (name, number, line[:70])
        assert len(parser.plots) == len(expected), where
        for got, want in zip(parser.plots, expected):
            keys = ("state", "step", "progress")
            assert [got[k] for k in keys] == [want[k] for k in keys], where
            assert got["id"] == want["id"], where
            assert got["plot_name"] == want["name"], where
    return parser


def test_detected_from_the_log_head():
    assert model.detect_plotter("\n".join(lines_of("pos2-k18-rename.log")[:5])) == "pos2"
    assert model.parse_lines(lines_of("pos2-k18-rename.log"))[0]["plotter"] == "pos2"


def test_two_plots_line_by_line_with_copy():
    text = "\n".join(lines_of("pos2-k18-two-plots-copy.log"))
    plots = walk("pos2-k18-two-plots-copy.log").plots
    done = re.findall(r"^Plot (\d)/2 done in ([0-9.]+) seconds: (.*)$", text, re.M)
    copied = [float(s) for s in re.findall(r"^Copied in ([0-9.]+) seconds", text, re.M)]
    plotted = [float(s) for s in re.findall(r"^Plotted in ([0-9.]+) seconds", text, re.M)]
    tmp_dirs = [os.path.dirname(p) for p in re.findall(r"^Writing (\S+) ", text, re.M)]
    assert [p["index"] for p in plots] == [1, 2]
    for plot, (_index, total, path), copy, p1, tmp in zip(plots, done, copied, plotted, tmp_dirs):
        assert plot["count"] == 2 and plot["k"] == 18
        assert plot["plot_file"] == path and plot["plot_name"] == os.path.basename(path)
        assert plot["plot_name"] == "plot-k18-%s.plot2" % plot["id"]
        assert plot["dst_dir"] == os.path.dirname(path) != tmp == plot["tmp_dir"]
        assert plot["copy_seconds"] == copy and plot["phase_seconds"] == {"1": p1}
        assert abs(plot["total_seconds"] + copy - float(total)) < 1e-6
        assert plot["started_ts"] is not None
        assert abs(plot["finished_ts"] - (plot["started_ts"] + float(total))) < 1e-6


def test_rename_in_place():
    plot, = walk("pos2-k18-rename.log").plots
    assert plot["state"] == "finished" and plot["copy_seconds"] is None
    assert plot["tmp_dir"] == plot["dst_dir"] == os.path.dirname(plot["plot_file"])


def test_failure_names_the_error_and_keeps_what_was_known():
    plot, = walk("pos2-k17-failed.log").plots
    assert plot["state"] == "failed" and plot["error"] == "failed to create plot file"
    assert plot["k"] == 17 and plot["id"] and plot["plot_file"] is None and plot["progress"] == 0.0


def test_state_round_trip_at_every_line():
    for name in ("pos2-k18-two-plots-copy.log", "pos2-k18-rename.log", "pos2-k17-failed.log"):
        assert walk(name, resume=True).plots == walk(name).plots
