"""chiapos' once-a-plot runs of lines (chiapos_blocks: the header, each phase boundary, phase 4's end with the
plot's end) read with one selector match give the states feed() of each line gives: after every line of the
run, fed whole or as chunks split at every line, with each line of the run changed, dropped, doubled or
something put before it (then the run is read line by line again)."""

import functools
import json

import pytest
from logs_testlib import (
    assert_chunked_as_per_line,
    date_swaps,
    digit_variants,
    fed_text,
    fixture_path,
    per_line_state,
    per_line_states,
    read_lines,
    state_json,
)

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import chiapos, model

BUCKET = "\tBucket 3 uniform sort. Ram: 0.6GiB, u_sort min: 0.1GiB, qs min: 0.1GiB."


_state = state_json


def _window(log, first, before, count):
    """(the lines before the window, the window): `count` lines from `before` lines before the line starting
    with `first` (the first such line after the log's first `Starting phase 1/4` for the later runs)."""
    lines = read_lines(fixture_path(log))
    start = 0 if first.startswith("Starting plotting") else next(
        i for i, line in enumerate(lines) if line.startswith("Starting phase 1/4"))
    at = next(i for i in range(start, len(lines)) if lines[i].startswith(first))
    return lines[:at - before], lines[at - before:at + count]


# (log, the run's first line, lines before it, window length, the run's name in the selector)
RUNS = {
    "header": ("chiapos-k18-two-plots.log", "Starting plotting progress", 0, 13, "header"),
    "second header": ("chiapos-k18-two-plots.log", "Renamed final file", 0, 14, "header"),
    "phase 1 to 2": ("chiapos-k18-rename.log", "Time for phase 1", 4, 8, "boundary"),
    "phase 2 to 3": ("chiapos-k18-rename.log", "table 1 new size", 4, 9, "boundary_table1"),
    "phase 2 to 3, up to its end": ("chiapos-k18-rename.log", "table 1 new size", 1, 5, "boundary_table1"),
    "phase 3 to 4": ("chiapos-k18-rename.log", "Time for phase 3", 4, 8, "boundary"),
    "end": ("chiapos-k18-rename.log", "\tFinished writing C1 and C3", 3, 25, "ending"),
    "end, copied": ("chiapos-k20-tmp2-crossdevice.log", "\tFinished writing C1 and C3", 3, 28, "ending"),
}
_HEADS = {}


def _run(name):
    log, first, before, count, _kind = RUNS[name]
    if name not in _HEADS:
        head, window = _window(log, first, before, count)
        parser = model.parser_for("chiapos")
        for line in head:
            parser.feed(line)
        _HEADS[name] = (parser.state(), window)
    state, window = _HEADS[name]
    return json.loads(json.dumps(state)), list(window)


_per_line_states = functools.partial(per_line_states, "chiapos")


_per_line = functools.partial(per_line_state, "chiapos")


_fed_text = functools.partial(fed_text, "chiapos")


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_run_is_one_match(name):
    """The mechanism is in use on the real run (else the other tests here test the per-line reading only)."""
    _state0, window = _run(name)
    kinds = [match.lastgroup for match in chiapos._SELECT_RE.finditer("\n" + "\n".join(window))]
    assert RUNS[name][4] in kinds


@pytest.mark.parametrize("name", sorted(RUNS))
def test_after_every_line_and_chunked_at_every_line(name):
    state, window = _run(name)
    assert_chunked_as_per_line("chiapos", state, window, name)


def _variants(line):
    """Ways a line may differ from the usual shape (each read by feed() as it reads it)."""
    out = [[], [line, line], [BUCKET, line], ["Only wrote 0 of 10 bytes", line], ["Process ID is: 1", line],
           ["2026-11-29T01:58:46 " + line], [line + " x"], [line + " "], ["x\r" + line], [" " + line],
           [line.replace(" ", "  ", 1)], [line.replace(".", "", 1)], [line[:-1]], ["", line],
           ["Only wrote 0 of 10 bytes"], ["Caught plotting error: x"], [BUCKET]]
    if line.endswith(" 2026"):   # another date (the run's dates are mostly the same second)
        out.append([line[:-24] + "Mon Nov 30 11:22:33 2026"])
    if line.startswith("Copied final file from "):   # very old chiapos: copied to the final name
        out.append([line.replace(".plot.2.tmp\"", ".plot\"", 2)])
    out += digit_variants(line)
    return out


_LIKE_NEIGHBOURS = ("\tP2", "\tP3", "\tP4", "\tP5", "\tP6", "\tP7", "\tC1", "\tC2")


@pytest.mark.parametrize("name", sorted(RUNS))
def test_every_line_changed_reads_as_feed_reads_it(name):
    state, window = _run(name)
    for at, line in enumerate(window):
        following = window[at + 1] if at + 1 < len(window) else ""
        if line[:3] in _LIKE_NEIGHBOURS or (line.startswith("\tBucket") and following.startswith("\tBucket")):
            continue   # read as the lines next to them (the test's time)
        for variant in _variants(line):
            lines = window[:at] + variant + window[at + 1:]
            assert _state(_fed_text(state, lines)) == _per_line(state, lines), (name, at, variant)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_run_after_other_lines_or_without_a_plot(name):
    """The run after a retried error (its first step clears it), a fatal one, a later step than its own (it
    cannot move the plot) and with no plot before it."""
    state, window = _run(name)
    for head in (["Only wrote 0 of 10 bytes"], ["Caught plotting error: x"], [BUCKET, "Could not copy x"],
                 ["Compressing tables 3 and 4", BUCKET], ["Approximate working space used: 1 GiB"]):
        lines = head + window
        assert _state(_fed_text(state, lines)) == _per_line(state, lines), (name, head)
    fresh = model.parser_for("chiapos").state()
    assert _state(_fed_text(fresh, window)) == _per_line(fresh, window)


def test_bucket_lines_right_before_a_header_count_for_the_plot_before():
    """The header starts a new plot: a bucket run before it is the previous plot's (which the log left)."""
    lines = read_lines(fixture_path("chiapos-k18-two-plots.log"))
    cut = next(i for i, line in enumerate(lines) if line.startswith("Computing table 3"))
    _state0, header = _run("header")
    for bucket in (5, 31):
        run = ["\tBucket %d uniform sort. Ram: 0.6GiB, u_sort min: 0.1GiB, qs min: 0.1GiB." % bucket]
        lines_in = lines[:cut + 1] + run + header
        fresh = model.parser_for("chiapos").state()
        assert _state(_fed_text(fresh, lines_in)) == _per_line(fresh, lines_in), bucket


def test_the_dates_the_run_leaves():
    """Only the newest date counts (ctx["last_ts"], a plot's finish): the run's date lines with and without a
    date of their own, each of two with another date and the other with none."""
    for name in ("end", "end, copied", "phase 1 to 2", "phase 2 to 3"):
        state, window = _run(name)
        dated = [i for i, line in enumerate(window) if line.endswith(" 2026")]
        for i, j, lines in date_swaps(window, dated):
            assert _state(_fed_text(state, lines)) == _per_line(state, lines), (name, i, j)
