"""BladeBit block scan (BladebitParser._scan): the lines it reads itself (step lines of a live plot folded into
one set_step per run, with the sub-step completions, P4's writes and `Finished Phase N` where they
dominate) give exactly what feed() of each line gives, also out of order, oddly spelled, noisy, and for a
plot that is no longer live; the selector's first-character look (_FIRST) drops no line it takes."""

import json
import re

import pytest
from logs_testlib import fixture_logs, fixture_path, read_lines

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import bladebit, model

RAM = "plotman__bladebit.plot.log"
DISK = "plotman__bladebit2disk.plot.log"


def _state(parser):
    return json.dumps(parser.state(), sort_keys=True)


def _head(name, marker):
    lines = read_lines(fixture_path(name))
    return lines[:next(i for i, line in enumerate(lines) if line.strip().startswith(marker)) + 1]


def _per_line(lines):
    parser = model.parser_for("bladebit")
    for line in lines:
        parser.feed(line)
    return parser


def _assert_block_is_per_line(lines, tail):
    expected = _state(_per_line(lines))
    block = model.parser_for("bladebit")
    block.feed_text("\n".join(lines))
    assert _state(block) == expected
    for cut in range(max(1, len(lines) - tail - 2), len(lines)):   # resumed after any line of the tail
        resumed = model.parser_for("bladebit", json.loads(_state(_per_line(lines[:cut]))))
        resumed.feed_text("\n".join(lines[cut:]))
        assert _state(resumed) == expected, "cut after line %d" % cut


def _noisy(line, kind):
    return {"ts": "2026-11-28T20:21:09 " + line, "ansi": "\x1b[1m" + line + "\x1b[0m", "cr": "x\r" + line + "\r",
            "nul": line[:2] + "\x00" + line[2:], "plain": line}[kind]


# (fixture, the line to cut it after, lines fed after it)
CASES = {
    "p1 backwards": (RAM, "Running Phase 1", ["Forward propagating to table 5...", "Finished forward propagating",
                                              "Forward propagating to table 3...", "Finished forward propagating",
                                              "Forward propagating to table 4..."]),
    "sub below the plot's step": (RAM, "Forward propagating to table 4", [
        "Forward propagating to table 2...", "  Finished forward propagating table 2 in 1 seconds.",
        "Forward propagating to table 3..."]),
    "p2 and p3 out of order": (RAM, "Running Phase 2", ["  Prunning table 3...", "  Prunning table 5...",
                                                        "Running Phase 3", "  Compressing tables 4 and 5...",
                                                        "  Finished compressing tables 4 and 5 in 1 seconds",
                                                        "  Compressing tables 2 and 3..."]),
    "writes outside phase 4": (RAM, "Running Phase 3", ["  Writing P7.", "  Writing C1 table.", "Running Phase 4",
                                                        "  Writing C2 table.", "  Writing P7.", "  Writing C3 table.",
                                                        "Writing final plot tables to disk"]),
    "writes after the run moves to phase 4": (RAM, "Finished Phase 3", ["Running Phase 4", "  Writing C1 table.",
                                                                        "  Writing P7."]),
    "finished phase not dominating": (RAM, "Running Phase 3", [
        "  Compressing tables 2 and 3...", "Finished Phase 2 in 5.5 seconds ( 1 minutes ).",
        "Finished Phase 3 in 7 seconds", "Finished Phase 3 in 8 seconds", "  Compressing tables 6 and 7...",
        "Finished Phase 4 in 1 seconds", "Finished Phase 9 in 1 seconds", "Finished Phase 1 in x seconds"]),
    "finished phase after a lower run": (RAM, "Running Phase 3", ["  Prunning table 6...",
                                                                  "Finished Phase 3 in 9 seconds"]),
    "finished earlier phase ends the block": (RAM, "Running Phase 3", ["  Compressing tables 2 and 3...",
                                                                       "Finished Phase 2 in 5 seconds"]),
    "odd spellings": (RAM, "Running Phase 1", [
        "Running Phase 0", "Running Phase 1.5", "Forward propagating to table 0...", "Forward propagating to table 12",
        "Forward propagating to table 1234", "Forward propagating to table \u0663", "  Prunning table 99",
        "Table 9", "Table 0", "Table 007  ", "Table 3x", "FINISHED F1 GENERATION in 1 s", "Finished F1 generation",
        "Generating F1...", "generating f1", "Running Phase 2x", "  Finished marking table 4 in 1 seconds."]),
    "disk tables and marks": (DISK, "Running Phase 1", ["Table 4", "Table 2", "Table 3",
                                                        "Finished Phase 1 in 2 seconds",
                                                        "Finished marking table 3 in 1 seconds.",
                                                        "Finished marking table 5 in 1 seconds."]),
    "lines after the plot ended": (RAM, "Finished plotting in", ["Running Phase 2", "  Prunning table 5...",
                                                                 "  Finished compressing tables 1 and 2 in 1 s",
                                                                 "  Writing P7.", "Finished Phase 2 in 1 seconds"]),
    "after a fatal line": (RAM, "Running Phase 2", ["Error: out of memory", "  Prunning table 4...",
                                                    "  Finished forward propagating", "Running Phase 3"]),
}


