"""BladeBit's phases read with one selector match (bladebit.RUNS: the RAM plotter's four phases, the disk
plotter's three) give the states feed() of each line gives: after every line of the run, fed whole or as chunks
split at every line, with each line of the run changed, dropped, doubled or something put before it (then the
run is read line by line), after other lines and for a plot that is not fresh."""

import functools
import json

import pytest
from logs_testlib import (
    assert_chunked_as_per_line,
    digit_variants,
    fed_text,
    fixture_path,
    per_line_state,
    read_lines,
    state_json,
)

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import bladebit, model

RUNS = {"ram": ("plotman__bladebit.plot.log", "Writing final plot tables to disk", "ram_run"),
        "disk": ("plotman__bladebit2disk.plot.log", "Finished Phase 3", "disk_run")}
_CACHE = {}


_state = state_json


def _run(name):
    """(the state before the run, the run's lines, the lines after it)."""
    if name not in _CACHE:
        log, last, _kind = RUNS[name]
        lines = read_lines(fixture_path(log))
        first = lines.index("Running Phase 1")
        stop = next(i for i in range(first, len(lines)) if lines[i].startswith(last)) + 1
        parser = model.parser_for("bladebit")
        for line in lines[:first]:
            parser.feed(line)
        _CACHE[name] = (parser.state(), lines[first:stop], lines[stop:])
    state, window, after = _CACHE[name]
    return json.loads(json.dumps(state)), list(window), list(after)


_per_line = functools.partial(per_line_state, "bladebit")


_fed_text = functools.partial(fed_text, "bladebit")


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_run_is_one_match(name):
    _state0, window, _after = _run(name)
    kinds = [match.lastgroup for match in bladebit._SELECT_RE.finditer("\n" + "\n".join(window))]
    assert kinds == [RUNS[name][2]]


@pytest.mark.parametrize("name", sorted(RUNS))
def test_after_every_line_and_chunked_at_every_line(name):
    state, window, after = _run(name)
    assert_chunked_as_per_line("bladebit", state, window + after, name)


def _variants(line):
    out = [[], [line, line], ["Error: x", line], ["Running Phase 3", line], ["  Writing C2 table.", line],
           ["2026-11-29T01:58:46 " + line], [line + " x"], [" " + line], [line.lstrip()], ["x\r" + line],
           [line.replace(" ", "  ", 1)], [line.replace(".", "", 1)], [line[:-1]], ["", line], [line + "\x00"]]
    out += digit_variants(line)
    return out


@pytest.mark.parametrize("name", sorted(RUNS))
def test_every_line_changed_reads_as_feed_reads_it(name):
    state, window, after = _run(name)
    tail = after[:2]
    for at, line in enumerate(window):
        for variant in _variants(line):
            lines = window[:at] + variant + window[at + 1:] + tail
            assert _state(_fed_text(state, lines)) == _per_line(state, lines), (name, at, variant)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_run_after_other_lines_or_for_a_plot_further_on(name):
    """A step pending before the run, a plot already in a phase (in phase 5 a `Finished Phase N` completes its
    sub-step), a failed or finished plot, no plot."""
    state, window, after = _run(name)
    heads = (["Running Phase 2"], ["Running Phase 1", "Forward propagating to table 3..."], ["Table 5"],
             ["Error: disk full"],
             ["Running Phase 4", "Finished Phase 4 in 1 seconds", "Writing final plot tables to disk"],
             ["Finished Phase 1 in 1 seconds"], ["Finished plotting in 5 seconds"],
             ["Writing final plot tables to disk", "Plot /x/plot-k32-2021-08-29-22-22-" + "a" * 64
              + ".plot finished writing to disk:", "Finished plotting in 5 seconds"])
    for head in heads:
        lines = head + window + after
        assert _state(_fed_text(state, lines)) == _per_line(state, lines), (name, head)
    fresh = model.parser_for("bladebit").state()
    assert _state(_fed_text(fresh, window)) == _per_line(fresh, window)
    kept = _fed_text(state, window[:5]).state()   # resumed inside the plot's phase 1, the run again
    assert _state(_fed_text(kept, window + after)) == _per_line(kept, window + after)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_lines_read_by_their_start_are_taken_by_no_group(name):
    """The run's lines that the per-line selector does not select stay unselected whatever follows them (the
    pattern takes them by their start, then [^\\n]*)."""
    _state0, window, _after = _run(name)
    lines_re = bladebit.re.compile(bladebit._LINES)
    for line in window:
        if lines_re.match("\n" + line) is None:
            for rest in ("1", " x", "\tTable 2", " seconds", "...", " in 1 seconds", "\t"):
                assert lines_re.match("\n" + line + rest) is None, (name, line, rest)
