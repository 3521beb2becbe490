"""Parser round 7's short cuts against the long ways (feed() of each line, os.path.join): madMAx's
`[P4] Finished writing C2` read as a step line, `Total plot creation time` and the copy lines read by _scan
itself (no _BRANCHES lambda), the plot file joined without os.path.join."""

import json
import os

import pytest
from logs_testlib import assert_block_is_per_line, fixture_path, read_lines, state_json

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import chiapos, model


def _madmax_head(marker):
    lines = read_lines(fixture_path("plotman__madmax.plot.log"))
    return lines[:next(i for i, line in enumerate(lines) if line.startswith(marker)) + 1]


# `[P4] Finished writing C2` sets half of the sub-step where the run before it ends (the run's set_step first).
C2_RUNS = {
    "after C2 start": ["[P4] Starting to write C1 and C3 tables", "[P4] Writing C2 table",
                       "[P4] Finished writing C2 table"],
    "then more steps": ["[P4] Writing C2 table", "[P4] Finished writing C2 table", "[P3-2] Table 7 took 1 sec",
                        "[P4] Finished writing C1 and C3 tables"],
    "before C2": ["[P3-2] Table 4 took 1 sec", "[P4] Finished writing C2 table", "[P3-1] Table 5 took 1 sec"],
    "twice": ["[P4] Finished writing C2 table", "[P4] Writing C2 table", "[P4] Finished writing C2 table"],
}


@pytest.mark.parametrize("case", sorted(C2_RUNS))
def test_madmax_c2_written_as_a_step_line_matches_feed(case):
    assert_block_is_per_line("madmax", _madmax_head("Wrote plot header") + C2_RUNS[case])


def test_madmax_c2_written_counts_after_the_run():
    block = model.parser_for("madmax")
    block.feed_text("\n".join(_madmax_head("Wrote plot header") + C2_RUNS["after C2 start"]))
    assert block.plots[-1]["step"] == "4:2" and block.ctx["sub"] == 0.5


def _madmax_plot(final, work, work2=None, name_line=None):
    lines = ["Multi-threaded pipelined Chia k32 plotter - 974d6e5", "Final Directory: %s" % final,
             "Number of Plots: 1", "Crafting plot 1 out of 1", "Number of Threads: 4",
             "Number of Buckets P1:    2^8 (256)", "Number of Buckets P3+P4: 2^8 (256)",
             "Working Directory:   %s" % work]
    if work2 is not None:
        lines.append("Working Directory 2: %s" % work2)
    lines.append(name_line or "Plot Name: plot-k32-2021-07-14-21-56-" + "ab" * 32)
    return lines + ["[P1] Table 1 took 1 sec", "Phase 1 took 1 sec", "Total plot creation time was 9.5 sec (0.1 min)"]


# (final dir, tmp dir, tmp2 dir): the plot ends renamed in place where final = tmp2 (or tmp); its file as
# os.path.join(final dir as the parser keeps it, plot name).
IN_PLACE = {
    "same dir": ("/farm/a/", "/farm/a/", None),
    "same tmp2": ("/farm/a", "/farm/b", "/farm/a/"),
    "root": ("/", "/", None),
    "not normal": ("/farm/./a", "/farm/a", None),
    "dot dot": ("/farm/x/../a", "/farm/a/", "/farm/a"),
    "relative": ("farm/a", "farm/a", None),
    "differs": ("/farm/a", "/farm/b", None),
}


@pytest.mark.parametrize("case", sorted(IN_PLACE))
def test_madmax_total_in_place_matches_feed_and_join(case):
    lines = _madmax_plot(*IN_PLACE[case])
    assert_block_is_per_line("madmax", lines)
    block = model.parser_for("madmax")
    block.feed_text("\n".join(lines))
    plot = block.plots[-1]
    assert plot["total_seconds"] == 9.5
    if case == "differs":
        assert plot["state"] == "copying" and plot["plot_file"] is None
    else:
        assert plot["state"] == "finished"
        assert plot["plot_file"] == os.path.join(plot["dst_dir"], plot["plot_name"])


def test_madmax_total_with_an_odd_plot_name_matches_feed_and_join():
    """A `Plot Name:` that is not madMAx's spelling (the generic path keeps it as written, a slash included)."""
    for name in ("/abs/odd name", "odd/name"):
        lines = _madmax_plot("/farm/a", "/farm/a", None, "Plot Name: " + name)
        assert_block_is_per_line("madmax", lines)
        block = model.parser_for("madmax")
        block.feed_text("\n".join(lines))
        plot = block.plots[-1]
        assert plot["plot_file"] == os.path.join("/farm/a", name + ".plot")