@pytest.mark.parametrize("kind", ["plain", "ts", "ansi", "cr", "nul"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_scanned_lines_match_feed(case, kind):
    name, marker, extra = CASES[case]
    _assert_block_is_per_line(_head(name, marker) + [_noisy(line, kind) for line in extra], len(extra))


def test_a_run_counts_its_highest_step_and_the_sub_step_it_completes():
    lines = _head(RAM, "Running Phase 1") + CASES["p1 backwards"][2][:4]
    block = model.parser_for("bladebit")
    block.feed_text("\n".join(lines))
    assert block.plots[-1]["step"] == "1:5" and block.ctx["sub"] == 1.0


def test_finished_phase_after_a_lower_run_completes_the_plot_step():
    """`Finished Phase 3` after a run below the plot's step: its set_sub(1.0) is on the plot's own step."""
    name, marker, extra = CASES["finished phase after a lower run"]
    block = model.parser_for("bladebit")
    block.feed_text("\n".join(_head(name, marker) + extra))
    assert block.plots[-1]["step"] == "4:0" and block.plots[-1]["phase_seconds"]["3"] == 9.0


def test_first_character_look_drops_no_selected_line():
    """_SELECT_RE with and without its _FIRST look take the same lines: every fixture line, and every
    prefix (+ "x", + " 1") of the lines the selector's alternatives name, indented or not."""
    plain = re.compile(bladebit._SELECT_RE.pattern.replace("(?=%s)" % bladebit._FIRST, "", 1))
    assert plain.pattern != bladebit._SELECT_RE.pattern
    lines = set()
    for _name, path in fixture_logs():
        lines.update(read_lines(path))
    words = ["Running Phase 1", "Finished Phase 1 in 2 seconds", "Finished forward propagating",
             "Finished marking table 2", "Finished compressing tables", "Finished writing plot x",
             "Finished plotting in 1", "Forward propagating to table 2",
             "Generating plot 1 / 1: x", "Table 5", "Prunning table 3", "Compressing tables 1 and 2", "Writing P7",
             "Writing C1", "Writing C2", "Writing C3", "Writing final plot tables", "finished F1 generation", "Plot x",
             "Error", "Fatal", "*** Fatal", "Failed to", "terminate called", "[Bladebit Disk Plotter]", "Temp1 path",
             "Temp2 path", "Output path", "Thread count", "Bucket count", "Creating 1 plots", "Will create 1 plots"]
    for word in words:
        for k in range(len(word) + 1):
            for tail in ("", "x", " 1"):
                lines.update((word[:k] + tail, "  " + word[:k] + tail, " \t" + word[:k] + tail))
    for line in lines:
        text = "\n" + line
        taken = [m.group() for m in bladebit._SELECT_RE.finditer(text)]
        assert [m.group() for m in plain.finditer(text)] == taken, line
    assert sum(1 for line in lines if bladebit._SELECT_RE.match("\n" + line)) > 300
