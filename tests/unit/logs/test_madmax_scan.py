"""madMAx block scan (MadmaxParser._scan): the lines it reads itself (step lines folded into one set_step per
run, `Phase N took` folded into the step it moves to, one method per _line branch) give exactly what feed()
of each line gives, also for out-of-order runs, odd spellings and noise."""

import json
import re

import pytest
from logs_testlib import fixture_path, read_lines

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import madmax, model

LOG = "plotman__madmax.plot.log"


def _state(parser):
    return json.dumps(parser.state(), sort_keys=True)


def _head(marker):
    """The fixture's lines up to and including the first one starting with marker."""
    lines = read_lines(fixture_path(LOG))
    return lines[:next(i for i, line in enumerate(lines) if line.startswith(marker)) + 1]


def _per_line(lines):
    parser = model.parser_for("madmax")
    for line in lines:
        parser.feed(line)
    return parser


def _assert_block_is_per_line(lines, tail):
    expected = _state(_per_line(lines))
    block = model.parser_for("madmax")
    block.feed_text("\n".join(lines))
    assert _state(block) == expected
    for cut in range(max(1, len(lines) - tail - 2), len(lines)):   # resumed after any line of the tail
        resumed = model.parser_for("madmax", json.loads(_state(_per_line(lines[:cut]))))
        resumed.feed_text("\n".join(lines[cut:]))
        assert _state(resumed) == expected, "cut after line %d" % cut


def _noisy(line, kind):
    return {"ts": "2026-11-28T20:21:09 " + line, "ansi": "\x1b[1m" + line + "\x1b[0m", "cr": "x\r" + line + "\r",
            "nul": line[:2] + "\x00" + line[2:], "plain": line}[kind]


# Runs of step lines in orders a log does not print them (feed() keeps the highest step of the run).
RUNS = {
    "p1 backwards": ["[P1] Table 5 took 1 sec", "[P1] Table 3 took 1 sec", "[P1] Table 4 took 1 sec"],
    "p1 repeated": ["[P1] Table 2 took 1 sec", "[P1] Table 2 took 1 sec", "[P1] Table 7 took 1 sec",
                    "[P1] Table 6 took 1 sec"],
    "p2 scan after rewrite": ["[P2] max_table_size = 1", "[P2] Table 6 rewrite took 1 sec",
                              "[P2] Table 7 scan took 1 sec", "[P2] Table 6 scan took 1 sec"],
    "p3 halves": ["[P3-2] Table 3 took 1 sec", "[P3-1] Table 4 took 1 sec", "[P3-1] Table 3 took 1 sec",
                  "[P3-2] Table 2 took 1 sec"],
    "phases mixed": ["[P3-1] Table 2 took 1 sec", "[P1] Table 7 took 1 sec", "[P2] Table 7 scan took 1 sec",
                     "Wrote plot header with 252 bytes", "[P4] Writing C2 table", "[P4] Starting to write C1 and C3"],
    "odd spellings": ["[P1] Table 0 took 1 sec", "[P1] Table 99 took 1 sec", "[P1] Table 1234 took 1 sec",
                      "[P1] Table \u0663 took 1 sec", "[P1-2] Table 3 took 1 sec", "[P3-5] Table 4 took 1 sec",
                      "[P5] Table 2 took 1 sec", "[P2] Table 3 scanned", "[P1] Table 3 tookx"],
    "p4 lines": ["[P4] Starting to write C1 and C3 tables", "[P4] Finished writing C1 and C3 tables",
                 "[P4] Writing C2 table", "[P4] Finished writing C2 table", "[P4] Writing C2 table"],
}


@pytest.mark.parametrize("kind", ["plain", "ts", "ansi", "cr", "nul"])
@pytest.mark.parametrize("run", sorted(RUNS))
def test_step_runs_match_feed(run, kind):
    lines = _head("Plot Name: ") + [_noisy(line, kind) for line in RUNS[run]] + ["Phase 1 took 1 sec"]
    _assert_block_is_per_line(lines, len(RUNS[run]) + 1)


def test_a_run_counts_its_highest_step_not_its_last():
    lines = _head("Plot Name: ") + RUNS["p1 backwards"]
    block = model.parser_for("madmax")
    block.feed_text("\n".join(lines))
    assert block.plots[-1]["step"] == "1:6"


# `Phase N took S sec` where the step it moves to does not dominate (phase already there or beyond, the
# step lines before it are lower than the plot's step), or odd spellings that go to _phase_took.
PHASE_CASES = {
    "phase 2 in phase 3": ("Wrote plot header", ["[P3-1] Table 3 took 1 sec", "Phase 2 took 5 sec"]),
    "phase 2 twice": ("[P2] max_table_size", ["Phase 2 took 5 sec", "Phase 2 took 6 sec", "[P3-1] Table 2 took 1 s"]),
    "phase 3 early": ("[P1] Table 3", ["[P1] Table 4 took 1 sec", "Phase 3 took 7.5 sec, wrote 1 entries"]),
    "phase 4 then lower": ("[P2] max_table_size", ["Phase 4 took 1 sec", "[P2] Table 5 scan took 1 sec",
                                                   "Phase 3 took 2 sec"]),
    "run below the plot then phase": ("Wrote plot header", ["[P1] Table 2 took 1 sec", "Phase 2 took 3 sec"]),
    "odd": ("[P2] max_table_size", ["Phase 2 took x sec", "Phase 2 took  3 sec", "Phase 1 took 9 sec",
                                    "Phase 5 took 1 sec", "Phase \u0663 took 1 sec", "Phase 2 tooks"]),
}


@pytest.mark.parametrize("kind", ["plain", "ts", "ansi"])
@pytest.mark.parametrize("case", sorted(PHASE_CASES))
def test_phase_lines_match_feed(case, kind):
    marker, extra = PHASE_CASES[case]
    _assert_block_is_per_line(_head(marker) + [_noisy(line, kind) for line in extra], len(extra))


def test_phase_line_in_a_later_phase_still_completes_the_sub_step():
    """`Phase 2 took` while the plot is in phase 3: its set_sub(1.0) counts (the fold does not apply)."""
    lines = _head("Wrote plot header") + ["[P3-1] Table 3 took 1 sec", "Phase 2 took 5 sec"]
    block = model.parser_for("madmax")
    block.feed_text("\n".join(lines))
    plot = block.plots[-1]
    assert plot["step"] == "3:2" and block.ctx["sub"] == 1.0 and plot["phase_seconds"]["2"] == 5.0


def test_every_line_branch_of_the_selector_matches_feed():
    """Each group of the selector on its own after a header, whole and resumed (a run of the
    synthetic -n 2 log covers copying while the next plot runs)."""
    lines = read_lines(fixture_path("synthetic-madmax-n2-copy-overlap.log"))
    _assert_block_is_per_line(lines[:40] + ["Copy to /x/y.plot failed, retrying", "Started copy to /x/z.plot",
                                            "Renamed final plot to /elsewhere/unknown.plot"] + lines[40:60], 60)
    values = {"step", "took_n", "took_s", "dir_key", "dir_value", "buckets_p3", "total_s"}
    values.update(name for name in madmax._SELECT_RE.groupindex if name.startswith("name_"))
    values.update(re.compile(madmax.RUNS).groupindex)   # the phase runs: read by _scan (test_madmax_runs)
    assert set(madmax._BRANCHES) == set(madmax._SELECT_RE.groupindex) - values