COPY_LINES = [
    "Started copy to /farm/dst/plot-k32-2021-07-14-21-56-%s.plot" % ("ab" * 32),
    "Copy to /farm/dst/plot-k32-2021-07-14-21-56-%s.plot failed, retrying" % ("ab" * 32),
    "Copy to /farm/dst/plot-k32-2021-07-14-21-56-%s.plot finished, took 3.5 sec, 1 MB/s" % ("ab" * 32),
    "Renamed final plot to /farm/dst/plot-k32-2021-07-14-21-56-%s.plot" % ("ab" * 32),
    "Started copy to /elsewhere/unknown.plot",
    "Renamed final plot to /elsewhere/unknown.plot",
]


@pytest.mark.parametrize("first", range(len(COPY_LINES)))
def test_madmax_copy_lines_match_feed(first):
    """The copy lines _scan hands to their methods itself, for a copying plot and with no plot at all."""
    lines = _madmax_plot("/farm/dst", "/farm/a")
    assert_block_is_per_line("madmax", lines + COPY_LINES[first:] + COPY_LINES[:first])
    assert_block_is_per_line("madmax", COPY_LINES[first:first + 2])


def _chiapos_head(count):
    """chiapos-k18-rename.log up to its count-th `\tFirst computation pass` line (excluded)."""
    lines = read_lines(fixture_path("chiapos-k18-rename.log"))
    at = [i for i, line in enumerate(lines) if line.startswith("\tFirst computation pass")][count - 1]
    return lines[:at]


def _assert_tail_is_per_line(plotter, lines, tail, state=None):
    """feed_text of lines (whole, and resumed after each of the last `tail` lines) against feed() of each."""
    def per_line(part):
        parser = model.parser_for(plotter, state)
        for line in part:
            parser.feed(line)
        return parser
    expected = state_json(per_line(lines))
    block = model.parser_for(plotter, state)
    block.feed_text("\n".join(lines))
    assert state_json(block) == expected
    for cut in range(len(lines) - tail, len(lines)):
        resumed = model.parser_for(plotter, json.loads(state_json(per_line(lines[:cut]))))
        resumed.feed_text("\n".join(lines[cut:]))
        assert state_json(resumed) == expected, "cut after line %d" % cut


PASS = ["\tFirst computation pass time: 0.022 seconds. CPU (99.930%)",
        "\tBucket 3 uniform sort. Ram: 0.010GiB, u_sort min: 0.001GiB, qs min: 0.000GiB.",
        "\tSecond computation pass time: 0.020 seconds. CPU (100.340%)"]


@pytest.mark.parametrize("error", ["Only wrote 0 of 10 bytes", "Could not copy x", "Caught plotting error: x"])
@pytest.mark.parametrize("count", [1, 2])
def test_chiapos_pass_lines_after_an_error_match_feed(error, count):
    """A retried error before the pass lines: their set_sub brings the plot back (not the looked-up progress)."""
    lines = _chiapos_head(count) + [error] + PASS
    _assert_tail_is_per_line("chiapos", lines, len(PASS) + 2)
    block = model.parser_for("chiapos")
    block.feed_text("\n".join(lines))
    assert block.plots[-1]["state"] == ("failed" if error.startswith("Caught") else "plotting")


@pytest.mark.parametrize("state", ["finished", "plotting", "copying", "failed"])
@pytest.mark.parametrize("sub", [0.0, 0.5, 0.75, 1.0])
@pytest.mark.parametrize("step", ["3:2", "1:7", "4:0", "4:3", "2:3"])
def test_chiapos_pass_lines_from_any_resumed_state_match_feed(step, sub, state):
    """Pass lines on a plot resumed in any state, sub-step and step (the looked-up progress is only for a plot
    that is not finished, at a sub-step below the line's)."""
    head = model.parser_for("chiapos")
    head.feed_text("\n".join(_chiapos_head(1)))
    saved = head.state()
    plot = saved["plots"][-1]
    plot["step"], plot["phase"], plot["state"] = step, int(step[0]), state
    plot["progress"] = 0.0
    saved["ctx"]["sub"] = sub
    for lines in (PASS, PASS[1:], PASS[2:] + PASS[:1], ["Compressing tables 3 and 4"] + PASS):
        _assert_tail_is_per_line("chiapos", lines, len(lines) - 1, saved)


def test_chiapos_pass_values_are_below_the_finished_cap():
    """_SUB_VALUES leaves out set_sub's cap (0.9999, 1.0 for a finished plot): every value is below both."""
    assert max(chiapos._SUB_VALUES.values()) < 0.9999
    probe = model.parser_for("chiapos")
    for (step, sub), value in chiapos._SUB_VALUES.items():
        plot = probe.start_plot()
        plot["phase"], plot["step"] = int(step[0]), step
        probe.ctx["sub"] = 0.0
        probe.set_sub(plot, sub)
        assert plot["progress"] == value, (step, sub)
