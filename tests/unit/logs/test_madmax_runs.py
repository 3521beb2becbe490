"""madMAx's runs of a plot (madmax.RUNS: the header, phase 1, phases 2 to 4, each taking the ones after it) read
with one selector match give the states feed() of each line gives: after every line of the run, fed whole or as
chunks split at every line, with each line of the run changed, dropped, doubled or something put before it (then
the run is read line by line again), after other lines and from other states."""

import functools
import json

import pytest
from logs_testlib import (
    assert_chunked_as_per_line,
    digit_variants,
    fed_text,
    fixture_path,
    per_line_state,
    per_line_states,
    read_lines,
    state_json,
)

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import madmax, model

MADMAX = "plotman__madmax.plot.log"
N2 = "synthetic-madmax-n2-copy-overlap.log"
IN_PLACE = "plotman__2021-07-11T16_52_48.637488+00_00.plot.log"


_state = state_json


def _window(log, first, nth, count):
    """(the lines before the window, the window): `count` lines (None: to the end) from the nth line (0: the
    first) starting with `first`."""
    lines = read_lines(fixture_path(log))
    at = [i for i, line in enumerate(lines) if line.startswith(first)][nth]
    return lines[:at], lines[at:at + count if count else len(lines)]


# (log, the run's first line, which one, window length, the run's kind in the selector)
RUNS = {
    "whole plot": (MADMAX, "Multi-threaded", 0, None, "a_run"),
    "whole plot, finished in place": (IN_PLACE, "Multi-threaded", 0, None, "a_run"),
    "header": (MADMAX, "Multi-threaded", 0, 17, "a_run"),
    "header, then phase 1": (MADMAX, "Multi-threaded", 0, 25, "a_run"),
    "later header": (N2, "Crafting plot 2", 0, 12, "b_run"),
    "phase 1 on": (MADMAX, "[P1] Table 1 took", 0, None, "c_run"),
    "phases 2 to 4": (N2, "[P2] max_table_size", 1, None, "d_run"),
}
_HEADS = {}


def _run(name):
    log, first, nth, count, _kind = RUNS[name]
    if name not in _HEADS:
        head, window = _window(log, first, nth, count)
        parser = model.parser_for("madmax")
        for line in head:
            parser.feed(line)
        _HEADS[name] = (parser.state(), window)
    state, window = _HEADS[name]
    return json.loads(json.dumps(state)), list(window)


_per_line_states = functools.partial(per_line_states, "madmax")


_per_line = functools.partial(per_line_state, "madmax")


_fed_text = functools.partial(fed_text, "madmax")


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_run_is_one_match(name):
    """The mechanism is in use on the real run (else the other tests here test the per-line reading only)."""
    _state0, window = _run(name)
    kinds = [match.lastgroup for match in madmax._SELECT_RE.finditer("\n" + "\n".join(window))]
    assert kinds[0] == RUNS[name][4]
    assert len(kinds) <= 5, kinds   # the run, then at most the end's lines (total, started, renamed...)


def test_the_runs_cover_the_fixtures():
    """Every plot of the fixtures is read in at most three runs (the n2 log's second plot: a copy line in its
    phase 1)."""
    for log, most in ((MADMAX, 4), (IN_PLACE, 2), (N2, 17)):
        text = "\n" + "\n".join(read_lines(fixture_path(log)))
        kinds = [match.lastgroup for match in madmax._SELECT_RE.finditer(text)]
        assert len(kinds) <= most, (log, kinds)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_after_every_line_and_chunked_at_every_line(name):
    state, window = _run(name)
    assert_chunked_as_per_line("madmax", state, window, name)


def _variants(line):
    """Ways a line may differ from the usual shape (each read by feed() as it reads it)."""
    out = [[], [line, line], ["Process ID: 1", line], ["Phase 3 took 1 sec", line], ["[P3-1] Table 4 took 1 sec", line],
           ["2026-11-29T01:58:46 " + line], [line + " x"], [line + " "], ["x\r" + line], [" " + line],
           [line.replace(" ", "  ", 1)], [line.replace(" ", "\t", 1)], [line.replace(".", "", 1)],
           [line[:-1]], ["", line], [line.replace("/", "//", 1)],
           [line.replace("/", "/./", 1)], [line + "/"], ["Crafting plot 1 out of 1", line]]
    out += digit_variants(line)
    return out


@pytest.mark.parametrize("name", sorted(RUNS))
def test_every_line_changed_reads_as_feed_reads_it(name):
    state, window = _run(name)
    for at, line in enumerate(window):
        for variant in _variants(line):
            lines = window[:at] + variant + window[at + 1:]
            assert _state(_fed_text(state, lines)) == _per_line(state, lines), (name, at, variant)


def _retried(state):
    """The state with its newest plot in a retried error (madMAx prints none; a resumed state may hold one)."""
    if state["plots"]:
        state["plots"][-1]["state"] = "failed"
        state["ctx"]["retry_error"] = len(state["plots"])
    return state


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_run_after_other_lines_or_without_a_plot(name):
    """The run after lines that leave the plot elsewhere (a later step: the phase runs cannot fold; a plot not
    started: the header's first lines go to it too; a finished plot), with no plot before it, and from a retried
    error."""
    state, window = _run(name)
    for head in (["[P3-1] Table 4 took 1 sec"], ["Phase 4 took 1 sec"], ["Crafting plot 1 out of 3"],
                 ["Crafting plot 1 out of 3", "Plot Name: x"], ["[P2] Table 3 scan took 1 sec"],
                 ["Total plot creation time was 5 sec", "Renamed final plot to /d/x.plot"], ["Plot Name: " + "x" * 9],
                 ["Working Directory: /w", "Final Directory: /w/"], ["Number of Buckets P1: 2^0 (0)"]):
        lines = head + window
        assert _state(_fed_text(state, lines)) == _per_line(state, lines), (name, head)
    for start in (model.parser_for("madmax").state(), _retried(json.loads(json.dumps(state)))):
        assert _state(_fed_text(start, window)) == _per_line(start, window), name


def test_a_zero_p1_bucket_count_takes_the_p3_one():
    """The header run keeps the P3+P4 bucket rule: a P1 count of 0 is replaced by the P3+P4 one."""
    state, window = _run("header")
    lines = [line.replace("(256)", "(0)") if line.startswith("Number of Buckets P1") else line for line in window]
    parser = _fed_text(state, lines)
    assert parser.plots[-1]["buckets"] == 256 and _state(parser) == _per_line(state, lines)
