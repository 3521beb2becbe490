"""Gigahorse block scan (GigahorseParser._scan): a run of `[P1]`/`[P3]` table lines of a computing plot folded
into one set_step at its highest step gives exactly what feed() of each line gives: out of order, repeated,
oddly spelled, noisy, after a warning, and for a plot that is not computing (none yet, copying, failed)."""

import json

import pytest
from logs_testlib import fixture_path, read_lines

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import gigahorse, model

LOG = "synthetic-gigahorse-n3-copy-overlap.log"


def _state(parser):
    return json.dumps(parser.state(), sort_keys=True)


def _per_line(lines):
    parser = model.parser_for("gigahorse")
    for line in lines:
        parser.feed(line)
    return parser


def _head(marker, nth=1):
    """The fixture's lines up to and including the nth one starting with marker."""
    lines = read_lines(fixture_path(LOG))
    found = [i for i, line in enumerate(lines) if line.startswith(marker)]
    return lines[:found[nth - 1] + 1]


def _noisy(line, kind):
    return {"plain": line, "ts": "2026-11-28T20:21:09 " + line, "ansi": "\x1b[1m" + line + "\x1b[0m",
            "cr": "x\r" + line + "\r", "nul": line[:2] + "\x00" + line[2:],
            "wrapped": "[2023/05/12 17:08:33] " + line}[kind]


def _p1(n):
    return "[P1] Table %s took 4.339 sec, 4294967296 entries" % n


def _p3(n, part):
    return "[P3] Table %s %s took 5.743 sec, 3465218063 entries" % (n, part)


RUNS = {
    "p1 backwards": [_p1(5), _p1(3), _p1(4)],
    "p1 repeated and past 7": [_p1(2), _p1(2), _p1(9), _p1(7), _p1(0)],
    "p3 parts out of order": [_p3(3, "NSK"), _p3(3, "PDSK"), _p3(4, "LPSK"), _p3(2, "NSK"), _p3(4, "PDSK")],
    "p3 then p1": [_p3(2, "PDSK"), _p1(6), _p3(7, "NSK"), _p3(9, "LPSK"), _p1(1)],
    "odd spellings": [_p1(12), _p1("x"), _p1("\u0663"), "[P1] Table 3 tooks", _p3(2, "XSK"), _p3("\u0663", "NSK"),
                      "[P3] Table 5 NSK", "[P3] Setup took 0.041 sec", "[P2] Table 3 took 1 sec"],
}
# (the line that ends the fixture's head, its occurrence): no plot yet, phase 1, phase 3, copying (the next
# plot not yet named), the next plot in phase 1 while the first one copies, after a warning
POINTS = [("Final Destination", 1), ("[P1] Table 2", 1), ("[P3] Table 2 PDSK", 1), ("Total plot creation", 1),
          ("Plot Name", 2), ("All destinations are busy", 1)]


@pytest.mark.parametrize("kind", ["plain", "ts", "ansi", "cr", "nul", "wrapped"])
@pytest.mark.parametrize("point", range(len(POINTS)))
@pytest.mark.parametrize("run", sorted(RUNS))
def test_table_runs_match_feed(run, point, kind):
    marker, nth = POINTS[point]
    lines = _head(marker, nth) + [_noisy(line, kind) for line in RUNS[run]] + ["Started copy to /nowhere/x.plot"]
    cuts = range(len(lines) - len(RUNS[run]) - 2, len(lines))   # resumed after any line of the run
    one, states = model.parser_for("gigahorse"), {}
    for number, line in enumerate(lines, 1):
        one.feed(line)
        states[number] = _state(one)
    block = model.parser_for("gigahorse")
    block.feed_text("\n".join(lines))
    assert _state(block) == states[len(lines)]
    for cut in cuts:
        resumed = model.parser_for("gigahorse", json.loads(states[cut]))
        resumed.feed_text("\n".join(lines[cut:]))
        assert _state(resumed) == states[len(lines)], "cut after line %d" % cut


def test_a_run_counts_its_highest_step_and_clears_a_warning():
    lines = _head("[P1] Table 2") + ["Waiting for 10 GiB available space on: /mnt/nvme/gh/"] + RUNS["p1 backwards"]
    block = model.parser_for("gigahorse")
    block.feed_text("\n".join(lines[:-3]))
    assert block.plots[-1]["warning"]
    block.feed_text("\n".join(["Started copy to /nowhere/x.plot"] + lines[-3:] + ["Started copy to /nowhere/x.plot"]))
    assert block.plots[-1]["step"] == "1:6" and block.plots[-1]["warning"] is None


def test_a_failed_plot_is_not_moved_by_a_run():
    lines = _head("[P1] Table 2") + ["terminate called after throwing an instance of 'std::runtime_error'"]
    lines += [_p1(6), _p3(4, "NSK")]
    block = model.parser_for("gigahorse")
    block.feed_text("\n".join(lines))
    assert block.plots[-1]["state"] == "failed" and block.plots[-1]["step"] == "1:3"
    assert _state(block) == _state(_per_line(lines))
    resumed = model.parser_for("gigahorse", json.loads(_state(_per_line(lines[:-2]))))   # a block of the run alone
    resumed.feed_text("\n".join(lines[-2:]))
    assert _state(resumed) == _state(block)


def test_the_step_keys_are_the_table_lines_bracket_reads():
    for key in ["[P1] Table %d took" % n for n in range(10)] + [
            "[P3] Table %d %s took" % (n, part) for n in range(10) for part in ("PDSK", "LPSK", "NSK")]:
        assert gigahorse._SELECT_RE.match("\n" + key).lastgroup == "step"
        plot = _per_line(_head("[P3] Setup took")).plots[-1]
        parser = model.parser_for("gigahorse", {"version": model.STATE_VERSION, "plotter": "gigahorse",
                                                "plots": [dict(plot, step="1:1", phase=1, progress=0.0)],
                                                "ctx": {"sub": 0.0}})
        parser.feed(key)
        phase, minor, sub = gigahorse._step_of(key)
        assert (parser.plots[-1]["phase"], model.step_tuple(parser.plots[-1]["step"])[1]) == (phase, minor), key
        assert parser.ctx["sub"] == sub, key
